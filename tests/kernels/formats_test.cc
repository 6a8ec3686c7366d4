// Tests of kernels/formats.h: fp16 conversions against the IEEE 754 definition, and the Q8_0
// block quantizer. Built twice: with F16C instructions (the -march=native default) and with
// -mno-f16c, so both code paths of formats.h are checked.
#include "kernels/formats.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "gtest/gtest.h"
#include "tests/kernels/kernel_test_util.h"

#if defined(FABRIC_EXPECT_PORTABLE_FP16) && defined(__F16C__)
#error "this build of formats_test must exercise the portable fp16 code (-mno-f16c)"
#endif

// Both builds of this file run in one ctest, so the portable one renames its suites.
#ifdef FABRIC_EXPECT_PORTABLE_FP16
#define FORMATS_SUITE(name) Portable##name
#else
#define FORMATS_SUITE(name) name
#endif

namespace fabric {
namespace {

using testing::DecodeHalf;

bool IsNanHalf(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }

TEST(FORMATS_SUITE(Fp16Test), ToFp32MatchesIeeeDefinitionForEveryHalf) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const uint16_t h = static_cast<uint16_t>(bits);
    const float f = Fp16ToFp32(h);
    if (IsNanHalf(h)) {
      EXPECT_TRUE(std::isnan(f)) << std::hex << bits;
      continue;
    }
    EXPECT_EQ(static_cast<double>(f), DecodeHalf(h)) << std::hex << bits;
    EXPECT_EQ(std::signbit(f), (h & 0x8000) != 0) << std::hex << bits;
  }
}

TEST(FORMATS_SUITE(Fp16Test), EveryHalfRoundTrips) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const uint16_t h = static_cast<uint16_t>(bits);
    const uint16_t back = Fp32ToFp16(Fp16ToFp32(h));
    if (IsNanHalf(h)) {
      EXPECT_TRUE(IsNanHalf(back)) << std::hex << bits;
    } else {
      EXPECT_EQ(back, h) << std::hex << bits;
    }
  }
}

TEST(FORMATS_SUITE(Fp16Test), KnownConversions) {
  EXPECT_EQ(Fp32ToFp16(1.0f), 0x3c00);
  EXPECT_EQ(Fp32ToFp16(-2.0f), 0xc000);
  EXPECT_EQ(Fp32ToFp16(-0.0f), 0x8000);
  EXPECT_EQ(Fp32ToFp16(65504.0f), 0x7bff);    // largest finite half
  EXPECT_EQ(Fp32ToFp16(65519.996f), 0x7bff);  // just below the rounding midpoint
  EXPECT_EQ(Fp32ToFp16(65520.0f), 0x7c00);    // midpoint: rounds to even = inf
  EXPECT_EQ(Fp32ToFp16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(Fp32ToFp16(std::ldexp(1.0f, -24)), 0x0001);         // smallest subnormal
  EXPECT_EQ(Fp32ToFp16(std::ldexp(1.0f, -25)), 0x0000);         // tie: to even (zero)
  EXPECT_EQ(Fp32ToFp16(std::ldexp(3.0f, -26)), 0x0001);         // 0.75 ulp: nearest
  EXPECT_EQ(Fp32ToFp16(std::ldexp(3.0f, -25)), 0x0002);         // 1.5 ulps: tie to even
  EXPECT_EQ(Fp32ToFp16(std::ldexp(1.0f, -14)), 0x0400);         // smallest normal
  EXPECT_EQ(Fp32ToFp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie: to even
  EXPECT_EQ(Fp32ToFp16(1.0f + std::ldexp(3.0f, -11)), 0x3c02);  // tie: to even (up)
  EXPECT_EQ(Fp32ToFp16(1.0f + std::ldexp(1.0f, -12)), 0x3c00);  // below the midpoint
  EXPECT_TRUE(IsNanHalf(Fp32ToFp16(std::numeric_limits<float>::quiet_NaN())));
}

// For random floats over the whole half range (subnormals to overflow), the result is the
// nearest half, and the even one on a tie.
TEST(FORMATS_SUITE(Fp16Test), ToFp16RoundsToNearestEven) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> exponent(-27, 16);
  std::uniform_int_distribution<uint32_t> mantissa(0, (1u << 23) - 1);
  for (int i = 0; i < 200000; ++i) {
    // Every 4th sample sits exactly on a rounding midpoint of the normal range.
    uint32_t m = mantissa(rng);
    if (i % 4 == 0) m = (m & ~0x1fffu) | 0x1000u;
    const float magnitude =
        std::ldexp(1.0f + std::ldexp(static_cast<float>(m), -23), exponent(rng));
    const float f = (i % 2) ? -magnitude : magnitude;
    const uint16_t h = Fp32ToFp16(f);
    const double error = std::fabs(DecodeHalf(h) - f);
    const uint16_t magnitude_bits = h & 0x7fff;
    ASSERT_LE(magnitude_bits, 0x7c00) << f;
    // Overflow to inf exactly from the midpoint between 65504 and 2^16 up.
    ASSERT_EQ(magnitude_bits == 0x7c00, std::fabs(f) >= 65520.0f) << f;
    if (magnitude_bits == 0x7c00) continue;
    for (int step : {-1, 1}) {
      const int neighbor = magnitude_bits + step;
      if (neighbor < 0 || neighbor > 0x7bff) continue;
      const uint16_t neighbor_bits = static_cast<uint16_t>(neighbor) | (h & 0x8000);
      const double neighbor_error = std::fabs(DecodeHalf(neighbor_bits) - f);
      ASSERT_LE(error, neighbor_error) << f;
      if (error == neighbor_error) {
        EXPECT_EQ(h & 1, 0) << "tie not to even: " << f;
      }
    }
  }
}

TEST(FORMATS_SUITE(QuantizeBlockQ8_0Test), ZeroBlockHasZeroScale) {
  float x[kQ8BlockSize] = {};
  BlockQ8_0 block;
  block.d = 0x1234;
  QuantizeBlockQ8_0(x, &block);
  EXPECT_EQ(block.d, 0);
  for (int i = 0; i < kQ8BlockSize; ++i) EXPECT_EQ(block.qs[i], 0);
}

TEST(FORMATS_SUITE(QuantizeBlockQ8_0Test), ScaleAndValuesFollowTheReferenceQuantizer) {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    const float range = std::ldexp(1.0f, static_cast<int>(seed % 20) - 10);
    const std::vector<float> x = testing::RandomFloats(kQ8BlockSize, seed, -range, range);
    BlockQ8_0 block;
    QuantizeBlockQ8_0(x.data(), &block);
    float amax = 0.0f;
    int argmax = 0;
    for (int i = 0; i < kQ8BlockSize; ++i) {
      if (std::fabs(x[i]) > amax) {
        amax = std::fabs(x[i]);
        argmax = i;
      }
    }
    const float d = amax / 127.0f;
    ASSERT_EQ(block.d, Fp32ToFp16(d));
    EXPECT_EQ(std::abs(block.qs[argmax]), 127);
    const double stored_d = DecodeHalf(block.d);
    for (int i = 0; i < kQ8BlockSize; ++i) {
      EXPECT_LE(std::abs(block.qs[i]), 127);
      // Rounding to the nearest multiple of d (a hair of slack for 1/d in float).
      EXPECT_LE(std::fabs(x[i] - block.qs[i] * static_cast<double>(d)), 0.5 * d * (1 + 1e-5));
      // What a kernel sees: the fp16 scale adds at most 127 half-ulps of d.
      EXPECT_LE(std::fabs(x[i] - block.qs[i] * stored_d), testing::Q8ElementErrorBound(amax))
          << "seed " << seed;
    }
  }
}

}  // namespace
}  // namespace fabric
