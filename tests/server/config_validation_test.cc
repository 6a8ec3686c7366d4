// Defaults and consistency checks of cluster configs, however they were built.
#include "server/config/config_validation.h"

#include <algorithm>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fabric/v1/config.pb.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/config_loader.h"
#include "tests/server/config_test_util.h"

namespace fabric {
namespace {

using ::fabric::testing_util::ExpectProtoEq;
using ::fabric::testing_util::kSource;
using ::testing::HasSubstr;

constexpr uint64_t kGiB = uint64_t{1} << 30;

// ---- Validation --------------------------------------------------------------------------

// A config that passes; each test breaks one thing.
v1::ClusterConfig ValidConfig() {
  v1::ClusterConfig config;
  config.add_cards()->set_id("card0");
  config.mutable_model()->set_path("m.bin");
  return config;
}

std::string ValidationError(const v1::ClusterConfig& config) {
  const absl::Status status = ValidateClusterConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  return std::string(status.message());
}

TEST(ConfigValidationTest, ValidConfigPassesBeforeAndAfterDefaults) {
  v1::ClusterConfig config = ValidConfig();
  EXPECT_TRUE(ValidateClusterConfig(config).ok()) << ValidateClusterConfig(config);
  ApplyDefaults(&config);
  EXPECT_TRUE(ValidateClusterConfig(config).ok()) << ValidateClusterConfig(config);
}

TEST(ConfigValidationTest, CardIdsMustBeUniqueAndNonEmpty) {
  v1::ClusterConfig config = ValidConfig();
  config.add_cards()->set_id("card1");
  config.add_cards()->set_id("card0");
  EXPECT_EQ(ValidationError(config),
            "cards[2].id: \"card0\" is already the id of cards[0]; card ids must be unique");
  config.mutable_cards(2)->clear_id();
  EXPECT_EQ(ValidationError(config),
            "cards[2].id: is empty; give every card a unique name, e.g. \"card2\"");
}

TEST(ConfigValidationTest, KindMustBeMockOrXrt) {
  v1::ClusterConfig config = ValidConfig();
  config.mutable_cards(0)->set_kind("fpga");
  EXPECT_EQ(ValidationError(config),
            "cards[0].kind: \"fpga\" is not a card kind; use \"mock\" (kernels run on the CPU) "
            "or \"xrt\" (an Alveo card driven through XRT)");
  config.mutable_cards(0)->set_kind("Mock");  // kinds are case-sensitive
  EXPECT_FALSE(ValidateClusterConfig(config).ok());
}

TEST(ConfigValidationTest, XrtCardNeedsBitstream) {
  v1::ClusterConfig config = ValidConfig();
  config.mutable_cards(0)->set_kind("xrt");
  EXPECT_EQ(ValidationError(config),
            "cards[0].bitstream: an \"xrt\" card needs the bitstream to load; set it to an "
            ".xclbin file");
  config.mutable_cards(0)->set_bitstream("decode.xclbin");
  EXPECT_TRUE(ValidateClusterConfig(config).ok());
}

TEST(ConfigDefaultsTest, XrtCardsWithoutADeviceTakeTheLowestFreeIndex) {
  v1::ClusterConfig config = ValidConfig();
  for (const char* device : {"1", "", "", "0000:3b:00.1"}) {
    v1::CardConfig* card = config.add_cards();
    card->set_id(absl::StrCat("alveo", config.cards_size()));
    card->set_kind("xrt");
    card->set_bitstream("unified.xclbin");
    card->set_device(device);
  }
  ApplyDefaults(&config);
  EXPECT_EQ(config.cards(1).device(), "1");
  EXPECT_EQ(config.cards(2).device(), "0");
  EXPECT_EQ(config.cards(3).device(), "2");
  EXPECT_TRUE(ValidateClusterConfig(config).ok()) << ValidateClusterConfig(config);
}

TEST(ConfigValidationTest, XrtCardsAreDifferentDevices) {
  v1::ClusterConfig config = ValidConfig();
  for (int i = 0; i < 2; ++i) {
    v1::CardConfig* card = config.add_cards();
    card->set_id("alveo" + std::to_string(i));
    card->set_kind("xrt");
    card->set_bitstream("unified.xclbin");
    card->set_device("0000:3b:00.1");
  }
  EXPECT_EQ(ValidationError(config),
            "cards[2].device: \"0000:3b:00.1\" is already the device of cards[1]; each xrt card "
            "is a different Alveo card");
}

TEST(ConfigValidationTest, PortsMustBePorts) {
  v1::ClusterConfig config = ValidConfig();
  config.mutable_server()->set_http_port(70000);
  EXPECT_EQ(ValidationError(config),
            "server.http_port: 70000 is not a port; use 1 to 65535, or 0 to pick a free port");
  config.mutable_server()->set_http_port(65535);
  config.mutable_server()->set_grpc_port(-1);
  EXPECT_EQ(ValidationError(config),
            "server.grpc_port: -1 is not a port; use 1 to 65535, or 0 to pick a free port");
}

TEST(ConfigValidationTest, HttpAndGrpcPortsMustDiffer) {
  v1::ClusterConfig config = ValidConfig();
  config.mutable_server()->set_grpc_port(8080);  // the HTTP default
  EXPECT_EQ(ValidationError(config),
            "server.grpc_port: 8080 is also server.http_port; give the HTTP and gRPC servers "
            "different ports");
}

TEST(ConfigValidationTest, ModelPathIsRequired) {
  v1::ClusterConfig config = ValidConfig();
  config.mutable_model()->clear_path();
  EXPECT_EQ(ValidationError(config),
            "model.path: is required; give a GGUF file or a llama2.c checkpoint, e.g. "
            "models/stories260K/stories260K.bin");
}

TEST(ConfigValidationTest, ModelLimits) {
  v1::ClusterConfig config = ValidConfig();
  config.mutable_model()->set_kv_block_size(24);
  EXPECT_EQ(ValidationError(config), "model.kv_block_size: 24 is not a power of two; use 16 or 32");
  config.mutable_model()->set_kv_block_size(0);
  config.mutable_model()->set_max_sequences(-1);
  EXPECT_EQ(ValidationError(config),
            "model.max_sequences: -1 is negative; use a positive value, or 0 (or leave it out) "
            "for the default 8");
  config.mutable_model()->set_max_sequences(300);  // more than the 256 default batch tokens
  EXPECT_EQ(ValidationError(config),
            "model.max_batch_tokens: 256 is less than model.max_sequences (300); a step "
            "carries at least one token per sequence, so use at least 300 or lower "
            "max_sequences");
}

TEST(ConfigValidationTest, NegativeCountsAndTimeouts) {
  v1::ClusterConfig config = ValidConfig();
  config.mutable_cards(0)->set_compute_units(-2);
  config.mutable_server()->set_max_waiting_requests(-1);
  config.mutable_server()->set_request_timeout_seconds(-0.5);
  config.mutable_server()->set_drain_timeout_seconds(std::nan(""));
  EXPECT_EQ(ValidationError(config),
            "4 problems in the cluster config:\n"
            "  cards[0].compute_units: -2 is negative; use a positive thread count, or 0 (or "
            "leave it out) for the host's cores shared among the cards\n"
            "  server.max_waiting_requests: -1 is negative; use a positive value, or 0 (or "
            "leave it out) for the default 64\n"
            "  server.request_timeout_seconds: -0.5 is negative; use a positive value, or 0 (or "
            "leave it out) for the default 600\n"
            "  server.drain_timeout_seconds: is not a number; use 0 or more");
}

TEST(ConfigValidationTest, GroupsNameKnownCardsOnceAndPairPrefillWithDecode) {
  v1::ClusterConfig config = ValidConfig();
  config.add_cards()->set_id("card1");
  v1::CardGroupConfig* prefill = config.add_groups();
  prefill->set_role("prefill");
  prefill->add_cards("card0");
  EXPECT_THAT(ValidationError(config), HasSubstr("groups: card \"card1\" is in no group"));
  EXPECT_THAT(ValidationError(config),
              HasSubstr("a prefill group needs a decode group to hand sequences to"));

  v1::CardGroupConfig* decode = config.add_groups();
  decode->set_role("decode");
  decode->add_cards("card1");
  EXPECT_TRUE(ValidateClusterConfig(config).ok()) << ValidateClusterConfig(config);

  decode->add_cards("card0");
  decode->add_cards("card9");
  decode->set_role("decoder");
  const std::string error = ValidationError(config);
  EXPECT_THAT(error, HasSubstr("groups[1].cards: card \"card0\" is in two groups"));
  EXPECT_THAT(error, HasSubstr("groups[1].cards: no card \"card9\" is listed"));
  EXPECT_THAT(error, HasSubstr("groups[1].role: \"decoder\" is not a role"));
}

TEST(ConfigValidationTest, EachGroupDividesIntoInstances) {
  v1::ClusterConfig config = ValidConfig();
  for (const char* id : {"card1", "card2"}) config.add_cards()->set_id(id);
  v1::CardGroupConfig* group = config.add_groups();
  for (const char* id : {"card0", "card1", "card2"}) group->add_cards(id);
  group->set_tensor_parallel(2);
  EXPECT_THAT(ValidationError(config),
              HasSubstr("groups[0]: 3 cards do not divide into instances of tensor_parallel 2"));
  group->set_tensor_parallel(4);
  EXPECT_THAT(ValidationError(config),
              HasSubstr("groups[0]: tensor_parallel 4 x pipeline_parallel 1 needs 4 cards but "
                        "the group lists 3"));
  group->set_tensor_parallel(0);  // the model's: 3 x 1
  config.mutable_model()->set_tensor_parallel(3);
  EXPECT_TRUE(ValidateClusterConfig(config).ok()) << ValidateClusterConfig(config);
  EXPECT_EQ(EffectiveGroups(config)[0].tensor_parallel(), 3);
  EXPECT_EQ(EffectiveGroups(config)[0].role(), "unified");
}

// ---- Defaults ----------------------------------------------------------------------------

int CoresPer(int cards) {
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / cards);
}

TEST(ConfigDefaultsTest, EmptyConfigGetsEveryDocumentedDefault) {
  v1::ClusterConfig config;
  config.mutable_model()->set_path("models/stories260K/stories260K.bin");
  ApplyDefaults(&config);
  ExpectProtoEq(config, R"pb(
                              cards { id: "card0" kind: "mock" memory_bytes: 8589934592
                                      compute_units:)pb" +
                            std::to_string(CoresPer(1)) + R"pb(}
                                                               model {
      path: "models/stories260K/stories260K.bin"
      name: "stories260K"
      max_batch_tokens: 256
      max_sequences: 8
      kv_block_size: 16
      tensor_parallel: 1
      pipeline_parallel: 1
    }
    server {
      host: "127.0.0.1"
      http_port: 8080
      grpc_port: 50051
      max_waiting_requests: 64
      request_timeout_seconds: 600
      drain_timeout_seconds: 30
    })pb");
  EXPECT_TRUE(ValidateClusterConfig(config).ok()) << ValidateClusterConfig(config);
}

TEST(ConfigDefaultsTest, KeepsWhatIsSet) {
  absl::StatusOr<v1::ClusterConfig> config = ParseClusterConfig(R"yaml(
cards:
  - {id: a, memory_bytes: 1GiB, compute_units: 2}
  - {id: b}
  - {id: x, kind: xrt, bitstream: d.xclbin}
model: {path: m.gguf, name: mine, max_batch_tokens: 64, max_sequences: 2, kv_block_size: 8,
        tensor_parallel: 1, pipeline_parallel: 3}
server: {host: "::1", http_port: 1, grpc_port: 2, max_waiting_requests: 3,
         request_timeout_seconds: 4, drain_timeout_seconds: 5}
)yaml",
                                                                kSource);
  ASSERT_TRUE(config.ok()) << config.status();
  v1::ClusterConfig expected = *config;
  ApplyDefaults(&*config);
  // Only the unset card fields change: b is a mock card (two mock cards share the cores),
  // and x, an xrt card, gets no mock memory or compute units but the first XRT device.
  expected.mutable_cards(0)->set_kind("mock");
  expected.mutable_cards(2)->set_device("0");
  expected.mutable_cards(1)->set_kind("mock");
  expected.mutable_cards(1)->set_memory_bytes(8 * kGiB);
  expected.mutable_cards(1)->set_compute_units(CoresPer(2));
  ExpectProtoEq(*config, expected.DebugString());
}

TEST(ConfigDefaultsTest, PortZeroMeansPickAFreePortAndSurvivesDefaults) {
  absl::StatusOr<v1::ClusterConfig> config =
      ParseClusterConfig("model: {path: m.gguf}\nserver: {http_port: 0, grpc_port: 0}\n", kSource);
  ASSERT_TRUE(config.ok()) << config.status();
  ApplyDefaults(&*config);
  EXPECT_EQ(config->server().http_port(), 0);
  EXPECT_EQ(config->server().grpc_port(), 0);
  EXPECT_TRUE(ValidateClusterConfig(*config).ok());  // two zeros are two different free ports

  absl::StatusOr<v1::ClusterConfig> unset = ParseClusterConfig("model: {path: m.gguf}\n", kSource);
  ASSERT_TRUE(unset.ok());
  ApplyDefaults(&*unset);
  EXPECT_EQ(unset->server().http_port(), 8080);
  EXPECT_EQ(unset->server().grpc_port(), 50051);
}

}  // namespace
}  // namespace fabric
