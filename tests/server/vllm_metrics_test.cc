// The vLLM-named gauges the Gateway API Inference Extension's endpoint picker reads: copied from
// the fabric_* gauges at every scrape, and present on a running server's /metrics.
#include "server/vllm_metrics.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/config_validation.h"
#include "server/fabric_server.h"
#include "tests/server/http_client.h"
#include "tests/server/metric_samples.h"

namespace fabric {
namespace {

using ::fabric::testing_util::HttpCall;
using ::fabric::testing_util::HttpResult;
using ::fabric::testing_util::MetricSamples;
using ::testing::HasSubstr;

TEST(VllmMetricsTest, CopiesTheSchedulerGaugesAtEveryScrape) {
  MetricsRegistry registry;
  ServingMetrics serving(registry);
  v1::ServedModelConfig model;
  model.set_name("tiny");
  model.set_kv_block_size(32);
  ExportVllmMetrics(registry, serving, model, {});

  serving.waiting.Set(3);
  serving.running.Set(5);
  serving.kv_cache_usage.Set(0.25);
  std::map<std::string, double> samples = MetricSamples(registry.Serialize());
  EXPECT_EQ(samples["vllm:num_requests_waiting{model_name=\"tiny\"}"], 3);
  EXPECT_EQ(samples["vllm:num_requests_running{model_name=\"tiny\"}"], 5);
  EXPECT_EQ(samples["vllm:kv_cache_usage_perc{model_name=\"tiny\"}"], 0.25);
  EXPECT_EQ(samples["vllm:gpu_cache_usage_perc{model_name=\"tiny\"}"], 0.25);
  EXPECT_EQ(samples["vllm:cache_config_info{block_size=\"32\",num_gpu_blocks=\"0\"}"], 1);

  // No state of its own: the next scrape shows the scheduler's new values.
  serving.waiting.Set(0);
  serving.kv_cache_usage.Set(0.5);
  samples = MetricSamples(registry.Serialize());
  EXPECT_EQ(samples["vllm:num_requests_waiting{model_name=\"tiny\"}"], 0);
  EXPECT_EQ(samples["vllm:kv_cache_usage_perc{model_name=\"tiny\"}"], 0.5);
}

TEST(VllmMetricsTest, AnnouncesNoLoraAdapters) {
  MetricsRegistry registry;
  ServingMetrics serving(registry);
  v1::ServedModelConfig model;
  model.set_name("tiny");
  ExportVllmMetrics(registry, serving, model, {});
  const std::map<std::string, double> samples = MetricSamples(registry.Serialize());
  const auto lora = samples.find(
      "vllm:lora_requests_info{max_lora=\"0\",running_lora_adapters=\"\","
      "waiting_lora_adapters=\"\"}");
  ASSERT_NE(lora, samples.end());
  EXPECT_GT(lora->second, 1.6e9);  // a Unix time in seconds, as vLLM reports it
}

TEST(VllmMetricsTest, ServedOnMetricsNextToTheFabricGauges) {
  const std::string models = std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/";
  v1::ClusterConfig config;
  for (const char* id : {"card0", "card1"}) {
    v1::CardConfig* card = config.add_cards();
    card->set_id(id);
    card->set_memory_bytes(uint64_t{1} << 30);
    card->set_compute_units(1);
  }
  config.mutable_model()->set_path(models + "stories260K.bin");
  config.mutable_model()->set_tokenizer(models + "tok512.bin");
  config.mutable_model()->set_kv_blocks(24);  // per instance; two cards, two instances
  ApplyDefaults(&config);
  config.mutable_server()->set_http_port(0);
  config.mutable_server()->set_grpc_port(0);
  ASSERT_TRUE(ValidateClusterConfig(config).ok());
  auto server = FabricServer::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string base = "http://127.0.0.1:" + std::to_string((*server)->http_port());

  const HttpResult completion = HttpCall(
      "POST", base + "/v1/completions",
      R"({"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 8})");
  ASSERT_EQ(completion.status, 200) << completion.body;
  const HttpResult metrics = HttpCall("GET", base + "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body, HasSubstr("# TYPE vllm:num_requests_waiting gauge\n"));
  EXPECT_THAT(metrics.body, HasSubstr("# TYPE vllm:num_requests_running gauge\n"));
  EXPECT_THAT(metrics.body, HasSubstr("# TYPE vllm:kv_cache_usage_perc gauge\n"));

  std::map<std::string, double> samples = MetricSamples(metrics.body);
  const std::string label = "{model_name=\"stories260K\"}";
  EXPECT_EQ(samples.at("vllm:num_requests_waiting" + label),
            samples.at("fabric_num_requests_waiting"));
  EXPECT_EQ(samples.at("vllm:num_requests_running" + label),
            samples.at("fabric_num_requests_running"));
  EXPECT_EQ(samples.at("vllm:kv_cache_usage_perc" + label),
            samples.at("fabric_kv_cache_usage_perc"));
  EXPECT_EQ(samples.at("vllm:gpu_cache_usage_perc" + label),
            samples.at("fabric_kv_cache_usage_perc"));
  EXPECT_EQ(samples.at("vllm:cache_config_info{block_size=\"16\",num_gpu_blocks=\"48\"}"), 1);
  (*server)->Shutdown();
}

}  // namespace
}  // namespace fabric
