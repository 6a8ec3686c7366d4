// The request-level metrics the scheduler records, named after vLLM's with a fabric_ prefix
// and phases defined as vLLM defines them:
//   queue time      arrival -> first scheduled
//   time to first token  arrival -> first generated token
//   inter-token latency  between consecutive generated tokens of a request
//   e2e latency     arrival -> finish
#ifndef FABRIC_SCHEDULER_SERVING_METRICS_H_
#define FABRIC_SCHEDULER_SERVING_METRICS_H_

#include "common/metrics.h"
#include "model/finish_reason.h"

namespace fabric {

// References into a MetricsRegistry, which must outlive this. Thread-safe (prometheus-cpp).
struct ServingMetrics {
  explicit ServingMetrics(MetricsRegistry& registry);

  prometheus::Histogram& time_to_first_token;
  prometheus::Histogram& inter_token_latency;
  prometheus::Histogram& e2e_latency;
  prometheus::Histogram& queue_time;
  prometheus::Counter& prompt_tokens;
  prometheus::Counter& generation_tokens;
  prometheus::Gauge& running;
  prometheus::Gauge& waiting;
  prometheus::Gauge& kv_cache_usage;        // fraction of KV-cache blocks in use
  prometheus::Counter& preemptions;
  prometheus::Counter& kv_transfer_bytes;   // prefill -> decode instances
  prometheus::Counter& kv_transfer_seconds;
  prometheus::Histogram& batch_sequences;   // sequences in one step of one instance
  prometheus::Histogram& batch_tokens;      // tokens in one step of one instance
  // Scheduler steps (turns of its loop that started or collected a model instance's step:
  // with one instance busy, that instance's steps), and the engine's own time in them: all but
  // its waits for the cards' results (what `fabric plan --host-step-us` takes).
  prometheus::Counter& steps;
  prometheus::Counter& host_seconds;
  MetricsRegistry& registry;

  // requests finished, by reason
  prometheus::Counter& Finished(FinishReason reason);
};

}  // namespace fabric

#endif  // FABRIC_SCHEDULER_SERVING_METRICS_H_
