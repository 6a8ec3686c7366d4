// `kind: xrt` cards in a served deployment, on XRT's no-op shim: the server opens them through
// XrtDevice (the kernels run on the host after each completed XRT run), serves the same text
// as mock cards, and refuses a missing bitstream or one built for another role by naming the
// card.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "device/xrt/xclbin_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/kernel_profiles.h"
#include "nlohmann/json.hpp"
#include "server/config/config_validation.h"
#include "server/fabric_server.h"
#include "tests/device/xrt/noop_environment.h"
#include "tests/server/http_client.h"

namespace fabric {
namespace {

using ::fabric::testing_util::HttpCall;
using ::fabric::testing_util::HttpResult;
using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kModelDir = std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/";

// Fabric's U280 xclbin of `profile`, written into the no-op scratch directory.
std::string Bitstream(KernelProfile profile) {
  const PlatformSpec& u280 = *FindPlatform("u280");
  return xrt_test::XclbinFile("u280_" + std::string(ProfileName(profile)) + ".xclbin",
                              FabricDesign(u280, profile));
}

// `cards` cards of `kind` ("mock" or "xrt"): one tensor-parallel unified instance, or, when
// `roles` is given, a group per card with that role.
v1::ClusterConfig Config(const std::string& kind, int cards,
                         const std::vector<std::string>& roles = {}) {
  v1::ClusterConfig config;
  for (int c = 0; c < cards; ++c) {
    v1::CardConfig* card = config.add_cards();
    card->set_id("card" + std::to_string(c));
    card->set_kind(kind);
    card->set_memory_bytes(uint64_t{1} << 30);
    card->set_compute_units(1);
    if (kind == "xrt") {
      KernelProfile profile = KernelProfile::kUnified;
      if (!roles.empty()) ParseProfile(roles[c], &profile);
      card->set_bitstream(Bitstream(profile));
    }
    if (!roles.empty()) {
      v1::CardGroupConfig* group = config.add_groups();
      group->set_role(roles[c]);
      group->add_cards(card->id());
    }
  }
  if (roles.empty()) config.mutable_model()->set_tensor_parallel(cards);
  config.mutable_model()->set_path(kModelDir + "stories260K.bin");
  config.mutable_model()->set_tokenizer(kModelDir + "tok512.bin");
  ApplyDefaults(&config);
  config.mutable_server()->set_http_port(0);
  config.mutable_server()->set_grpc_port(0);
  EXPECT_TRUE(ValidateClusterConfig(config).ok()) << ValidateClusterConfig(config);
  return config;
}

// The greedy completions of a few prompts from a server started with `config`.
std::vector<std::string> Completions(const v1::ClusterConfig& config, std::string* metrics) {
  absl::StatusOr<std::unique_ptr<FabricServer>> server = FabricServer::Start(config);
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return {};
  const std::string base = "http://127.0.0.1:" + std::to_string((*server)->http_port());
  std::vector<std::string> texts;
  for (const char* prompt : {"Once upon a time", "Lily and Tom", ""}) {
    HttpResult result = HttpCall("POST", base + "/v1/completions",
                                 json({{"model", "stories260K"}, {"prompt", prompt},
                                       {"max_tokens", 24}, {"temperature", 0}})
                                     .dump());
    EXPECT_EQ(result.status, 200) << result.body;
    texts.push_back(result.status == 200 ? json::parse(result.body)["choices"][0]["text"] : "");
  }
  if (metrics != nullptr) *metrics = HttpCall("GET", base + "/metrics").body;
  return texts;
}

class XrtServingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { xrt_test::UseNoopXrt(); }
};

TEST_F(XrtServingTest, TwoNoopCardsServeWhatTwoMockCardsServe) {
  const std::vector<std::string> on_mock = Completions(Config("mock", 2), nullptr);
  std::string metrics;
  const std::vector<std::string> on_xrt = Completions(Config("xrt", 2), &metrics);
  EXPECT_EQ(on_xrt, on_mock);
  EXPECT_THAT(metrics, HasSubstr("fabric_device_kernel_launches_total{device=\"card1\","
                                 "kernel=\"attention\"}"));
}

TEST_F(XrtServingTest, PrefillAndDecodeBitstreamsOnNoopCards) {
  const std::vector<std::string> on_mock = Completions(Config("mock", 1), nullptr);
  std::string metrics;
  const std::vector<std::string> on_xrt =
      Completions(Config("xrt", 2, {"prefill", "decode"}), &metrics);
  EXPECT_EQ(on_xrt, on_mock);
  // The decode card's bitstream has the fused decode layer, and a one-unit card takes it.
  EXPECT_THAT(metrics, HasSubstr("fabric_device_kernel_launches_total{device=\"card1\","
                                 "kernel=\"decode_ffn_f32\"}"));
}

TEST_F(XrtServingTest, ABitstreamBuiltForAnotherRoleIsRefusedNamingTheCard) {
  v1::ClusterConfig config = Config("xrt", 2, {"prefill", "decode"});
  config.mutable_cards(1)->set_bitstream(Bitstream(KernelProfile::kPrefill));
  absl::StatusOr<std::unique_ptr<FabricServer>> server = FabricServer::Start(config);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(server.status().message(),
              HasSubstr("card card1: bitstream " + Bitstream(KernelProfile::kPrefill) +
                        " lacks kernels a decode card runs: matvec_f32, matvec_q8_0"));
  EXPECT_THAT(server.status().message(), HasSubstr("make -C kernels/hw PROFILE=decode"));
}

TEST_F(XrtServingTest, AMissingBitstreamFileIsRefusedNamingTheCard) {
  v1::ClusterConfig config = Config("xrt", 2);
  config.mutable_cards(0)->set_bitstream("/nonexistent/fabric.xclbin");
  absl::StatusOr<std::unique_ptr<FabricServer>> server = FabricServer::Start(config);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(server.status().message(), HasSubstr("card0 (xrt card '0'"));
  EXPECT_THAT(server.status().message(), HasSubstr("/nonexistent/fabric.xclbin"));
}

}  // namespace
}  // namespace fabric
