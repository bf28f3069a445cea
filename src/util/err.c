/*
 * err.c - error records: see err.h.
 */
#include "util/err.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void hv_err_clear(struct hv_err *err)
{
  if (!err)
    return;
  err->code = 0;
  err->msg[0] = '\0';
}

int hv_err_set(struct hv_err *err, int code, const char *fmt, ...)
{
  assert(code < 0); /* a failure: 0 here would read as success upstream */
  if (!err)
    return code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
  va_end(ap);
  err->code = code;
  return code;
}

void hv_err_prefix(struct hv_err *err, const char *fmt, ...)
{
  if (!err)
    return;
  char head[256];
  char old[sizeof(err->msg)];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(head, sizeof(head), fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof(old));
  snprintf(err->msg, sizeof(err->msg), "%s: %s", head, old);
}

static const struct {
  int code;
  const char *name;
} names[] = {
    {HV_OK, "ok"},
    {HV_EUSAGE, "usage error"},
    {HV_EINVAL, "invalid input"},
    {HV_ENOTFOUND, "not found"},
    {HV_EIO, "I/O error"},
    {HV_ECORRUPT, "corrupt data"},
    {HV_ECONFLICT, "conflict"},
    {HV_ENOMEM, "out of memory"},
    {HV_EDB, "database error"},
    {HV_EVERSION, "version mismatch"},
    {HV_EAUTH, "not authenticated"},
    {HV_EFORBIDDEN, "forbidden"},
    {HV_ETOOBIG, "too large"},
    {HV_ELIMIT, "rate limited"},
    {HV_EINTERNAL, "internal error"},
    {HV_EBUSY, "busy"},
    {HV_ENOSPC, "disk full"},
};

const char *hv_strerror(int code)
{
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (names[i].code == code)
      return names[i].name;
  return "unknown error";
}

int hv_err_exit_code(int code)
{
  if (code == 0)
    return 0;
  return code == HV_EUSAGE ? 2 : 1;
}
