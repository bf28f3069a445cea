/*
 * fuzz_policy.c - libFuzzer target: the retraining policy file
 * (policy_parse, as `harvest retrain --policy FILE` and `harvest watch`
 * read it) and the decision over a monitoring report read back from its
 * stored JSON (monitor_report_from_json, as the UI reads report.json; then
 * policy_decide on the struct).
 *
 * Input: the policy document, then optionally a NUL and a JSON report. A
 * policy that parses must pass policy_check or say why, and survives the
 * round trip through policy_to_json.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "monitor/monitor_report.h"
#include "retrain/policy.h"
#include "fuzz_util.h"

static const char default_report[] =
    "{\"windows\": [{\"name\": \"w\", \"n_ratings\": 500, \"metrics\": "
    "{\"top_100_categorical_accuracy\": 0.3}, \"features\": [{\"name\": "
    "\"user_age\", \"psi\": 0.4, \"drift\": true}], \"dataset_drift\": "
    "true}]}";

static void decide(const struct policy *p, const uint8_t *data, size_t size)
{
  const uint8_t *rp;
  size_t rn;
  json_t *j = fz_part(data, size, 1, &rp, &rn)
                  ? json_loadb((const char *)rp, rn, 0, NULL)
                  : json_loads(default_report, 0, NULL);
  struct monitor_report report;
  struct hv_err err = {0};
  int rc = monitor_report_from_json(j, &report, &err);
  json_decref(j);
  if (rc) {
    if (!err.msg[0])
      abort();
    return;
  }
  /* what the reader loads, the writer writes */
  json_decref(monitor_report_to_json(&report));
  struct policy_input in = {&report, 1000, 3.5, 0, NAN, NAN};
  struct policy_decision d;
  if (policy_decide(p, &in, &d, &err) == 0)
    json_decref(policy_decision_to_json(&d));
  monitor_report_free(&report);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const uint8_t *doc;
  size_t n;
  if (!fz_part(data, size, 0, &doc, &n))
    return 0;
  struct policy p;
  struct hv_err err = {0};
  policy_defaults(&p);
  if (policy_parse(&p, (const char *)doc, n, "fuzz.json", &err)) {
    if (!err.msg[0])
      abort();
    return 0;
  }
  if (policy_check(&p, &err))
    return 0;
  json_t *j = policy_to_json(&p);
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  struct policy q;
  policy_defaults(&q);
  /* what policy_to_json writes, policy_parse reads back */
  if (text && policy_parse(&q, text, strlen(text), "round trip", &err))
    abort();
  free(text);
  json_decref(j);
  decide(&p, data, size);
  return 0;
}
