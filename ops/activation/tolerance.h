// How far an activation computed in float may be from the double reference
// (ops/activation/reference.h), for the cases of this op and of the ops built on it (dense).
//
// Tolerances, with u = 2^-24 (float's unit roundoff). z + bias is one IEEE addition and linear
// and relu are a copy and a select: those are exact. The other activations are a handful of
// float operations and libm calls (at most 2 ulp each: CUDA's expf, tanhf, erff; glibc's are
// within 1; oneDNN's eltwise tanh and logistic a few ulp), whose intermediate values are
// bounded by |f(z)|, |z| and 1 (f(z) = z g(z), 1 + erf, 1 - a^2, ...). Each such operation errs
// by a few u of its result, and a rounding of z's argument (z * 0.70710678f) moves f by
// |z f'(z)| u. Summed over at most 8 operations of 2 ulp each (4 u), with a factor 1 for the way
// through the formula:
//   |a - f(z)| <= 32 u (|f(z)| + |z| + 1),
// absolute where f is tiny (gelu at -6 is 1 + erf cancelling: 6 u absolute, not relative). The
// same holds for f' (the table's derivative formulas are of the same kind), and dz = da f'
// adds one rounding. A real error (a wrong formula, a missing factor, a swapped side of a
// kink) errs by percents, 10^5 above these bounds.
#pragma once

#include <cmath>

#include "fanin/activation.h"

namespace fanin::harness {

inline double FormulaTolerance(double z, double value) {
  return 32 * 0x1p-24 * (std::fabs(value) + std::fabs(z) + 1);
}

// A copy and a select: the reference's value is the float itself.
inline bool Exact(Activation act) { return act == Activation::kLinear || act == Activation::kRelu; }

}  // namespace fanin::harness
