// A full waiting queue refuses more work on both transports: HTTP 429 with OpenAI's
// rate_limit_error, gRPC RESOURCE_EXHAUSTED. One card emulating a very slow custom card keeps
// the first request running and the second waiting for as long as the test needs, so which
// request is refused does not depend on timing.
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "fabric/v1/inference.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/fabric_server.h"
#include "tests/server/http_client.h"
#include "tests/server/metric_samples.h"
#include "tests/server/yaml_config.h"

namespace fabric {
namespace {

using ::fabric::testing_util::HttpCall;
using ::fabric::testing_util::HttpResult;
using ::fabric::testing_util::MetricSample;
using ::fabric::testing_util::ServingConfigFromYaml;
using ::fabric::testing_util::SlowCardYaml;
using ::fabric::testing_util::Stories260KModelYaml;
using ::testing::HasSubstr;
using json = nlohmann::json;

// One sequence at a time, one more waiting; a step streams the weights at 10 MB/s (~0.1 s).
v1::ClusterConfig SlowCardConfig() {
  return ServingConfigFromYaml("cards:\n" + SlowCardYaml("card0", "0.01") +
                               Stories260KModelYaml("max_sequences: 1") +
                               "server: {max_waiting_requests: 1}\n");
}

TEST(QueueLimitTest, AFullQueueAnswers429AndResourceExhausted) {
  auto server = std::move(FabricServer::Start(SlowCardConfig())).value();
  const std::string base = "http://127.0.0.1:" + std::to_string(server->http_port());
  auto metric = [&](const std::string& name) {
    return MetricSample(HttpCall("GET", base + "/metrics").body, name);
  };
  auto await_metric = [&](const std::string& name, double value) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (metric(name) != value && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    ASSERT_EQ(metric(name), value) << name;
  };
  // Streamed requests that hang up at their next chunk once the test is done with them; greedy,
  // so none ends early on a sampled end-of-text.
  std::atomic<bool> release = false;
  auto occupy = [&] {
    HttpCall("POST", base + "/v1/completions",
             json({{"model", "stories260K"}, {"prompt", "Once"}, {"max_tokens", 400},
                   {"temperature", 0}, {"stream", true}})
                 .dump(),
             [&](const std::string&) { return !release.load(); });
  };
  std::thread running(occupy);
  await_metric("fabric_num_requests_running", 1);
  std::thread waiting(occupy);
  await_metric("fabric_num_requests_waiting", 1);

  HttpResult refused = HttpCall(
      "POST", base + "/v1/completions",
      json({{"model", "stories260K"}, {"prompt", "Once"}, {"max_tokens", 4}}).dump());
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr("rate_limit_error"));

  auto stub = v1::Inference::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server->grpc_port()), grpc::InsecureChannelCredentials()));
  v1::CompletionRequest request;
  request.set_model("stories260K");
  request.set_prompt("Once");
  request.mutable_sampling()->set_max_tokens(4);
  v1::CompletionResponse response;
  grpc::ClientContext context;
  const grpc::Status status = stub->Complete(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();

  release = true;
  running.join();
  waiting.join();
  // Both hung up: the server is free again.
  await_metric("fabric_num_requests_running", 0);
  await_metric("fabric_num_requests_waiting", 0);
}

}  // namespace
}  // namespace fabric
