// The per-card model: MAC counts as Chen et al. count them, bound classification, and the
// directions every prediction must move in.
#include <vector>

#include "gtest/gtest.h"
#include "planner/perf_model.h"

namespace fabric::planner {
namespace {

ModelShape Llama7b(const char* precision = "q8_0") {
  ModelShape shape = *NamedShape("llama2-7b");
  EXPECT_TRUE(ApplyPrecision(precision, &shape).ok());
  return shape;
}

CardSpec U280() { return *FindCard("u280"); }

const CardSlice kWhole{.layers = 32, .embedding = true, .classifier = true};

double LayerMacs(const ModelShape& shape, const MatrixEngine& engine, const StepShape& step) {
  double macs = 0;
  for (const auto& launch : LayerLaunches(shape, {.layers = 1}, engine, step)) {
    for (const OperatorWork& op : launch) macs += op.macs;
  }
  return macs;
}

TEST(PerfModelTest, LayerMacsFollowChenEtAl) {
  const ModelShape shape = Llama7b("fp16");
  const BitstreamProfile profile = DeriveProfile(U280(), KernelProfile::kUnified, shape);
  const double d = shape.dim, f = shape.ffn_dim, l = 512;
  // Prefill: Q, K, V 3ld^2, scores and context l^2 d each, output ld^2, SwiGLU 3ldf.
  EXPECT_DOUBLE_EQ(LayerMacs(shape, profile.gemm, {.phase = Phase::kPrefill, .new_tokens = 512}),
                   3 * l * d * d + 2 * l * l * d + l * d * d + 3 * l * d * f);
  // Decode: one token against l cached ones (and itself).
  EXPECT_DOUBLE_EQ(LayerMacs(shape, profile.fused, {.phase = Phase::kDecode, .context = 512}),
                   3 * d * d + 2 * (l + 1) * d + d * d + 3 * d * f);
  // GELU FFNs have two matrices; 2:4 sparsity halves the layer's products.
  ModelShape gelu = shape;
  gelu.ffn_kind = FfnKind::kGelu;
  gelu.sparsity = {2, 4};
  EXPECT_DOUBLE_EQ(LayerMacs(gelu, profile.fused, {.phase = Phase::kDecode, .context = 512}),
                   (3 * d * d + d * d + 2 * d * f) / 2 + 2 * (l + 1) * d);
}

TEST(PerfModelTest, ClassifiesBounds) {
  const ModelShape llama = Llama7b();
  const CardSpec u280 = U280();
  const BitstreamProfile prefill = DeriveProfile(u280, KernelProfile::kPrefill, llama);
  const BitstreamProfile decode = DeriveProfile(u280, KernelProfile::kDecode, llama);
  EXPECT_EQ(PrefillCost(llama, kWhole, u280, prefill, 1, 512).total.bound(), Bound::kCompute);
  EXPECT_EQ(DecodeCost(llama, kWhole, u280, decode, 1, 512).total.bound(), Bound::kBandwidth);
  EXPECT_EQ(DecodeCost(llama, kWhole, u280, decode, 16, 512).total.bound(), Bound::kCompute);
  // A tiny model's step is mostly the fixed cost of its launches.
  ModelShape tiny = *NamedShape("stories15m");
  ASSERT_TRUE(ApplyPrecision("q8_0", &tiny).ok());
  const BitstreamProfile unified = DeriveProfile(u280, KernelProfile::kUnified, tiny);
  EXPECT_EQ(DecodeCost(tiny, {.layers = 6, .embedding = true, .classifier = true}, u280, unified,
                       1, 128)
                .total.bound(),
            Bound::kOverhead);
}

TEST(PerfModelTest, BreakdownAddsUpAndFfnDominatesDecode) {
  const ModelShape llama = Llama7b();
  const BitstreamProfile p = DeriveProfile(U280(), KernelProfile::kDecode, llama);
  const PhaseCost decode = DecodeCost(llama, kWhole, U280(), p, 1, 512);
  double sum = 0, ffn = 0;
  for (const auto& [name, cost] : decode.operators) {
    sum += cost.seconds();
    if (name == "ffn") ffn = cost.seconds();
  }
  EXPECT_NEAR(sum, decode.total.seconds(), 1e-12);
  // The FFN holds two thirds of a Llama layer's weights.
  EXPECT_GT(ffn, 0.5 * decode.total.seconds());
  EXPECT_EQ(decode.launches, 32 * 2 + 5);  // two fused launches a layer, embedding, classifier
}

TEST(PerfModelTest, DecodeEngineFollowsCardProgram) {
  const ModelShape llama = Llama7b();
  const BitstreamProfile decode = DeriveProfile(U280(), KernelProfile::kDecode, llama);
  const BitstreamProfile prefill = DeriveProfile(U280(), KernelProfile::kPrefill, llama);
  EXPECT_EQ(EngineFor(llama, kWhole, decode, Phase::kDecode, 16), &decode.fused);
  EXPECT_EQ(EngineFor(llama, kWhole, decode, Phase::kDecode, 17), &decode.gemv);
  EXPECT_EQ(EngineFor(llama, kWhole, decode, Phase::kPrefill, 512), &decode.gemv);
  EXPECT_EQ(EngineFor(llama, kWhole, prefill, Phase::kDecode, 1), &prefill.gemm);
  // Llama 2 13B's width exceeds the fused kernels' on-chip buffers.
  ModelShape big = *NamedShape("llama2-13b");
  EXPECT_EQ(EngineFor(big, {.layers = 40}, decode, Phase::kDecode, 1), &decode.gemv);
}

TEST(PerfModelTest, MoreWorkTakesLonger) {
  const ModelShape llama = Llama7b();
  const CardSpec u280 = U280();
  const BitstreamProfile p = DeriveProfile(u280, KernelProfile::kUnified, llama);
  double last = 0;
  for (int prompt : {64, 256, 1024}) {
    const double t = PrefillCost(llama, kWhole, u280, p, 1, prompt).total.seconds();
    EXPECT_GT(t, last) << prompt;
    last = t;
  }
  last = 0;
  for (int context : {0, 512, 2048}) {
    const double t = DecodeCost(llama, kWhole, u280, p, 1, context).total.seconds();
    EXPECT_GT(t, last) << context;
    last = t;
  }
  // A batch takes longer per step but less per token.
  const double one = DecodeCost(llama, kWhole, u280, p, 1, 512).total.seconds();
  const double eight = DecodeCost(llama, kWhole, u280, p, 8, 512).total.seconds();
  EXPECT_GT(eight, one);
  EXPECT_LT(eight / 8, one);
}

TEST(PerfModelTest, PrecisionSparsityAndCardsMoveTimeTheRightWay) {
  const CardSpec u280 = U280();
  auto decode = [](const ModelShape& shape, const CardSpec& card) {
    const BitstreamProfile p = DeriveProfile(card, KernelProfile::kDecode, shape);
    return DecodeCost(shape, kWhole, card, p, 1, 512).total.seconds();
  };
  EXPECT_LT(decode(Llama7b("int4"), u280), decode(Llama7b("q8_0"), u280));
  EXPECT_LT(decode(Llama7b("q8_0"), u280), decode(Llama7b("fp16"), u280));
  // More bandwidth decodes faster; DDR-only VCK5000 is slower than HBM cards.
  EXPECT_LT(decode(Llama7b(), *FindCard("v80")), decode(Llama7b(), u280));
  EXPECT_GT(decode(Llama7b(), *FindCard("vck5000")), decode(Llama7b(), u280));
  // 2:4 sparsity halves a compute-bound prompt's products.
  ModelShape sparse = Llama7b();
  sparse.sparsity = {2, 4};
  const BitstreamProfile p = DeriveProfile(u280, KernelProfile::kPrefill, sparse);
  EXPECT_LT(PrefillCost(sparse, kWhole, u280, p, 1, 512).total.seconds(),
            PrefillCost(Llama7b(), kWhole, u280, p, 1, 512).total.seconds());
}

TEST(PerfModelTest, TensorParallelSlicesShrinkEachCardsStep) {
  const ModelShape llama = Llama7b();
  const CardSpec u280 = U280();
  const BitstreamProfile p = DeriveProfile(u280, KernelProfile::kDecode, llama);
  double last = 1e9;
  for (int tp : {1, 2, 4, 8}) {
    const CardSlice slice{.layers = 32, .tensor_parallel = tp, .classifier = true};
    const double t = DecodeCost(llama, slice, u280, p, 1, 512).total.seconds();
    EXPECT_LT(t, last) << "tensor_parallel " << tp;
    last = t;
  }
  const SliceWidths w = WidthsOf(*NamedShape("tinyllama-1.1b"), 8);
  EXPECT_EQ(w.q_dim, 4 * 64);
  EXPECT_EQ(w.kv_dim, 64);  // 4 key/value heads over 8 cards: one replicated head each
}

}  // namespace
}  // namespace fabric::planner
