// The Llama forward pass as a program of kernel launches on one card.
#ifndef FABRIC_MODEL_LLAMA_PROGRAM_H_
#define FABRIC_MODEL_LLAMA_PROGRAM_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "device/device_worker.h"
#include "model/batch.h"
#include "model/card_weights.h"
#include "model/model_config.h"
#include "model/model_file.h"

namespace fabric {

struct ProgramOptions {
  int max_batch_tokens = 256;  // most tokens one step may carry (a prefill chunk)
  int max_sequences = 16;      // most sequences one step may carry
  int kv_block_size = 16;      // positions per KV-cache block
  int kv_blocks = 0;           // blocks in the cache; 0: enough for max_sequences full contexts
};

// Runs the whole model on one card: weights, KV cache and activations in its memory.
// Not thread-safe: one caller (the generator or scheduler thread) drives it.
class LlamaProgram {
 public:
  // Uploads the weights and allocates the KV cache and activation buffers.
  static absl::StatusOr<std::unique_ptr<LlamaProgram>> Create(const ModelFile& model,
                                                              DeviceWorker& worker,
                                                              ProgramOptions options);

  const ModelConfig& config() const { return config_; }
  const ProgramOptions& options() const { return options_; }
  // Blocks in the card's KV cache (options.kv_blocks, or the default it resolved to).
  int kv_blocks() const { return kv_rows_ / options_.kv_block_size; }

  // Runs one step. Returns the next-token logits of batch.logit_tokens, in that order:
  // [logit_tokens.size(), vocab_size].
  absl::StatusOr<std::vector<float>> Forward(const Batch& batch);

  // Forward in two halves, so a caller can keep several cards busy at once: Submit queues the
  // step on the card and returns; Collect waits for it and returns its logits. Every Submit
  // is followed by one Collect before the next Submit.
  absl::Status Submit(const Batch& batch);
  absl::StatusOr<std::vector<float>> Collect();

 private:
  // Activations of one step, sized for max_batch_tokens.
  struct Activations {
    BufferId x, normed, normed_q8, q, k, v, attended, attended_q8, projected;
    BufferId gate, up, hidden, hidden_q8, logits_in, logits_in_normed, logits_in_q8, logits;
    BufferId tokens, positions, sequences, slots, block_tables, logit_rows;
  };
  // A per-row input to a weight product: its F32 rows and, once quantized, its Q8_0 rows.
  struct Input {
    BufferId f32;
    BufferId q8;
    int row_len;
    bool quantized = false;
  };

  LlamaProgram(const ModelConfig& config, ProgramOptions options, DeviceWorker& worker)
      : config_(config), options_(options), worker_(worker) {}

  absl::Status AllocateBuffers();
  absl::Status CheckBatch(const Batch& batch) const;
  void UploadBatch(const Batch& batch);
  void Layer(int layer, int n_tokens);
  // out[t, :] = w · in[t, :] for tokens t < n_tokens, choosing the kernel for w's type.
  void Product(const CardTensor& w, Input& in, BufferId out, int n_tokens);
  void Launch(const char* kernel, std::vector<KernelArg> args);

  const ModelConfig config_;
  const ProgramOptions options_;
  DeviceWorker& worker_;
  CardWeights weights_;
  Activations act_{};
  BufferId k_cache_ = 0;  // [n_layers, kv_rows, kv_dim]
  BufferId v_cache_ = 0;
  int max_blocks_per_sequence_ = 0;
  int kv_rows_ = 0;
  std::vector<float> pending_logits_;  // filled by the card when the submitted step finishes
};

}  // namespace fabric

#endif  // FABRIC_MODEL_LLAMA_PROGRAM_H_
