#include "model/card_program.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/formats.h"
#include "kernels/kernel_signatures.h"

namespace fabric {
namespace {


std::span<uint8_t> FloatBytes(std::vector<float>& values, size_t count) {
  return {reinterpret_cast<uint8_t*>(values.data()), count * sizeof(float)};
}

// Q8_0 copies of activations exist only for widths that are whole blocks.
int64_t Q8Bytes(int64_t rows, int64_t width) {
  return rows * std::max<int64_t>(width / kQ8BlockSize * sizeof(BlockQ8_0), 1);
}

}  // namespace

CardProgram::CardProgram(const ModelConfig& config, const CardShard& shard, int tensor_parallel,
                         const StepShape& shape, DeviceWorker& worker)
    : config_(config),
      shard_(shard),
      tensor_parallel_(tensor_parallel),
      shape_(shape),
      worker_(worker),
      q_dim_(shard.q_heads.size() * config.head_dim()),
      kv_dim_(shard.kv_heads.size() * config.head_dim()),
      hidden_dim_(shard.hidden.size()) {}

absl::StatusOr<std::unique_ptr<CardProgram>> CardProgram::Create(const ModelFile& model,
                                                                 const CardShard& shard,
                                                                 int tensor_parallel,
                                                                 const StepShape& shape,
                                                                 DeviceWorker& worker) {
  auto card = std::unique_ptr<CardProgram>(
      new CardProgram(model.config(), shard, tensor_parallel, shape, worker));
  ASSIGN_OR_RETURN(card->weights_, UploadWeights(model, shard, worker));
  RETURN_IF_ERROR(card->AllocateBuffers());
  return card;
}

absl::Status CardProgram::AllocateBuffers() {
  const int64_t t = shape_.max_tokens, dim = config_.dim, f = sizeof(float), i = sizeof(int32_t);
  const int64_t logits = shape_.max_logits;
  auto allocate = [&](int64_t bytes, MemoryKind kind) {
    return worker_.Allocate(static_cast<size_t>(std::max<int64_t>(bytes, 1)), "", kind);
  };
  constexpr MemoryKind kAct = MemoryKind::kActivations;
  ASSIGN_OR_RETURN(act_.x, allocate(t * dim * f, kAct));
  ASSIGN_OR_RETURN(act_.normed, allocate(t * dim * f, kAct));
  ASSIGN_OR_RETURN(act_.normed_q8, allocate(Q8Bytes(t, dim), kAct));
  ASSIGN_OR_RETURN(act_.q, allocate(t * q_dim_ * f, kAct));
  ASSIGN_OR_RETURN(act_.k, allocate(t * kv_dim_ * f, kAct));
  ASSIGN_OR_RETURN(act_.v, allocate(t * kv_dim_ * f, kAct));
  ASSIGN_OR_RETURN(act_.attended, allocate(t * q_dim_ * f, kAct));
  ASSIGN_OR_RETURN(act_.attended_q8, allocate(Q8Bytes(t, q_dim_), kAct));
  ASSIGN_OR_RETURN(act_.projected, allocate(t * dim * f, kAct));
  if (tensor_parallel_ > 1) {
    ASSIGN_OR_RETURN(act_.partials, allocate(tensor_parallel_ * t * dim * f, kAct));
  }
  ASSIGN_OR_RETURN(act_.gate, allocate(t * hidden_dim_ * f, kAct));
  ASSIGN_OR_RETURN(act_.up, allocate(t * hidden_dim_ * f, kAct));
  ASSIGN_OR_RETURN(act_.hidden, allocate(t * hidden_dim_ * f, kAct));
  ASSIGN_OR_RETURN(act_.hidden_q8, allocate(Q8Bytes(t, hidden_dim_), kAct));
  if (shard_.classifier) {
    ASSIGN_OR_RETURN(act_.logits_in, allocate(logits * dim * f, kAct));
    ASSIGN_OR_RETURN(act_.logits_in_normed, allocate(logits * dim * f, kAct));
    ASSIGN_OR_RETURN(act_.logits_in_q8, allocate(Q8Bytes(logits, dim), kAct));
    ASSIGN_OR_RETURN(act_.logits, allocate(logits * shard_.vocab.size() * f, kAct));
  }
  const BatchLayout layout = BatchLayout::For(shape_);
  ASSIGN_OR_RETURN(act_.batch, allocate(int64_t{layout.capacity} * i, kAct));
  auto field = [&](int offset) { return BufferRef{act_.batch, size_t(offset) * i}; };
  act_.tokens = field(layout.tokens);
  act_.positions = field(layout.positions);
  act_.sequences = field(layout.sequences);
  act_.slots = field(layout.slots);
  act_.logit_rows = field(layout.logit_rows);
  act_.block_tables = field(layout.block_tables);
  // A key and a value buffer per layer, not one for the shard: on a card each buffer lives in
  // one memory bank (an HBM pseudo-channel of 256 MiB on a U280), so per-layer buffers let the
  // cache spread over the KV channels and grow with them.
  const int64_t cache_bytes = int64_t{shape_.kv_rows} * kv_dim_ * f;
  for (int layer = 0; layer < shard_.layers.size(); ++layer) {
    ASSIGN_OR_RETURN(k_caches_.emplace_back(), allocate(cache_bytes, MemoryKind::kKvCache));
    ASSIGN_OR_RETURN(v_caches_.emplace_back(), allocate(cache_bytes, MemoryKind::kKvCache));
  }
  return absl::OkStatus();
}

BatchLayout BatchLayout::For(const StepShape& shape) {
  BatchLayout layout;
  // Regions start 64 bytes apart at least, the alignment card DMA (and XRT sub-buffers) want.
  constexpr int kAlignInts = 64 / sizeof(int);
  int next = 0;
  auto region = [&next](int ints) {
    return std::exchange(next, next + (ints + kAlignInts - 1) / kAlignInts * kAlignInts);
  };
  layout.tokens = region(shape.max_tokens);
  layout.positions = region(shape.max_tokens);
  layout.sequences = region(shape.max_tokens);
  layout.slots = region(shape.max_tokens);
  layout.logit_rows = region(shape.max_logits);
  layout.block_tables = region(shape.max_sequences * shape.max_blocks_per_sequence);
  layout.capacity = next;
  return layout;
}

std::shared_ptr<const BatchMetadata> EncodeBatch(const Batch& batch, const StepShape& shape) {
  const BatchLayout layout = BatchLayout::For(shape);
  const int max_blocks = shape.max_blocks_per_sequence;
  auto encoded = std::make_shared<BatchMetadata>();
  std::vector<int>& words = encoded->words;
  words.assign(layout.block_tables + batch.block_tables.size() * max_blocks, 0);
  std::copy(batch.tokens.begin(), batch.tokens.end(), words.begin() + layout.tokens);
  std::copy(batch.positions.begin(), batch.positions.end(), words.begin() + layout.positions);
  std::copy(batch.sequences.begin(), batch.sequences.end(), words.begin() + layout.sequences);
  std::copy(batch.logit_tokens.begin(), batch.logit_tokens.end(),
            words.begin() + layout.logit_rows);
  const int block_size = shape.block_size;
  for (int t = 0; t < batch.size(); ++t) {
    const std::vector<int>& table = batch.block_tables[batch.sequences[t]];
    const int position = batch.positions[t];
    words[layout.slots + t] = table[position / block_size] * block_size + position % block_size;
  }
  for (size_t s = 0; s < batch.block_tables.size(); ++s) {
    const std::vector<int>& table = batch.block_tables[s];
    std::copy_n(table.begin(), std::min<size_t>(table.size(), max_blocks),
                words.begin() + layout.block_tables + s * max_blocks);
  }
  return encoded;
}

void CardProgram::UploadBatch(std::shared_ptr<const BatchMetadata> batch) {
  // The encoded batch is shared by the instance's cards and kept alive by this command.
  worker_.Enqueue([this, batch](Device& device) {
    return device.Write(act_.batch, 0,
                        {reinterpret_cast<const uint8_t*>(batch->words.data()),
                         batch->words.size() * sizeof(int)});
  });
}

void CardProgram::Launch(const char* kernel, std::vector<KernelArg> args) {
  worker_.Launch(kernel, std::move(args));
}

void CardProgram::Embed(int n_tokens) {
  const CardTensor& table = weights_.embedding;
  Launch(table.type == TensorType::kQ8_0 ? "gather_q8_0" : "gather_f32",
         {BufferRef{table.buffer}, act_.tokens, BufferRef{act_.x}, config_.dim, 0,
          n_tokens});
}

void CardProgram::WriteActivations(HostFloats x, int n_tokens) {
  worker_.Enqueue([this, x, n_tokens](Device& device) {
    return device.Write(act_.x, 0, FloatBytes(*x, size_t(n_tokens) * config_.dim));
  });
}

void CardProgram::ReadActivations(HostFloats x, int n_tokens) {
  worker_.Enqueue([this, x, n_tokens](Device& device) {
    x->resize(size_t(n_tokens) * config_.dim);
    return device.Read(act_.x, 0, FloatBytes(*x, x->size()));
  });
}

void CardProgram::Product(const CardTensor& w, Input& in, BufferId out, int n_tokens) {
  const int32_t n = n_tokens, n_in = w.row_len, n_out = w.rows;
  const bool q8 = w.type == TensorType::kQ8_0;
  if (q8 && !in.quantized) {
    Launch("quantize_q8_0", {BufferRef{in.f32}, BufferRef{in.q8}, n_in, 0, n});
    in.quantized = true;
  }
  // Decode steps take the matrix-vector kernels (weights streamed once for a few vectors),
  // prefill the matrix-matrix ones; a card whose bitstream has only one kind uses it for
  // both. Both compute bit-identical rows.
  const char* vector_kernel = q8 ? "matvec_q8_0" : "matvec_f32";
  const char* matrix_kernel = q8 ? "matmul_q8_0" : "matmul_f32";
  const bool use_vector = decode_ ? Offers(vector_kernel) : !Offers(matrix_kernel);
  Launch(use_vector ? vector_kernel : matrix_kernel,
         {BufferRef{w.buffer}, BufferRef{q8 ? in.q8 : in.f32}, BufferRef{out}, n, n_in, n_out, 0,
          n_out});
}

bool CardProgram::Offers(const char* kernel) const {
  const std::vector<std::string>& kernels = worker_.info().kernels;
  return std::find(kernels.begin(), kernels.end(), kernel) != kernels.end();
}

void CardProgram::SetPhase(bool decode) { decode_ = decode; }

void CardProgram::Layer(int layer, int n_tokens, const std::function<void()>& reduce) {
  const int index = layer - shard_.layers.begin;
  const CardLayer& w = weights_.layers[index];
  const int32_t n = n_tokens, dim = config_.dim, head_dim = config_.head_dim();
  const BufferRef k_cache{k_caches_[index]}, v_cache{v_caches_[index]};
  if (decode_ && UseFusedDecode(w, n)) return FusedDecodeLayer(w, k_cache, v_cache, n, reduce);

  // Attention over this card's heads. x: [T, dim] -> q: [T, q_dim], k, v: [T, kv_dim]
  Launch("rmsnorm", {BufferRef{act_.x}, BufferRef{w.attn_norm.buffer}, BufferRef{act_.normed},
                     dim, config_.rms_norm_eps, 0, n});
  Input normed{act_.normed, act_.normed_q8, dim};
  Product(w.wq, normed, act_.q, n);
  Product(w.wk, normed, act_.k, n);
  Product(w.wv, normed, act_.v, n);
  Launch("rope", {BufferRef{act_.q}, BufferRef{act_.k}, act_.positions, q_dim_,
                  kv_dim_, head_dim, config_.rope_theta, 0, n});
  Launch("kv_store", {BufferRef{act_.k}, BufferRef{act_.v}, k_cache, v_cache,
                      act_.slots, kv_dim_, 0, n});
  const int32_t heads = shard_.q_heads.size();
  Launch("attention", {BufferRef{act_.q}, k_cache, v_cache, act_.block_tables,
                       act_.sequences, act_.positions,
                       BufferRef{act_.attended}, heads, shard_.kv_heads.size(), head_dim,
                       shape_.block_size, shape_.max_blocks_per_sequence, 0, n * heads});
  // projected: [T, dim], this card's part of the output projection
  Input attended{act_.attended, act_.attended_q8, q_dim_};
  Product(w.wo, attended, act_.projected, n);
  reduce();

  // Feed-forward (SwiGLU) over this card's columns. gate, up, hidden: [T, hidden slice]
  Launch("rmsnorm", {BufferRef{act_.x}, BufferRef{w.ffn_norm.buffer}, BufferRef{act_.normed},
                     dim, config_.rms_norm_eps, 0, n});
  Input ffn_in{act_.normed, act_.normed_q8, dim};
  Product(w.w_gate, ffn_in, act_.gate, n);
  Product(w.w_up, ffn_in, act_.up, n);
  Launch("swiglu", {BufferRef{act_.gate}, BufferRef{act_.up}, BufferRef{act_.hidden}, 0,
                    n * hidden_dim_});
  Input hidden{act_.hidden, act_.hidden_q8, hidden_dim_};
  Product(w.w_down, hidden, act_.projected, n);
  reduce();
}

bool CardProgram::UseFusedDecode(const CardLayer& w, int n_tokens) const {
  const TensorType type = w.wq.type;
  for (const CardTensor* t : {&w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down}) {
    if (t->type != type) return false;
  }
  const bool q8 = type == TensorType::kQ8_0;
  // Taken only where it streams the layer's weights no more often than the per-operator
  // kernels, which split a launch by weight rows and stream them once per kMaxDecodeTokens
  // tokens: the fused kernels split by tokens (each unit streams every weight) and stream
  // them once per kFusedDecodeTokens.
  return Offers(q8 ? "decode_attention_q8_0" : "decode_attention_f32") &&
         Offers(q8 ? "decode_ffn_q8_0" : "decode_ffn_f32") &&
         FitsFusedDecode(config_.dim, q_dim_, kv_dim_, hidden_dim_) &&
         worker_.info().compute_units == 1 && n_tokens <= kFusedDecodeTokens;
}

void CardProgram::FusedDecodeLayer(const CardLayer& w, BufferRef k_cache, BufferRef v_cache,
                                   int n_tokens, const std::function<void()>& reduce) {
  const int32_t n = n_tokens, dim = config_.dim;
  const bool q8 = w.wq.type == TensorType::kQ8_0;
  // A card holding whole layers adds each half's output to x on chip; a tensor-parallel
  // slice writes its partial for the all-reduce.
  const int32_t residual = tensor_parallel_ == 1;
  Launch(q8 ? "decode_attention_q8_0" : "decode_attention_f32",
         {BufferRef{act_.x}, BufferRef{w.attn_norm.buffer}, BufferRef{w.wq.buffer},
          BufferRef{w.wk.buffer}, BufferRef{w.wv.buffer}, BufferRef{w.wo.buffer}, k_cache,
          v_cache, act_.block_tables, act_.sequences,
          act_.positions, act_.slots, BufferRef{act_.projected}, dim,
          static_cast<int32_t>(shard_.q_heads.size()),
          static_cast<int32_t>(shard_.kv_heads.size()), config_.head_dim(),
          config_.rms_norm_eps, config_.rope_theta, shape_.block_size,
          shape_.max_blocks_per_sequence, residual, 0, n});
  if (!residual) reduce();
  Launch(q8 ? "decode_ffn_q8_0" : "decode_ffn_f32",
         {BufferRef{act_.x}, BufferRef{w.ffn_norm.buffer}, BufferRef{w.w_gate.buffer},
          BufferRef{w.w_up.buffer}, BufferRef{w.w_down.buffer}, BufferRef{act_.projected}, dim,
          hidden_dim_, config_.rms_norm_eps, residual, 0, n});
  if (!residual) reduce();
}

void CardProgram::AddOwnPartial(int n_tokens) {
  Launch("residual_add", {BufferRef{act_.x}, BufferRef{act_.projected}, 0, n_tokens * config_.dim});
}

AllReduceMember CardProgram::ReductionMember() {
  const size_t slot_bytes = size_t(shape_.max_tokens) * config_.dim * sizeof(float);
  return {&worker_, BufferRef{act_.projected}, BufferRef{act_.partials}, slot_bytes,
          BufferRef{act_.x}};
}

void CardProgram::ReadKvBlock(int layer, int block, HostFloats keys, HostFloats values) {
  const size_t floats = size_t(shape_.block_size) * kv_dim_;
  const size_t offset = size_t(block) * floats * sizeof(float);  // caches: [kv_rows, kv_dim]
  const BufferId k_cache = k_caches_[layer - shard_.layers.begin];
  const BufferId v_cache = v_caches_[layer - shard_.layers.begin];
  worker_.Enqueue([keys, values, floats, offset, k_cache, v_cache](Device& device) {
    keys->resize(floats);
    values->resize(floats);
    if (absl::Status s = device.Read(k_cache, offset, FloatBytes(*keys, floats)); !s.ok()) {
      return s;
    }
    return device.Read(v_cache, offset, FloatBytes(*values, floats));
  });
}

void CardProgram::WriteKvBlock(int layer, int block, HostFloats keys, HostFloats values) {
  const size_t floats = size_t(shape_.block_size) * kv_dim_;
  const size_t offset = size_t(block) * floats * sizeof(float);
  const BufferId k_cache = k_caches_[layer - shard_.layers.begin];
  const BufferId v_cache = v_caches_[layer - shard_.layers.begin];
  worker_.Enqueue([keys, values, floats, offset, k_cache, v_cache](Device& device) {
    if (absl::Status s = device.Write(k_cache, offset, FloatBytes(*keys, floats)); !s.ok()) {
      return s;
    }
    return device.Write(v_cache, offset, FloatBytes(*values, floats));
  });
}

void CardProgram::Classify(int n_logits, HostFloats logits) {
  const int32_t n = n_logits, dim = config_.dim;
  // Only the rows whose logits are wanted go through the final norm and the classifier.
  Launch("gather_f32", {BufferRef{act_.x}, act_.logit_rows, BufferRef{act_.logits_in},
                        dim, 0, n});
  Launch("rmsnorm", {BufferRef{act_.logits_in}, BufferRef{weights_.output_norm.buffer},
                     BufferRef{act_.logits_in_normed}, dim, config_.rms_norm_eps, 0, n});
  Input final_in{act_.logits_in_normed, act_.logits_in_q8, dim};
  Product(weights_.classifier, final_in, act_.logits, n);
  const size_t floats = size_t(n) * shard_.vocab.size();
  worker_.Enqueue([this, logits, floats](Device& device) {
    logits->resize(floats);
    return device.Read(act_.logits, 0, FloatBytes(*logits, floats));
  });
}

}  // namespace fabric
