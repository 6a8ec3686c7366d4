// Model instances step at their own pace: a decode card keeps generating while the prefill card
// works through a long prompt, and an idle replica starts on a new request while another
// replica's step runs. The prefill card emulates a very slow custom card (each prompt
// chunk takes it about 0.2 s) and the decode card is a plain mock card (a token takes it well
// under a millisecond), so a request already decoding finishes its 40 tokens two orders of
// magnitude before the long prompt's first token; were the instances stepped together, each
// of its tokens would wait for a prompt chunk.
#include <atomic>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
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

v1::ClusterConfig SlowPrefillFastDecode() {
  return ServingConfigFromYaml("cards:\n" + SlowCardYaml("prefill0", "0.1") +
                               "  - {id: decode0, memory_bytes: 1GiB, compute_units: 1}\n"
                               "groups:\n"
                               "  - {role: prefill, cards: [prefill0]}\n"
                               "  - {role: decode, cards: [decode0]}\n" +
                               Stories260KModelYaml("max_batch_tokens: 16"));
}

TEST(InstancePaceTest, DecodingGoesOnWhileTheNextPromptPrefills) {
  auto server = std::move(FabricServer::Start(SlowPrefillFastDecode())).value();
  const std::string url =
      "http://127.0.0.1:" + std::to_string(server->http_port()) + "/v1/completions";
  auto stream = [](const std::string& prompt, int max_tokens) {
    return json({{"model", "stories260K"}, {"prompt", prompt}, {"max_tokens", max_tokens},
                 {"temperature", 0}, {"stream", true}})
        .dump();
  };
  // A: a short prompt, then 40 greedy tokens on the decode card.
  std::atomic<bool> a_started = false, a_done = false;
  HttpResult a_result;
  std::thread a([&] {
    a_result = HttpCall("POST", url, stream("Once", 40), [&](const std::string&) {
      a_started = true;
      return true;
    });
    a_done = true;
  });
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!a_started && !a_done && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_TRUE(a_started) << "A never streamed a token";
  // B: a prompt of several chunks, prefilled while A decodes.
  std::string long_prompt;
  for (int i = 0; i < 20; ++i) long_prompt += "Once upon a time ";
  bool a_done_at_b_first_chunk = false, b_first = true;
  HttpResult b = HttpCall("POST", url, stream(long_prompt, 2), [&](const std::string&) {
    if (b_first) a_done_at_b_first_chunk = a_done;
    b_first = false;
    return true;
  });
  EXPECT_EQ(b.status, 200) << b.body;
  a.join();
  EXPECT_EQ(a_result.status, 200);
  // A decoded all its tokens (no early end of text) while B's prompt was prefilled.
  EXPECT_THAT(a_result.body, HasSubstr("\"finish_reason\":\"length\""));
  EXPECT_TRUE(a_done_at_b_first_chunk)
      << "the decode card waited for the prefill card's prompt chunks";
}

// Two unified replicas, the first on a very slow emulated card: a prompt step there takes it
// seconds, a whole short request on the second a few milliseconds.
v1::ClusterConfig SlowAndFastReplica() {
  return ServingConfigFromYaml("cards:\n" + SlowCardYaml("slow0", "0.01") +
                               "  - {id: fast0, memory_bytes: 1GiB, compute_units: 1}\n" +
                               Stories260KModelYaml("tensor_parallel: 1, pipeline_parallel: 1"));
}

TEST(InstancePaceTest, AnIdleReplicaStartsOnANewRequestAtOnce) {
  auto server = std::move(FabricServer::Start(SlowAndFastReplica())).value();
  const std::string base = "http://127.0.0.1:" + std::to_string(server->http_port());
  auto body = [](int max_tokens, bool stream) {
    return json({{"model", "stories260K"}, {"prompt", "Once"}, {"max_tokens", max_tokens},
                 {"temperature", 0}, {"stream", stream}})
        .dump();
  };
  // A goes to the first replica (the slow card: both are empty, the first wins the tie).
  std::atomic<bool> a_started = false;
  std::thread a([&] {
    HttpCall("POST", base + "/v1/completions", body(2, true), [&](const std::string&) {
      a_started = true;
      return true;
    });
  });
  // A's prompt step has started once the slow card has run a kernel (card metrics are read at
  // each scrape; the request gauges only between the engine's turns).
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (MetricSample(HttpCall("GET", base + "/metrics").body,
                      "fabric_device_busy_seconds_total{device=\"slow0\"}") <= 0 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_FALSE(a_started) << "A's step ended before the test could send B";
  // B arrives while A's prompt step runs on the slow card; the fast replica serves it whole.
  HttpResult b = HttpCall("POST", base + "/v1/completions", body(8, false));
  const bool a_started_when_b_finished = a_started;
  a.join();
  EXPECT_EQ(b.status, 200) << b.body;
  EXPECT_FALSE(a_started_when_b_finished)
      << "the new request waited for the slow replica's step before starting";
}

}  // namespace
}  // namespace fabric
