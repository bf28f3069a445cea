/*
 * cli_opts.c - declarative command-line options: see cli_opts.h.
 *
 * cli_parse flattens the table (groups inlined, the common options added),
 * builds getopt_long's struct option array and short-option string from it,
 * and applies each flag as getopt_long returns it. cli_help walks the same
 * table to print the help.
 */
#include "cli/cli_opts.h"

#include <assert.h>
#include <float.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>

#include "cli/cli.h"
#include "track/artifacts.h"
#include "util/parse.h"

#define CLI_MAX_OPTS 96  /* flags of one command, groups included */
#define CLI_VAL0 0x1000  /* getopt_long value of flat entry 0 */
#define HELP_COL 24      /* where help text starts */
#define HELP_WIDTH 79    /* help lines end before this column */

/* The options every command accepts: --json, --home, --db, -h/--help
 * (t[3]), --artifacts, then CLI_END. ctx may be NULL (help only). --db and
 * --artifacts go with --home: hidden where the command has no home. */
static void common_table(struct cli_opt t[6], struct cli_ctx *ctx,
                         const struct cli_spec *spec)
{
  const char *jh = spec->json_help, *hh = spec->home_help;
  memset(t, 0, 6 * sizeof(*t));
  t[0] = (struct cli_opt){.type = CLI_TRUE, .name = "json",
                          .dst = ctx ? &ctx->json : NULL,
                          .help = jh ? jh : "print the result as JSON",
                          .flags = jh && !*jh ? CLI_HIDDEN : 0};
  t[1] = (struct cli_opt){
      .type = CLI_STR, .name = "home", .metavar = "DIR",
      .dst = ctx ? &ctx->home : NULL,
      .help = hh ? hh : "data folder (default $HARVEST_HOME or "
                        "./harvest-data)",
      .flags = hh && !*hh ? CLI_HIDDEN : 0};
  t[2] = (struct cli_opt){
      .type = CLI_STR, .name = "db", .metavar = "URL",
      .dst = ctx ? &ctx->db : NULL,
      .help = "the database: postgresql://... or a SQLite file (default "
              "$HARVEST_DB or HOME/harvest.db)",
      .flags = hh && !*hh ? CLI_HIDDEN : 0};
  t[3] = (struct cli_opt){.type = CLI_TRUE, .name = "help",
                          .short_name = 'h', .help = "show this help"};
  t[4] = (struct cli_opt){
      .type = CLI_STR, .name = "artifacts", .metavar = "DIR",
      .dst = ctx ? &ctx->artifacts : NULL,
      .help = "artifact folder shared by every host (default "
              "$HARVEST_ARTIFACTS; none: HOME/artifacts, and a PostgreSQL "
              "database keeps the artifacts)",
      .flags = hh && !*hh ? CLI_HIDDEN : 0};
}

/* ---- parsing ----------------------------------------------------------- */

struct flat {
  const struct cli_opt *o[CLI_MAX_OPTS];
  int given[CLI_MAX_OPTS];
  size_t n;
};

/* Does dst's C type (CLI_OPT's dst_kind) fit the entry's type? Entries
 * not written with CLI_OPT (kind OTHER) are not checked. Only asserts call
 * it (unused under NDEBUG). */
__attribute__((unused)) static int dst_fits(const struct cli_opt *o)
{
  static const int want[] = {
      [CLI_TRUE] = CLI_DST_INT, [CLI_FALSE] = CLI_DST_INT,
      [CLI_STR] = CLI_DST_STR,  [CLI_INT] = CLI_DST_INT,
      [CLI_I64] = CLI_DST_I64,  [CLI_SIZE] = CLI_DST_U64,
      [CLI_UINT] = CLI_DST_UINT, [CLI_U64] = CLI_DST_U64,
      [CLI_DBL] = CLI_DST_DBL,  [CLI_CHOICE] = CLI_DST_INT,
      [CLI_RANGE] = CLI_DST_I64, [CLI_LIST] = CLI_DST_OTHER};
  if (o->dst_kind == CLI_DST_OTHER || o->type >= sizeof(want) / sizeof(*want))
    return 1;
  return want[o->type] == o->dst_kind ||
         (o->type == CLI_LIST && o->dst_kind == CLI_DST_STR);
}

static void flatten(struct flat *f, const struct cli_opt *t)
{
  for (; t && t->type != CLI_END; t++) {
    if (t->type == CLI_GROUP) {
      flatten(f, t->sub);
      continue;
    }
    if (t->type == CLI_SECTION || t->type == CLI_COMMON)
      continue;
    assert(f->n < CLI_MAX_OPTS && (t->name || t->short_name));
    assert(dst_fits(t));
    f->o[f->n++] = t;
  }
}

static int has_arg(const struct cli_opt *o)
{
  return o->type != CLI_TRUE && o->type != CLI_FALSE && o->type != CLI_FN0;
}

/* "--name", or "-x" for a flag with no long name. */
static const char *flag_name(const struct cli_opt *o, char buf[64])
{
  if (o->name)
    snprintf(buf, 64, "--%s", o->name);
  else
    snprintf(buf, 64, "-%c", o->short_name);
  return buf;
}

static void build(const struct flat *f, struct option *lo, char *shorts)
{
  size_t k = 0;
  for (size_t i = 0; i < f->n; i++) {
    const struct cli_opt *o = f->o[i];
    if (o->name)
      lo[k++] = (struct option){o->name, has_arg(o) ? required_argument
                                                    : no_argument,
                                NULL, CLI_VAL0 + (int)i};
    if (o->short_name) {
      *shorts++ = o->short_name;
      if (has_arg(o))
        *shorts++ = ':';
    }
  }
  lo[k] = (struct option){0};
  *shorts = '\0';
}

/* The flat index of getopt_long's value c, or -1. */
static int find(const struct flat *f, int c)
{
  if (c >= CLI_VAL0 && c < CLI_VAL0 + (int)f->n)
    return c - CLI_VAL0;
  for (size_t i = 0; c > 0 && i < f->n; i++)
    if (f->o[i]->short_name == c)
      return (int)i;
  return -1;
}

static void int_limits(enum cli_type t, int64_t *lo, int64_t *hi)
{
  switch (t) {
  case CLI_INT: *lo = INT_MIN; *hi = INT_MAX; break;
  case CLI_UINT: *lo = 0; *hi = UINT_MAX; break;
  case CLI_SIZE:
  case CLI_U64: *lo = 0; *hi = INT64_MAX; break;
  default: *lo = INT64_MIN; *hi = INT64_MAX; break;
  }
}

static int apply_int(const struct cli_opt *o, const char *flag,
                     const char *arg, struct hv_err *err)
{
  int64_t lo = o->lo, hi = o->hi, v;
  if (lo == 0 && hi == 0)
    int_limits(o->type, &lo, &hi);
  if (hv_parse_i64(arg, lo, hi, &v, flag, err))
    return HV_EUSAGE;
  switch (o->type) {
  case CLI_INT: *(int *)o->dst = (int)v; break;
  case CLI_I64: *(int64_t *)o->dst = v; break;
  case CLI_SIZE: *(size_t *)o->dst = (size_t)v; break;
  case CLI_UINT: *(unsigned *)o->dst = (unsigned)v; break;
  default: *(uint64_t *)o->dst = (uint64_t)v; break;
  }
  return 0;
}

/* "'x' is not a, b or c" */
static int apply_choice(const struct cli_opt *o, const char *flag,
                        const char *arg, struct hv_err *err)
{
  char list[256] = "";
  size_t n = 0, len = 0;
  for (; o->choices[n]; n++)
    if (!strcmp(o->choices[n], arg)) {
      *(int *)o->dst = (int)n;
      return 0;
    }
  for (size_t i = 0; i < n && len < sizeof(list); i++)
    len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
                            i == 0 ? "" : i + 1 == n ? " or " : ", ",
                            o->choices[i]);
  return hv_err_set(err, HV_EUSAGE, "%s: '%s' is not %s", flag, arg, list);
}

static int apply_str(const struct cli_opt *o, const char *flag,
                     const char *arg, struct hv_err *err)
{
  size_t len = strlen(arg);
  if (o->hi > 0 && (len < (size_t)o->lo || len > (size_t)o->hi))
    return hv_err_set(err, HV_EUSAGE, "%s must be %lld-%lld characters",
                      flag, (long long)o->lo, (long long)o->hi);
  *(const char **)o->dst = arg;
  return 0;
}

static int apply_list(const struct cli_opt *o, const char *flag,
                      const char *arg, struct hv_err *err)
{
  assert(o->seen);
  if (*o->seen >= o->hi)
    return hv_err_set(err, HV_EUSAGE, "%s: at most %lld values", flag,
                      (long long)o->hi);
  ((const char **)o->dst)[*o->seen] = arg;
  return 0;
}

static int apply(const struct cli_opt *o, const char *arg,
                 struct hv_err *err)
{
  char flag[64];
  double flo = o->flo, fhi = o->fhi;
  int rc = 0;
  flag_name(o, flag);
  switch (o->type) {
  case CLI_TRUE: *(int *)o->dst = 1; break;
  case CLI_FALSE: *(int *)o->dst = 0; break;
  case CLI_STR: rc = apply_str(o, flag, arg, err); break;
  case CLI_CHOICE: rc = apply_choice(o, flag, arg, err); break;
  case CLI_LIST: rc = apply_list(o, flag, arg, err); break;
  case CLI_FN:
  case CLI_FN0: rc = o->fn(o, flag, arg, err); break;
  case CLI_RANGE:
    rc = hv_parse_range(arg, (int64_t *)o->dst, (int64_t *)o->dst + 1, flag,
                        err);
    break;
  case CLI_DBL:
    if (flo == 0 && fhi == 0) {
      flo = -DBL_MAX;
      fhi = DBL_MAX;
    }
    rc = hv_parse_f64(arg, flo, fhi, (double *)o->dst, flag, err);
    break;
  default: rc = apply_int(o, flag, arg, err); break;
  }
  if (!rc && o->seen)
    ++*o->seen;
  return rc;
}

/* Apply the CLI_EARLY flags (with getopt's messages off: the main pass
 * reports the problems). */
static int early_pass(struct flat *f, int argc, char **argv,
                      const struct option *lo, const char *shorts,
                      struct hv_err *err)
{
  size_t n_early = 0;
  for (size_t i = 0; i < f->n; i++)
    n_early += (f->o[i]->flags & CLI_EARLY) != 0;
  if (!n_early)
    return 0;
  int c, rc = 0;
  opterr = 0;
  while (!rc && (c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
    int i = find(f, c);
    if (i >= 0 && (f->o[i]->flags & CLI_EARLY))
      rc = apply(f->o[i], optarg, err);
  }
  optind = 0; /* glibc: 0 re-initialises getopt fully */
  opterr = 1;
  return rc;
}

/* "--model URI" */
static const char *usage_label(const struct cli_opt *o, char buf[96])
{
  char flag[64];
  snprintf(buf, 96, "%s%s%s", flag_name(o, flag), o->metavar ? " " : "",
           o->metavar ? o->metavar : "");
  return buf;
}

/* "A is required", "A and B are required", "A, B and C are required". */
static int check_required(const struct cli_spec *spec, const struct flat *f)
{
  char msg[512] = "", label[96];
  size_t len = 0, n = 0, total = 0;
  for (size_t i = 0; i < f->n; i++)
    total += (f->o[i]->flags & CLI_REQUIRED) && !f->given[i];
  for (size_t i = 0; i < f->n && len < sizeof(msg); i++) {
    if (!(f->o[i]->flags & CLI_REQUIRED) || f->given[i])
      continue;
    n++;
    len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s%s",
                            n == 1 ? "" : n == total ? " and " : ", ",
                            usage_label(f->o[i], label));
  }
  if (!total)
    return 0;
  return cli_usage_error(spec->cmd, "%s %s required", msg,
                         total == 1 ? "is" : "are");
}

static int check_args(const struct cli_spec *spec, int argc, char **argv)
{
  int n = argc - optind;
  if (spec->max_args >= 0 && n > spec->max_args)
    return cli_usage_error(spec->cmd, "unexpected argument '%s'",
                           argv[optind + spec->max_args]);
  if (n < spec->min_args)
    return cli_usage_error(spec->cmd, "%s",
                           spec->args_msg ? spec->args_msg
                                          : "missing arguments");
  return 0;
}

int cli_parse(struct cli_ctx *ctx, const struct cli_spec *spec, int argc,
              char **argv)
{
  struct cli_opt common[6];
  struct flat f;
  struct option lo[CLI_MAX_OPTS + 1];
  char shorts[2 * CLI_MAX_OPTS + 1];
  struct hv_err err = {0};
  memset(&f, 0, sizeof(f));
  common_table(common, ctx, spec);
  flatten(&f, spec->opts);
  flatten(&f, common);
  build(&f, lo, shorts);
  optind = 0;
  opterr = 1;
  if (early_pass(&f, argc, argv, lo, shorts, &err))
    return cli_usage_error(spec->cmd, "%s", err.msg);
  int c;
  while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
    int i = find(&f, c);
    if (i < 0)
      return cli_usage_error(spec->cmd, "bad option");
    if (f.o[i] == &common[3]) {
      cli_help(stdout, spec);
      return CLI_HELP;
    }
    f.given[i]++;
    if (!(f.o[i]->flags & CLI_EARLY) && apply(f.o[i], optarg, &err))
      return cli_usage_error(spec->cmd, "%s", err.msg);
  }
  if (ctx && artifacts_use_dir(ctx->artifacts, &err))
    return cli_usage_error(spec->cmd, "%s", err.msg);
  int rc = check_args(spec, argc, argv);
  return rc ? rc : check_required(spec, &f);
}

int cli_parse_opts(struct cli_ctx *ctx, const struct cli_spec *spec,
                   const struct cli_opt *opts, int argc, char **argv)
{
  struct cli_spec s = *spec;
  s.opts = opts;
  return cli_parse(ctx, &s, argc, argv);
}

/* ---- help -------------------------------------------------------------- */

struct help {
  FILE *out;
  const struct cli_spec *spec;
  int need_heading; /* the next option starts a new "Options:" section */
  int common_done;
};

/* "-x, --name META", "--name META" or "-x META" into buf (cap bytes);
 * returns its length. */
static size_t help_label(const struct cli_opt *o, char *buf, size_t cap)
{
  char flag[64];
  if (o->short_name && o->name)
    snprintf(buf, cap, "-%c, --%s", o->short_name, o->name);
  else
    snprintf(buf, cap, "%s", flag_name(o, flag));
  size_t n = strlen(buf);
  if (o->metavar)
    snprintf(buf + n, cap - n, " %s", o->metavar);
  return strlen(buf);
}

/* Print text from column pos (already reached), word-wrapped to HELP_WIDTH
 * with continuation lines at column col; '\n' forces a break. */
static void print_wrapped(FILE *out, const char *text, size_t pos,
                          size_t col)
{
  int first = 1;
  for (const char *p = text; *p;) {
    if (*p == '\n' || *p == ' ') {
      if (*p++ == '\n') {
        fprintf(out, "\n%*s", (int)col, "");
        pos = col;
        first = 1;
      }
      continue;
    }
    size_t w = strcspn(p, " \n");
    if (!first && pos + 1 + w > HELP_WIDTH) {
      fprintf(out, "\n%*s", (int)col, "");
      pos = col;
      first = 1;
    }
    if (!first)
      pos += (size_t)fprintf(out, " ");
    pos += fwrite(p, 1, w, out);
    p += w;
    first = 0;
  }
  fputc('\n', out);
}

static int joins_previous(const struct cli_opt *o)
{
  return o->type > CLI_COMMON && !o->help && !(o->flags & CLI_HIDDEN);
}

static void help_entry(struct help *h, const struct cli_opt *o)
{
  char label[256];
  assert(dst_fits(o));
  size_t len = help_label(o, label, sizeof(label));
  for (const struct cli_opt *j = o + 1; joins_previous(j); j++) {
    if (len + 2 < sizeof(label))
      memcpy(label + len, ", ", 3);
    len = strlen(label);
    len += help_label(j, label + len, sizeof(label) - len);
  }
  if (h->need_heading)
    fprintf(h->out, "\nOptions:\n");
  h->need_heading = 0;
  fprintf(h->out, "  %s", label);
  size_t pos = 2 + len;
  if (pos + 2 <= HELP_COL)
    pos += (size_t)fprintf(h->out, "%*s", (int)(HELP_COL - pos), "");
  else
    pos += (size_t)fprintf(h->out, "  ");
  print_wrapped(h->out, o->help, pos, HELP_COL);
}

static void help_table(struct help *h, const struct cli_opt *t);

static void help_common(struct help *h)
{
  struct cli_opt common[6];
  common_table(common, NULL, h->spec);
  h->common_done = 1;
  help_table(h, common);
}

static void help_table(struct help *h, const struct cli_opt *t)
{
  for (; t && t->type != CLI_END; t++) {
    if (t->type == CLI_GROUP) {
      if (t->help)
        fprintf(h->out, "\n%s\n", t->help);
      h->need_heading = h->need_heading && !t->help;
      help_table(h, t->sub);
      h->need_heading = h->need_heading || t->help;
    } else if (t->type == CLI_SECTION) {
      fprintf(h->out, "\n%s\n", t->help);
      h->need_heading = 0;
    } else if (t->type == CLI_COMMON) {
      help_common(h);
    } else if (t->help && !(t->flags & CLI_HIDDEN)) {
      help_entry(h, t);
    }
  }
}

void cli_help(FILE *out, const struct cli_spec *spec)
{
  struct help h = {out, spec, 1, 0};
  fprintf(out, "Usage: harvest %s %s\n", spec->cmd,
          spec->usage ? spec->usage : "[options]");
  if (spec->about)
    fprintf(out, "\n%s", spec->about);
  help_table(&h, spec->opts);
  if (!h.common_done)
    help_common(&h);
  if (spec->more)
    fprintf(out, "\n%s", spec->more);
}
