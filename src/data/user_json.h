/*
 * user_json.h - a catalogue user row as JSON, the one encoding of
 * GET /users/, GET /users/{user_id} and `harvest users show --json`.
 */
#ifndef HV_DATA_USER_JSON_H
#define HV_DATA_USER_JSON_H

#include <jansson.h>

#include "store/catalog.h"

/* u as {"user_id", "bucketized_user_age", "raw_user_age", "user_gender",
 * "user_occupation_label", "user_occupation_text", "user_zip_code"} (null
 * for an unknown value). A null is never silent: "unknown" lists the
 * fields without a value (age, gender, occupation, zip_code) and
 * "not_in_dataset" those of them no user of the dataset has (present:
 * CATALOG_UF_* bits, catalog_user_features; ml-latest has no age, gender
 * or occupation). Neither key when the list is empty. NULL when out of
 * memory. */
json_t *user_row_json(const struct catalog_user_row *u, unsigned present);

#endif
