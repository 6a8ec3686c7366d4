// Per-launch predictions, the ones a mock card emulating a catalogue card will wait out:
// sensible magnitudes and bounds, errors, and agreement with the phase model step by step.
#include <cstdint>

#include "gtest/gtest.h"
#include "planner/kernel_timing.h"
#include "planner/perf_model.h"

namespace fabric::planner {
namespace {

CardSpec U280() { return *FindCard("u280"); }

KernelLaunch Product(std::string_view kernel, int64_t tokens, int64_t n_in, int64_t n_out) {
  return {kernel,
          {{"n_tokens", tokens}, {"n_in", n_in}, {"n_out", n_out}, {"begin", 0}, {"end", n_out}}};
}

TEST(KernelTimingTest, DecodeProductStreamsItsWeights) {
  const auto cost = PredictLaunch(Product("matvec_q8_0", 1, 4096, 4096), U280(),
                                  KernelProfile::kDecode);
  ASSERT_TRUE(cost.ok()) << cost.status();
  EXPECT_EQ(cost->bound(), Bound::kBandwidth);
  // 16.8M Q8_0 weights at 85% of 460 GB/s, plus the launch's fixed cost.
  const double streaming = 4096.0 * 4096 * 34 / 32 / (460e9 * 0.85);
  EXPECT_NEAR(cost->bandwidth_seconds, streaming, streaming * 0.01);
  EXPECT_NEAR(cost->overhead_seconds, 1000 / 300e6 + 10e-6, 1e-9);
}

TEST(KernelTimingTest, PrefillProductIsComputeBound) {
  const auto cost = PredictLaunch(Product("matmul_q8_0", 512, 4096, 4096), U280(),
                                  KernelProfile::kPrefill);
  ASSERT_TRUE(cost.ok()) << cost.status();
  EXPECT_EQ(cost->bound(), Bound::kCompute);
  // The same rows take half as long on half of them.
  KernelLaunch half = Product("matmul_q8_0", 512, 4096, 4096);
  half.ints.back().second = 2048;
  const auto half_cost = PredictLaunch(half, U280(), KernelProfile::kPrefill);
  ASSERT_TRUE(half_cost.ok());
  EXPECT_NEAR(half_cost->compute_seconds, cost->compute_seconds / 2, 1e-12);
}

TEST(KernelTimingTest, RejectsWhatItCannotPrice) {
  EXPECT_EQ(PredictLaunch({"no_such_kernel", {}}, U280(), KernelProfile::kUnified).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(PredictLaunch(Product("matvec_f32", 1, 64, 64), U280(), KernelProfile::kPrefill)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PredictLaunch({"rmsnorm", {{"begin", 0}, {"end", 4}}}, U280(), KernelProfile::kUnified)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  const KernelLaunch attention{
      "attention", {{"n_heads", 32}, {"n_kv_heads", 32}, {"head_dim", 128}, {"begin", 0},
                    {"end", 32}}};
  EXPECT_EQ(PredictLaunch(attention, U280(), KernelProfile::kUnified).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A decode step of the fused layer priced launch by launch equals the phase model's layer:
// what lets emulated mock cards reproduce the planner's TPOT.
TEST(KernelTimingTest, FusedLaunchesAddUpToThePhaseModelsLayer) {
  ModelShape llama = *NamedShape("llama2-7b");
  ASSERT_TRUE(ApplyPrecision("q8_0", &llama).ok());
  const CardSpec card = U280();
  for (int tp : {1, 2}) {
    const int heads = 32 / tp, context = 640, tokens = 4;
    const KernelLaunch attention{
        "decode_attention_q8_0",
        {{"dim", 4096}, {"n_heads", heads}, {"n_kv_heads", heads}, {"head_dim", 128},
         {"residual", tp == 1}, {"begin", 0}, {"end", tokens}},
        tokens * (context + 1)};
    const KernelLaunch ffn{"decode_ffn_q8_0",
                           {{"dim", 4096}, {"hidden_dim", 11008 / tp}, {"residual", tp == 1},
                            {"begin", 0}, {"end", tokens}}};
    const KernelLaunch residual{"residual_add", {{"begin", 0}, {"end", tokens * 4096}}};
    double launches = 0;
    for (const KernelLaunch* launch : {&attention, &ffn}) {
      const auto cost = PredictLaunch(*launch, card, KernelProfile::kDecode);
      ASSERT_TRUE(cost.ok()) << cost.status();
      launches += cost->seconds();
    }
    if (tp > 1) launches += 2 * PredictLaunch(residual, card, KernelProfile::kDecode)->seconds();
    const BitstreamProfile profile = DeriveProfile(card, KernelProfile::kDecode, llama);
    const double layer = DecodeCost(llama, {.layers = 1, .tensor_parallel = tp}, card, profile,
                                    tokens, context)
                             .total.seconds();
    EXPECT_NEAR(launches, layer, layer * 1e-9) << "tensor_parallel " << tp;
  }
}

}  // namespace
}  // namespace fabric::planner
