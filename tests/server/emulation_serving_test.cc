// Mock cards that emulate a catalogue or custom card's timing: a decode step keeps the card
// busy for the planner's step time, /metrics marks the figures as emulated, and a config naming
// a card the planner does not know is refused with the catalogue. No wall-clock time is
// asserted: busy time is the sum of the emulated launches' predictions.
#include <memory>
#include <string>

#include "device/device_worker.h"
#include "device/mock/card_timing.h"
#include "device/mock/mock_device.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/llama_program.h"
#include "model/model_file.h"
#include "nlohmann/json.hpp"
#include "planner/perf_model.h"
#include "server/config/config_loader.h"
#include "server/config/config_validation.h"
#include "server/fabric_server.h"
#include "server/plan_command.h"
#include "tests/server/http_client.h"

namespace fabric {
namespace {

using ::fabric::testing_util::HttpCall;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

const std::string kModelDir = std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/";

// One model instance per card.
v1::ClusterConfig Config(const std::string& cards_yaml) {
  absl::StatusOr<v1::ClusterConfig> config = ParseClusterConfig(
      "cards:\n" + cards_yaml + "model: {path: " + kModelDir + "stories260K.bin, tokenizer: " +
          kModelDir + "tok512.bin, tensor_parallel: 1, max_sequences: 4}\n" +
          "server: {http_port: 0, grpc_port: 0}\n",
      "test.yaml");
  EXPECT_TRUE(config.ok()) << config.status();
  ApplyDefaults(&*config);
  return *config;
}

class EmulatedServingTest : public ::testing::Test {
 protected:
  // Serves `config`, completes one prompt (on the first card) and returns /metrics.
  std::string MetricsAfterARequest(const v1::ClusterConfig& config) {
    EXPECT_TRUE(ValidateClusterConfig(config).ok()) << ValidateClusterConfig(config);
    auto server = FabricServer::Start(config);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return "";
    const std::string base = "http://127.0.0.1:" + std::to_string((*server)->http_port());
    const auto result = HttpCall("POST", base + "/v1/completions",
                                 json({{"model", "stories260K"}, {"prompt", "Once upon a time"},
                                       {"max_tokens", 8}, {"temperature", 0}})
                                     .dump());
    EXPECT_EQ(result.status, 200) << result.body;
    return HttpCall("GET", base + "/metrics").body;
  }
};

TEST_F(EmulatedServingTest, MetricsMarkEmulatedCards) {
  const std::string metrics = MetricsAfterARequest(Config(
      "  - {id: card0, emulate: u280, compute_units: 1, memory_bytes: 1GiB}\n"
      "  - id: card1\n"
      "    compute_units: 1\n"
      "    memory_bytes: 1GiB\n"
      "    custom: {name: my-card, dsp_slices: 2000, hbm_bytes: 4GiB,\n"
      "             hbm_gigabytes_per_second: 100, pcie_gen: 4, pcie_lanes: 8}\n"));
  EXPECT_THAT(metrics, HasSubstr("fabric_device_info{device=\"card0\",emulates=\"u280\","
                                 "kind=\"mock\",product=\"\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("fabric_device_info{device=\"card1\",emulates=\"my-card\","
                                 "kind=\"mock\",product=\"\"} 1"));
  for (const char* card : {"card0", "card1"}) {
    const std::string device = std::string("{device=\"") + card + "\"}";
    EXPECT_THAT(metrics, HasSubstr("fabric_device_emulation_overruns_total" + device));
    EXPECT_THAT(metrics, HasSubstr("fabric_device_emulation_overrun_seconds_total" + device));
    // Weights went up over the emulated PCIe link when the server started.
    EXPECT_THAT(metrics, HasSubstr("fabric_device_emulated_transfer_seconds_total" + device));
    EXPECT_THAT(metrics,
                Not(HasSubstr("fabric_device_emulated_transfer_seconds_total" + device + " 0\n")));
  }
  EXPECT_THAT(metrics, HasSubstr("fabric_device_busy_seconds_total{device=\"card0\"}"));
  EXPECT_THAT(metrics, Not(HasSubstr("fabric_device_busy_seconds_total{device=\"card0\"} 0\n")));
}

TEST_F(EmulatedServingTest, UntimedMockCardsAreMarkedAsSuch) {
  const std::string metrics =
      MetricsAfterARequest(Config("  - {id: card0, compute_units: 1, memory_bytes: 1GiB}\n"));
  EXPECT_THAT(metrics, HasSubstr("fabric_device_info{device=\"card0\",emulates=\"\","
                                 "kind=\"mock\",product=\"\"} 1"));
  EXPECT_THAT(metrics, Not(HasSubstr("fabric_device_emulation_overruns_total")));
  EXPECT_THAT(metrics, Not(HasSubstr("fabric_device_emulated_transfer_seconds_total")));
}

// The launches of a decode step, each priced from its arguments by the mock, add up to the
// step the planner's phase model predicts for the model on the card: what `fabric plan`
// prints is what an emulated card takes, before host transfers and the host's own time.
TEST(EmulatedStepTest, ADecodeStepKeepsTheCardBusyForThePlannersStepTime) {
  auto model = std::move(ModelFile::Open(kModelDir + "stories260K.bin", kModelDir + "tok512.bin"))
                   .value();
  const planner::CardSpec u280 = *planner::FindCard("u280");
  MockDeviceOptions options;
  options.memory_bytes = uint64_t{1} << 30;
  for (std::string_view kernel : ProfileKernels(KernelProfile::kUnified)) {
    options.kernels.emplace_back(kernel);
  }
  options.timing = *PlannerTiming(u280, KernelProfile::kUnified);
  DeviceWorker card(std::move(MockDevice::Create(options)).value());
  auto program = std::move(LlamaProgram::Create(*model, card, {})).value();
  const int prompt = 40;
  Batch prefill;
  prefill.block_tables = {{0, 1, 2, 3}};
  for (int p = 0; p < prompt; ++p) prefill.Add(10 + p, p, 0, p == prompt - 1);
  ASSERT_TRUE(program->Forward(prefill).ok());
  const double before = card.stats().busy_seconds;
  Batch decode;
  decode.block_tables = prefill.block_tables;
  decode.Add(7, prompt, 0, true);
  ASSERT_TRUE(program->Forward(decode).ok());
  const double step = card.stats().busy_seconds - before;

  const planner::ModelShape shape = *ShapeFromModelConfig(model->config(), "f32");
  const planner::CardSlice whole{.layers = shape.n_layers, .embedding = true, .classifier = true};
  const double predicted =
      planner::DecodeCost(shape, whole, u280,
                          planner::DeriveProfile(u280, KernelProfile::kUnified, shape), 1, prompt)
          .total.seconds();
  EXPECT_NEAR(step, predicted, predicted * 1e-9);
}

TEST(EmulateValidationTest, AnUnknownCardIsRefusedWithTheCatalogue) {
  const absl::Status valid =
      ValidateClusterConfig(Config("  - {id: card0, emulate: u281}\n"
                                   "  - {id: card1, emulate: U280}\n"));
  EXPECT_EQ(valid.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(valid.message(),
              HasSubstr("cards[0].emulate: unknown card 'u281' (known: u50, u55c, u280, v80, "
                        "vck5000); describe another card with `custom`"));
  EXPECT_THAT(valid.message(), Not(HasSubstr("cards[1]")));  // names are case-insensitive
}

}  // namespace
}  // namespace fabric
