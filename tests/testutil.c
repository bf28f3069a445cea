/*
 * testutil.c - helpers shared by the cmocka tests: see testutil.h.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/db.h"

const char *tu_shared(const char *rel, char *out, size_t cap)
{
  const char *base = getenv("HV_SHARED_DIR");
  if (!base || !*base)
    return NULL;
  snprintf(out, cap, "%s/%s", base, rel);
  struct stat st;
  return stat(out, &st) == 0 ? out : NULL;
}

void tu_tmpdir(char *out, size_t cap)
{
  const char *t = getenv("TMPDIR");
  snprintf(out, cap, "%s/hvtest.XXXXXX", t && *t ? t : "/tmp");
  if (!mkdtemp(out)) {
    perror("mkdtemp");
    abort();
  }
}

void tu_rmtree(const char *dir)
{
  char cmd[4200];
  if (!dir || strlen(dir) < 5 || strstr(dir, "hvtest.") == NULL)
    return;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
}

void tu_write(const char *dir, const char *name, const char *text, char *out,
              size_t cap)
{
  snprintf(out, cap, "%s/%s", dir, name);
  FILE *f = fopen(out, "wb");
  if (!f) {
    perror(out);
    abort();
  }
  fputs(text, f);
  fclose(f);
}

const char *tu_bin(void)
{
  const char *b = getenv("HV_BIN");
  return b && *b ? b : "./harvest";
}

int tu_run(const char *cmd, char *out, size_t cap)
{
  FILE *p = popen(cmd, "r");
  if (!p)
    return -1;
  size_t n = 0;
  if (out && cap) {
    n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
  } else {
    char buf[4096];
    while (fread(buf, 1, sizeof(buf), p) > 0) {
    }
  }
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct hv_db *tu_open_db(const char *path)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  if (db_open(path, &db, &e))
    fail_msg("open: %s", e.msg);
  return db;
}

pid_t tu_spawn_sh(const char *script)
{
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setpgid(0, 0);
    execl("/bin/sh", "sh", "-c", script, (char *)NULL);
    _exit(127);
  }
  setpgid(pid, pid);
  return pid;
}

pid_t tu_spawn_quiet(char *const argv[])
{
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

int tu_kill_wait(pid_t pid, int sig)
{
  kill(pid, sig);
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int tu_curl(const char *method, const char *url, const char *body,
            const char *const *hdrs, const char *cainfo, long timeout_s,
            tu_curl_cb on_body, tu_curl_cb on_header, void *ud, long *status)
{
  *status = 0;
  CURL *c = curl_easy_init();
  if (!c)
    return CURLE_FAILED_INIT;
  struct curl_slist *h = NULL;
  for (const char *const *p = hdrs; p && *p; p++)
    h = curl_slist_append(h, *p);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (!strcmp(method, "HEAD"))
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, ud);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, ud);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (cainfo)
    curl_easy_setopt(c, CURLOPT_CAINFO, cainfo);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return (int)rc;
}
