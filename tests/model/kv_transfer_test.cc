// A sequence prefilled on one model instance continues on another after its KV cache moves.
#include "model/kv_transfer.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "device/device_worker.h"
#include "device/mock/mock_device.h"
#include "gtest/gtest.h"
#include "model/llama_program.h"
#include "model/model_file.h"
#include "model/tokenizer.h"

namespace fabric {
namespace {

const std::string kModelDir = std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/";

struct Instance {
  Instance(const ModelFile& model, int tp, int pp) {
    std::vector<DeviceWorker*> cards;
    for (int i = 0; i < tp * pp; ++i) {
      workers.push_back(std::make_unique<DeviceWorker>(std::move(MockDevice::Create({})).value()));
      cards.push_back(workers.back().get());
    }
    ProgramOptions options{.max_sequences = 2, .tensor_parallel = tp, .pipeline_parallel = pp};
    program = std::move(LlamaProgram::Create(model, cards, options)).value();
  }
  std::vector<std::unique_ptr<DeviceWorker>> workers;
  std::unique_ptr<LlamaProgram> program;
};

// Logits after `prompt`, run as one prefill step with the given block table.
std::vector<float> Prefill(LlamaProgram& program, const std::vector<int>& prompt,
                           const std::vector<int>& table) {
  Batch batch;
  batch.block_tables = {table};
  for (size_t p = 0; p < prompt.size(); ++p) batch.Add(prompt[p], p, 0, p + 1 == prompt.size());
  return std::move(program.Forward(batch)).value();
}

std::vector<float> Decode(LlamaProgram& program, int token, int position,
                          const std::vector<int>& table) {
  Batch batch;
  batch.block_tables = {table};
  batch.Add(token, position, 0, true);
  return std::move(program.Forward(batch)).value();
}

class KvTransferTest : public ::testing::TestWithParam<std::pair<std::pair<int, int>, std::pair<int, int>>> {};

TEST_P(KvTransferTest, DecodingContinuesOnTheOtherInstance) {
  auto model = std::move(ModelFile::Open(kModelDir + "stories260K.bin", kModelDir + "tok512.bin"))
                   .value();
  Tokenizer tokenizer(model->vocabulary());
  const auto [from_shape, to_shape] = GetParam();
  Instance from(*model, from_shape.first, from_shape.second);
  Instance to(*model, to_shape.first, to_shape.second);
  // 37 positions: three 16-position blocks, the last partly used.
  std::vector<int> prompt = tokenizer.Encode(
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
      "park with her friends every day",
      true);
  ASSERT_GT(prompt.size(), 32u);
  const std::vector<int> from_table = {2, 0, 1}, to_table = {7, 3, 5};
  const std::vector<float> prefill = Prefill(*from.program, prompt, from_table);
  const int next = static_cast<int>(std::max_element(prefill.begin(), prefill.end()) -
                                    prefill.begin());
  const int position = static_cast<int>(prompt.size());
  auto bytes = TransferKv(*from.program, from_table, *to.program, to_table, position);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_GT(*bytes, 0u);
  const std::vector<float> expected = Decode(*from.program, next, position, from_table);
  const std::vector<float> moved = Decode(*to.program, next, position, to_table);
  ASSERT_EQ(moved.size(), expected.size());
  float worst = 0;
  for (size_t i = 0; i < moved.size(); ++i) worst = std::max(worst, std::fabs(moved[i] - expected[i]));
  EXPECT_LT(worst, 1e-4f);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, KvTransferTest,
    ::testing::Values(std::pair{std::pair{1, 1}, std::pair{1, 1}},
                      std::pair{std::pair{1, 1}, std::pair{2, 2}},
                      std::pair{std::pair{2, 2}, std::pair{1, 1}},
                      std::pair{std::pair{8, 1}, std::pair{1, 4}},   // replicated kv heads
                      std::pair{std::pair{1, 4}, std::pair{4, 1}}));

}  // namespace
}  // namespace fabric
