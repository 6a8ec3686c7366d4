// Tests of the row- and element-wise kernels: gather_f32, gather_q8_0, rmsnorm,
// quantize_q8_0, rope, kv_store, swiglu, residual_add. Each is checked against a plain
// reference (in double where rounding matters) and, where llama2.c fixes the float arithmetic,
// bit for bit against llama2.c's formula; and each is launched on a partial [begin, end) to
// check that the work items outside it stay untouched.
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/formats.h"
#include "kernels/kernels.h"
#include "tests/kernels/kernel_test_util.h"

namespace fabric {
namespace {

using testing::DecodeHalf;
using testing::kSentinel;
using testing::QuantizeBlocks;
using testing::RandomFloats;

constexpr double kEps = FLT_EPSILON;

TEST(GatherF32Test, CopiesSelectedRowsInRange) {
  const int n_rows = 11, row_len = 13;
  const std::vector<float> table = RandomFloats(n_rows * row_len, 1);
  const std::vector<int> rows = {7, 0, 10, 7, 3};
  const int items = static_cast<int>(rows.size());
  std::vector<float> out(items * row_len, kSentinel);
  gather_f32(table.data(), rows.data(), out.data(), row_len, 1, 4);
  for (int i = 0; i < items; ++i) {
    for (int j = 0; j < row_len; ++j) {
      const float expected = (i >= 1 && i < 4) ? table[rows[i] * row_len + j] : kSentinel;
      EXPECT_EQ(out[i * row_len + j], expected) << i << "," << j;
    }
  }
}

TEST(GatherQ8_0Test, DequantizesSelectedRowsInRange) {
  const int n_rows = 9, row_len = 3 * kQ8BlockSize, n_blocks = 3;
  const std::vector<BlockQ8_0> table =
      QuantizeBlocks(RandomFloats(n_rows * row_len, 2, -5.0f, 5.0f));
  const std::vector<int> rows = {8, 2, 2, 5};
  const int items = static_cast<int>(rows.size());
  std::vector<float> out(items * row_len, kSentinel);
  gather_q8_0(table.data(), rows.data(), out.data(), row_len, 1, items);
  for (int i = 0; i < items; ++i) {
    for (int j = 0; j < row_len; ++j) {
      const float v = out[i * row_len + j];
      if (i == 0) {
        EXPECT_EQ(v, kSentinel) << j;
        continue;
      }
      const BlockQ8_0& block = table[rows[i] * n_blocks + j / kQ8BlockSize];
      // fp16 scale (11 bits) times int8: exact in float.
      EXPECT_EQ(static_cast<double>(v), DecodeHalf(block.d) * block.qs[j % kQ8BlockSize])
          << i << "," << j;
    }
  }
}

// x: [tokens, dim] with rows of very different magnitudes.
std::vector<float> ScaledRows(int tokens, int dim, uint32_t seed) {
  std::vector<float> x = RandomFloats(tokens * dim, seed);
  for (int t = 0; t < tokens; ++t) {
    for (int j = 0; j < dim; ++j) x[t * dim + j] *= std::pow(10.0f, static_cast<float>(t - 2));
  }
  return x;
}

TEST(RmsnormTest, MatchesDoubleReference) {
  const int tokens = 5, dim = 77;
  const float eps = 1e-5f;
  const std::vector<float> x = ScaledRows(tokens, dim, 3);
  const std::vector<float> weight = RandomFloats(dim, 4, 0.5f, 1.5f);
  std::vector<float> out(tokens * dim, kSentinel);
  rmsnorm(x.data(), weight.data(), out.data(), dim, eps, 0, tokens);
  for (int t = 0; t < tokens; ++t) {
    double ss = 0.0;
    for (int j = 0; j < dim; ++j) ss += static_cast<double>(x[t * dim + j]) * x[t * dim + j];
    const double scale = 1.0 / std::sqrt(ss / dim + eps);
    for (int j = 0; j < dim; ++j) {
      const double ref = weight[j] * (scale * x[t * dim + j]);
      // Float sum of dim positive squares, then a handful of roundings.
      EXPECT_NEAR(out[t * dim + j], ref, (dim / 2.0 + 8) * kEps * std::fabs(ref)) << t << "," << j;
    }
  }
}

TEST(RmsnormTest, MatchesLlama2cArithmeticAndLeavesOtherTokens) {
  const int tokens = 4, dim = 50;
  const float eps = 1e-6f;
  const std::vector<float> x = ScaledRows(tokens, dim, 5);
  const std::vector<float> weight = RandomFloats(dim, 6);
  std::vector<float> out(tokens * dim, kSentinel);
  rmsnorm(x.data(), weight.data(), out.data(), dim, eps, 1, 3);
  for (int t = 0; t < tokens; ++t) {
    // llama2.c's rmsnorm, with eps as a parameter.
    float ss = 0.0f;
    for (int j = 0; j < dim; ++j) ss += x[t * dim + j] * x[t * dim + j];
    ss /= dim;
    ss += eps;
    ss = 1.0f / sqrtf(ss);
    for (int j = 0; j < dim; ++j) {
      const float expected = (t >= 1 && t < 3) ? weight[j] * (ss * x[t * dim + j]) : kSentinel;
      EXPECT_EQ(out[t * dim + j], expected) << t << "," << j;
    }
  }
}

TEST(QuantizeQ8_0Test, QuantizesRowsInRangeBlockByBlock) {
  const int rows = 5, n_blocks = 3, row_len = n_blocks * kQ8BlockSize;
  const std::vector<float> x = ScaledRows(rows, row_len, 7);
  std::vector<BlockQ8_0> out(rows * n_blocks);
  std::memset(out.data(), 0xab, out.size() * sizeof(BlockQ8_0));
  const std::vector<BlockQ8_0> untouched = out;
  quantize_q8_0(x.data(), out.data(), row_len, 1, 3);
  for (int r = 0; r < rows; ++r) {
    for (int b = 0; b < n_blocks; ++b) {
      const int index = r * n_blocks + b;
      BlockQ8_0 expected = untouched[index];
      if (r >= 1 && r < 3) QuantizeBlockQ8_0(&x[index * kQ8BlockSize], &expected);
      EXPECT_EQ(std::memcmp(&out[index], &expected, sizeof(BlockQ8_0)), 0) << r << "," << b;
    }
  }
  // The quantized rows are non-trivial.
  EXPECT_NE(out[n_blocks].d, 0);
}

struct RopeShape {
  int q_dim, kv_dim, head_dim;
  float theta;
};

// llama2.c's RoPE loop for one token, generalized to a theta and separate q / kv widths.
void Llama2cRope(float* q, float* k, int pos, const RopeShape& s) {
  for (int i = 0; i < s.q_dim; i += 2) {
    const int head_dim = i % s.head_dim;
    const float freq = 1.0f / powf(s.theta, head_dim / static_cast<float>(s.head_dim));
    const float val = pos * freq;
    const float fcr = cosf(val);
    const float fci = sinf(val);
    const int rotn = i < s.kv_dim ? 2 : 1;
    for (int v = 0; v < rotn; ++v) {
      float* vec = v == 0 ? q : k;
      const float v0 = vec[i];
      const float v1 = vec[i + 1];
      vec[i] = v0 * fcr - v1 * fci;
      vec[i + 1] = v0 * fci + v1 * fcr;
    }
  }
}

TEST(RopeTest, MatchesDoubleReference) {
  const RopeShape s = {5 * 12, 2 * 12, 12, 10000.0f};
  const std::vector<int> positions = {0, 1, 17, 513};
  const int tokens = static_cast<int>(positions.size());
  const std::vector<float> q0 = RandomFloats(tokens * s.q_dim, 8);
  const std::vector<float> k0 = RandomFloats(tokens * s.kv_dim, 9);
  std::vector<float> q = q0, k = k0;
  rope(q.data(), k.data(), positions.data(), s.q_dim, s.kv_dim, s.head_dim, s.theta, 0, tokens);
  auto check = [&](const std::vector<float>& in, const std::vector<float>& got, int width) {
    for (int t = 0; t < tokens; ++t) {
      for (int i = 0; i < width; i += 2) {
        const int j = i % s.head_dim;
        const double angle = positions[t] * std::pow(static_cast<double>(s.theta),
                                                     -static_cast<double>(j) / s.head_dim);
        const double v0 = in[t * width + i], v1 = in[t * width + i + 1];
        const double r0 = v0 * std::cos(angle) - v1 * std::sin(angle);
        const double r1 = v0 * std::sin(angle) + v1 * std::cos(angle);
        // The float angle pos * freq is off by a few ulps of itself.
        const double tol = (std::fabs(v0) + std::fabs(v1)) * (4 * kEps * angle + 4 * kEps);
        EXPECT_NEAR(got[t * width + i], r0, tol) << t << "," << i;
        EXPECT_NEAR(got[t * width + i + 1], r1, tol) << t << "," << i;
      }
    }
  };
  check(q0, q, s.q_dim);
  check(k0, k, s.kv_dim);
}

TEST(RopeTest, MatchesLlama2cArithmeticAndLeavesOtherTokens) {
  const RopeShape s = {6 * 10, 3 * 10, 10, 500000.0f};
  const std::vector<int> positions = {3, 250, 77, 1};
  const int tokens = static_cast<int>(positions.size());
  const std::vector<float> q0 = RandomFloats(tokens * s.q_dim, 10);
  const std::vector<float> k0 = RandomFloats(tokens * s.kv_dim, 11);
  std::vector<float> q = q0, k = k0;
  rope(q.data(), k.data(), positions.data(), s.q_dim, s.kv_dim, s.head_dim, s.theta, 1, 3);
  std::vector<float> q_ref = q0, k_ref = k0;
  for (int t = 1; t < 3; ++t) {
    Llama2cRope(&q_ref[t * s.q_dim], &k_ref[t * s.kv_dim], positions[t], s);
  }
  for (size_t i = 0; i < q.size(); ++i) EXPECT_EQ(q[i], q_ref[i]) << "q " << i;
  for (size_t i = 0; i < k.size(); ++i) EXPECT_EQ(k[i], k_ref[i]) << "k " << i;
  // Tokens 1 and 2 did move.
  EXPECT_NE(q[s.q_dim + 2], q0[s.q_dim + 2]);
}

TEST(KvStoreTest, WritesTokensInRangeToTheirSlots) {
  const int kv_dim = 13, cache_rows = 10;
  const std::vector<int> slots = {7, 2, 9, 0};
  const int tokens = static_cast<int>(slots.size());
  const std::vector<float> k = RandomFloats(tokens * kv_dim, 12);
  const std::vector<float> v = RandomFloats(tokens * kv_dim, 13);
  std::vector<float> k_cache(cache_rows * kv_dim, kSentinel);
  std::vector<float> v_cache(cache_rows * kv_dim, kSentinel);
  kv_store(k.data(), v.data(), k_cache.data(), v_cache.data(), slots.data(), kv_dim, 1, 3);
  for (int row = 0; row < cache_rows; ++row) {
    int token = -1;
    for (int t = 1; t < 3; ++t) {
      if (slots[t] == row) token = t;
    }
    for (int j = 0; j < kv_dim; ++j) {
      EXPECT_EQ(k_cache[row * kv_dim + j], token < 0 ? kSentinel : k[token * kv_dim + j]);
      EXPECT_EQ(v_cache[row * kv_dim + j], token < 0 ? kSentinel : v[token * kv_dim + j]);
    }
  }
}

TEST(SwigluTest, MatchesReferenceInRangeOnly) {
  const int n = 100;  // not a multiple of the 16-float stream packets
  const std::vector<float> gate = RandomFloats(n, 14, -8.0f, 8.0f);
  const std::vector<float> up = RandomFloats(n, 15, -2.0f, 2.0f);
  for (auto [begin, end] : {std::pair{0, n}, std::pair{3, 90}, std::pair{17, 18}}) {
    std::vector<float> out(n, kSentinel);
    swiglu(gate.data(), up.data(), out.data(), begin, end);
    for (int i = 0; i < n; ++i) {
      if (i < begin || i >= end) {
        EXPECT_EQ(out[i], kSentinel) << i;
        continue;
      }
      const double g = gate[i];
      const double ref = g / (1.0 + std::exp(-g)) * up[i];
      EXPECT_NEAR(out[i], ref, 6 * kEps * std::fabs(ref)) << i;
      // llama2.c's float formula, bit for bit.
      const float silu = gate[i] * (1.0f / (1.0f + expf(-gate[i])));
      EXPECT_EQ(out[i], silu * up[i]) << i;
    }
  }
}

TEST(SwigluTest, EmptyRangeWritesNothing) {
  const std::vector<float> gate = {1.0f, 2.0f}, up = {3.0f, 4.0f};
  std::vector<float> out(2, kSentinel);
  swiglu(gate.data(), up.data(), out.data(), 1, 1);
  EXPECT_EQ(out[0], kSentinel);
  EXPECT_EQ(out[1], kSentinel);
}

TEST(ResidualAddTest, AddsInRangeOnly) {
  const int n = 75;
  const std::vector<float> x0 = RandomFloats(n, 16);
  const std::vector<float> delta = RandomFloats(n, 17);
  for (auto [begin, end] : {std::pair{0, n}, std::pair{5, 70}, std::pair{32, 48}}) {
    std::vector<float> x = x0;
    residual_add(x.data(), delta.data(), begin, end);
    for (int i = 0; i < n; ++i) {
      const float expected = (i >= begin && i < end) ? x0[i] + delta[i] : x0[i];
      EXPECT_EQ(x[i], expected) << i;
    }
  }
}

}  // namespace
}  // namespace fabric
