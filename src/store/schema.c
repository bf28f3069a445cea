/*
 * schema.c - the numbered schema migrations, applied in order by db_open.
 *
 * Rules: append, never edit a migration that has shipped; each runs inside
 * one transaction together with its schema_version bump.
 */
#include "store/db_internal.h"

const char *const db_migrations[] = {
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
};

const int db_n_migrations =
    (int)(sizeof(db_migrations) / sizeof(db_migrations[0]));
