/*
 * filter.c - tokenizer, recursive-descent parser and evaluator of run search
 * expressions and order-by clauses: see filter.h.
 */
#include "track/filter.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "track/runs.h"
#include "util/parse.h"

/* ---- tokens ---- */

enum tok_kind {
  T_END,
  T_IDENT,    /* bare word: keys, AND, LIKE, ASC, ... */
  T_BACKTICK, /* `quoted name` */
  T_STRING,   /* 'x' or "x"; quote says which */
  T_NUMBER,
  T_OP,       /* = == != <> < <= > >= */
  T_LPAREN,
  T_RPAREN,
  T_COMMA
};

struct tok {
  enum tok_kind kind;
  size_t pos;  /* 0-based offset in the source */
  size_t len;  /* lexeme length in the source */
  char quote;  /* for T_STRING */
  char *text;  /* decoded text (strings without quotes); owned */
  double num;  /* for T_NUMBER */
};

struct lexer {
  const char *src;
  struct tok *toks;
  size_t n, cap;
};

static void toks_free(struct tok *t, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(t[i].text);
  free(t);
}

static int is_ident_start(int c)
{
  return isalpha(c) || c == '_';
}

static int is_ident_char(int c)
{
  return isalnum(c) || c == '_' || c == '.' || c == '-' || c == '/' ||
         c == ':';
}

static int push(struct lexer *lx, enum tok_kind k, size_t pos, size_t len,
                char *text, struct hv_err *err)
{
  if (lx->n == lx->cap) {
    size_t nc = lx->cap ? lx->cap * 2 : 16;
    struct tok *nt = realloc(lx->toks, nc * sizeof(*nt));
    if (!nt) {
      free(text);
      return hv_err_set(err, HV_ENOMEM, "filter: out of memory");
    }
    lx->toks = nt;
    lx->cap = nc;
  }
  struct tok *t = &lx->toks[lx->n++];
  memset(t, 0, sizeof(*t));
  t->kind = k;
  t->pos = pos;
  t->len = len;
  t->text = text;
  return 0;
}

/* Scan a quoted run starting at src[i] == q; doubled quotes stand for one.
 * Returns the decoded text (caller frees) and sets *end past the closing
 * quote; NULL with err set when unterminated. */
static char *scan_quoted(const char *src, size_t i, char q, size_t *end,
                         struct hv_err *err)
{
  size_t n = strlen(src);
  char *out = malloc(n - i + 1);
  if (!out) {
    hv_err_set(err, HV_ENOMEM, "filter: out of memory");
    return NULL;
  }
  size_t o = 0;
  for (size_t j = i + 1; j < n; j++) {
    if (src[j] != q) {
      out[o++] = src[j];
      continue;
    }
    if (src[j + 1] == q) {
      out[o++] = q;
      j++;
      continue;
    }
    out[o] = '\0';
    *end = j + 1;
    return out;
  }
  free(out);
  hv_err_set(err, HV_EINVAL,
             "filter: at position %zu: unterminated %c-quoted string "
             "(expected a closing %c)",
             i + 1, q, q);
  return NULL;
}

static size_t scan_number(const char *s, size_t i)
{
  size_t j = i;
  if (s[j] == '+' || s[j] == '-')
    j++;
  while (isdigit((unsigned char)s[j]) || s[j] == '.')
    j++;
  if ((s[j] == 'e' || s[j] == 'E') &&
      (isdigit((unsigned char)s[j + 1]) ||
       ((s[j + 1] == '+' || s[j + 1] == '-') &&
        isdigit((unsigned char)s[j + 2])))) {
    j += 2;
    while (isdigit((unsigned char)s[j]))
      j++;
  }
  /* a number glued to letters ("3abc") is one bad lexeme */
  while (is_ident_char((unsigned char)s[j]) && s[j] != '.')
    j++;
  return j;
}

static int lex_one(struct lexer *lx, size_t *ip, struct hv_err *err)
{
  const char *s = lx->src;
  size_t i = *ip;
  unsigned char c = (unsigned char)s[i];
  if (c == '\'' || c == '"' || c == '`') {
    size_t end = 0;
    char *text = scan_quoted(s, i, (char)c, &end, err);
    if (!text)
      return err ? err->code : HV_EINVAL;
    int rc = push(lx, c == '`' ? T_BACKTICK : T_STRING, i, end - i, text,
                  err);
    if (!rc && c != '`')
      lx->toks[lx->n - 1].quote = (char)c;
    *ip = end;
    return rc;
  }
  if (isdigit(c) || c == '.' ||
      ((c == '-' || c == '+') &&
       (isdigit((unsigned char)s[i + 1]) || s[i + 1] == '.'))) {
    size_t end = scan_number(s, i);
    char *text = strndup(s + i, end - i);
    if (!text)
      return hv_err_set(err, HV_ENOMEM, "filter: out of memory");
    double v = 0;
    struct hv_err e2 = {0};
    if (hv_parse_f64(text, -HUGE_VAL, HUGE_VAL, &v, "number", &e2)) {
      int rc = hv_err_set(err, HV_EINVAL,
                          "filter: at position %zu: '%.40s' is not a number",
                          i + 1, text);
      free(text);
      return rc;
    }
    int rc = push(lx, T_NUMBER, i, end - i, text, err);
    if (!rc)
      lx->toks[lx->n - 1].num = v;
    *ip = end;
    return rc;
  }
  if (is_ident_start(c)) {
    size_t end = i;
    while (is_ident_char((unsigned char)s[end]))
      end++;
    char *text = strndup(s + i, end - i);
    if (!text)
      return hv_err_set(err, HV_ENOMEM, "filter: out of memory");
    *ip = end;
    return push(lx, T_IDENT, i, end - i, text, err);
  }
  static const char *const ops[] = {"!=", "<>", "<=", ">=", "==",
                                    "=",  "<",  ">"};
  for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
    size_t l = strlen(ops[k]);
    if (!strncmp(s + i, ops[k], l)) {
      char *text = strdup(ops[k]);
      if (!text)
        return hv_err_set(err, HV_ENOMEM, "filter: out of memory");
      *ip = i + l;
      return push(lx, T_OP, i, l, text, err);
    }
  }
  if (c == '(' || c == ')' || c == ',') {
    *ip = i + 1;
    return push(lx, c == '(' ? T_LPAREN : c == ')' ? T_RPAREN : T_COMMA, i,
                1, NULL, err);
  }
  return hv_err_set(err, HV_EINVAL,
                    "filter: at position %zu: unexpected character '%c' "
                    "(0x%02x)",
                    i + 1, isprint(c) ? c : '?', c);
}

static int lex_all(const char *src, struct lexer *lx, struct hv_err *err)
{
  memset(lx, 0, sizeof(*lx));
  lx->src = src;
  size_t i = 0;
  while (src[i]) {
    if (isspace((unsigned char)src[i])) {
      i++;
      continue;
    }
    int rc = lex_one(lx, &i, err);
    if (rc) {
      toks_free(lx->toks, lx->n);
      lx->toks = NULL;
      lx->n = 0;
      return rc;
    }
  }
  return push(lx, T_END, i, 0, NULL, err);
}

/* ---- AST ---- */

enum key_kind { K_METRIC, K_PARAM, K_TAG, K_ATTR };

enum attr_id {
  A_RUN_ID,
  A_RUN_NAME,
  A_STATUS,
  A_USER,
  A_PARENT,
  A_EXPERIMENT,
  A_CODE_VERSION,
  A_DATA_SHA256,
  A_START_TIME,
  A_END_TIME,
  A_DATA_ROWS,
  A_DATA_FIRST,
  A_DATA_LAST
};

static const struct {
  const char *name;
  enum attr_id id;
  int numeric;
} attrs[] = {
    {"run_id", A_RUN_ID, 0},
    {"run_name", A_RUN_NAME, 0},
    {"status", A_STATUS, 0},
    {"user", A_USER, 0},
    {"parent_run_id", A_PARENT, 0},
    {"experiment", A_EXPERIMENT, 0},
    {"code_version", A_CODE_VERSION, 0},
    {"data_sha256", A_DATA_SHA256, 0},
    {"start_time", A_START_TIME, 1},
    {"end_time", A_END_TIME, 1},
    {"data_rows", A_DATA_ROWS, 1},
    {"data_first_rating_id", A_DATA_FIRST, 1},
    {"data_last_rating_id", A_DATA_LAST, 1},
};
#define N_ATTRS (sizeof(attrs) / sizeof(attrs[0]))

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_LIKE, OP_ILIKE,
          OP_IN, OP_NOT_IN };

struct key {
  enum key_kind kind;
  enum attr_id attr;
  int numeric;
  char *name;
};

struct cmp {
  struct key key;
  enum op op;
  double num;
  char **strs; /* one for = != LIKE ILIKE, several for IN */
  size_t n_strs;
};

struct filter {
  struct cmp *cmps;
  size_t n;
};

struct order_term {
  struct key key;
  int desc;
};

struct filter_order {
  struct order_term *terms;
  size_t n;
};

static void cmp_free(struct cmp *c)
{
  free(c->key.name);
  for (size_t i = 0; i < c->n_strs; i++)
    free(c->strs[i]);
  free(c->strs);
}

void filter_free(struct filter *f)
{
  if (!f)
    return;
  for (size_t i = 0; i < f->n; i++)
    cmp_free(&f->cmps[i]);
  free(f->cmps);
  free(f);
}

void filter_order_free(struct filter_order *o)
{
  if (!o)
    return;
  for (size_t i = 0; i < o->n; i++)
    free(o->terms[i].key.name);
  free(o->terms);
  free(o);
}

/* ---- parser ---- */

struct parser {
  struct lexer lx;
  size_t at;
  struct hv_err *err;
};

static const struct tok *peek(const struct parser *p)
{
  return &p->lx.toks[p->at];
}

/* Fill err with "filter: at position N: expected WHAT, found TOKEN". */
static int expected(struct parser *p, const char *what)
{
  const struct tok *t = peek(p);
  if (t->kind == T_END)
    return hv_err_set(p->err, HV_EINVAL,
                      "filter: at position %zu: expected %s, found end of "
                      "expression",
                      t->pos + 1, what);
  return hv_err_set(p->err, HV_EINVAL,
                    "filter: at position %zu: expected %s, found '%.*s'",
                    t->pos + 1, what, (int)(t->len > 40 ? 40 : t->len),
                    p->lx.src + t->pos);
}

static int is_word(const struct tok *t, const char *w)
{
  return t->kind == T_IDENT && !strcasecmp(t->text, w);
}

static int kind_of_prefix(const char *pre, size_t len, enum key_kind *k)
{
  static const struct {
    const char *name;
    enum key_kind kind;
  } pres[] = {{"metrics", K_METRIC},   {"metric", K_METRIC},
              {"m", K_METRIC},         {"params", K_PARAM},
              {"param", K_PARAM},      {"p", K_PARAM},
              {"tags", K_TAG},         {"tag", K_TAG},
              {"attributes", K_ATTR},  {"attribute", K_ATTR},
              {"attr", K_ATTR},        {"run", K_ATTR}};
  for (size_t i = 0; i < sizeof(pres) / sizeof(pres[0]); i++)
    if (strlen(pres[i].name) == len && !strncasecmp(pres[i].name, pre, len)) {
      *k = pres[i].kind;
      return 0;
    }
  return -1;
}

static int resolve_attr(struct parser *p, size_t pos, struct key *k)
{
  for (size_t i = 0; i < N_ATTRS; i++)
    if (!strcmp(attrs[i].name, k->name)) {
      k->attr = attrs[i].id;
      k->numeric = attrs[i].numeric;
      return 0;
    }
  return hv_err_set(p->err, HV_EINVAL,
                    "filter: at position %zu: unknown attribute '%.40s' "
                    "(expected run_id, run_name, status, user, "
                    "parent_run_id, experiment, code_version, data_sha256, "
                    "start_time, end_time, data_rows, data_first_rating_id "
                    "or data_last_rating_id)",
                    pos + 1, k->name);
}

/* key := PREFIX '.' NAME */
static int parse_key(struct parser *p, struct key *k)
{
  const struct tok *t = peek(p);
  memset(k, 0, sizeof(*k));
  if (t->kind != T_IDENT)
    return expected(p, "a key like metrics.NAME, params.NAME, tags.NAME or "
                       "attributes.NAME");
  const char *dot = strchr(t->text, '.');
  if (!dot || kind_of_prefix(t->text, (size_t)(dot - t->text), &k->kind))
    return hv_err_set(p->err, HV_EINVAL,
                      "filter: at position %zu: '%.40s' is not a key; "
                      "expected metrics.NAME, params.NAME, tags.NAME or "
                      "attributes.NAME",
                      t->pos + 1, t->text);
  size_t pos = t->pos;
  p->at++;
  if (dot[1]) {
    k->name = strdup(dot + 1);
  } else {
    const struct tok *q = peek(p);
    if (q->kind != T_BACKTICK && !(q->kind == T_STRING && q->quote == '"'))
      return expected(p, "a key name after the '.' (bare, `backticked` or "
                         "\"double-quoted\")");
    k->name = strdup(q->text);
    p->at++;
  }
  if (!k->name)
    return hv_err_set(p->err, HV_ENOMEM, "filter: out of memory");
  if (!k->name[0])
    return hv_err_set(p->err, HV_EINVAL,
                      "filter: at position %zu: empty key name", pos + 1);
  k->numeric = k->kind == K_METRIC;
  return k->kind == K_ATTR ? resolve_attr(p, pos, k) : 0;
}

static int parse_op(struct parser *p, enum op *op)
{
  const struct tok *t = peek(p);
  static const struct {
    const char *s;
    enum op op;
  } ops[] = {{"=", OP_EQ}, {"==", OP_EQ}, {"!=", OP_NE}, {"<>", OP_NE},
             {"<", OP_LT}, {"<=", OP_LE}, {">", OP_GT},  {">=", OP_GE},
             {"like", OP_LIKE}, {"ilike", OP_ILIKE}, {"in", OP_IN}};
  if (is_word(t, "not") && is_word(&p->lx.toks[p->at + 1], "in")) {
    p->at += 2;
    *op = OP_NOT_IN;
    return 0;
  }
  if (t->kind == T_OP || t->kind == T_IDENT)
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
      if (!strcasecmp(t->text, ops[i].s)) {
        *op = ops[i].op;
        p->at++;
        return 0;
      }
  return expected(p, "a comparison operator (=, !=, <, <=, >, >=, LIKE, "
                     "ILIKE, IN, NOT IN)");
}

static int add_str(struct cmp *c, const char *s, struct hv_err *err)
{
  char **ns = realloc(c->strs, (c->n_strs + 1) * sizeof(*ns));
  if (!ns)
    return hv_err_set(err, HV_ENOMEM, "filter: out of memory");
  c->strs = ns;
  if (!(c->strs[c->n_strs] = strdup(s)))
    return hv_err_set(err, HV_ENOMEM, "filter: out of memory");
  c->n_strs++;
  return 0;
}

static int parse_string_list(struct parser *p, struct cmp *c)
{
  if (peek(p)->kind != T_LPAREN)
    return expected(p, "'(' starting a list of quoted strings");
  p->at++;
  for (;;) {
    const struct tok *t = peek(p);
    if (t->kind != T_STRING)
      return expected(p, "a quoted string");
    int rc = add_str(c, t->text, p->err);
    if (rc)
      return rc;
    p->at++;
    if (peek(p)->kind == T_RPAREN) {
      p->at++;
      return 0;
    }
    if (peek(p)->kind != T_COMMA)
      return expected(p, "',' or ')'");
    p->at++;
  }
}

static const char *key_prefix(const struct key *k)
{
  static const char *const n[] = {"metrics", "params", "tags", "attributes"};
  return n[k->kind];
}

static int parse_value(struct parser *p, struct cmp *c, size_t op_pos)
{
  if (c->key.numeric) {
    if (c->op >= OP_LIKE)
      return hv_err_set(p->err, HV_EINVAL,
                        "filter: at position %zu: %s.%.40s is a number; "
                        "use =, !=, <, <=, > or >=",
                        op_pos + 1, key_prefix(&c->key), c->key.name);
    if (peek(p)->kind != T_NUMBER)
      return expected(p, "a number");
    c->num = peek(p)->num;
    p->at++;
    return 0;
  }
  if (c->op >= OP_LT && c->op <= OP_GE)
    return hv_err_set(p->err, HV_EINVAL,
                      "filter: at position %zu: %s.%.40s is a string; use "
                      "=, !=, LIKE, ILIKE, IN or NOT IN",
                      op_pos + 1, key_prefix(&c->key), c->key.name);
  if (c->op == OP_IN || c->op == OP_NOT_IN)
    return parse_string_list(p, c);
  if (peek(p)->kind != T_STRING)
    return expected(p, "a quoted string ('...' or \"...\")");
  int rc = add_str(c, peek(p)->text, p->err);
  p->at++;
  return rc;
}

static int parse_comparison(struct parser *p, struct cmp *c)
{
  int rc = parse_key(p, &c->key);
  if (rc)
    return rc;
  size_t op_pos = peek(p)->pos;
  if ((rc = parse_op(p, &c->op)))
    return rc;
  return parse_value(p, c, op_pos);
}

/* A list of items: item parses one into a new zeroed element of *arr (n
 * elements of size bytes), then sep accepts what follows it (0), ends the
 * list (1) or refuses (an error code). An empty expression is an empty
 * list. */
struct list_syntax {
  size_t size;
  int (*item)(struct parser *p, void *el);
  int (*sep)(struct parser *p);
};

static int parse_list(struct parser *p, const struct list_syntax *ls,
                      void **arr, size_t *n)
{
  if (peek(p)->kind == T_END)
    return 0;
  for (;;) {
    char *a = realloc(*arr, (*n + 1) * ls->size);
    if (!a)
      return hv_err_set(p->err, HV_ENOMEM, "filter: out of memory");
    *arr = a;
    memset(a + *n * ls->size, 0, ls->size);
    int rc = ls->item(p, a + (*n)++ * ls->size);
    if (rc || (rc = ls->sep(p)))
      return rc < 0 ? rc : 0;
  }
}

static int cmp_item(struct parser *p, void *el)
{
  return parse_comparison(p, el);
}

/* Comparisons are joined by AND. */
static int and_sep(struct parser *p)
{
  if (peek(p)->kind == T_END)
    return 1;
  if (is_word(peek(p), "or"))
    return hv_err_set(p->err, HV_EINVAL,
                      "filter: at position %zu: OR is not supported (as in "
                      "MLflow, only AND); run separate searches",
                      peek(p)->pos + 1);
  if (!is_word(peek(p), "and"))
    return expected(p, "AND or the end of the expression");
  p->at++;
  return 0;
}

/* An order-by term: a key, then ASC or DESC. */
static int term_item(struct parser *p, void *el)
{
  struct order_term *t = el;
  int rc = parse_key(p, &t->key);
  if (rc)
    return rc;
  if (is_word(peek(p), "desc") || is_word(peek(p), "asc")) {
    t->desc = is_word(peek(p), "desc");
    p->at++;
  }
  return 0;
}

/* Order-by terms are joined by commas. */
static int comma_sep(struct parser *p)
{
  if (peek(p)->kind == T_END)
    return 1;
  if (peek(p)->kind != T_COMMA)
    return expected(p, "ASC, DESC, ',' or the end of the order-by list");
  p->at++;
  return 0;
}

static const struct list_syntax filter_syntax = {sizeof(struct cmp),
                                                 cmp_item, and_sep};
static const struct list_syntax order_syntax = {sizeof(struct order_term),
                                                term_item, comma_sep};

/* Lex text (NULL: nothing) and parse it as the list ls into *arr, *n;
 * what names it in messages ("filter: ..." becomes "what: ..."). */
static int parse_text(const char *text, const char *what,
                      const struct list_syntax *ls, void **arr, size_t *n,
                      struct hv_err *err)
{
  if (!text)
    return 0;
  if (strlen(text) > FILTER_MAX_LEN)
    return hv_err_set(err, HV_ETOOBIG, "%s: longer than %d bytes", what,
                      FILTER_MAX_LEN);
  struct parser p = {.err = err};
  int rc = lex_all(text, &p.lx, err);
  if (!rc) {
    rc = parse_list(&p, ls, arr, n);
    toks_free(p.lx.toks, p.lx.n);
  }
  if (rc && err && strcmp(what, "filter") &&
      !strncmp(err->msg, "filter: ", 8)) {
    char tmp[sizeof(err->msg)];
    snprintf(tmp, sizeof(tmp), "%s: %s", what, err->msg + 8);
    memcpy(err->msg, tmp, sizeof(tmp));
  }
  return rc;
}

int filter_parse(const char *expr, struct filter **out, struct hv_err *err)
{
  *out = NULL;
  struct filter *f = calloc(1, sizeof(*f));
  if (!f)
    return hv_err_set(err, HV_ENOMEM, "filter: out of memory");
  void *arr = NULL;
  int rc = parse_text(expr, "filter", &filter_syntax, &arr, &f->n, err);
  f->cmps = arr; /* what was parsed, also on failure, for filter_free */
  if (rc) {
    filter_free(f);
    return rc;
  }
  *out = f;
  return 0;
}

int filter_order_parse(const char *spec, struct filter_order **out,
                       struct hv_err *err)
{
  *out = NULL;
  struct filter_order *o = calloc(1, sizeof(*o));
  if (!o)
    return hv_err_set(err, HV_ENOMEM, "order-by: out of memory");
  void *arr = NULL;
  int rc = parse_text(spec, "order-by", &order_syntax, &arr, &o->n, err);
  o->terms = arr;
  if (rc) {
    filter_order_free(o);
    return rc;
  }
  *out = o;
  return 0;
}

/* ---- evaluation ---- */

int filter_like(const char *pat, const char *s, int icase)
{
  const char *star_p = NULL, *star_s = NULL;
  while (*s) {
    unsigned char pc = (unsigned char)*pat, sc = (unsigned char)*s;
    if (pc == '%') {
      star_p = ++pat;
      star_s = s;
      continue;
    }
    if (pc && (pc == '_' || pc == sc ||
               (icase && tolower(pc) == tolower(sc)))) {
      pat++;
      s++;
      continue;
    }
    if (!star_p)
      return 0;
    pat = star_p;
    s = ++star_s;
  }
  while (*pat == '%')
    pat++;
  return *pat == '\0';
}

/* Numeric value of key in r into *v; 0 when missing. */
static int key_num(const struct key *k, const struct tracking_run *r,
                   double *v)
{
  if (k->kind == K_METRIC) {
    *v = runs_metric(r, k->name);
    return !isnan(*v);
  }
  switch (k->attr) {
  case A_START_TIME:
    *v = r->start_time;
    return 1;
  case A_END_TIME:
    *v = r->end_time;
    return r->end_time > 0;
  case A_DATA_ROWS:
    *v = (double)r->data_rows;
    return r->data_rows >= 0;
  case A_DATA_FIRST:
    *v = (double)r->data_first_rating_id;
    return r->data_rows >= 0;
  case A_DATA_LAST:
    *v = (double)r->data_last_rating_id;
    return r->data_rows >= 0;
  default:
    return 0;
  }
}

/* Text value of key in r (borrowed) or NULL when missing. */
static const char *key_text(const struct key *k, const struct tracking_run *r)
{
  switch (k->kind) {
  case K_PARAM:
    return runs_param(r, k->name);
  case K_TAG:
    return runs_tag(r, k->name);
  case K_METRIC:
    return NULL;
  case K_ATTR:
    break;
  }
  switch (k->attr) {
  case A_RUN_ID:
    return r->run_id;
  case A_RUN_NAME:
    return r->name;
  case A_STATUS:
    return r->status;
  case A_USER:
    return r->user;
  case A_PARENT:
    return r->parent_run_id;
  case A_EXPERIMENT:
    return r->experiment;
  case A_CODE_VERSION:
    return r->code_version;
  case A_DATA_SHA256:
    return r->data_sha256;
  default:
    return NULL;
  }
}

static int cmp_match(const struct cmp *c, const struct tracking_run *r)
{
  if (c->key.numeric) {
    double v;
    if (!key_num(&c->key, r, &v))
      return 0;
    switch (c->op) {
    case OP_EQ: return v == c->num;
    case OP_NE: return v != c->num;
    case OP_LT: return v < c->num;
    case OP_LE: return v <= c->num;
    case OP_GT: return v > c->num;
    case OP_GE: return v >= c->num;
    default: return 0;
    }
  }
  const char *s = key_text(&c->key, r);
  if (!s)
    return 0;
  switch (c->op) {
  case OP_EQ: return !strcmp(s, c->strs[0]);
  case OP_NE: return strcmp(s, c->strs[0]) != 0;
  case OP_LIKE: return filter_like(c->strs[0], s, 0);
  case OP_ILIKE: return filter_like(c->strs[0], s, 1);
  case OP_IN:
  case OP_NOT_IN:
    for (size_t i = 0; i < c->n_strs; i++)
      if (!strcmp(s, c->strs[i]))
        return c->op == OP_IN;
    return c->op == OP_NOT_IN;
  default: return 0;
  }
}

int filter_match(const struct filter *f, const struct tracking_run *r)
{
  if (!f)
    return 1;
  for (size_t i = 0; i < f->n; i++)
    if (!cmp_match(&f->cmps[i], r))
      return 0;
  return 1;
}

struct sort_item {
  const struct filter_order *o;
  struct tracking_run run;
  size_t idx;
};

static int term_cmp(const struct order_term *t, const struct tracking_run *a,
                    const struct tracking_run *b)
{
  int c;
  if (t->key.numeric) {
    double x = 0, y = 0;
    int hx = key_num(&t->key, a, &x), hy = key_num(&t->key, b, &y);
    if (!hx || !hy)
      return hx == hy ? 0 : hx ? -1 : 1; /* missing last */
    c = x < y ? -1 : x > y ? 1 : 0;
  } else {
    const char *x = key_text(&t->key, a), *y = key_text(&t->key, b);
    if (!x || !y)
      return (x != NULL) == (y != NULL) ? 0 : x ? -1 : 1;
    c = strcmp(x, y);
  }
  return t->desc ? -c : c;
}

static int item_cmp(const void *pa, const void *pb)
{
  const struct sort_item *a = pa, *b = pb;
  for (size_t i = 0; a->o && i < a->o->n; i++) {
    int c = term_cmp(&a->o->terms[i], &a->run, &b->run);
    if (c)
      return c;
  }
  if (a->run.start_time != b->run.start_time)
    return a->run.start_time > b->run.start_time ? -1 : 1;
  return a->idx < b->idx ? -1 : a->idx > b->idx;
}

void filter_sort(struct tracking_run *runs, size_t n,
                 const struct filter_order *o)
{
  if (n < 2)
    return;
  struct sort_item *it = malloc(n * sizeof(*it));
  if (!it)
    return; /* out of memory: leave the load order (newest first) */
  for (size_t i = 0; i < n; i++) {
    it[i].o = o;
    it[i].run = runs[i];
    it[i].idx = i;
  }
  qsort(it, n, sizeof(*it), item_cmp);
  for (size_t i = 0; i < n; i++)
    runs[i] = it[i].run;
  free(it);
}

size_t filter_order_missing(const struct filter_order *o,
                            const struct tracking_run *runs, size_t n,
                            char *buf, size_t cap)
{
  size_t missing = 0, off = 0, i;
  double v;
  buf[0] = '\0';
  for (size_t t = 0; o && n && t < o->n; t++) {
    const struct key *k = &o->terms[t].key;
    for (i = 0; k->kind != K_ATTR && i < n; i++)
      if (k->kind == K_METRIC ? key_num(k, &runs[i], &v)
                              : key_text(k, &runs[i]) != NULL)
        break;
    if (k->kind == K_ATTR || i < n)
      continue;
    missing++;
    if (off < cap)
      off += (size_t)snprintf(buf + off, cap - off, "%s%s.%s",
                              off ? ", " : "", key_prefix(k), k->name);
  }
  return missing;
}
