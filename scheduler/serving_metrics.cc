#include "scheduler/serving_metrics.h"

#include <string>

namespace fabric {
namespace {

const std::vector<double> kTokenLatencyBuckets = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08,
                                                  0.1,   0.25,  0.5,  0.75, 1.0,  2.5,  5.0,
                                                  7.5,   10.0,  20.0, 40.0, 80.0};
const std::vector<double> kRequestLatencyBuckets = {0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1.0,
                                                    1.5,  2.0,  2.5, 5.0, 10.0, 15.0, 20.0,
                                                    30.0, 40.0, 50.0, 60.0, 120.0, 240.0};

}  // namespace

ServingMetrics::ServingMetrics(MetricsRegistry& r)
    : time_to_first_token(r.Histogram("fabric_time_to_first_token_seconds",
                                      "Time from a request's arrival to its first token.",
                                      kTokenLatencyBuckets)),
      inter_token_latency(r.Histogram("fabric_inter_token_latency_seconds",
                                      "Time between consecutive tokens of a request.",
                                      kTokenLatencyBuckets)),
      e2e_latency(r.Histogram("fabric_e2e_request_latency_seconds",
                              "Time from a request's arrival to its finish.",
                              kRequestLatencyBuckets)),
      queue_time(r.Histogram("fabric_request_queue_time_seconds",
                             "Time a request waited before it was first scheduled.",
                             kRequestLatencyBuckets)),
      prompt_tokens(r.Counter("fabric_prompt_tokens_total", "Prompt tokens processed.")),
      generation_tokens(r.Counter("fabric_generation_tokens_total", "Tokens generated.")),
      running(r.Gauge("fabric_num_requests_running", "Requests being generated.")),
      waiting(r.Gauge("fabric_num_requests_waiting", "Requests waiting to be scheduled.")),
      kv_cache_usage(r.Gauge("fabric_kv_cache_usage_perc",
                             "Fraction of KV-cache blocks in use (0 to 1).")),
      preemptions(r.Counter("fabric_num_preemptions_total",
                            "Sequences preempted when KV-cache blocks ran out.")),
      kv_transfer_bytes(r.Counter("fabric_kv_transfer_bytes_total",
                                  "KV-cache bytes moved from prefill to decode instances.")),
      kv_transfer_seconds(r.Counter("fabric_kv_transfer_seconds_total",
                                    "Time spent moving KV caches to decode instances.")),
      batch_sequences(r.Histogram("fabric_batch_size",
                                  "Sequences in one scheduler step of one model instance.",
                                  {1, 2, 4, 8, 16, 32, 64, 128, 256})),
      batch_tokens(r.Histogram("fabric_iteration_tokens",
                               "Tokens in one scheduler step of one model instance.",
                               {1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096})),
      steps(r.Counter("fabric_engine_steps_total",
                      "Scheduler steps: turns of its loop that started or collected a model "
                      "instance's step.")),
      host_seconds(r.Counter("fabric_engine_host_seconds_total",
                             "The scheduler's own time in its steps, outside its waits for the "
                             "cards' results: sampling, streaming, planning, uploads.")),
      registry(r) {
  for (FinishReason reason : {FinishReason::kStop, FinishReason::kLength,
                              FinishReason::kCancelled, FinishReason::kError}) {
    Finished(reason);  // export every reason from the start, at zero
  }
}

prometheus::Counter& ServingMetrics::Finished(FinishReason reason) {
  return registry.Counter("fabric_request_success_total", "Requests finished, by reason.",
                          {{"finished_reason", std::string(FinishReasonName(reason))}});
}

}  // namespace fabric
