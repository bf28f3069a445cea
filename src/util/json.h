/*
 * json.h - small jansson helpers shared by every module that writes JSON
 * (reports, run records, CLI output).
 *
 * Named hv_json_* so they cannot be taken for jansson's own json_* API.
 * model/ does not use this (it has no jansson); everything above it may.
 * Thread-safe: no state.
 */
#ifndef HV_UTIL_JSON_H
#define HV_UTIL_JSON_H

#include <jansson.h>

/* A new reference: a JSON real for a finite v, JSON null for NaN and the
 * infinities (which JSON cannot hold). NULL only when out of memory. */
json_t *hv_json_num(double v);

#endif
