#include "model/llama_program.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/formats.h"
#include "kernels/kernel_signatures.h"

namespace fabric {
namespace {

template <typename T>
std::vector<uint8_t> AsBytes(const std::vector<T>& values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

size_t Q8Bytes(int64_t elements) { return elements / kQ8BlockSize * sizeof(BlockQ8_0); }

}  // namespace

absl::StatusOr<std::unique_ptr<LlamaProgram>> LlamaProgram::Create(const ModelFile& model,
                                                                   DeviceWorker& worker,
                                                                   ProgramOptions options) {
  const ModelConfig& config = model.config();
  if (config.context_length > kMaxAttentionContext) {
    return absl::InvalidArgumentError(absl::StrCat(
        model.path(), ": context length ", config.context_length,
        " exceeds the attention kernel's limit of ", kMaxAttentionContext));
  }
  if (options.max_batch_tokens < 1 || options.max_sequences < 1 || options.kv_block_size < 1) {
    return absl::InvalidArgumentError("batch limits and KV block size must be positive");
  }
  auto program = std::unique_ptr<LlamaProgram>(new LlamaProgram(config, options, worker));
  ASSIGN_OR_RETURN(program->weights_, UploadWeights(model, worker));
  RETURN_IF_ERROR(program->AllocateBuffers());
  return program;
}

absl::Status LlamaProgram::AllocateBuffers() {
  const int64_t t = options_.max_batch_tokens;
  const int64_t dim = config_.dim, hidden = config_.hidden_dim, kv_dim = config_.kv_dim();
  const int64_t logits_rows = std::min(options_.max_batch_tokens, options_.max_sequences);
  max_blocks_per_sequence_ =
      (config_.context_length + options_.kv_block_size - 1) / options_.kv_block_size;
  const int64_t blocks = options_.kv_blocks > 0
                             ? options_.kv_blocks
                             : int64_t{max_blocks_per_sequence_} * options_.max_sequences;
  kv_rows_ = static_cast<int>(blocks * options_.kv_block_size);

  auto allocate = [&](int64_t bytes, MemoryKind kind) {
    return worker_.Allocate(static_cast<size_t>(bytes), "", kind);
  };
  constexpr MemoryKind kAct = MemoryKind::kActivations;
  constexpr int64_t f = sizeof(float), i = sizeof(int32_t);
  // Q8_0 copies exist only for widths that are whole blocks; other widths keep F32 weights.
  auto q8 = [](int64_t rows, int64_t width) { return rows * std::max<int64_t>(Q8Bytes(width), 1); };
  ASSIGN_OR_RETURN(act_.x, allocate(t * dim * f, kAct));
  ASSIGN_OR_RETURN(act_.normed, allocate(t * dim * f, kAct));
  ASSIGN_OR_RETURN(act_.normed_q8, allocate(q8(t, dim), kAct));
  ASSIGN_OR_RETURN(act_.q, allocate(t * dim * f, kAct));
  ASSIGN_OR_RETURN(act_.k, allocate(t * kv_dim * f, kAct));
  ASSIGN_OR_RETURN(act_.v, allocate(t * kv_dim * f, kAct));
  ASSIGN_OR_RETURN(act_.attended, allocate(t * dim * f, kAct));
  ASSIGN_OR_RETURN(act_.attended_q8, allocate(q8(t, dim), kAct));
  ASSIGN_OR_RETURN(act_.projected, allocate(t * dim * f, kAct));
  ASSIGN_OR_RETURN(act_.gate, allocate(t * hidden * f, kAct));
  ASSIGN_OR_RETURN(act_.up, allocate(t * hidden * f, kAct));
  ASSIGN_OR_RETURN(act_.hidden, allocate(t * hidden * f, kAct));
  ASSIGN_OR_RETURN(act_.hidden_q8, allocate(q8(t, hidden), kAct));
  ASSIGN_OR_RETURN(act_.logits_in, allocate(logits_rows * dim * f, kAct));
  ASSIGN_OR_RETURN(act_.logits_in_normed, allocate(logits_rows * dim * f, kAct));
  ASSIGN_OR_RETURN(act_.logits_in_q8, allocate(q8(logits_rows, dim), kAct));
  ASSIGN_OR_RETURN(act_.logits, allocate(logits_rows * config_.vocab_size * f, kAct));
  ASSIGN_OR_RETURN(act_.tokens, allocate(t * i, kAct));
  ASSIGN_OR_RETURN(act_.positions, allocate(t * i, kAct));
  ASSIGN_OR_RETURN(act_.sequences, allocate(t * i, kAct));
  ASSIGN_OR_RETURN(act_.slots, allocate(t * i, kAct));
  ASSIGN_OR_RETURN(act_.block_tables,
                   allocate(int64_t{options_.max_sequences} * max_blocks_per_sequence_ * i, kAct));
  ASSIGN_OR_RETURN(act_.logit_rows, allocate(logits_rows * i, kAct));
  const int64_t cache_bytes = int64_t{config_.n_layers} * kv_rows_ * kv_dim * f;
  ASSIGN_OR_RETURN(k_cache_, allocate(cache_bytes, MemoryKind::kKvCache));
  ASSIGN_OR_RETURN(v_cache_, allocate(cache_bytes, MemoryKind::kKvCache));
  return absl::OkStatus();
}

absl::Status LlamaProgram::CheckBatch(const Batch& batch) const {
  const int n = batch.size();
  if (n < 1 || n > options_.max_batch_tokens) {
    return absl::InvalidArgumentError(absl::StrCat("a step carries 1 to ",
                                                   options_.max_batch_tokens, " tokens, not ", n));
  }
  if (batch.positions.size() != batch.tokens.size() ||
      batch.sequences.size() != batch.tokens.size()) {
    return absl::InvalidArgumentError("batch tokens, positions and sequences differ in length");
  }
  const int n_sequences = static_cast<int>(batch.block_tables.size());
  if (n_sequences > options_.max_sequences) {
    return absl::InvalidArgumentError(absl::StrCat("a step carries at most ",
                                                   options_.max_sequences, " sequences"));
  }
  if (static_cast<int>(batch.logit_tokens.size()) > std::min(n, options_.max_sequences)) {
    return absl::InvalidArgumentError("too many logit rows requested in one step");
  }
  for (int t = 0; t < n; ++t) {
    const int token = batch.tokens[t], position = batch.positions[t], seq = batch.sequences[t];
    if (token < 0 || token >= config_.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", token, " outside vocabulary"));
    }
    if (position < 0 || position >= config_.context_length) {
      return absl::InvalidArgumentError(absl::StrCat("position ", position, " outside context of ",
                                                     config_.context_length));
    }
    if (seq < 0 || seq >= n_sequences) {
      return absl::InvalidArgumentError(absl::StrCat("token ", t, " names no sequence"));
    }
    const std::vector<int>& table = batch.block_tables[seq];
    const size_t block = position / options_.kv_block_size;
    if (block >= table.size() || table[block] < 0 ||
        table[block] >= kv_rows_ / options_.kv_block_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("position ", position, " of sequence ", seq, " has no KV-cache block"));
    }
  }
  for (int index : batch.logit_tokens) {
    if (index < 0 || index >= n) return absl::InvalidArgumentError("logit row outside batch");
  }
  return absl::OkStatus();
}

void LlamaProgram::UploadBatch(const Batch& batch) {
  std::vector<int> slots(batch.size());
  for (int t = 0; t < batch.size(); ++t) {
    const std::vector<int>& table = batch.block_tables[batch.sequences[t]];
    const int position = batch.positions[t];
    slots[t] = table[position / options_.kv_block_size] * options_.kv_block_size +
               position % options_.kv_block_size;
  }
  std::vector<int> tables(batch.block_tables.size() * max_blocks_per_sequence_, 0);
  for (size_t s = 0; s < batch.block_tables.size(); ++s) {
    const std::vector<int>& table = batch.block_tables[s];
    const size_t used = std::min<size_t>(table.size(), max_blocks_per_sequence_);
    std::copy_n(table.begin(), used, tables.begin() + s * max_blocks_per_sequence_);
  }
  worker_.Write(act_.tokens, 0, AsBytes(batch.tokens));
  worker_.Write(act_.positions, 0, AsBytes(batch.positions));
  worker_.Write(act_.sequences, 0, AsBytes(batch.sequences));
  worker_.Write(act_.slots, 0, AsBytes(slots));
  worker_.Write(act_.block_tables, 0, AsBytes(tables));
  if (!batch.logit_tokens.empty()) {
    worker_.Write(act_.logit_rows, 0, AsBytes(batch.logit_tokens));
  }
}

void LlamaProgram::Launch(const char* kernel, std::vector<KernelArg> args) {
  worker_.Launch(kernel, std::move(args));
}

void LlamaProgram::Product(const CardTensor& w, Input& in, BufferId out, int n_tokens) {
  const int32_t n = n_tokens, n_in = w.row_len, n_out = w.rows;
  if (w.type == TensorType::kQ8_0) {
    if (!in.quantized) {
      Launch("quantize_q8_0", {BufferRef{in.f32}, BufferRef{in.q8}, n_in, 0, n});
      in.quantized = true;
    }
    if (n_tokens == 1) {
      Launch("matvec_q8_0", {BufferRef{w.buffer}, BufferRef{in.q8}, BufferRef{out}, n_in, 0,
                             n_out});
    } else {
      Launch("matmul_q8_0", {BufferRef{w.buffer}, BufferRef{in.q8}, BufferRef{out}, n, n_in,
                             n_out, 0, n_out});
    }
  } else if (n_tokens == 1) {
    Launch("matvec_f32", {BufferRef{w.buffer}, BufferRef{in.f32}, BufferRef{out}, n_in, 0,
                          n_out});
  } else {
    Launch("matmul_f32", {BufferRef{w.buffer}, BufferRef{in.f32}, BufferRef{out}, n, n_in,
                          n_out, 0, n_out});
  }
}

void LlamaProgram::Layer(int l, int n_tokens) {
  const CardLayer& w = weights_.layers[l];
  const int32_t n = n_tokens, dim = config_.dim, kv_dim = config_.kv_dim();
  const int32_t head_dim = config_.head_dim();
  const size_t cache_offset = size_t{static_cast<size_t>(l)} * kv_rows_ * kv_dim * sizeof(float);
  const BufferRef k_cache{k_cache_, cache_offset}, v_cache{v_cache_, cache_offset};

  // Attention block. x: [T, dim]
  Launch("rmsnorm", {BufferRef{act_.x}, BufferRef{w.attn_norm.buffer}, BufferRef{act_.normed},
                     dim, config_.rms_norm_eps, 0, n});
  Input normed{act_.normed, act_.normed_q8, dim};
  Product(w.wq, normed, act_.q, n);  // q: [T, dim]
  Product(w.wk, normed, act_.k, n);  // k, v: [T, kv_dim]
  Product(w.wv, normed, act_.v, n);
  Launch("rope", {BufferRef{act_.q}, BufferRef{act_.k}, BufferRef{act_.positions}, dim, kv_dim,
                  head_dim, config_.rope_theta, 0, n});
  Launch("kv_store", {BufferRef{act_.k}, BufferRef{act_.v}, k_cache, v_cache,
                      BufferRef{act_.slots}, kv_dim, 0, n});
  Launch("attention",
         {BufferRef{act_.q}, k_cache, v_cache, BufferRef{act_.block_tables},
          BufferRef{act_.sequences}, BufferRef{act_.positions}, BufferRef{act_.attended},
          config_.n_heads, config_.n_kv_heads, head_dim, options_.kv_block_size,
          max_blocks_per_sequence_, 0, n * config_.n_heads});
  Input attended{act_.attended, act_.attended_q8, dim};
  Product(w.wo, attended, act_.projected, n);
  Launch("residual_add", {BufferRef{act_.x}, BufferRef{act_.projected}, 0, n * dim});

  // Feed-forward block (SwiGLU). gate, up, hidden: [T, hidden_dim]
  Launch("rmsnorm", {BufferRef{act_.x}, BufferRef{w.ffn_norm.buffer}, BufferRef{act_.normed},
                     dim, config_.rms_norm_eps, 0, n});
  Input ffn_in{act_.normed, act_.normed_q8, dim};
  Product(w.w_gate, ffn_in, act_.gate, n);
  Product(w.w_up, ffn_in, act_.up, n);
  Launch("swiglu", {BufferRef{act_.gate}, BufferRef{act_.up}, BufferRef{act_.hidden}, 0,
                    n * config_.hidden_dim});
  Input hidden{act_.hidden, act_.hidden_q8, config_.hidden_dim};
  Product(w.w_down, hidden, act_.projected, n);
  Launch("residual_add", {BufferRef{act_.x}, BufferRef{act_.projected}, 0, n * dim});
}

absl::StatusOr<std::vector<float>> LlamaProgram::Forward(const Batch& batch) {
  RETURN_IF_ERROR(Submit(batch));
  return Collect();
}

absl::Status LlamaProgram::Submit(const Batch& batch) {
  RETURN_IF_ERROR(CheckBatch(batch));
  const int32_t n = batch.size(), dim = config_.dim;
  UploadBatch(batch);
  const CardTensor& embedding = weights_.embedding;
  Launch(embedding.type == TensorType::kQ8_0 ? "gather_q8_0" : "gather_f32",
         {BufferRef{embedding.buffer}, BufferRef{act_.tokens}, BufferRef{act_.x}, dim, 0, n});
  for (int l = 0; l < config_.n_layers; ++l) Layer(l, n);

  const int32_t n_logits = static_cast<int32_t>(batch.logit_tokens.size());
  pending_logits_.assign(size_t{static_cast<size_t>(n_logits)} * config_.vocab_size, 0.0f);
  if (n_logits > 0) {
    // Only the rows whose logits are wanted go through the final norm and the classifier.
    Launch("gather_f32",
           {BufferRef{act_.x}, BufferRef{act_.logit_rows}, BufferRef{act_.logits_in}, dim, 0,
            n_logits});
    Launch("rmsnorm", {BufferRef{act_.logits_in}, BufferRef{weights_.output_norm.buffer},
                       BufferRef{act_.logits_in_normed}, dim, config_.rms_norm_eps, 0, n_logits});
    Input final_in{act_.logits_in_normed, act_.logits_in_q8, dim};
    Product(weights_.output, final_in, act_.logits, n_logits);
    worker_.Read(act_.logits, 0,
                 {reinterpret_cast<uint8_t*>(pending_logits_.data()),
                  pending_logits_.size() * sizeof(float)});
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> LlamaProgram::Collect() {
  RETURN_IF_ERROR(worker_.Sync());
  return std::move(pending_logits_);
}

}  // namespace fabric
