// Tests of the fused decode layer (decode_attention_*, decode_ffn_*): each half is
// bit-identical to the per-operator kernels launched one by one, for float and Q8_0 weights,
// adding to x on chip or writing a tensor-parallel partial, over more tokens than one on-chip
// group, split across launches as compute units split them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/formats.h"
#include "kernels/kernel_signatures.h"
#include "kernels/kernels.h"
#include "tests/kernels/kernel_test_util.h"

namespace fabric {
namespace {

using testing::QuantizeBlocks;
using testing::RandomFloats;

// dim 64, 4 query heads sharing 2 kv heads of 16, FFN 96 (whole Q8_0 blocks).
constexpr int kDim = 64, kHeads = 4, kKvHeads = 2, kHeadDim = 16, kHidden = 96;
constexpr int kQDim = kHeads * kHeadDim, kKvDim = kKvHeads * kHeadDim;
constexpr int kBlockSize = 4, kMaxBlocks = 16;
// More decode tokens than one on-chip group, each of its own sequence.
constexpr int kTokens = kFusedDecodeTokens + 5;
constexpr float kEps = 1e-5f, kTheta = 10000.0f;

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// A weight matrix [rows, cols] as float and as Q8_0 blocks.
struct Weight {
  Weight(int rows, int cols, uint32_t seed)
      : f32(RandomFloats(int64_t(rows) * cols, seed, -0.3f, 0.3f)), q8(QuantizeBlocks(f32)) {}
  std::vector<float> f32;
  std::vector<BlockQ8_0> q8;
};

// One decode step's state: the residual stream, the paged cache with each sequence's earlier
// positions, and the batch's metadata. Copies of it run the fused and the unfused path.
struct Step {
  std::vector<float> x = RandomFloats(kTokens * kDim, 1, -2.0f, 2.0f);
  std::vector<float> k_cache, v_cache;  // [pool rows, kv_dim]
  std::vector<int> block_tables = std::vector<int>(kTokens * kMaxBlocks, 0);
  std::vector<int> token_seqs, positions, slots;
  std::vector<float> out = std::vector<float>(kTokens * kDim, testing::kSentinel);

  Step() {
    // Sequence t is at position 3t % 29 (several blocks deep, some at 0), its blocks drawn
    // from a shuffled pool.
    std::vector<int> pool(kTokens * kMaxBlocks);
    std::iota(pool.begin(), pool.end(), 0);
    std::shuffle(pool.begin(), pool.end(), std::mt19937(7));
    for (int t = 0; t < kTokens; ++t) {
      token_seqs.push_back(t);
      positions.push_back(3 * t % 29);
      for (int b = 0; b < kMaxBlocks; ++b)
        block_tables[t * kMaxBlocks + b] = pool[t * kMaxBlocks + b];
      const int p = positions.back();
      slots.push_back(block_tables[t * kMaxBlocks + p / kBlockSize] * kBlockSize + p % kBlockSize);
    }
    k_cache = RandomFloats(int64_t(pool.size()) * kBlockSize * kKvDim, 2);
    v_cache = RandomFloats(int64_t(pool.size()) * kBlockSize * kKvDim, 3);
  }
};

struct Layer {
  std::vector<float> attn_norm = RandomFloats(kDim, 10, 0.5f, 1.5f);
  std::vector<float> ffn_norm = RandomFloats(kDim, 11, 0.5f, 1.5f);
  Weight wq{kQDim, kDim, 12}, wk{kKvDim, kDim, 13}, wv{kKvDim, kDim, 14}, wo{kDim, kQDim, 15};
  Weight w_gate{kHidden, kDim, 16}, w_up{kHidden, kDim, 17}, w_down{kDim, kHidden, 18};
};

// out[t] = w · in[t] by the decode kernel of the format, quantizing `in` first for Q8_0.
void Product(bool q8, const Weight& w, const std::vector<float>& in, int n_in, int n_out,
             std::vector<float>& out) {
  out.assign(int64_t(kTokens) * n_out, 0.0f);
  if (q8) {
    std::vector<BlockQ8_0> in_q8(int64_t(kTokens) * n_in / kQ8BlockSize);
    quantize_q8_0(in.data(), in_q8.data(), n_in, 0, kTokens);
    matvec_q8_0(w.q8.data(), in_q8.data(), out.data(), kTokens, n_in, n_out, 0, n_out);
  } else {
    matvec_f32(w.f32.data(), in.data(), out.data(), kTokens, n_in, n_out, 0, n_out);
  }
}

// The attention half launched operator by operator, as CardProgram's unfused layer does.
std::vector<float> UnfusedAttention(bool q8, const Layer& w, Step& s) {
  std::vector<float> normed(kTokens * kDim), q, k, v, attended(kTokens * kQDim), projected;
  rmsnorm(s.x.data(), w.attn_norm.data(), normed.data(), kDim, kEps, 0, kTokens);
  Product(q8, w.wq, normed, kDim, kQDim, q);
  Product(q8, w.wk, normed, kDim, kKvDim, k);
  Product(q8, w.wv, normed, kDim, kKvDim, v);
  rope(q.data(), k.data(), s.positions.data(), kQDim, kKvDim, kHeadDim, kTheta, 0, kTokens);
  kv_store(k.data(), v.data(), s.k_cache.data(), s.v_cache.data(), s.slots.data(), kKvDim, 0,
           kTokens);
  attention(q.data(), s.k_cache.data(), s.v_cache.data(), s.block_tables.data(),
            s.token_seqs.data(), s.positions.data(), attended.data(), kHeads, kKvHeads, kHeadDim,
            kBlockSize, kMaxBlocks, 0, kTokens * kHeads);
  Product(q8, w.wo, attended, kQDim, kDim, projected);
  return projected;
}

std::vector<float> UnfusedFfn(bool q8, const Layer& w, Step& s) {
  std::vector<float> normed(kTokens * kDim), gate, up, hidden(kTokens * kHidden), projected;
  rmsnorm(s.x.data(), w.ffn_norm.data(), normed.data(), kDim, kEps, 0, kTokens);
  Product(q8, w.w_gate, normed, kDim, kHidden, gate);
  Product(q8, w.w_up, normed, kDim, kHidden, up);
  swiglu(gate.data(), up.data(), hidden.data(), 0, kTokens * kHidden);
  Product(q8, w.w_down, hidden, kHidden, kDim, projected);
  return projected;
}

// The fused attention half over tokens [begin, end).
void FusedAttention(bool q8, const Layer& w, Step& s, int residual, int begin, int end) {
  auto launch = [&](auto fn, const auto& wq, const auto& wk, const auto& wv, const auto& wo) {
    fn(s.x.data(), w.attn_norm.data(), wq.data(), wk.data(), wv.data(), wo.data(), s.k_cache.data(),
       s.v_cache.data(), s.block_tables.data(), s.token_seqs.data(), s.positions.data(),
       s.slots.data(), s.out.data(), kDim, kHeads, kKvHeads, kHeadDim, kEps, kTheta, kBlockSize,
       kMaxBlocks, residual, begin, end);
  };
  if (q8) {
    launch(decode_attention_q8_0, w.wq.q8, w.wk.q8, w.wv.q8, w.wo.q8);
  } else {
    launch(decode_attention_f32, w.wq.f32, w.wk.f32, w.wv.f32, w.wo.f32);
  }
}

void FusedFfn(bool q8, const Layer& w, Step& s, int residual, int begin, int end) {
  if (q8) {
    decode_ffn_q8_0(s.x.data(), w.ffn_norm.data(), w.w_gate.q8.data(), w.w_up.q8.data(),
                    w.w_down.q8.data(), s.out.data(), kDim, kHidden, kEps, residual, begin, end);
  } else {
    decode_ffn_f32(s.x.data(), w.ffn_norm.data(), w.w_gate.f32.data(), w.w_up.f32.data(),
                   w.w_down.f32.data(), s.out.data(), kDim, kHidden, kEps, residual, begin, end);
  }
}

std::vector<float> Plus(std::vector<float> x, const std::vector<float>& delta) {
  residual_add(x.data(), delta.data(), 0, static_cast<int>(x.size()));
  return x;
}

class DecodeLayerTest : public ::testing::TestWithParam<bool> {
 protected:
  bool q8() const { return GetParam(); }
  const Layer layer_;
};

TEST_P(DecodeLayerTest, WholeLayerAddsToXBitIdentically) {
  Step unfused, fused;
  unfused.x = Plus(unfused.x, UnfusedAttention(q8(), layer_, unfused));
  unfused.x = Plus(unfused.x, UnfusedFfn(q8(), layer_, unfused));
  // Two launches, as two compute units split the tokens.
  for (auto [begin, end] : {std::pair{0, 7}, std::pair{7, kTokens}}) {
    FusedAttention(q8(), layer_, fused, /*residual=*/1, begin, end);
  }
  for (auto [begin, end] : {std::pair{0, 13}, std::pair{13, kTokens}}) {
    FusedFfn(q8(), layer_, fused, /*residual=*/1, begin, end);
  }
  EXPECT_TRUE(SameBits(fused.x, unfused.x));
  EXPECT_TRUE(SameBits(fused.k_cache, unfused.k_cache));
  EXPECT_TRUE(SameBits(fused.v_cache, unfused.v_cache));
  EXPECT_TRUE(std::all_of(fused.out.begin(), fused.out.end(),
                          [](float v) { return v == testing::kSentinel; }));
  EXPECT_TRUE(
      std::all_of(fused.x.begin(), fused.x.end(), [](float v) { return std::isfinite(v); }));
}

TEST_P(DecodeLayerTest, TensorParallelSliceWritesItsPartialAndLeavesX) {
  Step unfused, fused;
  const std::vector<float> x = fused.x;
  const std::vector<float> attention_partial = UnfusedAttention(q8(), layer_, unfused);
  FusedAttention(q8(), layer_, fused, /*residual=*/0, 0, kTokens);
  EXPECT_TRUE(SameBits(fused.out, attention_partial));
  EXPECT_TRUE(SameBits(fused.x, x));
  EXPECT_TRUE(SameBits(fused.k_cache, unfused.k_cache));

  const std::vector<float> ffn_partial = UnfusedFfn(q8(), layer_, unfused);
  FusedFfn(q8(), layer_, fused, /*residual=*/0, 0, kTokens);
  EXPECT_TRUE(SameBits(fused.out, ffn_partial));
  EXPECT_TRUE(SameBits(fused.x, x));
}

INSTANTIATE_TEST_SUITE_P(Weights, DecodeLayerTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "Q8_0" : "F32");
                         });

TEST(DecodeLayerLimitsTest, WidthsBeyondTheOnChipBuffersGiveNaNNotOverflow) {
  EXPECT_TRUE(FitsFusedDecode(4096, 4096, 1024, 11008));
  EXPECT_FALSE(FitsFusedDecode(8192, 8192, 1024, 28672));
  EXPECT_FALSE(FitsFusedDecode(4096, 4096, 1024, kMaxFusedHidden + 32));
  // An FFN too wide for the buffers: the range's x rows become NaN, the rest stay.
  const int dim = 32, hidden = kMaxFusedHidden + 32;
  std::vector<float> x(3 * dim, 1.0f), norm(dim, 1.0f), w(int64_t(hidden) * dim, 0.0f);
  std::vector<float> out(3 * dim, 0.0f);
  decode_ffn_f32(x.data(), norm.data(), w.data(), w.data(), w.data(), out.data(), dim, hidden, kEps,
                 /*residual=*/1, 1, 2);
  for (int i = 0; i < 3 * dim; ++i) EXPECT_EQ(std::isnan(x[i]), i / dim == 1) << i;
}

}  // namespace
}  // namespace fabric
