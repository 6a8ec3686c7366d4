// Helpers shared by the kernel tests: seeded random data, Q8_0 quantization and its error
// bound, and an exact fp16 decoder independent of formats.h.
#ifndef FABRIC_TESTS_KERNELS_KERNEL_TEST_UTIL_H_
#define FABRIC_TESTS_KERNELS_KERNEL_TEST_UTIL_H_

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernels/formats.h"

namespace fabric::testing {

// n floats uniform in [lo, hi), reproducible from seed.
inline std::vector<float> RandomFloats(int64_t n, uint32_t seed, float lo = -1.0f,
                                       float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// A value no kernel computes, to see which outputs a launch left untouched.
inline constexpr float kSentinel = -12345.5f;

// The exact value of fp16 bits h (NaN for NaN), from the IEEE 754 definition.
inline double DecodeHalf(uint16_t h) {
  const int sign = h >> 15;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  double magnitude;
  if (exponent == 0x1f) {
    magnitude = mantissa == 0 ? std::numeric_limits<double>::infinity()
                              : std::numeric_limits<double>::quiet_NaN();
  } else if (exponent == 0) {
    magnitude = std::ldexp(static_cast<double>(mantissa), -24);
  } else {
    magnitude = std::ldexp(static_cast<double>(1024 + mantissa), exponent - 25);
  }
  return sign ? -magnitude : magnitude;
}

// Quantizes x (a multiple of 32 floats) block by block with the formats.h quantizer.
inline std::vector<BlockQ8_0> QuantizeBlocks(const std::vector<float>& x) {
  const int64_t n_blocks = static_cast<int64_t>(x.size()) / kQ8BlockSize;
  std::vector<BlockQ8_0> out(n_blocks);
  for (int64_t b = 0; b < n_blocks; ++b) QuantizeBlockQ8_0(&x[b * kQ8BlockSize], &out[b]);
  return out;
}

// Largest |x - dequantized x| for an element of a Q8_0 block whose max |x| is amax: half a
// step d = amax / 127 from rounding, plus 127 times the error of storing d in fp16 (half an
// ulp: 2^-11 relative for normal halves, 2^-25 absolute below 2^-14).
inline double Q8ElementErrorBound(double amax) {
  const double d = amax / 127.0;
  return d / 2 + 127.0 * std::fmax(d * 0x1p-11, 0x1p-25);
}

}  // namespace fabric::testing

#endif  // FABRIC_TESTS_KERNELS_KERNEL_TEST_UTIL_H_
