/*
 * listen.h - a change feed of the database: wake up when another process
 * changed the registry, instead of asking every half second. A server
 * replica listens, so a promotion made on any host reaches every replica
 * as soon as it commits.
 *
 * Design: PostgreSQL's LISTEN/NOTIFY on a connection of the listener's
 * own (a connection that LISTENs cannot also run the server's queries in
 * between without losing its place). The registry's stage changes send
 * NOTIFY DB_LISTEN_REGISTRY with the model's name inside their
 * transaction (store/pg/pg_registry.c), so a listener hears a change
 * only once it committed. The caller waits on db_listen_fd with poll(2)
 * (together with whatever else it waits for) and reads with
 * db_listen_drain; a lost connection (the server restarted, the network
 * broke) is HV_EDB: close the listener and open a new one, and meanwhile
 * poll the registry. SQLite has no such feed: db_listen_open refuses its
 * paths (HV_EINVAL), and its readers poll.
 *
 * Threads: a listener belongs to one thread.
 */
#ifndef HV_STORE_LISTEN_H
#define HV_STORE_LISTEN_H

#include "util/err.h"

/* The channel of registry changes; the payload is the model's name. */
#define DB_LISTEN_REGISTRY "harvest_registry"

struct db_listener;

/* Connect to the PostgreSQL database at url and LISTEN on channel (a
 * plain identifier, such as DB_LISTEN_REGISTRY). Returns 0 with *out the
 * caller's to db_listen_close; HV_EINVAL for a SQLite path or a bad
 * channel name, HV_EDB when it cannot connect (err says why). */
int db_listen_open(const char *url, const char *channel,
                   struct db_listener **out, struct hv_err *err) HV_WARN_UNUSED;

/* The socket to wait on for POLLIN (borrowed; valid until close). */
int db_listen_fd(const struct db_listener *l);

/* Read what the socket holds without blocking: the number of
 * notifications received (0: none, the wake-up was something else), or
 * HV_EDB when the connection is lost. */
int db_listen_drain(struct db_listener *l, struct hv_err *err) HV_WARN_UNUSED;

/* Close; NULL does nothing. */
void db_listen_close(struct db_listener *l);

#endif
