/*
 * testutil.h - helpers shared by the cmocka tests.
 */
#ifndef HV_TESTS_TESTUTIL_H
#define HV_TESTS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
/* cmocka needs the includes above first. */
#include <cmocka.h>

/* Path of a file under ../shared (e.g. "data/ml-100k") in out, or NULL when
 * ../shared is not there (tests then skip). */
const char *tu_shared(const char *rel, char *out, size_t cap);

/* Make a fresh empty temporary directory; returns its path (static buffer
 * per call is NOT used: out is filled). */
void tu_tmpdir(char *out, size_t cap);

/* Remove a directory tree (rm -rf). */
void tu_rmtree(const char *dir);

/* Write text to dir/name; returns the full path in out. */
void tu_write(const char *dir, const char *name, const char *text, char *out,
              size_t cap);

/* Path of the built harvest binary (HV_BIN), for end-to-end tests. */
const char *tu_bin(void);

/* Run a shell command, capture stdout into out (cap bytes, NUL-terminated);
 * returns the exit status (or -1). */
int tu_run(const char *cmd, char *out, size_t cap);

struct hv_db;

/* The database a store test opens: sqlite_path (":memory:" or a file)
 * normally; under tests/pg_cluster.sh (HV_TEST_PG set to a connection URI
 * of a throwaway cluster) a new, empty PostgreSQL database of that cluster,
 * its URI written to out (cap bytes). Fails the test when the database
 * cannot be created. */
const char *tu_db(const char *sqlite_path, char *out, size_t cap);

/* Column 0 of the first row of sql run on the database db (a SQLite file
 * or a PostgreSQL URI, as tu_db gives), behind the store's back; -1 when
 * there is no row. Fails the test when the query fails. */
int64_t tu_q1(const char *db, const char *sql);

/* Run sql (no rows) on db behind the store's back: 0 when it succeeded,
 * non-zero when the database refused it. */
int tu_exec(const char *db, const char *sql);

/* 1 when the store tests run on PostgreSQL (under tests/pg_cluster.sh). A
 * test of SQLite's own machinery (pragmas, sqlite_schema, its fast paths)
 * skips there: `if (tu_on_pg()) skip();`. */
int tu_on_pg(void);

/* Open (creating or upgrading) the database at path; fails the test with
 * the error message when that does not work. The caller closes it. */
struct hv_db *tu_open_db(const char *path);

/* Start /bin/sh -c script in a new process group (kill it with
 * kill(-pid, sig)); returns the pid. Fails the test when fork fails. */
pid_t tu_spawn_sh(const char *script);

/* Start argv[0] with argv (NULL-terminated) and its stdout and stderr on
 * /dev/null; returns the pid. Fails the test when fork fails. */
pid_t tu_spawn_quiet(char *const argv[]);

/* Send sig to pid and wait for it: its exit status, or -1 when it did not
 * exit normally. */
int tu_kill_wait(pid_t pid, int sig);

/* ---- waiting for something that should happen ----------------------------
 * Tests never sleep a fixed time and hope: they wait for a readiness signal
 * (a log line, a byte from a child, a server answer) with a deadline that
 * only a failing test reaches, then fail saying what did not happen. */

/* The deadline in seconds: 60, or HV_TEST_WAIT_S. Generous on purpose: a
 * slow or loaded CI machine must never outrun it. */
double tu_wait_s(void);

/* Call cond(ud) until it returns non-zero or tu_wait_s() passes, pausing
 * 1 ms at first and up to 50 ms between calls. Returns 1 when cond held,
 * 0 on timeout. */
int tu_wait_until(int (*cond)(void *ud), void *ud);

/* Wait until the file at path holds needle; returns the file's text
 * (caller frees), or NULL on timeout. */
char *tu_wait_file(const char *path, const char *needle);

/* Read one byte from fd (a pipe a child writes when it is ready) within
 * tu_wait_s(); returns it, or -1 on timeout, EOF or error. */
int tu_wait_byte(int fd);

/* ---- randomised tests that replay ----------------------------------------- */

/* The seed of a randomised test: the decimal value of the environment
 * variable env when set, else one from the clock and the pid. Printed
 * with the line that replays it ("env=SEED"). */
uint64_t tu_seed(const char *env);

/* ---- killing what a test started -------------------------------------------- */

/* Make this process the reaper of its orphaned descendants (Linux's
 * PR_SET_CHILD_SUBREAPER), so tu_kill_group can wait for grandchildren. */
void tu_subreaper(void);

/* SIGKILL the process group pgid (its leader is our child, as tu_spawn_sh
 * makes it) and wait until every process of it is gone: the leader, then
 * the descendants tu_subreaper made ours. Returns the leader's wait
 * status. */
int tu_kill_group(pid_t pgid);

/* libcurl write/header callback: (data, size, count, user pointer). */
typedef size_t (*tu_curl_cb)(char *p, size_t sz, size_t n, void *ud);

/* One HTTP request with libcurl on a fresh connection: method as given
 * (HEAD sends no body back), body NULL for none, hdrs NULL-terminated or
 * NULL, cainfo a CA file for https or NULL; the response's bytes go to
 * on_body and on_header with ud. Returns the CURLcode (0 = the exchange
 * worked) and the HTTP status in *status (0 when there was none). */
int tu_curl(const char *method, const char *url, const char *body,
            const char *const *hdrs, const char *cainfo, long timeout_s,
            tu_curl_cb on_body, tu_curl_cb on_header, void *ud,
            long *status);

/* tu_curl from local address src ("127.0.0.2": any of loopback's
 * 127.0.0.0/8), for limits kept per client address; NULL: the default. */
int tu_curl_from(const char *src, const char *method, const char *url,
                 const char *body, const char *const *hdrs,
                 tu_curl_cb on_body, tu_curl_cb on_header, void *ud,
                 long *status);

/* A response gathered by tu_curl with tu_res_body / tu_res_header as the
 * callbacks and the struct as ud: body and header lines NUL-terminated,
 * cut at their capacity. */
struct tu_res {
  long status;
  char body[1 << 17]; /* /openapi.json is ~70 KB */
  size_t len;
  char headers[4096];
  size_t hlen;
};
size_t tu_res_body(char *p, size_t sz, size_t n, void *ud);
size_t tu_res_header(char *p, size_t sz, size_t n, void *ud);

#endif
