// The load generator against a real Fabric server started in-process on port 0. Nothing here
// depends on timing: only counts, and orderings that hold however fast the server is.
#include "bench/load_generator/load_generator.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "bench/load_generator/benchmark.h"
#include "bench/load_generator/report.h"
#include "bench/load_generator/server_probe.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/config_validation.h"
#include "server/fabric_server.h"
#include "tests/server/http_client.h"
#include "tests/server/metric_samples.h"

namespace fabric::bench {
namespace {

const std::string kModelDir = std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/";

v1::ClusterConfig TwoCards() {
  v1::ClusterConfig config;
  for (int c = 0; c < 2; ++c) {
    v1::CardConfig* card = config.add_cards();
    card->set_id("card" + std::to_string(c));
    card->set_memory_bytes(uint64_t{1} << 30);
  }
  config.mutable_model()->set_path(kModelDir + "stories260K.bin");
  config.mutable_model()->set_tokenizer(kModelDir + "tok512.bin");
  config.mutable_model()->set_max_sequences(4);
  ApplyDefaults(&config);
  config.mutable_server()->set_http_port(0);
  config.mutable_server()->set_grpc_port(0);
  EXPECT_TRUE(ValidateClusterConfig(config).ok());
  return config;
}

class LoadGeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = FabricServer::Start(TwoCards());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    base_url_ = "http://127.0.0.1:" + std::to_string(server_->http_port());
  }

  // A counter of the server's /metrics.
  double Metric(const std::string& name) {
    return testing_util::MetricSample(
        testing_util::HttpCall("GET", base_url_ + "/metrics").body, name);
  }

  std::unique_ptr<FabricServer> server_;
  std::string base_url_;
};

constexpr int kPrompts = 12;
constexpr int kOutputLen = 8;

TEST_F(LoadGeneratorTest, TwelvePromptsAtConcurrencyFour) {
  WorkloadOptions workload;  // the model is asked of the server
  workload.num_prompts = kPrompts;
  workload.input_len = 32;
  workload.output_len = kOutputLen;
  workload.seed = 11;
  LoadOptions load;
  load.base_url = base_url_;
  load.max_concurrency = 4;
  load.timeout_s = 120;
  GoodputSlo slo;
  slo.ttft_ms = 1e9;  // one nothing misses
  absl::StatusOr<BenchmarkRun> run = RunBenchmark(workload, load, slo);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->workload.model, "stories260K");

  const BenchmarkMetrics& m = run->metrics;
  EXPECT_EQ(m.completed, kPrompts) << FormatReport(*run);
  EXPECT_EQ(m.failed, 0);
  EXPECT_GT(m.total_output, 0);
  EXPECT_LE(m.total_output, kPrompts * kOutputLen);
  EXPECT_EQ(m.request_goodput, m.request_throughput);
  EXPECT_GE(run->result.max_concurrent_requests, 1);
  EXPECT_LE(run->result.max_concurrent_requests, 4);  // the semaphore holds
  EXPECT_LE(run->result.max_concurrent_streams, run->result.max_concurrent_requests);

  ASSERT_EQ(run->result.records.size(), kPrompts);
  long long output_tokens = 0;
  for (const RequestRecord& r : run->result.records) {
    ASSERT_TRUE(r.success) << r.error;
    EXPECT_EQ(r.output_tokens, r.usage_completion_tokens);  // the server's usage is counted
    EXPECT_LE(r.output_tokens, kOutputLen);
    EXPECT_LE(r.text_chunks, r.output_tokens);  // a chunk carries at least one token
    EXPECT_EQ(r.itl.size(), r.text_chunks > 0 ? r.text_chunks - 1 : 0);
    EXPECT_EQ(r.input_tokens, 32);  // token ids go to the model as they are
    EXPECT_GE(r.ttft, 0);
    EXPECT_LE(r.ttft, r.latency);
    output_tokens += r.output_tokens;
  }
  EXPECT_EQ(output_tokens, m.total_output);
  // What the client counted is what the server says it generated.
  EXPECT_EQ(Metric("fabric_generation_tokens_total"), m.total_output);

  EXPECT_TRUE(run->emulated_cards.empty());  // plain mock cards: the CPU's own figures

  nlohmann::json json = ReportJson(*run);
  EXPECT_EQ(json["emulated_cards"], nlohmann::json::array());
  EXPECT_EQ(json["completed"], kPrompts);
  EXPECT_EQ(json["failed"], 0);
  EXPECT_EQ(json["total_output_tokens"], m.total_output);
  EXPECT_EQ(json["max_concurrency"], 4);
  EXPECT_EQ(json["request_rate"], "inf");
  for (const char* key : {"mean_ttft_ms", "median_tpot_ms", "std_itl_ms", "p99_e2el_ms",
                          "request_goodput", "max_concurrent_streams", "duration"}) {
    EXPECT_TRUE(json.contains(key) && json[key].is_number()) << key;
  }
}

TEST_F(LoadGeneratorTest, ChatAtAPoissonRateWithoutALimit) {
  WorkloadOptions workload;
  workload.api = Api::kChat;
  workload.model = "stories260K";
  workload.num_prompts = 6;
  workload.input_len = 8;
  workload.output_len = 4;
  workload.range_ratio = 0.5;
  workload.request_rate = 1000;
  LoadOptions load;
  load.base_url = base_url_;
  absl::StatusOr<BenchmarkRun> run = RunBenchmark(workload, load, std::nullopt);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->metrics.completed, 6) << FormatReport(*run);
  EXPECT_FALSE(run->metrics.request_goodput.has_value());
  for (const RequestRecord& r : run->result.records) {
    EXPECT_EQ(r.output_tokens, r.usage_completion_tokens);
    EXPECT_GT(r.input_tokens, 0);
  }
}

TEST_F(LoadGeneratorTest, ErrorsAreCountedNotFatal) {
  WorkloadOptions workload;
  workload.model = "no-such-model";  // 404 from the server
  workload.num_prompts = 3;
  LoadOptions load;
  load.base_url = base_url_;
  absl::StatusOr<BenchmarkRun> run = RunBenchmark(workload, load, std::nullopt);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->metrics.completed, 0);
  EXPECT_EQ(run->metrics.failed, 3);
  auto samples = ErrorSamples(run->result.records, 5);
  ASSERT_EQ(samples.size(), 1);
  EXPECT_TRUE(absl::StartsWith(samples[0].first, "HTTP 404")) << samples[0].first;
  EXPECT_EQ(samples[0].second, 3);
  EXPECT_EQ(run->result.max_concurrent_streams, 0);
}

TEST(LoadGeneratorEmulationTest, FiguresFromTimedMockCardsAreMarkedAsEmulated) {
  v1::ClusterConfig config = TwoCards();
  config.mutable_cards(1)->set_emulate("u280");
  config.mutable_cards(1)->set_compute_units(1);
  config.mutable_model()->set_tensor_parallel(1);
  ASSERT_TRUE(ValidateClusterConfig(config).ok()) << ValidateClusterConfig(config);
  auto server = std::move(FabricServer::Start(config)).value();
  WorkloadOptions workload;
  workload.num_prompts = 2;
  workload.input_len = 8;
  workload.output_len = 4;
  LoadOptions load;
  load.base_url = "http://127.0.0.1:" + std::to_string(server->http_port());
  absl::StatusOr<BenchmarkRun> run = RunBenchmark(workload, load, std::nullopt);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->metrics.completed, 2);
  EXPECT_EQ(run->emulated_cards, std::vector<std::string>{"card1 as u280"});
  EXPECT_THAT(FormatReport(*run), ::testing::HasSubstr("card1 as u280"));
  EXPECT_EQ(ReportJson(*run)["emulated_cards"], nlohmann::json::array({"card1 as u280"}));
}

TEST(EmulatedCardsTest, ReadsTimedCardsFromAScrape) {
  EXPECT_EQ(EmulatedCards("# HELP fabric_device_info ...\n"
                          "fabric_device_info{device=\"card0\",emulates=\"\",kind=\"mock\"} 1\n"
                          "fabric_device_info{device=\"b\",emulates=\"u55c\",kind=\"mock\"} 1\n"
                          "fabric_device_infos{device=\"x\",emulates=\"u50\"} 1\n"),
            std::vector<std::string>{"b as u55c"});
  EXPECT_TRUE(EmulatedCards("").empty());
  EXPECT_TRUE(EmulatedCards("vllm:num_requests_running{model_name=\"m\"} 0\n").empty());
}

TEST(LoadGeneratorNoServerTest, RefusedConnectionsFailEveryRequest) {
  WorkloadOptions workload;
  workload.model = "m";
  workload.num_prompts = 2;
  LoadOptions load;
  load.base_url = "http://127.0.0.1:1";  // nothing listens on port 1
  absl::StatusOr<BenchmarkRun> run = RunBenchmark(workload, load, std::nullopt);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->metrics.failed, 2);
  EXPECT_FALSE(run->result.records[0].error.empty());
  // Without a model name the run cannot start at all.
  workload.model.clear();
  EXPECT_FALSE(RunBenchmark(workload, load, std::nullopt).ok());
}

}  // namespace
}  // namespace fabric::bench
