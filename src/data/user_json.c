/*
 * user_json.c - a catalogue user row as JSON: see user_json.h.
 */
#include "data/user_json.h"

/* JSON value of a nullable string / int column. */
static json_t *opt_str(const char *s)
{
  return s ? json_string(s) : json_null();
}

static json_t *opt_int(int v)
{
  return v >= 0 ? json_integer(v) : json_null();
}

/* Set key to the array of names when any. Returns 0 or HV_ENOMEM. */
static int set_names(json_t *j, const char *key, const char *const *names,
                     size_t n)
{
  json_t *a = n ? json_array() : NULL;
  for (size_t i = 0; a && i < n; i++)
    if (json_array_append_new(a, json_string(names[i])))
      break;
  if (n && (!a || json_array_size(a) != n || json_object_set_new(j, key, a)))
    return HV_ENOMEM;
  return 0;
}

json_t *user_row_json(const struct catalog_user_row *u, unsigned present)
{
  const char *unk[4], *absent[3];
  size_t nu = 0, na = 0;
  const struct {
    int known;
    unsigned bit;
    const char *name;
  } f[] = {{u->raw_age >= 0 || u->bucketized_age >= 0, CATALOG_UF_AGE, "age"},
           {u->gender != NULL, CATALOG_UF_GENDER, "gender"},
           {u->occupation_label >= 0 || u->occupation_text,
            CATALOG_UF_OCCUPATION, "occupation"},
           {u->zip_code != NULL, 0, "zip_code"}};
  for (size_t i = 0; i < 4; i++) {
    if (f[i].known)
      continue;
    unk[nu++] = f[i].name;
    if (f[i].bit && !(present & f[i].bit))
      absent[na++] = f[i].name;
  }
  json_t *j = json_pack(
      "{s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "user_id", (json_int_t)u->id,
      "bucketized_user_age", opt_int(u->bucketized_age), "raw_user_age",
      opt_int(u->raw_age), "user_gender", opt_str(u->gender),
      "user_occupation_label", opt_int(u->occupation_label),
      "user_occupation_text", opt_str(u->occupation_text), "user_zip_code",
      opt_str(u->zip_code));
  if (j && (set_names(j, "unknown", unk, nu) ||
            set_names(j, "not_in_dataset", absent, na))) {
    json_decref(j);
    return NULL;
  }
  return j;
}
