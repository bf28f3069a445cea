/*
 * metrics.h - Prometheus counters for the server: requests and a latency
 * histogram per route and status, requests in flight, model reloads,
 * recommendation counts; and the process_* metrics of Prometheus' client
 * libraries (CPU, resident memory, open and maximum fds, start time) read
 * from /proc at each scrape.
 *
 * Design: a fixed table of C11 atomics indexed by (route, status slot,
 * bucket), sized at creation from the route table, so recording a request
 * is a handful of relaxed atomic adds with no lock and no allocation.
 * Rendering reads the atomics without a lock (each value is consistent on
 * its own, as Prometheus expects) and prints only the series that were seen.
 *
 * Threads: every function is safe to call from any thread.
 */
#ifndef HV_SERVE_HTTP_METRICS_H
#define HV_SERVE_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct metrics;

/* What the server is serving, for the model gauges (all fields borrowed),
 * and how many requests it is answering. */
struct metrics_model {
  const char *name;        /* NULL when no model is loaded */
  int64_t version;         /* registry version (file: load count) */
  const char *stage;       /* "Production", "file" */
  double loaded_at;        /* seconds since the epoch */
  long long cache_users;   /* users in its top-n memo; -1 = no memo */
  int in_flight;           /* requests in flight, the /metrics one
                              included (harvest_http_requests_in_flight) */
  const char *index_kind;  /* retrieval: "ivf" or "exact" (NULL: none) */
  double index_recall;     /* the served index's recall@100, or < 0 */
};

/* A table for n routes named names[i] (borrowed; must outlive the table),
 * plus one "unmatched" row. Caller frees with metrics_free. NULL on out of
 * memory. */
struct metrics *metrics_new(const char *const *names, size_t n);
void metrics_free(struct metrics *m);

/* Record one finished request: route index (-1 for no route), HTTP status,
 * duration in seconds. */
void metrics_observe(struct metrics *m, int route, int status, double secs);

/* Record a model load attempt (ok 1 = swapped in, 0 = refused). */
void metrics_reload(struct metrics *m, int ok);

/* Record recommendations served: users scored and titles returned. */
void metrics_recommend(struct metrics *m, uint64_t users, uint64_t items);

/* Record one credential checked (a token verified, a key compared): the
 * router checks one only where the route needs it, so this stays at 0
 * under traffic to public routes (policy.h). */
void metrics_credential(struct metrics *m);

/* Requests seen so far for (route, status); for tests. */
uint64_t metrics_count(const struct metrics *m, int route, int status);

/* The Prometheus text exposition (version 0.0.4) in a new string *out
 * (caller frees), length in *len. */
int metrics_render(const struct metrics *m, const struct metrics_model *model,
                   char **out, size_t *len, struct hv_err *err) HV_WARN_UNUSED;

#endif
