/*
 * optim.c - Adagrad (Keras semantics) and lazy Adam: see optim.h.
 *
 * Adagrad: acc += g^2; p -= lr * g / (sqrt(acc) + eps).
 * Adam:    m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *          p -= lr * sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)  (Keras).
 */
#include "model/optim.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "model/model.h"

int optim_slots(int kind)
{
  return kind == MODEL_OPT_ADAM ? 2 : 1;
}

void optim_init_state(int kind, float *state, size_t n_params, size_t off,
                      size_t len)
{
  assert(off <= n_params && len <= n_params - off);
  if (kind == MODEL_OPT_ADAM) {
    memset(state + off, 0, len * sizeof(float));
    memset(state + n_params + off, 0, len * sizeof(float));
    return;
  }
  for (size_t i = 0; i < len; i++)
    state[off + i] = OPTIM_ADAGRAD_INIT;
}

static void adagrad_span(float lr, float *restrict p, float *restrict acc,
                         float *restrict g, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    acc[i] += g[i] * g[i];
    p[i] -= lr * g[i] / (sqrtf(acc[i]) + OPTIM_EPS);
    g[i] = 0.0f;
  }
}

static void adam_span(float lrt, float *restrict p, float *restrict m,
                      float *restrict v, float *restrict g, size_t len)
{
  const float b1 = (float)OPTIM_BETA1, b2 = (float)OPTIM_BETA2;
  for (size_t i = 0; i < len; i++) {
    m[i] = b1 * m[i] + (1.0f - b1) * g[i];
    v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    p[i] -= lrt * m[i] / (sqrtf(v[i]) + OPTIM_EPS);
    g[i] = 0.0f;
  }
}

void optim_step(int kind, double lr, uint64_t t, float *params,
                float *state, size_t n_params, float *grad,
                const struct optim_span *spans, size_t n_spans)
{
  for (size_t s = 0; s < n_spans; s++) /* each span lies in the table */
    assert(spans[s].off <= n_params &&
           spans[s].len <= n_params - spans[s].off);
  if (kind == MODEL_OPT_ADAM) {
    double tt = (double)(t ? t : 1);
    float lrt = (float)(lr * sqrt(1.0 - pow(OPTIM_BETA2, tt)) /
                        (1.0 - pow(OPTIM_BETA1, tt)));
    for (size_t s = 0; s < n_spans; s++) {
      size_t o = spans[s].off;
      adam_span(lrt, params + o, state + o, state + n_params + o, grad + o,
                spans[s].len);
    }
    return;
  }
  for (size_t s = 0; s < n_spans; s++) {
    size_t o = spans[s].off;
    adagrad_span((float)lr, params + o, state + o, grad + o, spans[s].len);
  }
}
