// A named weight tensor: a typed view into a model file's memory mapping.
#ifndef FABRIC_MODEL_TENSOR_H_
#define FABRIC_MODEL_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace fabric {

// Element types Fabric loads. Values match GGUF's ggml_type numbering.
enum class TensorType : uint32_t { kF32 = 0, kF16 = 1, kQ8_0 = 8 };

std::string_view TensorTypeName(TensorType type);
// Bytes of `elements` values of `type`; elements must be a multiple of the type's block size.
size_t TensorBytes(TensorType type, int64_t elements);
// Values per storage block (32 for Q8_0, else 1).
int64_t TensorBlockSize(TensorType type);

struct Tensor {
  std::string name;
  TensorType type = TensorType::kF32;
  // GGUF order: shape[0] is the contiguous row length (inputs of a weight matrix),
  // shape[1] the number of rows (outputs).
  std::vector<int64_t> shape;
  std::span<const uint8_t> data;  // into the owning ModelFile's mapping

  int64_t elements() const;
  int64_t row_len() const { return shape.empty() ? 0 : shape[0]; }
  int64_t rows() const { return row_len() == 0 ? 0 : elements() / row_len(); }
};

// Decodes rows [first_row, first_row + rows) of `tensor` into `out`, which must hold exactly
// rows * row_len floats.
absl::Status DequantizeRows(const Tensor& tensor, int64_t first_row, int64_t rows,
                            std::span<float> out);

// Canonical tensor names (GGUF's llama naming), used for every source format.
namespace tensor_names {
inline constexpr std::string_view kTokenEmbedding = "token_embd.weight";
inline constexpr std::string_view kOutputNorm = "output_norm.weight";
inline constexpr std::string_view kOutput = "output.weight";  // absent when tied to the embedding
// Per-layer names: "blk.<layer>.<suffix>".
std::string Layer(int layer, std::string_view suffix);
inline constexpr std::string_view kAttnNorm = "attn_norm.weight";
inline constexpr std::string_view kAttnQ = "attn_q.weight";
inline constexpr std::string_view kAttnK = "attn_k.weight";
inline constexpr std::string_view kAttnV = "attn_v.weight";
inline constexpr std::string_view kAttnOutput = "attn_output.weight";
inline constexpr std::string_view kFfnNorm = "ffn_norm.weight";
inline constexpr std::string_view kFfnGate = "ffn_gate.weight";  // w1
inline constexpr std::string_view kFfnDown = "ffn_down.weight";  // w2
inline constexpr std::string_view kFfnUp = "ffn_up.weight";      // w3
}  // namespace tensor_names

}  // namespace fabric

#endif  // FABRIC_MODEL_TENSOR_H_
