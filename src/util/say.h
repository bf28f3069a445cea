/*
 * say.h - one formatted progress line through a caller's callback.
 *
 * Long services (retraining, the demo, monitoring) report steps as lines
 * to a callback the CLI prints; a NULL callback means "quiet". Lines
 * longer than SAY_MAX - 1 bytes are cut.
 *
 * Thread-safe: no state.
 */
#ifndef HV_UTIL_SAY_H
#define HV_UTIL_SAY_H

#include "util/err.h"

#define SAY_MAX 512

typedef void (*say_fn)(void *ud, const char *line);

/* Format the line and pass it to fn(ud, line); nothing when fn is NULL. */
void say(say_fn fn, void *ud, const char *fmt, ...) HV_PRINTF(3, 4);

#endif
