/*
 * metrics.c - lock-free request counters and their Prometheus text: see
 * metrics.h.
 */
#include "serve/http/metrics.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Status codes with their own series; anything else counts as "other". */
static const int status_slots[] = {200, 400, 401, 403, 404, 405, 409,
                                   413, 422, 429, 500, 503};
#define N_STATUS (sizeof(status_slots) / sizeof(status_slots[0]) + 1)

/* Latency bucket upper bounds in seconds (+Inf is implicit). */
static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                0.005,  0.01,    0.025,  0.05,  0.1,
                                0.25,   0.5,     1.0,    2.5};
#define N_BOUNDS (sizeof(bounds) / sizeof(bounds[0]))

struct series {
  atomic_uint_fast64_t count;
  atomic_uint_fast64_t sum_ns;
  atomic_uint_fast64_t bucket[N_BOUNDS]; /* non-cumulative */
};

struct metrics {
  const char *const *names;
  size_t n_routes;            /* rows = n_routes + 1 ("unmatched") */
  struct series *s;           /* (n_routes + 1, N_STATUS) */
  atomic_uint_fast64_t reload_ok, reload_refused;
  atomic_uint_fast64_t rec_users, rec_items;
  atomic_uint_fast64_t credentials;
};

struct metrics *metrics_new(const char *const *names, size_t n)
{
  struct metrics *m = calloc(1, sizeof(*m));
  if (!m)
    return NULL;
  m->names = names;
  m->n_routes = n;
  m->s = calloc((n + 1) * N_STATUS, sizeof(*m->s));
  if (!m->s) {
    free(m);
    return NULL;
  }
  return m;
}

void metrics_free(struct metrics *m)
{
  if (!m)
    return;
  free(m->s);
  free(m);
}

static size_t status_slot(int status)
{
  for (size_t i = 0; i + 1 < N_STATUS; i++)
    if (status_slots[i] == status)
      return i;
  return N_STATUS - 1;
}

static size_t row_of(const struct metrics *m, int route)
{
  return (route < 0 || (size_t)route >= m->n_routes) ? m->n_routes
                                                      : (size_t)route;
}

void metrics_observe(struct metrics *m, int route, int status, double secs)
{
  if (!m)
    return;
  struct series *s = &m->s[row_of(m, route) * N_STATUS + status_slot(status)];
  size_t b = 0;
  while (b < N_BOUNDS && secs > bounds[b])
    b++;
  atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&s->sum_ns,
                            (uint_fast64_t)(secs > 0 ? secs * 1e9 : 0),
                            memory_order_relaxed);
  if (b < N_BOUNDS)
    atomic_fetch_add_explicit(&s->bucket[b], 1, memory_order_relaxed);
}

void metrics_reload(struct metrics *m, int ok)
{
  if (m)
    atomic_fetch_add_explicit(ok ? &m->reload_ok : &m->reload_refused, 1,
                              memory_order_relaxed);
}

void metrics_recommend(struct metrics *m, uint64_t users, uint64_t items)
{
  if (!m)
    return;
  atomic_fetch_add_explicit(&m->rec_users, users, memory_order_relaxed);
  atomic_fetch_add_explicit(&m->rec_items, items, memory_order_relaxed);
}

void metrics_credential(struct metrics *m)
{
  if (m)
    atomic_fetch_add_explicit(&m->credentials, 1, memory_order_relaxed);
}

uint64_t metrics_count(const struct metrics *m, int route, int status)
{
  const struct series *s =
      &m->s[row_of(m, route) * N_STATUS + status_slot(status)];
  return atomic_load_explicit(&s->count, memory_order_relaxed);
}

static void status_label(size_t slot, char *out, size_t cap)
{
  if (slot + 1 < N_STATUS)
    snprintf(out, cap, "%d", status_slots[slot]);
  else
    snprintf(out, cap, "other");
}

static void render_series(FILE *f, const char *route, const char *status,
                          const struct series *s)
{
  uint64_t n = atomic_load_explicit(&s->count, memory_order_relaxed);
  uint64_t cum = 0;
  for (size_t b = 0; b < N_BOUNDS; b++) {
    cum += atomic_load_explicit(&s->bucket[b], memory_order_relaxed);
    fprintf(f,
            "harvest_http_request_duration_seconds_bucket{route=\"%s\","
            "status=\"%s\",le=\"%g\"} %llu\n",
            route, status, bounds[b], (unsigned long long)cum);
  }
  fprintf(f,
          "harvest_http_request_duration_seconds_bucket{route=\"%s\","
          "status=\"%s\",le=\"+Inf\"} %llu\n",
          route, status, (unsigned long long)n);
  fprintf(f,
          "harvest_http_request_duration_seconds_sum{route=\"%s\","
          "status=\"%s\"} %.9f\n",
          route, status,
          atomic_load_explicit(&s->sum_ns, memory_order_relaxed) * 1e-9);
  fprintf(f,
          "harvest_http_request_duration_seconds_count{route=\"%s\","
          "status=\"%s\"} %llu\n",
          route, status, (unsigned long long)n);
}

static void render_requests(FILE *f, const struct metrics *m)
{
  char st[16];
  fprintf(f, "# HELP harvest_http_requests_total HTTP requests by route "
             "and status.\n# TYPE harvest_http_requests_total counter\n");
  for (size_t r = 0; r <= m->n_routes; r++)
    for (size_t k = 0; k < N_STATUS; k++) {
      uint64_t n = atomic_load_explicit(&m->s[r * N_STATUS + k].count,
                                        memory_order_relaxed);
      if (!n)
        continue;
      status_label(k, st, sizeof(st));
      fprintf(f, "harvest_http_requests_total{route=\"%s\",status=\"%s\"} "
                 "%llu\n",
              r < m->n_routes ? m->names[r] : "unmatched", st,
              (unsigned long long)n);
    }
  fprintf(f, "# HELP harvest_http_request_duration_seconds Time from "
             "request headers to response sent.\n"
             "# TYPE harvest_http_request_duration_seconds histogram\n");
  for (size_t r = 0; r <= m->n_routes; r++)
    for (size_t k = 0; k < N_STATUS; k++) {
      const struct series *s = &m->s[r * N_STATUS + k];
      if (!atomic_load_explicit(&s->count, memory_order_relaxed))
        continue;
      status_label(k, st, sizeof(st));
      render_series(f, r < m->n_routes ? m->names[r] : "unmatched", st, s);
    }
}

/* Print s as a Prometheus label value: escape backslash, quote, newline. */
static void label_value(FILE *f, const char *s)
{
  for (; s && *s; s++) {
    if (*s == '\\' || *s == '"')
      fputc('\\', f);
    if (*s == '\n')
      fputs("\\n", f);
    else
      fputc(*s, f);
  }
}

static void render_model(FILE *f, const struct metrics *m,
                         const struct metrics_model *mm)
{
  int loaded = mm && mm->name;
  fprintf(f, "# HELP harvest_model_loaded 1 when a model is being served.\n"
             "# TYPE harvest_model_loaded gauge\nharvest_model_loaded %d\n",
          loaded);
  if (loaded) {
    fprintf(f, "# HELP harvest_model_info The model being served.\n"
               "# TYPE harvest_model_info gauge\nharvest_model_info{name=\"");
    label_value(f, mm->name);
    fprintf(f, "\",version=\"%lld\",stage=\"", (long long)mm->version);
    label_value(f, mm->stage);
    fprintf(f, "\"} 1\n# HELP harvest_model_version Version number of the "
               "model being served.\n# TYPE harvest_model_version gauge\n"
               "harvest_model_version %lld\n"
               "# HELP harvest_model_loaded_timestamp_seconds When the "
               "served model was loaded, in seconds since the epoch.\n"
               "# TYPE harvest_model_loaded_timestamp_seconds gauge\n"
               "harvest_model_loaded_timestamp_seconds %.3f\n",
            (long long)mm->version, mm->loaded_at);
    if (mm->index_kind)
      fprintf(f, "# HELP harvest_retrieval_index How the served model "
                 "retrieves: 1 for kind=\"ivf\" (its approximate index) or "
                 "kind=\"exact\" (every movie scored).\n"
                 "# TYPE harvest_retrieval_index gauge\n"
                 "harvest_retrieval_index{kind=\"%s\"} 1\n",
              mm->index_kind);
    if (mm->index_kind && !strcmp(mm->index_kind, "ivf"))
      fprintf(f, "# HELP harvest_retrieval_index_recall Recall@100 of the "
                 "served index against exact scoring, measured at build.\n"
                 "# TYPE harvest_retrieval_index_recall gauge\n"
                 "harvest_retrieval_index_recall %.4f\n",
              mm->index_recall);
    if (mm->cache_users >= 0)
      fprintf(f, "# HELP harvest_recommend_cache_users Users whose top "
                 "movies under the served model are memoised.\n"
                 "# TYPE harvest_recommend_cache_users gauge\n"
                 "harvest_recommend_cache_users %lld\n",
              mm->cache_users);
  }
  fprintf(f,
          "# HELP harvest_model_reloads_total Model loads by result.\n"
          "# TYPE harvest_model_reloads_total counter\n"
          "harvest_model_reloads_total{result=\"swapped\"} %llu\n"
          "harvest_model_reloads_total{result=\"refused\"} %llu\n"
          "# HELP harvest_recommendations_total Users recommended for.\n"
          "# TYPE harvest_recommendations_total counter\n"
          "harvest_recommendations_total %llu\n"
          "# HELP harvest_recommended_items_total Titles recommended.\n"
          "# TYPE harvest_recommended_items_total counter\n"
          "harvest_recommended_items_total %llu\n"
          "# HELP harvest_credentials_checked_total Credentials verified "
          "(tokens, keys, sessions); public routes check none.\n"
          "# TYPE harvest_credentials_checked_total counter\n"
          "harvest_credentials_checked_total %llu\n",
          (unsigned long long)atomic_load(&m->reload_ok),
          (unsigned long long)atomic_load(&m->reload_refused),
          (unsigned long long)atomic_load(&m->rec_users),
          (unsigned long long)atomic_load(&m->rec_items),
          (unsigned long long)atomic_load(&m->credentials));
}

/* Fields 14, 15 (utime, stime) and 22 (starttime) of /proc/self/stat, in
 * clock ticks; -1 when unreadable. The command name (field 2) may hold
 * spaces and parentheses, so fields are counted from its last ')'. */
static int proc_stat(unsigned long long *utime, unsigned long long *stime,
                     unsigned long long *start)
{
  char buf[1024];
  FILE *f = fopen("/proc/self/stat", "r");
  size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
  if (f)
    fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
                          "%llu %*d %*d %*d %*d %*d %*d %llu",
                   utime, stime, start) != 3)
    return -1;
  return 0;
}

/* The boot time from /proc/stat's btime line (seconds since the epoch). */
static long long boot_time(void)
{
  char line[256];
  long long bt = -1;
  FILE *f = fopen("/proc/stat", "r");
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "btime %lld", &bt) == 1)
      break;
  if (f)
    fclose(f);
  return bt;
}

static long open_fds(void)
{
  DIR *d = opendir("/proc/self/fd");
  long n = 0;
  if (!d)
    return -1;
  for (struct dirent *e; (e = readdir(d));)
    n += e->d_name[0] != '.';
  closedir(d);
  return n - 1; /* the directory's own descriptor */
}

/* The process_* metrics of Prometheus' client libraries (their names,
 * units and help texts), from /proc; a value that cannot be read is left
 * out rather than reported as 0. */
static void render_process(FILE *f)
{
  unsigned long long ut, st, start;
  double tck = (double)sysconf(_SC_CLK_TCK);
  long long bt = boot_time();
  int have = proc_stat(&ut, &st, &start) == 0 && tck > 0;
  if (have)
    fprintf(f, "# HELP process_cpu_seconds_total Total user and system CPU "
               "time spent in seconds.\n# TYPE process_cpu_seconds_total "
               "counter\nprocess_cpu_seconds_total %.2f\n",
            (double)(ut + st) / tck);
  long long pages = 0;
  FILE *sm = fopen("/proc/self/statm", "r");
  if (sm && fscanf(sm, "%*s %lld", &pages) == 1)
    fprintf(f, "# HELP process_resident_memory_bytes Resident memory size "
               "in bytes.\n# TYPE process_resident_memory_bytes gauge\n"
               "process_resident_memory_bytes %lld\n",
            pages * (long long)sysconf(_SC_PAGESIZE));
  if (sm)
    fclose(sm);
  long fds = open_fds();
  if (fds >= 0)
    fprintf(f, "# HELP process_open_fds Number of open file descriptors.\n"
               "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n",
            fds);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    fprintf(f, "# HELP process_max_fds Maximum number of open file "
               "descriptors.\n# TYPE process_max_fds gauge\n"
               "process_max_fds %llu\n",
            (unsigned long long)rl.rlim_cur);
  if (have && bt >= 0)
    fprintf(f, "# HELP process_start_time_seconds Start time of the process "
               "since unix epoch in seconds.\n# TYPE "
               "process_start_time_seconds gauge\n"
               "process_start_time_seconds %.2f\n",
            (double)bt + (double)start / tck);
}

int metrics_render(const struct metrics *m, const struct metrics_model *model,
                   char **out, size_t *len, struct hv_err *err)
{
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  if (!f)
    return hv_err_set(err, HV_ENOMEM, "out of memory rendering metrics");
  render_requests(f, m);
  fprintf(f, "# HELP harvest_http_requests_in_flight Requests being "
             "answered, this one included.\n"
             "# TYPE harvest_http_requests_in_flight gauge\n"
             "harvest_http_requests_in_flight %d\n",
          model ? model->in_flight : 0);
  render_model(f, m, model);
  render_process(f);
  if (fclose(f) != 0 || !buf) {
    free(buf);
    return hv_err_set(err, HV_ENOMEM, "out of memory rendering metrics");
  }
  *out = buf;
  *len = n;
  return 0;
}
