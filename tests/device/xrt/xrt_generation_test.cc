// A whole greedy generation through XRT: stories260K split over two no-op cards (TP=2), each
// run completed by XRT and then computed on the host by the g++-compiled kernels, matches the
// same plan on mock cards token for token and bit for bit.
#include <memory>
#include <string>
#include <vector>

#include "device/device_worker.h"
#include "device/mock/mock_device.h"
#include "device/xrt/xrt_device.h"
#include "gtest/gtest.h"
#include "model/generator.h"
#include "model/llama_program.h"
#include "model/model_file.h"
#include "model/tokenizer.h"
#include "tests/device/xrt/noop_environment.h"

namespace fabric {
namespace {

const std::string kModels = std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/";

struct Greedy {
  std::string text;
  std::vector<int> tokens;
  std::vector<std::vector<float>> logits;
};

Greedy Generate(const ModelFile& model, std::vector<std::unique_ptr<Device>> devices) {
  std::vector<std::unique_ptr<DeviceWorker>> workers;
  std::vector<DeviceWorker*> cards;
  for (std::unique_ptr<Device>& device : devices) {
    workers.push_back(std::make_unique<DeviceWorker>(std::move(device)));
    cards.push_back(workers.back().get());
  }
  ProgramOptions options;
  options.tensor_parallel = static_cast<int>(cards.size());
  options.max_sequences = 2;
  absl::StatusOr<std::unique_ptr<LlamaProgram>> program =
      LlamaProgram::Create(model, cards, options);
  EXPECT_TRUE(program.ok()) << program.status();
  if (!program.ok()) return {};
  Tokenizer tokenizer(model.vocabulary());
  Generator generator(**program, tokenizer);
  Greedy run;
  absl::StatusOr<GenerationResult> result = generator.GenerateTokens(
      tokenizer.Encode("Once upon a time", true), 40, {.temperature = 0},
      [&run](int, std::string_view piece) { run.text += piece; }, &run.logits);
  EXPECT_TRUE(result.ok()) << result.status();
  if (result.ok()) run.tokens = result->tokens;
  return run;
}

class XrtGenerationTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { xrt_test::UseNoopXrt(); }
};

TEST_P(XrtGenerationTest, TwoNoopCardsGenerateWhatTwoMockCardsDo) {
  absl::StatusOr<std::unique_ptr<ModelFile>> model =
      ModelFile::Open(kModels + "stories260K.bin", kModels + "tok512.bin");
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<std::unique_ptr<Device>> xrt_cards, mock_cards;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::unique_ptr<XrtDevice>> card =
        xrt_test::OpenNoopCard({.platform = GetParam(), .index = i});
    ASSERT_TRUE(card.ok()) << card.status();
    xrt_cards.push_back(std::move(card).value());
    MockDeviceOptions mock;
    mock.name = "mock" + std::to_string(i);
    mock.compute_units = 2;
    mock_cards.push_back(std::move(MockDevice::Create(mock)).value());
  }
  const Greedy on_xrt = Generate(**model, std::move(xrt_cards));
  const Greedy on_mock = Generate(**model, std::move(mock_cards));
  ASSERT_GT(on_xrt.tokens.size(), 10u);
  EXPECT_EQ(on_xrt.tokens, on_mock.tokens);
  EXPECT_EQ(on_xrt.text, on_mock.text);
  EXPECT_EQ(on_xrt.logits, on_mock.logits);  // the same kernels on the same data: bit for bit
}

INSTANTIATE_TEST_SUITE_P(xrt, XrtGenerationTest, ::testing::Values("u280", "u55c"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fabric
