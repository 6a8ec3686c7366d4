// The Llama forward pass over one or more cards: pipeline stages of contiguous layers, each a
// tensor-parallel group of cards holding a slice of every layer.
#ifndef FABRIC_MODEL_LLAMA_PROGRAM_H_
#define FABRIC_MODEL_LLAMA_PROGRAM_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "device/device_worker.h"
#include "model/batch.h"
#include "model/card_program.h"
#include "model/model_config.h"
#include "model/model_file.h"
#include "model/shard_plan.h"

namespace fabric {

struct ProgramOptions {
  int max_batch_tokens = 256;  // most tokens one step may carry (a prefill chunk)
  int max_sequences = 16;      // most sequences one step may carry
  int kv_block_size = 16;      // positions per KV-cache block
  int kv_blocks = 0;           // blocks in the cache; 0: enough for max_sequences full contexts
  int tensor_parallel = 1;
  int pipeline_parallel = 1;
};

// Bytes a card moved to and from host memory for other cards.
struct CardTraffic {
  std::atomic<uint64_t> all_reduce_bytes{0};  // partial sums, read and written
  std::atomic<uint64_t> pipeline_bytes{0};    // activations handed between stages
};

// Not thread-safe: one caller (the generator or scheduler thread) drives it. The cards and
// the model file must outlive it.
class LlamaProgram {
 public:
  // Plans the shards of `options.tensor_parallel` x `options.pipeline_parallel` over `cards`
  // (exactly that many, stage-major), uploads each card's weights and allocates its cache and
  // activations. Errors name the card and say what would work.
  static absl::StatusOr<std::unique_ptr<LlamaProgram>> Create(const ModelFile& model,
                                                              std::vector<DeviceWorker*> cards,
                                                              ProgramOptions options);
  // The whole model on one card.
  static absl::StatusOr<std::unique_ptr<LlamaProgram>> Create(const ModelFile& model,
                                                              DeviceWorker& card,
                                                              ProgramOptions options);

  // The sizes every card's buffers are allocated for.
  static StepShape ShapeFor(const ModelConfig& config, const ProgramOptions& options);

  const ModelConfig& config() const { return config_; }
  const ProgramOptions& options() const { return options_; }
  const ShardPlan& plan() const { return plan_; }
  // Blocks in each card's KV cache (options.kv_blocks, or the default it resolved to).
  int kv_blocks() const { return shape_.kv_rows / options_.kv_block_size; }
  const CardTraffic& traffic(int card) const { return *traffic_[card]; }
  // The cards' programs, stage-major like plan().cards (for KV transfers).
  int num_cards() const { return static_cast<int>(cards_.size()); }
  CardProgram& card_program(int card) { return *cards_[card]; }

  // Runs one step. Returns the next-token logits of batch.logit_tokens, in that order:
  // [logit_tokens.size(), vocab_size].
  absl::StatusOr<std::vector<float>> Forward(const Batch& batch);

  // Forward in two halves, so a caller can keep other cards busy meanwhile: Submit queues the
  // step on the cards and returns; Collect waits for it and returns its logits. Every Submit
  // is followed by one Collect before the next Submit. With pipeline stages, the step's
  // sequences are split into micro-batches that flow through the stages one behind another.
  absl::Status Submit(const Batch& batch);
  absl::StatusOr<std::vector<float>> Collect();
  // True when every card has finished what was submitted, so Collect would not wait.
  bool Ready() const;
  // Calls `callback` on a card's worker thread whenever that card runs out of work (see
  // DeviceWorker::OnIdle).
  void OnCardIdle(const std::function<void()>& callback);

 private:
  // The logits a submitted step will deliver, and where each row comes from.
  struct PendingStep {
    int n_logits = 0;
    std::vector<std::pair<int, int>> rows;          // global row -> (micro-batch, local row)
    std::vector<std::vector<HostFloats>> logits;    // [micro-batch][rank]
  };

  LlamaProgram(const ModelConfig& config, ProgramOptions options, ShardPlan plan);
  absl::Status CheckBatch(const Batch& batch) const;
  // Splits a batch at sequence boundaries into up to `parts` micro-batches of similar size.
  std::vector<Batch> MicroBatches(const Batch& batch, int parts, PendingStep& pending) const;
  void EnqueueMicroBatch(const Batch& batch, std::vector<HostFloats>& logits);
  CardProgram& card(int stage, int rank) {
    return *cards_[stage * plan_.tensor_parallel + rank];
  }

  const ModelConfig config_;
  const ProgramOptions options_;
  const ShardPlan plan_;
  StepShape shape_;
  std::vector<std::unique_ptr<CardProgram>> cards_;   // stage-major, like plan_.cards
  std::vector<std::unique_ptr<CardTraffic>> traffic_;
  PendingStep pending_;
};

}  // namespace fabric

#endif  // FABRIC_MODEL_LLAMA_PROGRAM_H_
