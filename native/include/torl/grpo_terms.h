// The per-token terms of the GRPO loss, shared by the CPU and CUDA kernels so
// both compute them from one definition, in f64: the clipped surrogate (with
// veRL's dual clip) and the KL estimators k1/k2/k3 (veRL's clamps), each with
// its derivative in logp. Host and device code alike (TORL_HD).
#pragma once
#include <cmath>

#include "torl/grpo.h"

#ifdef __CUDACC__
#define TORL_HD __host__ __device__ inline
#else
#define TORL_HD inline
#endif

namespace torl::grpo {

// std::clamp's semantics (NaN stays NaN), usable in device code.
TORL_HD double clamp(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

struct PgTerm {
  double pg;    // the token's policy-gradient loss
  double dpg;   // d pg / d logp
  double ratio; // exp(logp − old), the exponent clamped to ±20
  bool clipped; // the clip fired
  bool lower;   // the dual clip fired
};

// d = logp − old_logp, A = advantage.
TORL_HD PgTerm pg_term(double d, double A, double clip_low, double clip_high, bool dual_clip, double clip_ratio_c) {
  PgTerm t;
  t.ratio = exp(clamp(d, -20.0, 20.0));
  const double dr = d >= -20 && d <= 20 ? t.ratio : 0.0;  // d ratio / d logp
  const double l1 = -A * t.ratio, l2 = -A * clamp(t.ratio, 1 - clip_low, 1 + clip_high);
  // max(l1, l2): l2 > l1 only where the clamp is active (then its gradient is 0).
  t.clipped = l2 > l1;
  t.pg = t.clipped ? l2 : l1;
  t.dpg = t.clipped ? 0.0 : -A * dr;
  t.lower = dual_clip && A < 0 && t.pg > -A * clip_ratio_c;
  if (t.lower) {
    t.pg = -A * clip_ratio_c;
    t.dpg = 0;
  }
  return t;
}

struct KlTerm {
  double value, grad;  // the estimator and its derivative in logp
};

TORL_HD KlTerm kl_term(double lp, double ref, KlType type) {
  if (type == KlType::K1) return {lp - ref, 1.0};
  if (type == KlType::K2) return {0.5 * (lp - ref) * (lp - ref), lp - ref};
  const double x = ref - lp, xc = clamp(x, -20.0, 20.0), e = exp(xc);
  const double k = e - xc - 1, kc = clamp(k, -10.0, 10.0);
  const bool pass = x >= -20 && x <= 20 && k >= -10 && k <= 10;  // clamp gradients, as torch
  return {kc, pass ? -(e - 1) : 0.0};
}

}  // namespace torl::grpo
