#include "server/vllm_metrics.h"

#include <string>

#include "absl/time/clock.h"

namespace fabric {

void ExportVllmMetrics(MetricsRegistry& registry, const ServingMetrics& serving,
                       const v1::ServedModelConfig& model,
                       const std::vector<std::unique_ptr<LlamaProgram>>& programs) {
  const MetricLabels labels = {{"model_name", model.name()}};
  prometheus::Gauge* waiting = &registry.Gauge(
      "vllm:num_requests_waiting",
      "Requests waiting to be scheduled (vLLM's name for fabric_num_requests_waiting).", labels);
  prometheus::Gauge* running = &registry.Gauge(
      "vllm:num_requests_running",
      "Requests being generated (vLLM's name for fabric_num_requests_running).", labels);
  prometheus::Gauge* kv_usage = &registry.Gauge(
      "vllm:kv_cache_usage_perc",
      "Fraction of KV-cache blocks in use, 0 to 1 (vLLM's name for fabric_kv_cache_usage_perc).",
      labels);
  prometheus::Gauge* gpu_cache_usage = &registry.Gauge(
      "vllm:gpu_cache_usage_perc",
      "Fraction of KV-cache blocks in use, 0 to 1 (vLLM's older name for "
      "fabric_kv_cache_usage_perc).",
      labels);
  const prometheus::Gauge* fabric_waiting = &serving.waiting;
  const prometheus::Gauge* fabric_running = &serving.running;
  const prometheus::Gauge* fabric_kv_usage = &serving.kv_cache_usage;
  registry.AddCollectHook([=] {
    waiting->Set(fabric_waiting->Value());
    running->Set(fabric_running->Value());
    kv_usage->Set(fabric_kv_usage->Value());
    gpu_cache_usage->Set(fabric_kv_usage->Value());
  });

  // Every instance's blocks, as the scheduler counts them for fabric_kv_cache_usage_perc.
  int num_blocks = 0;
  for (const auto& program : programs) num_blocks += program->kv_blocks();
  registry
      .Gauge("vllm:cache_config_info", "KV-cache configuration, in the labels (always 1).",
             {{"block_size", std::to_string(model.kv_block_size())},
              {"num_gpu_blocks", std::to_string(num_blocks)}})
      .Set(1);
  // The EPP takes the series with the newest timestamp and skips one whose adapter lists are
  // both empty; without the family it would report it missing on every scrape.
  registry
      .Gauge("vllm:lora_requests_info",
             "LoRA adapters (none: Fabric serves base models only); the value is when this was "
             "last updated, in Unix seconds.",
             {{"max_lora", "0"}, {"running_lora_adapters", ""}, {"waiting_lora_adapters", ""}})
      .Set(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
}

}  // namespace fabric
