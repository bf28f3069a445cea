/*
 * filter.h - MLflow-style run search expressions and order-by clauses.
 *
 * Grammar (keywords case-insensitive, whitespace free-form):
 *
 *   filter     := comparison { AND comparison }
 *   comparison := key op value
 *   key        := PREFIX '.' NAME         PREFIX: metrics|metric|m,
 *                                         params|param|p, tags|tag,
 *                                         attributes|attribute|attr|run
 *   NAME       := bare [A-Za-z0-9_./:-]+ | `backticked` | "double quoted"
 *   op         := = | != | <> | < | <= | > | >= | LIKE | ILIKE | IN | NOT IN
 *   value      := 'string' | "string" | number | '(' string {, string} ')'
 *
 * Quotes inside a string are doubled ('it''s'). Metrics and the numeric
 * attributes (start_time, end_time, data_rows, data_first_rating_id,
 * data_last_rating_id) take numbers and = != < <= > >=; params, tags and the
 * text attributes (run_id, run_name, status, user, parent_run_id,
 * experiment, code_version, data_sha256) take strings and = != LIKE ILIKE
 * IN / NOT IN, as in MLflow. LIKE uses % and _ and is case-sensitive; ILIKE
 * is not. A run that lacks the key does not match (like MLflow's join).
 *
 *   order_by   := okey [ASC|DESC] { ',' okey [ASC|DESC] }
 *
 * Design: a hand-written tokenizer and recursive-descent parser produce a
 * small AST evaluated in C against loaded runs, so no value is ever spliced
 * into SQL. Errors name the 1-based position and what was expected.
 * Threads: parsed filters are immutable and may be shared.
 */
#ifndef HV_TRACK_FILTER_H
#define HV_TRACK_FILTER_H

#include <stddef.h>

#include "store/tracking.h"
#include "util/err.h"

#define FILTER_MAX_LEN 4096 /* longest accepted expression, bytes */

struct filter;
struct filter_order;

/* Parse expr into *out (caller frees with filter_free). NULL or blank expr
 * gives a filter that matches everything. HV_EINVAL with "filter: at
 * position N: expected ..., found ..." on a bad expression. */
int filter_parse(const char *expr, struct filter **out,
                 struct hv_err *err) HV_WARN_UNUSED;

/* 1 when run r satisfies f, else 0. */
int filter_match(const struct filter *f, const struct tracking_run *r);

/* Free a filter; NULL does nothing. */
void filter_free(struct filter *f);

/* Parse an order-by list into *out (free with filter_order_free). NULL or
 * blank gives the default: newest first. */
int filter_order_parse(const char *spec, struct filter_order **out,
                       struct hv_err *err) HV_WARN_UNUSED;

void filter_order_free(struct filter_order *o);

/* The order-by keys (metrics, params and tags) that none of runs[0..n)
 * has, as "metrics.a, params.b" into buf (cap > 0; "" when every key is
 * held by some run, or n is 0). Such a key sorts nothing: the caller can
 * say so. Returns how many keys are missing. */
size_t filter_order_missing(const struct filter_order *o,
                            const struct tracking_run *runs, size_t n,
                            char *buf, size_t cap);

/* Sort runs in place by o; missing values and NaN sort last in either
 * direction; ties go newest first. */
void filter_sort(struct tracking_run *runs, size_t n,
                 const struct filter_order *o);

/* SQL LIKE on bytes: % any run, _ one byte; icase folds ASCII case.
 * Returns 1 on a match. Exposed for tests. */
int filter_like(const char *pattern, const char *s, int icase);

#endif
