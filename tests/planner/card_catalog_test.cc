// The card catalogue and model shapes: every entry can be modeled, look-ups and their errors,
// and the figures the model leans on most.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "planner/bitstream_profile.h"
#include "planner/card_catalog.h"
#include "planner/model_shape.h"

namespace fabric::planner {
namespace {

using ::testing::HasSubstr;

TEST(CardCatalogTest, HoldsTheIssuesCardsAndEachCanBeModeled) {
  for (const char* name : {"u50", "u55c", "u280", "v80", "vck5000"}) {
    absl::StatusOr<CardSpec> card = FindCard(name);
    ASSERT_TRUE(card.ok()) << name;
    EXPECT_TRUE(ValidateCard(*card).ok()) << name;
    EXPECT_GT(card->onchip_bytes, 0u) << name;
    EXPECT_GT(card->power_watts, 0) << name;
    EXPECT_GT(card->qsfp_ports, 0) << name;
    EXPECT_GT(card->pcie_bytes_per_second(), 0) << name;
  }
  EXPECT_EQ(CardNames().size(), CardCatalog().size());
}

TEST(CardCatalogTest, U280Figures) {
  const CardSpec u280 = *FindCard("U280");  // case-insensitive
  EXPECT_EQ(u280.dsp_slices, 9024);
  EXPECT_EQ(u280.model_memory_bytes(), uint64_t{8} << 30);
  EXPECT_DOUBLE_EQ(u280.model_memory_bytes_per_second(), 460e9);
  EXPECT_EQ(u280.model_memory_kind(), "HBM");
  // Gen3 x16: 16 lanes of 8 GT/s after 128b/130b encoding.
  EXPECT_NEAR(u280.pcie_bytes_per_second(), 15.75e9, 0.01e9);
  // Two INT8 products per DSP48E2.
  EXPECT_DOUBLE_EQ(PeakMacsPerCycle(u280, 8), 2 * 9024);
  // The VCK5000 keeps its model in DDR and adds its AI Engines' rate.
  const CardSpec vck = *FindCard("vck5000");
  EXPECT_EQ(vck.model_memory_kind(), "DDR");
  EXPECT_GT(PeakMacsPerCycle(vck, 8), 3 * 1968);
}

TEST(CardCatalogTest, UnknownCardsAndIncompleteCustomCardsAreErrors) {
  absl::StatusOr<CardSpec> missing = FindCard("u250x");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("u280"));
  CardSpec custom{.name = "mine", .product = "a custom card", .dsp_slices = 1000,
                  .kernel_clock_hz = 250e6};
  EXPECT_THAT(ValidateCard(custom).message(), HasSubstr("HBM or DDR"));
  custom.ddr_bytes = uint64_t{4} << 30;
  custom.ddr_bytes_per_second = 19.2e9;
  EXPECT_TRUE(ValidateCard(custom).ok());
  custom.pcie_gen = 9;
  EXPECT_THAT(ValidateCard(custom).message(), HasSubstr("PCIe gen 9 x16"));
}

TEST(ModelShapeTest, NamedShapesAndPrecisions) {
  for (const std::string& name : ShapeNames()) {
    absl::StatusOr<ModelShape> shape = NamedShape(name);
    ASSERT_TRUE(shape.ok()) << name;
    EXPECT_TRUE(ValidateShape(*shape).ok()) << name;
  }
  const ModelShape llama = *NamedShape("llama2-7b");
  EXPECT_NEAR(llama.Parameters(/*tied=*/false), 6.74e9, 0.01e9);
  const ModelShape gpt2 = *NamedShape("gpt2-medium");
  EXPECT_NEAR(gpt2.Parameters(/*tied=*/true), 0.354e9, 0.005e9);  // "345M"
  EXPECT_EQ(gpt2.ffn_matrices(), 2);
  ModelShape q8 = llama;
  ASSERT_TRUE(ApplyPrecision("q8_0", &q8).ok());
  EXPECT_DOUBLE_EQ(q8.LayerWeightBytes(), llama.LayerParameters() * 34 / 32);
  q8.sparsity = {2, 4};  // half the weights, each with a 2-bit index
  EXPECT_DOUBLE_EQ(q8.LayerWeightBytes(), llama.LayerParameters() / 2 * (8.5 + 2) / 8);
  EXPECT_EQ(ApplyPrecision("fp8", &q8).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NamedShape("llama9").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fabric::planner
