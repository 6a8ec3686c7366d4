// `fabric plan` for llama2-7b on 2, 4 and 8 U280 cards: a row per feasible plan, the best for
// each goal (different ones from four cards on), and what does not fit with the reason.
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/config_loader.h"
#include "server/config/config_validation.h"
#include "server/plan_command.h"

namespace fabric {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Plan(std::vector<std::string> args) {
  absl::StatusOr<std::string> output = PlanCommandOutput(args);
  EXPECT_TRUE(output.ok()) << output.status();
  return output.ok() ? *output : "";
}

// The plan named on the output's "best for <goal>:" line.
std::string Best(const std::string& output, const std::string& goal) {
  const std::string key = "best for " + goal + ": ";
  const size_t at = output.find(key);
  if (at == std::string::npos) return "";
  const size_t begin = at + key.size();
  return output.substr(begin, output.find(" (", begin) - begin);
}

TEST(PlanCommandTest, Llama7bOnU280Clusters) {
  for (int cards : {2, 4, 8}) {
    const std::string output =
        Plan({"--model", "llama2-7b", "--cards", "u280:" + std::to_string(cards)});
    SCOPED_TRACE(output);
    EXPECT_THAT(output, HasSubstr(std::to_string(cards) + " x u280"));
    // One instance over every card decodes a lone request fastest.
    EXPECT_EQ(Best(output, "latency"), "TP" + std::to_string(cards) + "xPP1");
    EXPECT_THAT(output, HasSubstr("* TP" + std::to_string(cards) + "xPP1 "));
    const std::string throughput = Best(output, "throughput");
    ASSERT_FALSE(throughput.empty());
    // From four cards on, specialized prefill and decode cards serve more tokens per second.
    if (cards >= 4) {
      EXPECT_NE(throughput, Best(output, "latency"));
      EXPECT_THAT(throughput, HasSubstr("prefill"));
    }
  }
}

TEST(PlanCommandTest, ThroughputGoalMarksItsBest) {
  const std::string output =
      Plan({"--model", "llama2-7b", "--cards", "u280:8", "--goal", "throughput"});
  EXPECT_THAT(output, HasSubstr("goal: throughput"));
  EXPECT_THAT(output, HasSubstr("* " + Best(output, "throughput")));
}

TEST(PlanCommandTest, RejectsWhatDoesNotFitWithTheReason) {
  // FP16 weights (12.6 GiB) do not fit one U280's 8 GiB of HBM.
  for (int cards : {2, 4, 8}) {
    const std::string output = Plan({"--model", "llama2-7b", "--precision", "fp16", "--cards",
                                     "u280:" + std::to_string(cards), "--top", "100"});
    SCOPED_TRACE(output);
    EXPECT_THAT(output, HasSubstr("does not fit ("));
    EXPECT_THAT(output, HasSubstr("TP1xPP1 x" + std::to_string(cards) + ": card 0 (u280"));
    EXPECT_THAT(output, HasSubstr("GiB of weights"));
    EXPECT_THAT(output, HasSubstr("it has 8.0 GiB of HBM"));
    EXPECT_THAT(output, Not(HasSubstr("* TP1xPP1 x")));
  }
}

TEST(PlanCommandTest, ReadsCardsFromAConfig) {
  const std::string path = ::testing::TempDir() + "/plan_cluster.yaml";
  std::ofstream(path) << "cards:\n"
                         "  - {id: a, emulate: u280}\n"
                         "  - {id: b, emulate: u280}\n"
                         "  - id: c\n"
                         "    custom: {name: big, dsp_slices: 9024, hbm_bytes: 16GiB,\n"
                         "             hbm_gigabytes_per_second: 460, pcie_gen: 4, pcie_lanes: 8}\n"
                         "  - {id: d, emulate: u55c}\n"
                         "model: {max_sequences: 4}\n";
  const std::string output = Plan({"--model", "tinyllama-1.1b", "--config", path});
  EXPECT_THAT(output, HasSubstr("2 x u280"));
  EXPECT_THAT(output, HasSubstr("1 x big"));
  EXPECT_THAT(output, HasSubstr("up to 4 sequences"));
}

TEST(PlanCommandTest, ConfigCardsSayWhatTheyEmulateOnce) {
  auto config = ParseClusterConfig(
      "cards:\n"
      "  - {id: a, emulate: u280, custom: {hbm_bytes: 8GiB, hbm_gigabytes_per_second: 460}}\n"
      "  - {id: b, custom: {dsp_slices: 100}}\n"
      "model: {path: m.gguf}\n",
      "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  const absl::Status valid = ValidateClusterConfig(*config);
  EXPECT_THAT(valid.message(), HasSubstr("cards[0]: sets both emulate and custom"));
  EXPECT_THAT(valid.message(), HasSubstr("cards[1].custom: has no memory"));
  v1::ClusterConfig unnamed;
  unnamed.add_cards()->set_id("x");
  EXPECT_THAT(CardsFromConfig(unnamed).status().message(), HasSubstr("set emulate to one of"));
}

TEST(PlanCommandTest, ExplainsBadInput) {
  EXPECT_THAT(Plan({"--help"}), HasSubstr("usage: fabric plan"));
  EXPECT_THAT(PlanCommandOutput({"--model", "llama2-7b", "--cards", "u999:2"}).status().message(),
              HasSubstr("unknown card 'u999'"));
  EXPECT_THAT(PlanCommandOutput({"--model", "nope", "--cards", "u280"}).status().message(),
              HasSubstr("no named shape"));
  EXPECT_THAT(PlanCommandOutput({"--model", "llama2-7b"}).status().message(),
              HasSubstr("--cards"));
  EXPECT_THAT(
      PlanCommandOutput({"--model", "llama2-7b", "--cards", "u50", "--link", "qsfp"}).status().ok(),
      true);
  EXPECT_THAT(PlanCommandOutput({"--model", "llama2-7b", "--cards", "u280", "--sparsity", "5:4"})
                  .status()
                  .message(),
              HasSubstr("--sparsity"));
}

TEST(PlanCommandTest, ModelFilesKeepTheirPrecision) {
  const std::string model = std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/stories260K.bin";
  const std::string tokenizer = std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/tok512.bin";
  const std::string output =
      Plan({"--model", model, "--tokenizer", tokenizer, "--cards", "u50:2", "--prompt-tokens",
            "256", "--output-tokens", "128"});
  EXPECT_THAT(output, HasSubstr("32-bit weights"));  // a float checkpoint runs as f32
  EXPECT_THAT(output, HasSubstr("best for latency"));
}

}  // namespace
}  // namespace fabric
