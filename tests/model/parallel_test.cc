// Tensor and pipeline parallelism: every TP x PP the model allows computes what one card does.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "device/device_worker.h"
#include "device/mock/mock_device.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/card_weights.h"
#include "model/generator.h"
#include "model/llama_program.h"
#include "model/model_file.h"
#include "model/synth.h"
#include "model/tokenizer.h"

namespace fabric {
namespace {

using ::testing::HasSubstr;

const std::string kModelDir = std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/";

// `count` mock cards running one model with a given TP x PP.
struct Cluster {
  Cluster(const ModelFile& model, int tp, int pp, uint64_t memory = uint64_t{1} << 30) {
    for (int i = 0; i < tp * pp; ++i) {
      MockDeviceOptions card;
      card.name = "card" + std::to_string(i);
      card.memory_bytes = memory;
      workers.push_back(std::make_unique<DeviceWorker>(std::move(MockDevice::Create(card)).value()));
    }
    std::vector<DeviceWorker*> cards;
    for (auto& worker : workers) cards.push_back(worker.get());
    ProgramOptions options;
    options.tensor_parallel = tp;
    options.pipeline_parallel = pp;
    options.max_sequences = 4;
    created = LlamaProgram::Create(model, cards, options);
  }
  LlamaProgram& program() { return **created; }

  std::vector<std::unique_ptr<DeviceWorker>> workers;
  absl::StatusOr<std::unique_ptr<LlamaProgram>> created;
};

struct GreedyRun {
  std::vector<int> tokens;
  std::vector<std::vector<float>> logits;
};

GreedyRun Greedy(LlamaProgram& program, const Tokenizer& tokenizer, const std::string& prompt,
           int max_tokens) {
  Generator generator(program, tokenizer);
  GreedyRun run;
  auto result = generator.GenerateTokens(tokenizer.Encode(prompt, true), max_tokens,
                                         {.temperature = 0}, nullptr, &run.logits);
  EXPECT_TRUE(result.ok()) << result.status();
  if (result.ok()) run.tokens = result->tokens;
  return run;
}

float MaxDifference(const std::vector<std::vector<float>>& a,
                    const std::vector<std::vector<float>>& b) {
  float worst = 0;
  for (size_t step = 0; step < std::min(a.size(), b.size()); ++step) {
    for (size_t i = 0; i < a[step].size(); ++i) {
      worst = std::max(worst, std::fabs(a[step][i] - b[step][i]));
    }
  }
  return worst;
}

void ExpectEveryPlanMatchesOneCard(const ModelFile& model, const std::string& prompt,
                                   int max_pp, int expected_plans) {
  Tokenizer tokenizer(model.vocabulary());
  Cluster one(model, 1, 1);
  ASSERT_TRUE(one.created.ok()) << one.created.status();
  const GreedyRun reference = Greedy(one.program(), tokenizer, prompt, 40);
  int plans = 0;
  for (int tp : {1, 2, 4, 8}) {
    for (int pp : {1, 2, 4, 8}) {
      if (tp * pp > 8 || (tp == 1 && pp == 1) || pp > max_pp) continue;
      if (!PlanShards(model.config(), tp, pp, ColumnAlignment(model)).ok()) continue;
      SCOPED_TRACE(absl::StrCat("TP ", tp, " x PP ", pp));
      Cluster cluster(model, tp, pp);
      ASSERT_TRUE(cluster.created.ok()) << cluster.created.status();
      const GreedyRun run = Greedy(cluster.program(), tokenizer, prompt, 40);
      EXPECT_EQ(run.tokens, reference.tokens);
      ASSERT_EQ(run.logits.size(), reference.logits.size());
      EXPECT_LT(MaxDifference(run.logits, reference.logits), 1e-4f);
      ++plans;
    }
  }
  EXPECT_EQ(plans, expected_plans);
}

TEST(ParallelTest, Stories260KEveryPlanMatchesOneCard) {
  auto model = std::move(ModelFile::Open(kModelDir + "stories260K.bin", kModelDir + "tok512.bin"))
                   .value();
  // 5 layers, 8 query heads, 4 key/value heads (TP 8 replicates them), FFN 172 (uneven).
  // TP x PP: 2x1, 4x1, 8x1, 1x2, 2x2, 4x2, 1x4, 2x4.
  ExpectEveryPlanMatchesOneCard(*model, "Once upon a time", 4, 8);
}

TEST(ParallelTest, SynthesizedModelEveryPlanMatchesOneCard) {
  SynthOptions options;
  options.shape = "tiny";  // dim 128, 2 layers, 4 heads, 2 kv heads, FFN 384
  options.tokenizer_path = kModelDir + "tok512.bin";
  options.output_path = ::testing::TempDir() + "/parallel-tiny.gguf";
  ASSERT_TRUE(SynthesizeModel(options).ok());
  auto model = std::move(ModelFile::Open(options.output_path)).value();
  // TP x PP: 2x1, 4x1, 1x2, 2x2, 4x2.
  ExpectEveryPlanMatchesOneCard(*model, "Lily and Tom", 2, 5);
}

TEST(ParallelTest, QuantizedWeightsSplitOnBlockBoundaries) {
  SynthOptions options;
  options.shape = "tiny";
  options.type = TensorType::kQ8_0;
  options.tokenizer_path = kModelDir + "tok512.bin";
  options.output_path = ::testing::TempDir() + "/parallel-tiny-q8_0.gguf";
  ASSERT_TRUE(SynthesizeModel(options).ok());
  auto model = std::move(ModelFile::Open(options.output_path)).value();
  EXPECT_EQ(ColumnAlignment(*model), 32);
  Tokenizer tokenizer(model->vocabulary());
  Cluster one(*model, 1, 1);
  Cluster four(*model, 4, 2);
  ASSERT_TRUE(four.created.ok()) << four.created.status();
  const GreedyRun a = Greedy(one.program(), tokenizer, "Lily and Tom", 8);
  const GreedyRun b = Greedy(four.program(), tokenizer, "Lily and Tom", 8);
  EXPECT_EQ(a.tokens, b.tokens);
  // Partial dot products over block-aligned column slices round differently, slightly, and a
  // rounding difference can move an activation across a Q8_0 quantization step (1/254 of its
  // block's largest value) in the next layer: a small fraction of the logits' range, not 0.
  float largest = 0;
  for (const std::vector<float>& step : a.logits) {
    for (float logit : step) largest = std::max(largest, std::fabs(logit));
  }
  EXPECT_LT(MaxDifference(a.logits, b.logits), 1e-3f * largest) << "largest logit " << largest;
}

TEST(ParallelTest, EachCardHoldsOnlyItsShard) {
  auto model = std::move(ModelFile::Open(kModelDir + "stories260K.bin", kModelDir + "tok512.bin"))
                   .value();
  Cluster whole(*model, 1, 1);
  ASSERT_TRUE(whole.created.ok());
  const uint64_t all = whole.workers[0]->stats().memory_used(MemoryKind::kWeights);
  Cluster split(*model, 4, 1);
  ASSERT_TRUE(split.created.ok()) << split.created.status();
  // Per card: a quarter of the layers' matrices plus the replicated norms, embedding and a
  // quarter of the (tied) classifier.
  const ModelConfig& c = model->config();
  const uint64_t layers = uint64_t(c.n_layers) *
                          (2 * c.dim * c.dim + 2 * c.dim * c.kv_dim() + 3 * c.dim * c.hidden_dim) *
                          sizeof(float);
  const uint64_t embedding = uint64_t(c.vocab_size) * c.dim * sizeof(float);
  for (auto& worker : split.workers) {
    const uint64_t held = worker->stats().memory_used(MemoryKind::kWeights);
    EXPECT_LT(held, all / 2);
    EXPECT_NEAR(double(held), layers / 4.0 + embedding + embedding / 4.0, 0.05 * held);
  }
  Cluster staged(*model, 1, 4);
  ASSERT_TRUE(staged.created.ok());
  uint64_t total = 0;
  for (auto& worker : staged.workers) {
    total += worker->stats().memory_used(MemoryKind::kWeights);
    EXPECT_LT(worker->stats().memory_used(MemoryKind::kWeights), all * 2 / 3);
  }
  // Stages split the layers; only the (tied) embedding is held twice, first and last stage.
  EXPECT_NEAR(double(total), double(all + embedding), 0.01 * all);
}

TEST(ParallelTest, UnworkablePlansSayWhatWouldWork) {
  auto model = std::move(ModelFile::Open(kModelDir + "stories260K.bin", kModelDir + "tok512.bin"))
                   .value();
  Cluster three(*model, 3, 1);
  EXPECT_THAT(three.created.status().message(),
              HasSubstr("tensor_parallel 3 does not divide the model's 8 query heads; "
                        "tensor_parallel 1, 2, 4, 8 would work"));
  Cluster deep(*model, 1, 6);
  EXPECT_THAT(deep.created.status().message(),
              HasSubstr("pipeline_parallel 6 exceeds the model's 5 layers"));
  Cluster tiny_cards(*model, 2, 1, /*memory=*/256 * 1024);
  EXPECT_EQ(tiny_cards.created.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(tiny_cards.created.status().message(), HasSubstr("card0"));
  EXPECT_THAT(tiny_cards.created.status().message(), HasSubstr("split the model over more cards"));
}

TEST(ShardPlanTest, BalancesStagesAndSplitsUnevenColumns) {
  ModelConfig c;
  c.dim = 64, c.hidden_dim = 172, c.n_layers = 5, c.n_heads = 8, c.n_kv_heads = 4;
  c.vocab_size = 512, c.context_length = 512;
  absl::StatusOr<ShardPlan> plan = PlanShards(c, 8, 1);
  ASSERT_TRUE(plan.ok()) << plan.status();
  int hidden = 0;
  for (const CardShard& card : plan->cards) {
    hidden += card.hidden.size();
    EXPECT_GE(card.hidden.size(), 21);
    EXPECT_LE(card.hidden.size(), 22);
    EXPECT_EQ(card.q_heads.size(), 1);
    EXPECT_EQ(card.kv_heads, (Range{card.rank / 2, card.rank / 2 + 1}));  // replicated kv heads
  }
  EXPECT_EQ(hidden, 172);
  // The classifier weighs 0.66 of a layer here: the last stage gets fewer layers.
  absl::StatusOr<ShardPlan> staged = PlanShards(c, 1, 2);
  ASSERT_TRUE(staged.ok());
  EXPECT_EQ(staged->stage_layers(), (std::vector<Range>{{0, 3}, {3, 5}}));
  EXPECT_EQ(SplitEvenly(172, 3, 32), (std::vector<Range>{{0, 64}, {64, 128}, {128, 172}}));
}

}  // namespace
}  // namespace fabric
