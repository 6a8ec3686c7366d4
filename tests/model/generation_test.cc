// End-to-end generation on a mock card against llama2.c's greedy outputs, and the invariants
// that must hold across ways of running the same request.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "device/device_worker.h"
#include "device/mock/mock_device.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/generator.h"
#include "model/llama_program.h"
#include "model/model_file.h"
#include "model/tokenizer.h"
#include "tests/model/llama2c_goldens.h"

namespace fabric {
namespace {

using ::testing::HasSubstr;

const std::string kModels = std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/";

std::unique_ptr<ModelFile> OpenModel(const std::string& file) {
  auto model = ModelFile::Open(kModels + file, kModels + "tok512.bin");
  EXPECT_TRUE(model.ok()) << model.status();
  return std::move(model).value();
}

// One mock card running a model.
struct Card {
  Card(const ModelFile& model, int compute_units, ProgramOptions options = {}) {
    MockDeviceOptions card;
    card.compute_units = compute_units;
    card.memory_bytes = uint64_t{1} << 30;
    worker = std::make_unique<DeviceWorker>(std::move(MockDevice::Create(card)).value());
    auto created = LlamaProgram::Create(model, *worker, options);
    EXPECT_TRUE(created.ok()) << created.status();
    program = std::move(created).value();
  }
  std::unique_ptr<DeviceWorker> worker;
  std::unique_ptr<LlamaProgram> program;
};

std::vector<Llama2cGolden> Goldens() {
  auto goldens = ReadLlama2cGoldens(std::string(FABRIC_SOURCE_DIR) +
                                    "/tests/model/testdata/stories260K_llama2c_greedy.txt");
  EXPECT_TRUE(goldens.ok()) << goldens.status();
  return goldens.value_or(std::vector<Llama2cGolden>{});
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, GreedyGenerationMatchesLlama2cTokenForToken) {
  std::unique_ptr<ModelFile> model = OpenModel(GetParam());
  Card card(*model, /*compute_units=*/2);
  Tokenizer tokenizer(model->vocabulary());
  Generator generator(*card.program, tokenizer);
  int checked = 0;
  for (const Llama2cGolden& golden : Goldens()) {
    const int n_prompt = static_cast<int>(golden.prompt_ids.size());
    if (golden.steps < n_prompt) continue;  // llama2.c truncates the prompt there
    SCOPED_TRACE(golden.prompt + " steps " + std::to_string(golden.steps));
    std::vector<int> expected = golden.gen_ids;
    if (golden.stop == "bos") expected.pop_back();
    std::string text;
    for (int i = 1; i < n_prompt; ++i) {
      text += tokenizer.Decode(golden.prompt_ids[i - 1], golden.prompt_ids[i]);
    }
    auto result = generator.Generate(golden.prompt, golden.steps - n_prompt + 1, {.temperature = 0},
                                     [&](int, std::string_view piece) { text += piece; });
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->prompt_tokens, golden.prompt_ids);
    EXPECT_EQ(result->tokens, expected);
    EXPECT_EQ(result->finish_reason,
              golden.stop == "bos" ? FinishReason::kStop : FinishReason::kLength);
    EXPECT_EQ(text, golden.raw_text);
    ++checked;
  }
  EXPECT_GE(checked, 12);
}

INSTANTIATE_TEST_SUITE_P(BothFormats, GoldenTest,
                         ::testing::Values("stories260K.bin", "stories260K.gguf"));

TEST(GenerationTest, OnceUponATimeBeginsAsTheReferenceDoes) {
  std::unique_ptr<ModelFile> model = OpenModel("stories260K.bin");
  Card card(*model, 1);
  Tokenizer tokenizer(model->vocabulary());
  Generator generator(*card.program, tokenizer);
  std::string text = "Once upon a time";
  auto result = generator.Generate("Once upon a time", 30, {.temperature = 0},
                                   [&](int, std::string_view piece) { text += piece; });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(text, ::testing::StartsWith("Once upon a time, there was a little girl named Lily. "
                                          "She loved to play outside in the park."));
}

// Next-token logits of the last prompt token, with the prompt run as `chunk`-token steps.
std::vector<float> LastLogits(LlamaProgram& program, const std::vector<int>& prompt, int chunk) {
  Batch batch;
  batch.block_tables = {{0, 1, 2, 3}};
  std::vector<float> logits;
  for (size_t begin = 0; begin < prompt.size(); begin += chunk) {
    batch.tokens.clear(), batch.positions.clear(), batch.sequences.clear();
    batch.logit_tokens.clear();
    for (size_t p = begin; p < std::min(prompt.size(), begin + chunk); ++p) {
      batch.Add(prompt[p], static_cast<int>(p), 0, p + 1 == prompt.size());
    }
    auto step = program.Forward(batch);
    EXPECT_TRUE(step.ok()) << step.status();
    if (step.ok() && !step->empty()) logits = *step;
  }
  return logits;
}

TEST(BatchInvarianceTest, PrefillChunkingAndComputeUnitsDoNotChangeLogits) {
  std::unique_ptr<ModelFile> model = OpenModel("stories260K.bin");
  Tokenizer tokenizer(model->vocabulary());
  const std::vector<int> prompt = tokenizer.Encode("Lily and Tom went to the park", true);
  Card one_unit(*model, 1);
  Card three_units(*model, 3);
  const std::vector<float> whole = LastLogits(*one_unit.program, prompt, 64);
  ASSERT_EQ(whole.size(), 512u);
  // Bitwise equal: every kernel reduces in an order fixed by the data, not by the batch.
  EXPECT_EQ(LastLogits(*one_unit.program, prompt, 1), whole);
  EXPECT_EQ(LastLogits(*one_unit.program, prompt, 3), whole);
  EXPECT_EQ(LastLogits(*three_units.program, prompt, 64), whole);
}

TEST(BatchInvarianceTest, SequencesInOneBatchGetTheirOwnLogits) {
  std::unique_ptr<ModelFile> model = OpenModel("stories260K.bin");
  Tokenizer tokenizer(model->vocabulary());
  Card card(*model, 2);
  const std::vector<int> a = tokenizer.Encode("The cat sat", true);
  const std::vector<int> b = tokenizer.Encode("One day, a big dog ran", true);
  const std::vector<float> alone_a = LastLogits(*card.program, a, 64);
  const std::vector<float> alone_b = LastLogits(*card.program, b, 64);

  Batch batch;
  batch.block_tables = {{5}, {9, 7}};  // scattered blocks
  for (size_t p = 0; p < b.size(); ++p) batch.Add(b[p], p, 1, p + 1 == b.size());
  for (size_t p = 0; p < a.size(); ++p) batch.Add(a[p], p, 0, p + 1 == a.size());
  auto together = card.program->Forward(batch);
  ASSERT_TRUE(together.ok()) << together.status();
  ASSERT_EQ(together->size(), 2 * 512u);
  EXPECT_EQ(std::vector<float>(together->begin(), together->begin() + 512), alone_b);
  EXPECT_EQ(std::vector<float>(together->begin() + 512, together->end()), alone_a);
}

TEST(GenerationTest, SameSeedSameTextAndSamplingVaries) {
  std::unique_ptr<ModelFile> model = OpenModel("stories260K.gguf");
  Card card(*model, 2);
  Tokenizer tokenizer(model->vocabulary());
  Generator generator(*card.program, tokenizer);
  SamplingParams sampling{.temperature = 1.0f, .top_k = 40, .top_p = 0.9f, .seed = 42};
  auto first = generator.Generate("Once upon a time", 40, sampling);
  auto second = generator.Generate("Once upon a time", 40, sampling);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->tokens, second->tokens);
  int differing = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    sampling.seed = seed;
    auto other = generator.Generate("Once upon a time", 40, sampling);
    ASSERT_TRUE(other.ok());
    differing += other->tokens != first->tokens;
  }
  EXPECT_GE(differing, 3);
}

TEST(GenerationTest, GenerationStopsAtTheContextLength) {
  std::unique_ptr<ModelFile> model = OpenModel("stories260K.bin");
  Card card(*model, 2);
  Tokenizer tokenizer(model->vocabulary());
  Generator generator(*card.program, tokenizer);
  std::vector<int> prompt(500, 400);
  prompt[0] = 1;
  auto result = generator.GenerateTokens(prompt, 100, {.temperature = 0});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_LE(result->prompt_tokens.size() + result->tokens.size(), 513u);
  if (result->finish_reason == FinishReason::kLength) {
    EXPECT_EQ(result->tokens.size(), 13u);  // the last one sampled at position 511
  }

  std::vector<int> too_long(513, 400);
  EXPECT_THAT(generator.GenerateTokens(too_long, 1, {}).status().message(),
              HasSubstr("context holds 512"));
}

TEST(LlamaProgramTest, MalformedBatchesAreRejected) {
  std::unique_ptr<ModelFile> model = OpenModel("stories260K.bin");
  Card card(*model, 1, {.max_batch_tokens = 8, .max_sequences = 2});
  Batch empty;
  EXPECT_EQ(card.program->Forward(empty).status().code(), absl::StatusCode::kInvalidArgument);
  Batch bad_token;
  bad_token.block_tables = {{0}};
  bad_token.Add(512, 0, 0, true);
  EXPECT_THAT(card.program->Forward(bad_token).status().message(), HasSubstr("vocabulary"));
  Batch no_block;
  no_block.block_tables = {{0}};
  no_block.Add(5, 16, 0, true);
  EXPECT_THAT(card.program->Forward(no_block).status().message(), HasSubstr("no KV-cache block"));
  Batch too_big;
  too_big.block_tables = {{0}};
  for (int p = 0; p < 9; ++p) too_big.Add(5, p, 0, false);
  EXPECT_EQ(card.program->Forward(too_big).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LlamaProgramTest, AModelLargerThanTheCardFailsClearly) {
  std::unique_ptr<ModelFile> model = OpenModel("stories260K.bin");
  MockDeviceOptions options;
  options.name = "small-card";
  options.memory_bytes = 512 * 1024;  // the model's weights alone take ~1 MB
  DeviceWorker worker(std::move(MockDevice::Create(options)).value());
  auto program = LlamaProgram::Create(*model, worker, {});
  EXPECT_EQ(program.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(program.status().message(), HasSubstr("small-card"));
}

}  // namespace
}  // namespace fabric
