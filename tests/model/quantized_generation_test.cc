// The Q8_0 path against the F32 path on the same synthesized weights.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "device/device_worker.h"
#include "device/mock/mock_device.h"
#include "gtest/gtest.h"
#include "model/generator.h"
#include "model/llama_program.h"
#include "model/model_file.h"
#include "model/synth.h"
#include "model/tokenizer.h"

namespace fabric {
namespace {

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double{a[i]} * b[i];
    na += double{a[i]} * a[i];
    nb += double{b[i]} * b[i];
  }
  return dot / std::sqrt(na * nb);
}

struct SynthRun {
  GenerationResult result;
  std::vector<std::vector<float>> logits;
};

SynthRun Generate(TensorType type, const std::vector<int>& prompt, int max_tokens) {
  SynthOptions options;
  options.shape = "tiny";
  options.tokenizer_path = std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/tok512.bin";
  options.output_path =
      ::testing::TempDir() + "/tiny-" + std::to_string(static_cast<int>(type)) + ".gguf";
  options.type = type;
  options.seed = 7;
  EXPECT_TRUE(SynthesizeModel(options).ok());
  auto model = ModelFile::Open(options.output_path);
  EXPECT_TRUE(model.ok()) << model.status();
  MockDeviceOptions card;
  card.compute_units = 2;
  DeviceWorker worker(std::move(MockDevice::Create(card)).value());
  auto program = LlamaProgram::Create(**model, worker, {});
  EXPECT_TRUE(program.ok()) << program.status();
  Tokenizer tokenizer((*model)->vocabulary());
  Generator generator(**program, tokenizer);
  SynthRun run;
  auto result =
      generator.GenerateTokens(prompt, max_tokens, {.temperature = 0}, nullptr, &run.logits);
  EXPECT_TRUE(result.ok()) << result.status();
  run.result = *result;
  return run;
}

TEST(QuantizedGenerationTest, Q8_0AgreesWithF32OnTheSameWeights) {
  const std::vector<int> prompt = {1, 403, 407, 261, 378, 432, 383};
  // A short run: random weights give flat distributions, where near-ties let int8 rounding
  // flip a later argmax (this one diverges after 8 tokens).
  const SynthRun f32 = Generate(TensorType::kF32, prompt, 8);
  const SynthRun q8 = Generate(TensorType::kQ8_0, prompt, 8);
  ASSERT_FALSE(f32.logits.empty());
  EXPECT_EQ(q8.result.tokens, f32.result.tokens);
  ASSERT_EQ(q8.logits.size(), f32.logits.size());
  for (size_t step = 0; step < f32.logits.size(); ++step) {
    const double cosine = Cosine(q8.logits[step], f32.logits[step]);
    EXPECT_GT(cosine, 0.99) << "step " << step;
    EXPECT_LT(cosine, 1.0 - 1e-9) << "step " << step << ": Q8_0 logits equal F32's exactly";
  }
  // F16 storage differs from F32 by fp16 rounding only.
  const SynthRun f16 = Generate(TensorType::kF16, prompt, 8);
  EXPECT_EQ(f16.result.tokens, f32.result.tokens);
}

}  // namespace
}  // namespace fabric
