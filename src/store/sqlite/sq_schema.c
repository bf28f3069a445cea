/*
 * sq_schema.c - the numbered SQLite schema migrations, applied in order by
 * db_open.
 *
 * Rules: append, never edit a migration that has shipped; each runs inside
 * one transaction together with its schema_version bump.
 */
#include "store/sqlite/sq.h"

const char *const sq_schema_migrations[] = {
    /* 1: the MovieLens catalogue and ratings. */
    "CREATE TABLE genres ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE movies ("
    "  id INTEGER PRIMARY KEY,"
    "  title TEXT NOT NULL,"
    "  release_date TEXT,"          /* as in the source file, e.g. 01-Jan-1995 */
    "  release_year INTEGER,"       /* parsed from the date or the title */
    "  imdb_url TEXT);"
    "CREATE TABLE movie_genres ("
    "  movie_id INTEGER NOT NULL REFERENCES movies(id) ON DELETE CASCADE,"
    "  genre_id INTEGER NOT NULL REFERENCES genres(id),"
    "  PRIMARY KEY (movie_id, genre_id)) WITHOUT ROWID;"
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY,"
    "  raw_age INTEGER,"
    "  bucketized_age INTEGER,"     /* MovieLens buckets 1/18/25/35/45/50/56 */
    "  gender TEXT,"                /* 'M' / 'F' */
    "  occupation_text TEXT,"
    "  occupation_label INTEGER,"   /* 0-based index in u.occupation order */
    "  zip_code TEXT,"
    "  password_hash TEXT);"
    "CREATE TABLE ratings ("
    "  rating_id INTEGER PRIMARY KEY,"  /* 1-based, file order */
    "  user_id INTEGER NOT NULL REFERENCES users(id),"
    "  movie_id INTEGER NOT NULL REFERENCES movies(id),"
    "  rating REAL NOT NULL CHECK (rating >= 0.5 AND rating <= 5),"
    "  timestamp INTEGER NOT NULL,"     /* seconds since the epoch */
    "  source TEXT NOT NULL DEFAULT 'import');"
    "CREATE INDEX ratings_by_user ON ratings(user_id);"
    "CREATE INDEX ratings_by_movie ON ratings(movie_id);"
    "CREATE INDEX ratings_by_time ON ratings(timestamp);"
    "CREATE TABLE datasets ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"             /* ml-100k, ml-1m, ml-latest, synth */
    "  source TEXT NOT NULL,"           /* path or URL it came from */
    "  imported_at REAL NOT NULL,"
    "  n_users INTEGER NOT NULL,"
    "  n_movies INTEGER NOT NULL,"
    "  n_ratings INTEGER NOT NULL);",
    /* 2: experiment tracking (experiments, runs, params, metrics, tags,
     * artifacts) and the model registry (models, versions, stages, aliases,
     * audit log). Times are seconds since the epoch (REAL). A NULL metric
     * value stands for NaN (SQLite cannot store NaN). The partial unique
     * index model_versions_one_production makes "at most one Production
     * version per model" a database invariant. */
    "CREATE TABLE experiments ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  created_at REAL NOT NULL);"
    "INSERT INTO experiments(id, name, created_at)"
    "  VALUES (0, 'Default', strftime('%s','now'));"
    "CREATE TABLE runs ("
    "  run_id TEXT PRIMARY KEY CHECK (length(run_id) = 32),"
    "  experiment_id INTEGER NOT NULL REFERENCES experiments(id),"
    "  name TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN"
    "    ('RUNNING','FINISHED','FAILED','KILLED')),"
    "  start_time REAL NOT NULL,"
    "  end_time REAL,"
    "  parent_run_id TEXT REFERENCES runs(run_id),"
    "  user TEXT NOT NULL,"
    "  owner_pid INTEGER,"            /* the process that runs it */
    "  owner_host TEXT,"
    "  owner_boot_id TEXT,"           /* /proc/sys/kernel/random/boot_id */
    "  owner_start INTEGER,"          /* process start time, clock ticks */
    "  code_version TEXT,"            /* git describe of the build */
    "  data_first_rating_id INTEGER,"
    "  data_last_rating_id INTEGER,"
    "  data_rows INTEGER,"
    "  data_sha256 TEXT);"
    "CREATE INDEX runs_by_experiment ON runs(experiment_id, start_time);"
    "CREATE INDEX runs_by_parent ON runs(parent_run_id);"
    "CREATE INDEX runs_by_status ON runs(status);"
    "CREATE TABLE params ("
    "  run_id TEXT NOT NULL REFERENCES runs(run_id),"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (run_id, key)) WITHOUT ROWID;"
    "CREATE TABLE tags ("
    "  run_id TEXT NOT NULL REFERENCES runs(run_id),"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (run_id, key)) WITHOUT ROWID;"
    "CREATE TABLE metrics ("
    "  run_id TEXT NOT NULL REFERENCES runs(run_id),"
    "  key TEXT NOT NULL,"
    "  value REAL,"
    "  step INTEGER NOT NULL,"
    "  timestamp REAL NOT NULL);"
    "CREATE INDEX metrics_by_run_key ON metrics(run_id, key, step);"
    "CREATE TABLE latest_metrics ("
    "  run_id TEXT NOT NULL REFERENCES runs(run_id),"
    "  key TEXT NOT NULL,"
    "  value REAL,"
    "  step INTEGER NOT NULL,"
    "  timestamp REAL NOT NULL,"
    "  PRIMARY KEY (run_id, key)) WITHOUT ROWID;"
    "CREATE TABLE artifacts ("
    "  run_id TEXT NOT NULL REFERENCES runs(run_id),"
    "  path TEXT NOT NULL,"           /* logical, validated, e.g. model/x */
    "  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
    "  size INTEGER NOT NULL,"
    "  created_at REAL NOT NULL,"
    "  PRIMARY KEY (run_id, path)) WITHOUT ROWID;"
    "CREATE INDEX artifacts_by_hash ON artifacts(sha256);"
    "CREATE TABLE registered_models ("
    "  name TEXT PRIMARY KEY,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  created_at REAL NOT NULL,"
    "  updated_at REAL NOT NULL);"
    "CREATE TABLE model_versions ("
    "  model TEXT NOT NULL REFERENCES registered_models(name),"
    "  version INTEGER NOT NULL CHECK (version >= 1),"
    "  run_id TEXT REFERENCES runs(run_id),"
    "  artifact_path TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
    "  size INTEGER NOT NULL,"
    "  stage TEXT NOT NULL DEFAULT 'None' CHECK (stage IN"
    "    ('None','Staging','Production','Archived')),"
    "  description TEXT NOT NULL DEFAULT '',"
    "  created_at REAL NOT NULL,"
    "  updated_at REAL NOT NULL,"
    "  PRIMARY KEY (model, version));"
    "CREATE UNIQUE INDEX model_versions_one_production"
    "  ON model_versions(model) WHERE stage = 'Production';"
    "CREATE TABLE model_aliases ("
    "  model TEXT NOT NULL,"
    "  alias TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  PRIMARY KEY (model, alias),"
    "  FOREIGN KEY (model, version) REFERENCES model_versions(model, version)"
    ") WITHOUT ROWID;"
    "CREATE TABLE registry_audit ("
    "  id INTEGER PRIMARY KEY,"
    "  time REAL NOT NULL,"
    "  model TEXT NOT NULL,"
    "  version INTEGER,"              /* the version acted on */
    "  action TEXT NOT NULL CHECK (action IN"
    "    ('register','transition','alias_set','alias_delete')),"
    "  from_stage TEXT,"
    "  to_stage TEXT,"
    "  alias TEXT,"
    "  from_version INTEGER,"         /* alias moves: old target or NULL */
    "  reason TEXT NOT NULL DEFAULT '',"
    "  who TEXT NOT NULL);"
    "CREATE INDEX registry_audit_by_model ON registry_audit(model, id);",
    /* 3: operator accounts (apart from the catalogue's end users) and
     * their tokens, kept as digests only: API tokens and web UI sessions.
     * A token's role is its scope, at most its account's (checked when it
     * is made and again on use). Times are seconds since the epoch; 0 in
     * expires_at / revoked_at reads as never / not. */
    "CREATE TABLE accounts ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL CHECK (role IN ('viewer','operator','admin')),"
    "  password_hash TEXT NOT NULL DEFAULT '',"
    "  created_at REAL NOT NULL);"
    "CREATE TABLE account_tokens ("
    "  id INTEGER PRIMARY KEY,"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id),"
    "  digest TEXT NOT NULL UNIQUE CHECK (length(digest) = 64),"
    "  kind TEXT NOT NULL CHECK (kind IN ('api','session')),"
    "  role TEXT NOT NULL CHECK (role IN ('viewer','operator','admin')),"
    "  note TEXT NOT NULL DEFAULT '',"
    "  created_at REAL NOT NULL,"
    "  expires_at REAL NOT NULL DEFAULT 0,"
    "  revoked_at REAL NOT NULL DEFAULT 0);"
    "CREATE INDEX account_tokens_by_account ON account_tokens(account_id);",
    /* 4: each dataset's rating scale (issue 16): the lowest and highest
     * rating and the step between (half stars for ml-latest, whole stars
     * for ml-100k, ml-1m and synth; other names keep the old [0.5, 5] in
     * half stars). New ratings must lie on the scale of the newest
     * dataset (ratings_insert). */
    "ALTER TABLE datasets ADD COLUMN rating_min REAL NOT NULL DEFAULT 0.5;"
    "ALTER TABLE datasets ADD COLUMN rating_max REAL NOT NULL DEFAULT 5;"
    "ALTER TABLE datasets ADD COLUMN rating_step REAL NOT NULL DEFAULT 0.5;"
    "UPDATE datasets SET rating_min = 1, rating_step = 1"
    "  WHERE name IN ('ml-100k', 'ml-1m', 'synth');",
    /* 5: artifact blobs kept in the database, PostgreSQL's default artifact
     * store (store/blobs.h), so any host reaching the database can load a
     * model: a blob is named by the SHA-256 of its bytes and cut into
     * chunks of 1 MiB (seq 0, 1, ...); its row is written in the
     * transaction of its chunks, so a listed blob is complete. A SQLite
     * home keeps blobs as files (track/artifacts.h) and these tables
     * empty. */
    "CREATE TABLE artifact_blobs ("
    "  sha256 TEXT PRIMARY KEY,"
    "  size INTEGER NOT NULL CHECK (size >= 0),"
    "  created_at REAL NOT NULL"
    ");"
    "CREATE TABLE artifact_chunks ("
    "  sha256 TEXT NOT NULL REFERENCES artifact_blobs(sha256)"
    "    ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL CHECK (seq >= 0),"
    "  data BLOB NOT NULL,"
    "  PRIMARY KEY (sha256, seq)"
    ") WITHOUT ROWID;",
};

const int sq_schema_count =
    (int)(sizeof(sq_schema_migrations) / sizeof(sq_schema_migrations[0]));
