/*
 * htmlesc.c - the HTML entities of & < > " ' (see htmlesc.h).
 */
#include "util/htmlesc.h"

const char *htmlesc_entity(unsigned char c)
{
  switch (c) {
  case '&': return "&amp;";
  case '<': return "&lt;";
  case '>': return "&gt;";
  case '"': return "&quot;";
  case '\'': return "&#39;";
  default: return NULL;
  }
}

void htmlesc_fputs(FILE *f, const char *s)
{
  for (; s && *s; s++) {
    const char *ent = htmlesc_entity((unsigned char)*s);
    if (ent)
      fputs(ent, f);
    else
      fputc(*s, f);
  }
}
