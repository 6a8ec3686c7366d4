// Tests of the matrix products, matvec_f32 and matvec_q8_0 (decode), matmul_f32 and
// matmul_q8_0 (prefill): accuracy against double references, [begin, end) splitting, and batch
// invariance (decode and prefill outputs are bit-identical to each token's one-token decode,
// whatever n_tokens or the split of the range).
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/dot.h"
#include "kernels/formats.h"
#include "kernels/kernel_signatures.h"
#include "kernels/kernels.h"
#include "tests/kernels/kernel_test_util.h"

namespace fabric {
namespace {

using testing::DecodeHalf;
using testing::kSentinel;
using testing::QuantizeBlocks;
using testing::RandomFloats;

// Bitwise equality, so NaNs and signed zeros count too.
bool SameBits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Rounding-error bound of a dot product summed in 16 float lanes of n / 16 terms each, then
// a 4-level tree: (n / 16 + 1 + 4) roundings, each at most FLT_EPSILON relative to the sum of
// magnitudes.
double LaneSumBound(int n, double sum_of_magnitudes) {
  return (n / 16 + 5) * static_cast<double>(FLT_EPSILON) * sum_of_magnitudes;
}

// The signature the four kernels share.
template <typename T>
using ProductKernel = void (*)(const T* w, const T* x, float* out, int n_tokens, int n_in,
                               int n_out, int begin, int end);

// out: [n_tokens, n_out], written by one launch of `kernel` per row range in `ranges` (as a
// device splits a range over compute units); entries no launch wrote stay kSentinel.
template <typename T>
std::vector<float> Launch(ProductKernel<T> kernel, const std::vector<T>& w, const std::vector<T>& x,
                          int n_tokens, int n_in, int n_out,
                          std::initializer_list<std::pair<int, int>> ranges) {
  std::vector<float> out(static_cast<size_t>(n_tokens) * n_out, kSentinel);
  for (const auto& [begin, end] : ranges) {
    kernel(w.data(), x.data(), out.data(), n_tokens, n_in, n_out, begin, end);
  }
  return out;
}

// A launch over rows [9, 14) writes exactly those rows of every token, bit-identical to the
// whole range; the remaining pieces (and an empty range) complete the same output.
template <typename T>
void ExpectPartialRangesWriteOnlyTheirRows(ProductKernel<T> kernel, const std::vector<T>& w,
                                           const std::vector<T>& x, int n_tokens, int n_in,
                                           int n_out) {
  ASSERT_GT(n_out, 14);
  const std::vector<float> whole = Launch(kernel, w, x, n_tokens, n_in, n_out, {{0, n_out}});
  const std::vector<float> part = Launch(kernel, w, x, n_tokens, n_in, n_out, {{9, 14}});
  for (int t = 0; t < n_tokens; ++t) {
    for (int r = 0; r < n_out; ++r) {
      const int i = t * n_out + r;
      if (r >= 9 && r < 14) {
        EXPECT_TRUE(SameBits(part[i], whole[i])) << t << "," << r;
      } else {
        EXPECT_EQ(part[i], kSentinel) << t << "," << r;
      }
    }
  }
  const std::vector<float> pieces =
      Launch(kernel, w, x, n_tokens, n_in, n_out, {{9, 14}, {0, 9}, {20, 20}, {14, n_out}});
  for (size_t i = 0; i < whole.size(); ++i) EXPECT_TRUE(SameBits(pieces[i], whole[i])) << i;
}

// Batch invariance: for every n_tokens (within and beyond kMaxDecodeTokens) and split of the
// rows, the decode kernel (matvec) and the prefill kernel (matmul) compute bit-identical
// outputs, equal to each token's own one-token decode. make_x(n) returns x: [n, n_in].
template <typename T>
void ExpectDecodeAndPrefillBitIdentical(ProductKernel<T> matvec, ProductKernel<T> matmul,
                                        const std::vector<T>& w,
                                        const std::function<std::vector<T>(int)>& make_x, int n_in,
                                        int n_out) {
  ASSERT_GT(n_out, 19);
  for (int n_tokens : {1, 2, 3, 7, 16, kMaxDecodeTokens + 6}) {
    SCOPED_TRACE(::testing::Message() << "n_tokens " << n_tokens);
    const std::vector<T> x = make_x(n_tokens);
    const std::vector<float> decode = Launch(matvec, w, x, n_tokens, n_in, n_out, {{0, n_out}});
    const std::vector<float> decode_split =
        Launch(matvec, w, x, n_tokens, n_in, n_out, {{0, 10}, {10, 11}, {11, n_out}});
    const std::vector<float> prefill =
        Launch(matmul, w, x, n_tokens, n_in, n_out, {{0, 7}, {7, 19}, {19, n_out}});
    const size_t x_row = x.size() / n_tokens;
    for (int t = 0; t < n_tokens; ++t) {
      const std::vector<T> x_t(x.begin() + t * x_row, x.begin() + (t + 1) * x_row);
      const std::vector<float> alone = Launch(matvec, w, x_t, 1, n_in, n_out, {{0, n_out}});
      for (int r = 0; r < n_out; ++r) {
        const int i = t * n_out + r;
        ASSERT_TRUE(SameBits(decode[i], alone[r])) << "token " << t << " row " << r;
        ASSERT_TRUE(SameBits(decode_split[i], alone[r])) << "token " << t << " row " << r;
        ASSERT_TRUE(SameBits(prefill[i], alone[r])) << "token " << t << " row " << r;
      }
    }
  }
}

class MatvecF32Test : public ::testing::TestWithParam<int> {};

TEST_P(MatvecF32Test, MatchesDoubleReference) {
  const int n_in = GetParam();
  const int n_out = 23, n_tokens = 3;
  const std::vector<float> w = RandomFloats(static_cast<int64_t>(n_out) * n_in, 1);
  const std::vector<float> x = RandomFloats(n_tokens * n_in, 2);
  const std::vector<float> out = Launch(matvec_f32, w, x, n_tokens, n_in, n_out, {{0, n_out}});
  for (int t = 0; t < n_tokens; ++t) {
    for (int r = 0; r < n_out; ++r) {
      double ref = 0.0, magnitude = 0.0;
      for (int i = 0; i < n_in; ++i) {
        const double product = static_cast<double>(w[r * n_in + i]) * x[t * n_in + i];
        ref += product;
        magnitude += std::fabs(product);
      }
      EXPECT_NEAR(out[t * n_out + r], ref, LaneSumBound(n_in, magnitude)) << t << "," << r;
    }
  }
}

// Lengths below, at and around the 16-lane width, and long rows with a tail.
INSTANTIATE_TEST_SUITE_P(Lengths, MatvecF32Test, ::testing::Values(1, 5, 16, 37, 300, 1000));

TEST(MatvecF32Test, PartialRangesWriteOnlyTheirRows) {
  const int n_in = 77, n_out = 29, n_tokens = 2;
  ExpectPartialRangesWriteOnlyTheirRows(matvec_f32, RandomFloats(n_out * n_in, 3),
                                        RandomFloats(n_tokens * n_in, 4), n_tokens, n_in, n_out);
}

TEST(MatmulF32Test, PartialRangesWriteOnlyTheirRows) {
  const int n_in = 45, n_out = 19, n_tokens = 4;
  ExpectPartialRangesWriteOnlyTheirRows(matmul_f32, RandomFloats(n_out * n_in, 7),
                                        RandomFloats(n_tokens * n_in, 8), n_tokens, n_in, n_out);
}

TEST(MatrixProductF32Test, DecodeAndPrefillAreBitIdenticalForAnyTokenCountAndSplit) {
  // Rows with a tail past the 16 lanes; two whole row tiles of matmul and a partial one.
  const int n_in = 203, n_out = 37;
  ExpectDecodeAndPrefillBitIdentical<float>(
      matvec_f32, matmul_f32, RandomFloats(n_out * n_in, 5),
      [&](int n_tokens) { return RandomFloats(n_tokens * n_in, 6 + n_tokens); }, n_in, n_out);
}

// The exact value of the Q8_0 dot product of row blocks w and x and its rounding bound.
struct ExactQ8Dot {
  double value = 0.0;
  double bound = 0.0;
};
ExactQ8Dot ExactDotQ8_0(const BlockQ8_0* w, const BlockQ8_0* x, int n_blocks) {
  ExactQ8Dot dot;
  double magnitude = 0.0;
  for (int b = 0; b < n_blocks; ++b) {
    int64_t isum = 0, iabs = 0;
    for (int i = 0; i < kQ8BlockSize; ++i) {
      isum += w[b].qs[i] * x[b].qs[i];
      iabs += std::abs(w[b].qs[i] * x[b].qs[i]);
    }
    const double scale = DecodeHalf(w[b].d) * DecodeHalf(x[b].d);
    dot.value += static_cast<double>(isum) * scale;
    magnitude += static_cast<double>(iabs) * std::fabs(scale);
  }
  // One rounding per lane per block, then the tree.
  dot.bound = (n_blocks + 5) * static_cast<double>(FLT_EPSILON) * magnitude;
  return dot;
}

class MatvecQ8_0Test : public ::testing::TestWithParam<int> {};

TEST_P(MatvecQ8_0Test, MatchesExactBlockArithmetic) {
  const int n_blocks = GetParam();
  const int n_in = n_blocks * kQ8BlockSize, n_out = 21, n_tokens = 3;
  const std::vector<BlockQ8_0> w = QuantizeBlocks(RandomFloats(n_out * n_in, 11, -0.2f, 0.2f));
  const std::vector<BlockQ8_0> x = QuantizeBlocks(RandomFloats(n_tokens * n_in, 12, -3.0f, 3.0f));
  const std::vector<float> out = Launch(matvec_q8_0, w, x, n_tokens, n_in, n_out, {{0, n_out}});
  for (int t = 0; t < n_tokens; ++t) {
    for (int r = 0; r < n_out; ++r) {
      const ExactQ8Dot ref = ExactDotQ8_0(&w[r * n_blocks], &x[t * n_blocks], n_blocks);
      EXPECT_NEAR(out[t * n_out + r], ref.value, ref.bound) << t << "," << r;
    }
  }
}

// Against the float product of the unquantized matrices, the error is the quantization error:
// every element is off by at most Q8ElementErrorBound(amax of its block).
TEST_P(MatvecQ8_0Test, WithinQuantizationErrorOfFloatProduct) {
  const int n_blocks = GetParam();
  const int n_in = n_blocks * kQ8BlockSize, n_out = 17;
  const std::vector<float> w = RandomFloats(n_out * n_in, 13, -0.5f, 0.5f);
  const std::vector<float> x = RandomFloats(n_in, 14, -2.0f, 2.0f);
  const std::vector<BlockQ8_0> wq = QuantizeBlocks(w);
  const std::vector<BlockQ8_0> xq = QuantizeBlocks(x);
  auto element_error = [](const std::vector<float>& v, int i) {
    const int start = i / kQ8BlockSize * kQ8BlockSize;
    float amax = 0.0f;
    for (int j = start; j < start + kQ8BlockSize; ++j) amax = std::fmax(amax, std::fabs(v[j]));
    return testing::Q8ElementErrorBound(amax);
  };
  std::vector<float> out(n_out, kSentinel);
  matvec_q8_0(wq.data(), xq.data(), out.data(), 1, n_in, n_out, 0, n_out);
  double max_error = 0.0, max_bound = 0.0;
  for (int r = 0; r < n_out; ++r) {
    double ref = 0.0, bound = 0.0;
    for (int i = 0; i < n_in; ++i) {
      const double wi = w[r * n_in + i], xi = x[i];
      const double ew = element_error(w, r * n_in + i), ex = element_error(x, i);
      ref += wi * xi;
      bound += std::fabs(wi) * ex + std::fabs(xi) * ew + ew * ex;
    }
    bound += ExactDotQ8_0(&wq[r * n_blocks], xq.data(), n_blocks).bound;
    EXPECT_NEAR(out[r], ref, bound) << "row " << r;
    max_error = std::fmax(max_error, std::fabs(out[r] - ref));
    max_bound = std::fmax(max_bound, bound);
  }
  // The bound is a worst case; the real error must be well inside it (so a wrong scale,
  // which would still land "near" for tiny rows, is caught).
  EXPECT_LT(max_error, 0.5 * max_bound);
}

INSTANTIATE_TEST_SUITE_P(Blocks, MatvecQ8_0Test, ::testing::Values(1, 3, 7, 37, 70));

TEST(MatvecQ8_0Test, ExtremeInt8ValuesSumExactly) {
  // -128 * -128 twice per lane overflows int16; the kernel must sum in int32.
  const int n_blocks = 5, n_in = n_blocks * kQ8BlockSize;
  std::vector<BlockQ8_0> w(2 * n_blocks), x(n_blocks);
  for (int b = 0; b < n_blocks; ++b) {
    w[b].d = Fp32ToFp16(1.0f);
    w[n_blocks + b].d = Fp32ToFp16(0.5f);
    x[b].d = Fp32ToFp16(0.25f);
    for (int i = 0; i < kQ8BlockSize; ++i) {
      w[b].qs[i] = -128;
      w[n_blocks + b].qs[i] = (i % 2) ? 127 : -128;
      x[b].qs[i] = -128;
    }
  }
  std::vector<float> out(2, kSentinel);
  matvec_q8_0(w.data(), x.data(), out.data(), 1, n_in, 2, 0, 2);
  // Row 0: 32 * 16384 * 0.25 per block; row 1: 16 * (16384 - 16256) * 0.125 per block.
  EXPECT_EQ(out[0], n_blocks * 32 * 16384 * 0.25f);
  EXPECT_EQ(out[1], n_blocks * 16 * (16384 - 16256) * 0.125f);
}

TEST(MatvecQ8_0Test, PartialRangesWriteOnlyTheirRows) {
  const int n_blocks = 6, n_in = n_blocks * kQ8BlockSize, n_out = 26, n_tokens = 2;
  ExpectPartialRangesWriteOnlyTheirRows(matvec_q8_0, QuantizeBlocks(RandomFloats(n_out * n_in, 15)),
                                        QuantizeBlocks(RandomFloats(n_tokens * n_in, 16)), n_tokens,
                                        n_in, n_out);
}

TEST(MatmulQ8_0Test, PartialRangesWriteOnlyTheirRows) {
  const int n_blocks = 4, n_in = n_blocks * kQ8BlockSize, n_out = 15, n_tokens = 3;
  ExpectPartialRangesWriteOnlyTheirRows(matmul_q8_0, QuantizeBlocks(RandomFloats(n_out * n_in, 19)),
                                        QuantizeBlocks(RandomFloats(n_tokens * n_in, 20)), n_tokens,
                                        n_in, n_out);
}

TEST(MatrixProductQ8_0Test, DecodeAndPrefillAreBitIdenticalForAnyTokenCountAndSplit) {
  const int n_blocks = 9, n_in = n_blocks * kQ8BlockSize, n_out = 37;
  ExpectDecodeAndPrefillBitIdentical<BlockQ8_0>(
      matvec_q8_0, matmul_q8_0, QuantizeBlocks(RandomFloats(n_out * n_in, 17)),
      [&](int n_tokens) {
        return QuantizeBlocks(RandomFloats(n_tokens * n_in, 18 + n_tokens, -4.0f, 4.0f));
      },
      n_in, n_out);
}

// The Q8_0 dot product as kernels/dot.h defines it (the portable, synthesizable datapath).
float DefinedDotQ8_0(const BlockQ8_0* w, const BlockQ8_0* x, int n_blocks) {
  float dot;
  DotQ8_0MultiPortable<1>(w, x, n_blocks, n_blocks, &dot);
  return dot;
}

// The decode kernel processes several tokens per weight-row pass (DotQ8_0Multi); every output
// must still be bit-identical to the defined dot product of its row and token, for every
// batch size (whole multi-token groups plus every remainder) and split of the rows.
TEST(MatvecQ8_0Test, EveryOutputIsBitIdenticalToTheDefinedDotOfItsToken) {
  const int n_blocks = 11, n_in = n_blocks * kQ8BlockSize, n_out = 23;
  const std::vector<BlockQ8_0> w =
      QuantizeBlocks(RandomFloats(n_out * n_in, 31, -0.3f, 0.3f));
  for (int n_tokens = 1; n_tokens <= 9; ++n_tokens) {
    SCOPED_TRACE(::testing::Message() << "n_tokens " << n_tokens);
    const std::vector<BlockQ8_0> x =
        QuantizeBlocks(RandomFloats(n_tokens * n_in, 40 + n_tokens, -5.0f, 5.0f));
    const std::vector<float> whole =
        Launch(matvec_q8_0, w, x, n_tokens, n_in, n_out, {{0, n_out}});
    const std::vector<float> split =
        Launch(matvec_q8_0, w, x, n_tokens, n_in, n_out, {{0, 5}, {5, 6}, {6, n_out}});
    for (int t = 0; t < n_tokens; ++t) {
      for (int r = 0; r < n_out; ++r) {
        const float ref = DefinedDotQ8_0(&w[r * n_blocks], &x[t * n_blocks], n_blocks);
        const int i = t * n_out + r;
        ASSERT_TRUE(SameBits(whole[i], ref)) << "token " << t << " row " << r;
        ASSERT_TRUE(SameBits(split[i], ref)) << "token " << t << " row " << r;
      }
    }
  }
}

// DotQ8_0Multi itself (on this CPU, its AVX-512 path), for each token count, against the
// definition, including the extreme int8 values (-128 * -128 twice per lane) and a token
// stride that is not the row length.
template <int N>
void ExpectDotQ8_0MultiMatchesDefinition() {
  const int n_blocks = 13, stride = 17;
  std::vector<BlockQ8_0> w = QuantizeBlocks(RandomFloats(n_blocks * kQ8BlockSize, 50 + N));
  std::vector<BlockQ8_0> x =
      QuantizeBlocks(RandomFloats(N * stride * kQ8BlockSize, 60 + N, -9.0f, 9.0f));
  for (int i = 0; i < kQ8BlockSize; ++i) {
    w[2].qs[i] = -128;
    x[2].qs[i] = -128;
  }
  float dots[N];
  DotQ8_0Multi<N>(w.data(), x.data(), stride, n_blocks, dots);
  for (int t = 0; t < N; ++t) {
    EXPECT_TRUE(SameBits(dots[t], DefinedDotQ8_0(w.data(), &x[t * stride], n_blocks)))
        << N << "," << t;
  }
}

TEST(DotQ8_0MultiTest, BitIdenticalToTheDefinitionPerToken) {
  ExpectDotQ8_0MultiMatchesDefinition<1>();
  ExpectDotQ8_0MultiMatchesDefinition<2>();
  ExpectDotQ8_0MultiMatchesDefinition<3>();
  ExpectDotQ8_0MultiMatchesDefinition<kDotMultiTokens>();
}

}  // namespace
}  // namespace fabric
