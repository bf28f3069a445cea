/*
 * ml1m.c - MovieLens 1M reader: see ml1m.h.
 */
#include "data/ml1m.h"

#include <string.h>

static const char *const occupations[] = {
    "other or not specified",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
};
#define N_OCC ((int)(sizeof(occupations) / sizeof(occupations[0])))

const char *ml1m_occupation(int label)
{
  return label >= 0 && label < N_OCC ? occupations[label] : NULL;
}

static int valid_age_code(int64_t a)
{
  static const int codes[] = {1, 18, 25, 35, 45, 50, 56};
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
    if (a == codes[i])
      return 1;
  return 0;
}

/* One users.dat line: UserID::Gender::Age::Occupation::Zip-code. */
static int user_line(struct ml_load *ml, const struct ml_file *f, char *line,
                     void *ctx, struct hv_err *err)
{
  char *fld[5];
  int64_t id, age, occ;
  if (ml_split(f, line, "::", "'::'", fld, 5, err) ||
      ml_id(f, fld[0], "user id", &id, err) ||
      ml_int(f, fld[2], "age", 0, 1000, &age, err) ||
      ml_int(f, fld[3], "occupation", 0, N_OCC - 1, &occ, err))
    return err->code;
  if (strcmp(fld[1], "M") && strcmp(fld[1], "F"))
    return ml_fail(f, err, HV_EINVAL, "gender '%.16s' is not M or F", fld[1]);
  if (!valid_age_code(age))
    return ml_fail(f, err, HV_EINVAL,
                   "age %lld is not an ml-1m age code (1, 18, 25, 35, 45, "
                   "50, 56)",
                   (long long)age);
  if (ml_utf8(f, fld[4], "zip code", err))
    return err->code;
  struct hv_user u = {.id = id,
                      .raw_age = -1,
                      .bucketized_age = (int)age,
                      .gender = fld[1],
                      .occupation_text = occupations[occ],
                      .occupation_label = (int)occ,
                      .zip_code = *fld[4] ? fld[4] : NULL};
  return ml_add_user(ml, f, &u, err);
}

/* Split a "A|B|C" genre list in place into ids (duplicates dropped);
 * returns the count or < 0. */
static int genre_ids(struct ml_load *ml, const struct ml_file *f, char *list,
                     int *ids, struct hv_err *err)
{
  int n = 0;
  char *save = NULL;
  if (!*list)
    return 0;
  if (list[0] == '|' || list[strlen(list) - 1] == '|' || strstr(list, "||"))
    return ml_fail(f, err, HV_EINVAL, "empty genre name in '%.64s'", list);
  for (char *g = strtok_r(list, "|", &save); g;
       g = strtok_r(NULL, "|", &save)) {
    int id, seen = 0;
    if (text_latin1_to_utf8(g, strlen(g), &ml->text, err) ||
        ml_genre_id(ml, f, ml->text.p, &id, err))
      return err->code;
    for (int k = 0; k < n; k++) seen |= ids[k] == id;
    if (!seen)
      ids[n++] = id;
  }
  return n;
}

/* One movies.dat line: MovieID::Title::Genres. */
static int movie_line(struct ml_load *ml, const struct ml_file *f, char *line,
                      void *ctx, struct hv_err *err)
{
  char *first = strstr(line, "::");
  char *last = NULL;
  for (char *p = first; p; p = strstr(p + 2, "::")) last = p;
  if (!first || last == first)
    return ml_fail(f, err, HV_EINVAL,
                   "expected 3 fields 'MovieID::Title::Genres', found %d",
                   first ? 2 : 1);
  *first = '\0';
  *last = '\0';
  char *title = first + 2, *genres = last + 2;
  int64_t id;
  int ids[ML_MAX_GENRES];
  if (ml_id(f, line, "movie id", &id, err))
    return err->code;
  int n = genre_ids(ml, f, genres, ids, err);
  if (n < 0)
    return n;
  if (!*title)
    return ml_fail(f, err, HV_EINVAL, "movie %lld has an empty title",
                   (long long)id);
  if (text_latin1_to_utf8(title, strlen(title), &ml->text, err))
    return err->code;
  struct hv_movie m = {.id = id,
                       .title = ml->text.p,
                       .release_year = text_title_year(ml->text.p),
                       .genre_ids = ids,
                       .n_genres = n};
  return ml_add_movie(ml, f, &m, err);
}

/* One ratings.dat line: UserID::MovieID::Rating::Timestamp. */
static int rating_line(struct ml_load *ml, const struct ml_file *f, char *line,
                       void *ctx, struct hv_err *err)
{
  return ml_rating_line(ml, f, line, "::", "'::'", "users.dat", "movies.dat",
                        err);
}

int ml1m_read(struct ml_load *ml, struct hv_err *err)
{
  static const struct ml_part parts[] = {
      {"users.dat", user_line, NULL,
       "lines 'UserID::Gender::Age::Occupation::Zip-code'"},
      {"movies.dat", movie_line, NULL, "lines 'MovieID::Title::Genres'"},
      {"ratings.dat", rating_line, NULL,
       "lines 'UserID::MovieID::Rating::Timestamp'"},
  };
  return ml_read_files(ml, parts, sizeof(parts) / sizeof(parts[0]), err);
}
