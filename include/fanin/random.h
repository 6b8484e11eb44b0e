// Counter-based random numbers (Philox4x32-10), identical on the CPU and on a GPU.
//
// Stream layout. Every random value is a pure function of (seed, stream, index): there is
// no generator state, so the same seed gives bit-identical tensors whatever the number of
// threads, and a CUDA kernel computing element i produces the same value as the CPU loop.
//   key     = (seed & 0xffffffff, seed >> 32)
//   counter = (index & 0xffffffff, index >> 32, stream, attempt)
// `index` is the element's position in the tensor; `stream` identifies the tensor (a
// model gives parameter tensor p the stream p, in the order layers declare them); and
// `attempt` = 0, 1, 2, ... counts re-draws for the rejection samplers below. One Philox
// call yields four 32-bit words w0..w3:
//   uniform(lo, hi):  u = (w0 >> 8) * 2^-24 in [0, 1); value = lo + (hi - lo) * u.
//   normal(m, s):     Marsaglia's polar method on (w0, w1), then on (w2, w3):
//                     x = 2 * (w + 0.5) * 2^-32 - 1 for each word, r = x0^2 + x1^2,
//                     rejected unless 0 < r < 1; value = m + s * x0 * sqrt(-2 ln(r) / r).
//                     Both pairs rejected: attempt + 1.
//   truncated_normal: as normal, but a candidate beyond 2 standard deviations is rejected
//                     like an r outside (0, 1) (TensorFlow's re-draw semantics).
// Transforms run in double with a logarithm built from + - * / only (DeterministicLog),
// never contracted into FMAs, and round to float once: IEEE arithmetic makes the result
// identical on every conforming device.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define FANIN_HOST_DEVICE __host__ __device__
#else
#define FANIN_HOST_DEVICE
#endif

namespace fanin {

enum class RandomDistribution { kUniform, kNormal, kTruncatedNormal };

// A random fill: kUniform draws from [a, b); kNormal and kTruncatedNormal have mean a and
// (pre-truncation) standard deviation b.
struct RandomSpec {
  RandomDistribution distribution = RandomDistribution::kUniform;
  double a = 0.0;
  double b = 1.0;
  uint64_t seed = 0;
  uint32_t stream = 0;
};

struct Philox4x32 {
  uint32_t w[4];
};

namespace random_detail {

// Arithmetic that nvcc may not fuse into FMAs (host C++ in ISO mode never contracts).
FANIN_HOST_DEVICE inline double Mul(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
FANIN_HOST_DEVICE inline double Add(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

FANIN_HOST_DEVICE inline uint32_t MulHi(uint32_t a, uint32_t b) {
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
}

}  // namespace random_detail

// Philox4x32 with 10 rounds (Salmon et al., SC'11), the Random123 reference algorithm.
FANIN_HOST_DEVICE inline Philox4x32 Philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2,
                                                  uint32_t c3, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    const uint32_t hi0 = random_detail::MulHi(0xD2511F53u, c0);
    const uint32_t lo0 = 0xD2511F53u * c0;
    const uint32_t hi1 = random_detail::MulHi(0xCD9E8D57u, c2);
    const uint32_t lo1 = 0xCD9E8D57u * c2;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

FANIN_HOST_DEVICE inline Philox4x32 PhiloxBlock(uint64_t seed, uint32_t stream, uint64_t index,
                                                uint32_t attempt) {
  return Philox4x32_10(static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32), stream,
                       attempt, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// Natural logarithm of x > 0 (finite, normal) using only IEEE + - * /, accurate to a few
// ulp in double: x = m * 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(t) with
// t = (m - 1) / (m + 1), |t| < 0.172, summed as a series to 1e-17.
FANIN_HOST_DEVICE inline double DeterministicLog(double x) {
  using random_detail::Add;
  using random_detail::Mul;
  // Exponent extraction through the bit pattern: exact and identical on host and device.
  union {
    double d;
    uint64_t u;
  } bits{x};
  int e = static_cast<int>((bits.u >> 52) & 0x7ff) - 1023;
  bits.u = (bits.u & 0x000fffffffffffffull) | 0x3ff0000000000000ull;  // m in [1, 2)
  double m = bits.d;
  if (m > 1.4142135623730951) {
    m = Mul(m, 0.5);
    e += 1;
  }
  const double t = (m - 1.0) / (m + 1.0);
  const double t2 = Mul(t, t);
  double series = 1.0 / 25.0;
  for (int k = 11; k >= 0; --k) series = Add(1.0 / (2 * k + 1), Mul(t2, series));
  const double ln_m = Mul(Mul(2.0, t), series);
  return Add(Mul(static_cast<double>(e), 0.69314718055994530942), ln_m);
}

// The value of element `index` of a random fill (see the stream layout above).
FANIN_HOST_DEVICE inline float RandomValue(const RandomSpec& spec, uint64_t index) {
  using random_detail::Add;
  using random_detail::Mul;
  if (spec.distribution == RandomDistribution::kUniform) {
    const Philox4x32 r = PhiloxBlock(spec.seed, spec.stream, index, 0);
    const double u = static_cast<double>(r.w[0] >> 8) * (1.0 / 16777216.0);
    return static_cast<float>(Add(spec.a, Mul(spec.b - spec.a, u)));
  }
  const bool truncated = spec.distribution == RandomDistribution::kTruncatedNormal;
  for (uint32_t attempt = 0;; ++attempt) {
    const Philox4x32 r = PhiloxBlock(spec.seed, spec.stream, index, attempt);
    for (int pair = 0; pair < 2; ++pair) {
      const double x0 = Add(Mul(Add(static_cast<double>(r.w[2 * pair]), 0.5), 0x1p-31), -1.0);
      const double x1 = Add(Mul(Add(static_cast<double>(r.w[2 * pair + 1]), 0.5), 0x1p-31), -1.0);
      const double radius2 = Add(Mul(x0, x0), Mul(x1, x1));
      if (!(radius2 > 0.0 && radius2 < 1.0)) continue;
      const double normal = Mul(x0, sqrt(Mul(-2.0, DeterministicLog(radius2)) / radius2));
      if (truncated && (normal > 2.0 || normal < -2.0)) continue;
      return static_cast<float>(Add(spec.a, Mul(spec.b, normal)));
    }
  }
}

// 64 random bits for element `index` of `stream` (used for shuffles).
FANIN_HOST_DEVICE inline uint64_t RandomBits64(uint64_t seed, uint32_t stream, uint64_t index) {
  const Philox4x32 r = PhiloxBlock(seed, stream, index, 0);
  return (static_cast<uint64_t>(r.w[1]) << 32) | r.w[0];
}

}  // namespace fanin
