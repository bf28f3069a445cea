/*
 * le.h - little-endian fields of Harvest's binary files (the model file,
 * the retrieval index): put/get of u32, u64 and f64 at a byte pointer.
 */
#ifndef HV_UTIL_LE_H
#define HV_UTIL_LE_H

#include <stdint.h>
#include <string.h>

static inline void put_u32(unsigned char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}
static inline void put_u64(unsigned char *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}
static inline void put_f64(unsigned char *p, double d)
{
  uint64_t v;
  memcpy(&v, &d, 8);
  put_u64(p, v);
}
static inline uint32_t get_u32(const unsigned char *p)
{
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}
static inline uint64_t get_u64(const unsigned char *p)
{
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}
static inline double get_f64(const unsigned char *p)
{
  uint64_t v = get_u64(p);
  double d;
  memcpy(&d, &v, 8);
  return d;
}

#endif
