// vLLM-named copies of the scheduler's gauges, for the Kubernetes Gateway API Inference
// Extension. Its endpoint picker (EPP) reads a model server's queue, running requests and KV-cache
// usage from /metrics under vLLM's names by default (the extension's model-server protocol,
// docs/proposals/003-model-server-protocol), so Fabric pods can sit behind an InferencePool
// without EPP flags. The fabric_* metrics stay the primary, documented names.
#ifndef FABRIC_SERVER_VLLM_METRICS_H_
#define FABRIC_SERVER_VLLM_METRICS_H_

#include <memory>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "fabric/v1/config.pb.h"
#include "model/llama_program.h"
#include "scheduler/serving_metrics.h"

namespace fabric {

// Registers, with a `model_name` label as vLLM does:
//   vllm:num_requests_waiting, vllm:num_requests_running   gauges (requests)
//   vllm:kv_cache_usage_perc, vllm:gpu_cache_usage_perc    gauges (0 to 1; the second is
//                                                          vLLM's older name, which older EPPs
//                                                          read)
//   vllm:cache_config_info{block_size, num_gpu_blocks}     1; KV-block size in positions and the
//                                                          blocks of every model instance
//   vllm:lora_requests_info{max_lora="0", running_lora_adapters="", waiting_lora_adapters=""}
//                                                          the start time: Fabric serves no LoRA
//                                                          adapters, and says so, so an EPP that
//                                                          scrapes vLLM's LoRA gauge finds it
// The request and KV-cache gauges are copies: at every scrape of /metrics a collect hook reads
// the scheduler's values from `serving` (the gauges behind fabric_num_requests_waiting,
// fabric_num_requests_running and fabric_kv_cache_usage_perc) into them. Both names thus report
// the same scheduler values as of each scrape, but within one response they can differ, should
// the scheduler update its gauges between the hook and the serialization. `registry` and
// `serving` must outlive the hook (the registry owns it); `programs` is read only during this
// call.
void ExportVllmMetrics(MetricsRegistry& registry, const ServingMetrics& serving,
                       const v1::ServedModelConfig& model,
                       const std::vector<std::unique_ptr<LlamaProgram>>& programs);

}  // namespace fabric

#endif  // FABRIC_SERVER_VLLM_METRICS_H_
