/*
 * pg_listen.c - store/listen.h on libpq: a connection of its own that
 * LISTENs, read without blocking (PQconsumeInput, then PQnotifies until it
 * runs dry).
 */
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/listen.h"
#include "store/pg/pg.h"

struct db_listener {
  PGconn *c;
};

/* err <- "WHAT url: libpq's message" without its trailing newline. */
static int conn_fail(PGconn *c, const char *what, const char *url,
                     struct hv_err *err)
{
  const char *m = c ? PQerrorMessage(c) : "out of memory";
  size_t n = strlen(m);
  while (n && m[n - 1] == '\n')
    n--;
  char shown[1024];
  db_redact(url, shown, sizeof(shown));
  return hv_err_set(err, HV_EDB, "%s %s: %.*s", what, shown, (int)n, m);
}

static int plain_name(const char *s)
{
  if (!s || !*s || strlen(s) > 63)
    return 0;
  for (; *s; s++)
    if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
      return 0;
  return 1;
}

int db_listen_open(const char *url, const char *channel,
                   struct db_listener **out, struct hv_err *err)
{
  *out = NULL;
  if (!url || !db_is_url(url))
    return hv_err_set(err, HV_EINVAL,
                      "%s: a SQLite database has no change feed (poll it)",
                      url ? url : "(null)");
  if (!plain_name(channel))
    return hv_err_set(err, HV_EINVAL,
                      "listen: channel '%.64s' is not a plain name",
                      channel ? channel : "(null)");
  struct db_listener *l = calloc(1, sizeof(*l));
  if (!l)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  l->c = PQconnectdb(url);
  if (!l->c || PQstatus(l->c) != CONNECTION_OK) {
    conn_fail(l->c, "cannot connect to", url, err);
    db_listen_close(l);
    return HV_EDB;
  }
  char sql[96];
  snprintf(sql, sizeof(sql), "LISTEN %s", channel); /* a checked name */
  PGresult *r = PQexec(l->c, sql);
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok || PQsetnonblocking(l->c, 1) != 0) {
    conn_fail(l->c, "cannot LISTEN on", url, err);
    db_listen_close(l);
    return HV_EDB;
  }
  *out = l;
  return 0;
}

int db_listen_fd(const struct db_listener *l)
{
  return PQsocket(l->c);
}

int db_listen_drain(struct db_listener *l, struct hv_err *err)
{
  if (!PQconsumeInput(l->c) || PQstatus(l->c) != CONNECTION_OK)
    return conn_fail(l->c, "listener lost its connection to",
                     PQdb(l->c) ? PQdb(l->c) : "the database", err);
  int n = 0;
  PGnotify *note;
  while ((note = PQnotifies(l->c))) {
    n++;
    PQfreemem(note);
  }
  return n;
}

void db_listen_close(struct db_listener *l)
{
  if (!l)
    return;
  PQfinish(l->c);
  free(l);
}
