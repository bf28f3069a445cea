/*
 * json.c - small jansson helpers: see json.h.
 */
#include "util/json.h"

#include <math.h>

json_t *hv_json_num(double v)
{
  return isfinite(v) ? json_real(v) : json_null();
}
