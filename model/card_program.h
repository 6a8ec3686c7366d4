// One card's part of the Llama forward pass: its shard's layers as kernel launches, its KV
// cache and its activations. The LlamaProgram drives several of these and does what crosses
// cards (all-reduces, pipeline hand-offs).
#ifndef FABRIC_MODEL_CARD_PROGRAM_H_
#define FABRIC_MODEL_CARD_PROGRAM_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "device/all_reduce.h"
#include "device/device_worker.h"
#include "model/batch.h"
#include "model/card_weights.h"
#include "model/model_config.h"
#include "model/model_file.h"
#include "model/shard_plan.h"

namespace fabric {

// Sizes every card of a model shares.
struct StepShape {
  int max_tokens = 0;       // most tokens in one (micro-)batch
  int max_sequences = 0;
  int max_logits = 0;       // most next-token rows one batch asks for
  int block_size = 0;
  int max_blocks_per_sequence = 0;
  int kv_rows = 0;          // KV-cache rows per layer (blocks * block_size)
};

using HostFloats = std::shared_ptr<std::vector<float>>;

// Where each field of a batch's metadata sits in the one card buffer that holds it, in ints:
// regions sized for the step's limits, the block tables last since their used part varies
// most. One buffer, so a step costs one host-to-card copy per card rather than one a field.
struct BatchLayout {
  int tokens = 0, positions = 0, sequences = 0;
  int slots = 0;         // KV-cache row of each token
  int logit_rows = 0;    // the tokens whose next-token logits the step wants
  int block_tables = 0;  // [sequences, max_blocks_per_sequence]
  int capacity = 0;      // ints in all
  static BatchLayout For(const StepShape& shape);
};

// A batch's token metadata as the kernels read it, laid out by BatchLayout::For(shape) up to
// the last block table used: encoded once per (micro-)batch and written to every card of the
// instance.
struct BatchMetadata {
  std::vector<int> words;
};
std::shared_ptr<const BatchMetadata> EncodeBatch(const Batch& batch, const StepShape& shape);

// Everything here enqueues on the card's worker and returns at once; the buffers a command
// reads or fills must stay alive until the worker is synced. Not thread-safe: one thread
// (the LlamaProgram's caller) enqueues.
class CardProgram {
 public:
  // Uploads the shard's weights and allocates its cache and activations.
  static absl::StatusOr<std::unique_ptr<CardProgram>> Create(const ModelFile& model,
                                                             const CardShard& shard,
                                                             int tensor_parallel,
                                                             const StepShape& shape,
                                                             DeviceWorker& worker);

  DeviceWorker& worker() { return worker_; }
  const CardShard& shard() const { return shard_; }

  // Token ids, positions, cache slots and block tables of a batch (what every layer needs).
  void UploadBatch(std::shared_ptr<const BatchMetadata> batch);
  // Whether the batches that follow are decode steps (one token of each sequence), which
  // take the matrix-vector kernels, or prefill, which takes the matrix-matrix ones.
  void SetPhase(bool decode);
  // x = embedding rows of the batch's tokens (first stage).
  void Embed(int n_tokens);
  // x from / to host memory (pipeline hand-offs). x: [n_tokens, dim]
  void WriteActivations(HostFloats x, int n_tokens);
  void ReadActivations(HostFloats x, int n_tokens);

  // Runs layer `layer` (a model layer index of this shard) on the batch. Where the layer's
  // partial products must be summed across the tensor-parallel group (after the attention
  // output and after the FFN), it calls `reduce()`, which must enqueue what leaves
  // x += (sum of every card's partial). A decode step on a card that holds whole layers may
  // run the fused decode layer, which adds to x on chip and calls no `reduce()`.
  void Layer(int layer, int n_tokens, const std::function<void()>& reduce);

  // x += own partial, when no other card holds a part of the layer.
  void AddOwnPartial(int n_tokens);
  // This card's buffers in an all-reduce of the partials into x.
  AllReduceMember ReductionMember();

  // One KV-cache block of layer `layer` (a model layer index of this shard): block_size rows
  // of this card's key/value width each, to or from host memory (KV transfers between groups).
  void ReadKvBlock(int layer, int block, HostFloats keys, HostFloats values);
  void WriteKvBlock(int layer, int block, HostFloats keys, HostFloats values);
  int kv_width() const { return kv_dim_; }

  // Next-token logits of the batch's logit rows for this card's vocabulary slice (last
  // stage): final norm, classifier, read into `logits`: [n_logits, vocab slice].
  void Classify(int n_logits, HostFloats logits);

 private:
  struct Activations {
    BufferId x, normed, normed_q8, q, k, v, attended, attended_q8, projected, partials;
    BufferId gate, up, hidden, hidden_q8, logits_in, logits_in_normed, logits_in_q8, logits;
    BufferId batch;  // the batch's metadata, laid out by BatchLayout
    BufferRef tokens, positions, sequences, slots, block_tables, logit_rows;  // into `batch`
  };
  // A per-row input to a weight product: its F32 rows and, once quantized, its Q8_0 rows.
  struct Input {
    BufferId f32;
    BufferId q8;
    int row_len;
    bool quantized = false;
  };

  CardProgram(const ModelConfig& config, const CardShard& shard, int tensor_parallel,
              const StepShape& shape, DeviceWorker& worker);
  absl::Status AllocateBuffers();
  // out[t, :] = w · in[t, :] for tokens t < n_tokens, choosing the kernel for w's type.
  void Product(const CardTensor& w, Input& in, BufferId out, int n_tokens);
  void Launch(const char* kernel, std::vector<KernelArg> args);
  // Whether a decode step of n_tokens runs layer `w` as the fused decode layer.
  bool UseFusedDecode(const CardLayer& w, int n_tokens) const;
  // The layer as the two fused decode kernels (attention half, FFN half).
  void FusedDecodeLayer(const CardLayer& w, BufferRef k_cache, BufferRef v_cache, int n_tokens,
                        const std::function<void()>& reduce);
  // Whether the card's bitstream has `kernel`.
  bool Offers(const char* kernel) const;

  const ModelConfig config_;
  const CardShard shard_;
  const int tensor_parallel_;
  const StepShape shape_;
  DeviceWorker& worker_;
  CardWeights weights_;
  Activations act_{};
  // Per shard layer: [kv_rows, local kv_dim]
  std::vector<BufferId> k_caches_, v_caches_;
  int q_dim_ = 0;       // local query width: q heads * head_dim
  int kv_dim_ = 0;      // local key/value width
  int hidden_dim_ = 0;  // local FFN columns
  bool decode_ = false;
};

}  // namespace fabric

#endif  // FABRIC_MODEL_CARD_PROGRAM_H_
