/*
 * ui_q.c - the web UI's aggregate queries: see ui_q.h.
 */
#include "store/ui_q.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"

int ui_q_experiments(struct hv_db *db, struct ui_q_experiment **out,
                     size_t *n, struct hv_err *err)
{
  static const char sql[] =
      "SELECT e.id, e.name, e.created_at, COUNT(r.run_id),"
      " IFNULL(SUM(r.status = 'RUNNING'), 0),"
      " IFNULL(SUM(r.status = 'FINISHED'), 0),"
      " IFNULL(SUM(r.status IN ('FAILED', 'KILLED')), 0),"
      " IFNULL(MAX(MAX(r.start_time, IFNULL(r.end_time, 0))), e.created_at)"
      " FROM experiments e LEFT JOIN runs r ON r.experiment_id = e.id"
      " GROUP BY e.id ORDER BY e.name";
  *out = NULL;
  *n = 0;
  if (!db)
    return hv_err_set(err, HV_EINVAL, "no database");
  sqlite3_stmt *st = NULL;
  if (db_prepare(db, sql, &st, err))
    return HV_EDB;
  struct ui_q_experiment *list = NULL;
  size_t cnt = 0, cap = 0;
  int s, rc = 0;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    if (cnt == cap) {
      size_t nc = cap ? cap * 2 : 16;
      struct ui_q_experiment *p = realloc(list, nc * sizeof(*p));
      if (!p) {
        rc = hv_err_set(err, HV_ENOMEM, "out of memory listing experiments");
        break;
      }
      list = p;
      cap = nc;
    }
    struct ui_q_experiment *e = &list[cnt++];
    memset(e, 0, sizeof(*e));
    e->id = sqlite3_column_int64(st, 0);
    const unsigned char *name = sqlite3_column_text(st, 1);
    snprintf(e->name, sizeof(e->name), "%s", name ? (const char *)name : "");
    e->created_at = sqlite3_column_double(st, 2);
    e->n_runs = sqlite3_column_int64(st, 3);
    e->n_running = sqlite3_column_int64(st, 4);
    e->n_finished = sqlite3_column_int64(st, 5);
    e->n_failed = sqlite3_column_int64(st, 6);
    e->last_activity = sqlite3_column_double(st, 7);
  }
  if (!rc && s != SQLITE_DONE)
    rc = db_fail(db, err, "listing experiments");
  sqlite3_finalize(st);
  if (rc) {
    free(list);
    return rc;
  }
  *out = list;
  *n = cnt;
  return 0;
}
