// The shape of a decoder-only transformer as the performance model sees it: widths, counts,
// the FFN kind, precisions and structured sparsity. Independent of any weight file: the
// caller converts a loaded model's config (server/plan_command.cc does).
#ifndef FABRIC_PLANNER_MODEL_SHAPE_H_
#define FABRIC_PLANNER_MODEL_SHAPE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fabric::planner {

enum class FfnKind {
  kSwiGlu,  // gate, up and down matrices (Llama)
  kGelu,    // up and down matrices (GPT-2)
};

// N:M structured sparsity: n weights kept in every group of m. An FPGA skips the zeros, so
// multiply-accumulates scale by n/m; each kept weight carries ceil(log2(m)) index bits.
struct Sparsity {
  int n = 0;
  int m = 0;
  bool dense() const { return n <= 0 || m <= 0 || n >= m; }
  double density() const { return dense() ? 1.0 : static_cast<double>(n) / m; }
  int index_bits() const;
};

struct ModelShape {
  std::string name;
  int dim = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int ffn_dim = 0;
  int vocab_size = 0;
  int context_length = 0;  // longest sequence the model was trained for
  FfnKind ffn_kind = FfnKind::kSwiGlu;
  bool rotary = true;      // RoPE on queries and keys; GPT-2 adds learned positions instead
  double weight_bits = 16; // stored bits per weight, block scales included (Q8_0: 8.5)
  int activation_bits = 16;  // activations between kernels, as stored in card memory
  int kv_bits = 16;          // the KV cache
  int compute_bits = 16;     // operand width of the multiply-accumulates (8: integer kernels)
  Sparsity sparsity = {};    // of the layer matrices (not the embedding or classifier)

  int head_dim() const { return dim / n_heads; }
  int kv_dim() const { return n_kv_heads * head_dim(); }
  int ffn_matrices() const { return ffn_kind == FfnKind::kSwiGlu ? 3 : 2; }
  // Weights of one layer's matrices: Q, K, V, output projection and the FFN, dense count.
  double LayerParameters() const;
  // Bytes those weights take stored, sparsity and its indices included.
  double LayerWeightBytes() const;
  // Bytes of a vocab x dim table (the embedding, the classifier) at weight_bits, dense.
  double TableBytes() const;
  // All weights, dense count: layers, embedding and classifier (counted once when tied).
  double Parameters(bool tied) const;
};

// Published shapes, FP16 weights and activations: llama2-7b, llama2-13b, tinyllama-1.1b,
// gpt2-medium (345M), gpt2-xl (1.5B), stories15m, stories110m.
std::vector<std::string> ShapeNames();
absl::StatusOr<ModelShape> NamedShape(std::string_view name);

// Sets the precision fields from a named preset:
//   fp16  16-bit weights, activations and KV cache, FP16 arithmetic
//   f32   Fabric's float kernels: everything 32-bit
//   q8_0  Fabric's quantized kernels: Q8_0 weights (8.5 bits), f32 activations and KV cache,
//         INT8 arithmetic on activations quantized on the fly
//   int4  4-bit weights with block scales (4.5 bits), FP16 activations and KV, INT8 arithmetic
absl::Status ApplyPrecision(std::string_view preset, ModelShape* shape);
std::vector<std::string> PrecisionNames();

// Widths positive, heads dividing the model width, key/value heads dividing the query heads,
// precisions positive. InvalidArgument names the first problem.
absl::Status ValidateShape(const ModelShape& shape);

}  // namespace fabric::planner

#endif  // FABRIC_PLANNER_MODEL_SHAPE_H_
