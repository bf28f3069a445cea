/*
 * say.c - see say.h.
 */
#include "util/say.h"

#include <stdarg.h>
#include <stdio.h>

void say(say_fn fn, void *ud, const char *fmt, ...)
{
  if (!fn)
    return;
  char line[SAY_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  fn(ud, line);
}
