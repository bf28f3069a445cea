/*
 * openapi_schemas.c - what /openapi.json says each route answers and
 * takes beyond the route table: the response schemas (components/schemas),
 * the media type of each 2xx answer, item schemas of JSON bodies and the
 * bounds of parameters: see openapi_schemas.h.
 *
 * Design: the schemas are JSON text parsed once when the document is built
 * (at server start), so they read as the answers do; test_openapi checks
 * every answer the server gives against them, route by route and status by
 * status, so a handler that changes its shape fails there.
 */
#include "serve/http/openapi_schemas.h"
#include "serve/http/docs.h"

#include <stdio.h>
#include <string.h>

#define S(...) #__VA_ARGS__

/* OpenAPI 3.0 schema objects (nullable: true where a value may be null). */
static const char components_json[] = S({
  "Error": {"type": "object", "required": ["detail"],
            "properties": {"detail": {"type": "string"}}},
  "Message": {"type": "object", "required": ["message"],
              "properties": {"message": {"type": "string"}}},
  "Health": {"type": "object", "required": ["status"],
             "properties": {"status": {"type": "string", "enum": ["ok"]}}},
  "Ready": {"type": "object", "required": ["status", "model", "version",
                                           "stage"],
            "properties": {"status": {"type": "string", "enum": ["ready"]},
                           "model": {"type": "string"},
                           "version": {"type": "integer"},
                           "stage": {"type": "string"}}},
  "User": {"type": "object", "required": ["user_id"],
           "description": "Without operator rights only user_id is given.",
           "properties": {
             "user_id": {"type": "integer", "minimum": 0},
             "bucketized_user_age": {"type": "integer", "nullable": true},
             "raw_user_age": {"type": "integer", "nullable": true},
             "user_gender": {"type": "string", "nullable": true},
             "user_occupation_label": {"type": "integer", "nullable": true},
             "user_occupation_text": {"type": "string", "nullable": true},
             "user_zip_code": {"type": "string", "nullable": true},
             "unknown": {"type": "array", "minItems": 1, "uniqueItems": true,
                         "description": "The fields whose null means unknown for this user; absent when every field has a value.",
                         "items": {"type": "string", "enum": ["age", "gender", "occupation", "zip_code"]}},
             "not_in_dataset": {"type": "array", "minItems": 1, "uniqueItems": true,
                                "description": "Of the unknown fields, the features no user of the dataset has (ml-latest has no demographics); absent when there are none.",
                                "items": {"type": "string", "enum": ["age", "gender", "occupation"]}}}},
  "UserList": {"type": "object", "required": ["message"],
               "properties": {"message": {"type": "array", "items":
                                          {"$ref": "#/components/schemas/User"}}}},
  "UserRows": {"type": "array", "minItems": 1, "maxItems": 1,
               "items": {"$ref": "#/components/schemas/User"}},
  "RatingIn": {"type": "object",
               "required": ["user_id", "movie_id", "user_rating"],
               "properties": {
                 "user_id": {"type": "integer", "minimum": 0},
                 "movie_id": {"type": "integer", "minimum": 0},
                 "user_rating": {"type": "number", "minimum": 0.5,
                                 "maximum": 5,
                                 "description": "on the newest dataset's scale: whole stars (1, 2, ..., 5) for ml-100k, ml-1m and synth, half stars (0.5, 1, ..., 5) for ml-latest and others; else 422"},
                 "timestamp": {"type": "integer"}}},
  "UserIn": {"type": "object", "additionalProperties": false,
             "properties": {
               "user_id": {"type": "integer", "minimum": 1,
                           "maximum": 2147483647},
               "age": {"type": "integer", "minimum": 1, "maximum": 120,
                       "nullable": true},
               "gender": {"type": "string", "enum": ["M", "F"],
                          "nullable": true},
               "occupation": {"type": "string", "nullable": true},
               "zip_code": {"type": "string", "nullable": true}}},
  "UserAdded": {"type": "object", "required": ["message", "user_id"],
                "properties": {"message": {"type": "string"},
                               "user_id": {"type": "integer"}}},
  "RatingsAdded": {"type": "object",
                   "required": ["message", "inserted", "first_rating_id"],
                   "properties": {"message": {"type": "string"},
                                  "inserted": {"type": "integer",
                                               "minimum": 1},
                                  "first_rating_id": {"type": "integer"}}},
  "Token": {"type": "object", "required": ["access_token", "token_type"],
            "properties": {"access_token": {"type": "string"},
                           "token_type": {"type": "string",
                                          "enum": ["bearer"]}}},
  "OwnRating": {"type": "object",
                "required": ["user_id", "movie_id", "movie_title",
                             "user_rating", "timestamp", "source"],
                "properties": {"user_id": {"type": "integer"},
                               "movie_id": {"type": "integer"},
                               "movie_title": {"type": "string"},
                               "user_rating": {"type": "number"},
                               "timestamp": {"type": "integer"},
                               "source": {"type": "string"}}},
  "OwnRatings": {"type": "array",
                 "items": {"$ref": "#/components/schemas/OwnRating"}},
  "Movie": {"type": "object",
            "required": ["movie_id", "movie_title", "movie_genres"],
            "properties": {
              "movie_id": {"type": "integer"},
              "movie_title": {"type": "string"},
              "movie_genres": {"type": "array", "items": {"type": "string"}},
              "release_date": {"type": "string", "nullable": true},
              "release_year": {"type": "integer", "nullable": true},
              "imdb_url": {"type": "string", "nullable": true}}},
  "MovieList": {
    "properties": {
      "message": {"items": {"$ref": "#/components/schemas/Movie"},
                  "type": "array"}},
    "type": "object", "required": ["message"]},
  "AverageRating": {"type": "object",
                    "required": ["movie_title", "rating", "movie_id",
                                 "n_ratings"],
                    "properties": {"movie_title": {"type": "string"},
                                   "rating": {"type": "number", "minimum": 0,
                                              "maximum": 5},
                                   "movie_id": {"type": "integer"},
                                   "n_ratings": {"type": "integer",
                                                 "minimum": 1}}},
  "AverageRatings": {"type": "array",
                     "items": {"$ref": "#/components/schemas/AverageRating"}},
  "Titles": {"type": "object", "required": ["message"],
             "properties": {"message": {"type": "array",
                                        "items": {"type": "string"}},
                            "stage": {"type": "string",
                                      "enum": ["blend", "ranking",
                                               "retrieval"]},
                            "explanations": {
                                "type": "array",
                                "items": {"$ref":
                                          "#/components/schemas/Explanation"}}}},
  "Explanation": {"type": "object",
                  "required": ["movie_id", "title", "retrieval_score", "score",
                               "neighbours"],
                  "properties": {
                      "movie_id": {"type": "integer"},
                      "title": {"type": "string", "nullable": true},
                      "retrieval_score": {"type": "number"},
                      "score": {"type": "number"},
                      "predicted_rating": {"type": "number"},
                      "neighbours": {"type": "array", "maxItems": 3,
                                     "items": {"$ref":
                                               "#/components/schemas/Neighbour"}},
                      "ranker_contributions": {
                          "type": "object",
                          "required": ["ids", "user_features",
                                       "movie_features", "popularity"],
                          "additionalProperties": {"type": "number"}}}},
  "Neighbour": {"type": "object",
                "required": ["movie_id", "title", "rating", "similarity"],
                "properties": {"movie_id": {"type": "integer"},
                               "title": {"type": "string", "nullable": true},
                               "rating": {"type": "number"},
                               "similarity": {"type": "number",
                                              "minimum": -1, "maximum": 1}}},
  "BatchItem": {"type": "object", "required": ["user_id", "movies"],
                "properties": {"user_id": {"type": "integer", "minimum": 0},
                               "movies": {"type": "array",
                                          "items": {"type": "string"}}}},
  "Batch": {"type": "array",
            "items": {"$ref": "#/components/schemas/BatchItem"}},
  "BatchIn": {"type": "object", "required": ["users"],
              "properties": {"users": {"type": "array", "minItems": 1,
                                       "maxItems": 1000,
                                       "items": {"type": "integer",
                                                 "minimum": 0}}}},
  "Segment": {"type": "object", "required": ["segment", "n_pairs", "n_users"],
              "properties": {"segment": {"type": "string"},
                             "n_pairs": {"type": "integer"},
                             "n_users": {"type": "integer"}},
              "additionalProperties": {"type": "number", "nullable": true}},
  "Metrics": {"type": "object",
              "properties": {"segments": {"type": "array", "items":
                                          {"$ref": "#/components/schemas/Segment"}},
                             "segments_not_in_dataset": {
                                 "type": "array", "items": {
                                     "type": "string",
                                     "enum": ["gender", "age"]}}},
              "additionalProperties": {"type": "number", "nullable": true}},
  "Evaluation": {"type": "object",
                 "required": ["model", "version", "stage", "first_rating_id",
                              "last_rating_id", "metrics"],
                 "properties": {"model": {"type": "string"},
                                "version": {"type": "integer"},
                                "stage": {"type": "string"},
                                "first_rating_id": {"type": "integer"},
                                "last_rating_id": {"type": "integer"},
                                "metrics": {"$ref": "#/components/schemas/Metrics"}}},
  "DriftFeature": {
    "type": "object", "required": ["name", "test", "drift"],
    "properties": {
      "name": {"type": "string"}, "test": {"type": "string", "nullable": true},
      "statistic": {"type": "number", "nullable": true},
      "pvalue": {"type": "number", "nullable": true},
      "threshold": {"type": "number", "nullable": true},
      "drift": {"type": "boolean"}, "skipped": {"type": "string"}}},
  "DriftWindow": {
    "type": "object", "required": ["index", "name", "features", "dataset_drift"],
    "properties": {
      "index": {"type": "integer"}, "name": {"type": "string"},
      "n_ratings": {"type": "integer"}, "n_in_sample": {"type": "integer"},
      "in_sample": {"type": "boolean"},
      "in_sample_share": {"type": "number"},
      "skipped": {"type": "string"}, "n_windows": {"type": "integer"},
      "n_users": {"type": "integer"}, "drifted_share": {"type": "number"},
      "metrics": {"type": "object", "nullable": true},
      "features": {"type": "array",
                   "items": {"$ref": "#/components/schemas/DriftFeature"}},
      "dataset_drift": {"type": "boolean"}}},
  "ServedModel": {
    "type": "object", "required": ["model", "version", "stage"],
    "properties": {"model": {"type": "string"}, "version": {"type": "integer"},
                   "stage": {"type": "string"}}},
  "DriftReport": {
    "type": "object", "required": ["model", "reference", "windows", "served"],
    "properties": {
      "model": {"type": "object"}, "config": {"type": "object"},
      "reference": {"type": "object"}, "seconds": {"type": "number"},
      "n_empty_windows": {"type": "integer"},
      "windows": {"type": "array",
                  "items": {"$ref": "#/components/schemas/DriftWindow"}},
      "served": {"$ref": "#/components/schemas/ServedModel"}}},
  "Reload": {"type": "object",
             "required": ["message", "model", "version", "previous_version"],
             "properties": {"message": {"type": "string"},
                            "model": {"type": "string"},
                            "version": {"type": "integer"},
                            "previous_version": {"type": "integer",
                                                 "nullable": true}}}
});

/* The 2xx answer of each route: status, media type and schema (a
 * component name, or inline JSON when it starts with '{'). */
static const struct openapi_answer answers[] = {
    {"root", 200, "application/json", "Message", NULL},
    {"healthz", 200, "application/json", "Health", NULL},
    {"readyz", 200, "application/json", "Ready", NULL},
    {"metrics", 200, "text/plain", "{\"type\": \"string\"}", NULL},
    {"openapi", 200, "application/json", "{\"type\": \"object\"}", NULL},
    {"docs", 200, "text/html", "{\"type\": \"string\"}", NULL},
    {"docs_static", 200, "text/javascript text/css image/png",
     "{\"type\": \"string\"}", NULL},
    {"users", 200, "application/json", "UserList", NULL},
    {"user", 200, "application/json", "UserRows", NULL},
    {"add_rating", 200, "application/json", "RatingsAdded", NULL},
    {"user_add", 201, "application/json", "UserAdded", NULL},
    {"token", 200, "application/json", "Token", NULL},
    {"update_password", 200, "application/json", "Message", NULL},
    {"secure_ratings", 200, "application/json", "OwnRatings", NULL},
    {"movies", 200, "application/json", "MovieList", NULL},
    {"random", 200, "application/json", "MovieList", NULL},
    {"avg_ratings", 200, "application/json", "AverageRatings", NULL},
    {"recommend", 200, "application/json", "Titles", NULL},
    {"recommend_batch", 200, "application/json", "Batch", NULL},
    {"evaluate", 200, "application/json", "Evaluation", NULL},
    {"drift", 200, "application/json", "DriftReport", NULL},
    {"reload", 200, "application/json", "Reload", NULL},
    {"ui_artifact", 200, "application/octet-stream",
     "{\"type\": \"string\", \"format\": \"binary\"}", NULL},
    {"ui_transition", 303, NULL, NULL, NULL},
    {"ui_login", 200, "text/html", "{\"type\": \"string\"}",
     "signed in (sets hv_session): to next"},
    {"ui_logout", 303, NULL, NULL, NULL},
    {"ui_static", 200, "text/css text/javascript", "{\"type\": \"string\"}", NULL},
    {NULL, 0, NULL, NULL, NULL}};

/* Schemas of parameters beyond their type: bounds, booleans. */
static const struct {
  const char *route, *param, *schema;
} param_schemas[] = {
    {"user", "user_id", "{\"type\": \"integer\", \"minimum\": 0}"},
    {"random", "n", "{\"type\": \"integer\", \"minimum\": 1, "
                    "\"maximum\": 10000}"},
    {"avg_ratings", "min_rating", "{\"type\": \"number\", \"minimum\": 0, "
                                  "\"maximum\": 5, \"default\": 0}"},
    {"avg_ratings", "max_rating", "{\"type\": \"number\", \"minimum\": 0, "
                                  "\"maximum\": 5, \"default\": 5}"},
    {"recommend", "user", "{\"type\": \"integer\", \"minimum\": 0}"},
    {"recommend", "n", "{\"type\": \"integer\", \"minimum\": 1, "
                       "\"maximum\": MAX_N}"},
    {"recommend", "exclude_rated", "{\"type\": \"boolean\", "
                                   "\"default\": false}"},
    {"recommend", "stage", "{\"type\": \"string\", \"enum\": [\"blend\", "
                           "\"ranking\", \"retrieval\"]}"},
    {"recommend", "explain", "{\"type\": \"boolean\", "
                             "\"default\": false}"},
    {"recommend", "candidates", "{\"type\": \"integer\", \"minimum\": 1, "
                                "\"maximum\": 1000, \"default\": 100}"},
    {"recommend_batch", "n", "{\"type\": \"integer\", \"minimum\": 1, "
                             "\"maximum\": MAX_N}"},
    {"recommend_batch", "exclude_rated", "{\"type\": \"boolean\", "
                                         "\"default\": false}"},
    {"recommend_batch", "stage", "{\"type\": \"string\", \"enum\": "
                                 "[\"blend\", \"ranking\", \"retrieval\"]}"},
    {"recommend_batch", "candidates", "{\"type\": \"integer\", "
                                      "\"minimum\": 1, \"maximum\": 1000, "
                                      "\"default\": 100}"},
    {"recommend_batch", "users", "{\"type\": \"array\", \"maxItems\": 400, "
                                 "\"items\": {\"type\": \"integer\", "
                                 "\"minimum\": 0}}"},
    {"evaluate", "first_rating_id", "{\"type\": \"integer\", \"minimum\": 0}"},
    {"evaluate", "last_rating_id", "{\"type\": \"integer\", \"minimum\": 0}"},
    {"drift", "first_rating_id", "{\"type\": \"integer\", \"minimum\": 0}"},
    {"drift", "last_rating_id", "{\"type\": \"integer\", \"minimum\": 0}"},
    {"drift", "windows", "{\"type\": \"integer\", \"minimum\": 1, "
                         "\"maximum\": 100}"},
    {"drift", "threshold_share", "{\"type\": \"number\", \"minimum\": 0, "
                                 "\"maximum\": 1}"},
    {"ui_runs", "max", "{\"type\": \"integer\", \"minimum\": 1}"},
    {"ui_user", "user_id", "{\"type\": \"integer\", \"minimum\": 0}"},
    {"ui_static", "file", "{\"type\": \"string\", "
                          "\"enum\": [\"ui.css\", \"ui.js\"]}"},
    /* docs.c's docs_file_names (test_docs checks they agree) */
    {"docs_static", "file",
     "{\"type\": \"string\", \"enum\": [\"swagger-ui-bundle.js\", "
     "\"swagger-ui.css\", \"favicon-32x32.png\", \"favicon-16x16.png\", "
     "\"harvest-docs.js\", \"harvest-docs.css\"]}"},
    {NULL, NULL, NULL}};

/* JSON request bodies: the schema of each route's body. */
static const struct {
  const char *route, *schema;
} body_schemas[] = {
    {"add_rating", "{\"type\": \"array\", \"minItems\": 1, \"items\": "
                   "{\"$ref\": \"#/components/schemas/RatingIn\"}}"},
    {"recommend_batch", "{\"$ref\": \"#/components/schemas/BatchIn\"}"},
    {"user_add", "{\"$ref\": \"#/components/schemas/UserIn\"}"},
    {NULL, NULL}};

json_t *openapi_components(void)
{
  json_error_t je;
  return json_loads(components_json, 0, &je);
}

/* Headers of a route's success answer beyond Content-Type. */
static const struct {
  const char *route, *name, *description;
} answer_headers[] = {
    {"docs", "Content-Security-Policy", "always: " DOCS_CSP},
    {"docs_static", "Content-Security-Policy", "always: " DOCS_CSP},
    {NULL, NULL, NULL}};

json_t *openapi_answer_headers(const char *route)
{
  json_t *h = NULL;
  for (size_t i = 0; answer_headers[i].route; i++) {
    if (strcmp(answer_headers[i].route, route))
      continue;
    if (!h)
      h = json_object();
    json_object_set_new(h, answer_headers[i].name,
                        json_pack("{s:s, s:{s:s}}", "description",
                                  answer_headers[i].description, "schema",
                                  "type", "string"));
  }
  return h;
}

const struct openapi_answer *openapi_answer_of(const char *route)
{
  for (const struct openapi_answer *a = answers; a->route; a++)
    if (!strcmp(a->route, route))
      return a;
  return NULL;
}

/* s with MAX_N replaced by max_n, parsed. */
static json_t *load_with_max(const char *s, int max_n)
{
  char buf[512];
  const char *m = strstr(s, "MAX_N");
  if (m)
    snprintf(buf, sizeof(buf), "%.*s%d%s", (int)(m - s), s, max_n, m + 5);
  else
    snprintf(buf, sizeof(buf), "%s", s);
  json_error_t je;
  return json_loads(buf, 0, &je);
}

json_t *openapi_param_schema(const char *route, const char *param,
                             int max_n)
{
  for (size_t i = 0; param_schemas[i].route; i++)
    if (!strcmp(param_schemas[i].route, route) &&
        !strcmp(param_schemas[i].param, param))
      return load_with_max(param_schemas[i].schema, max_n);
  return NULL;
}

json_t *openapi_body_schema(const char *route)
{
  json_error_t je;
  for (size_t i = 0; body_schemas[i].route; i++)
    if (!strcmp(body_schemas[i].route, route))
      return json_loads(body_schemas[i].schema, 0, &je);
  return NULL;
}
