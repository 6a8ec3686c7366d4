// Reads llama-architecture models from GGUF files.
#ifndef FABRIC_MODEL_GGUF_READER_H_
#define FABRIC_MODEL_GGUF_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/mapped_file.h"
#include "model/model_config.h"
#include "model/model_file.h"

namespace fabric {

// Reads a llama-architecture GGUF model (F32, F16 and Q8_0 tensors) from `mapping`; the
// tensors then point into it. Checks the config, the vocabulary, every tensor's type and
// bounds, and every expected tensor's presence and shape. Errors name the mapped file.
absl::StatusOr<std::unique_ptr<ModelFile>> ReadGgufModel(std::unique_ptr<MappedFile> mapping);

// Checks the invariants every reader relies on: positive sizes, heads dividing dim, kv heads
// dividing heads, an even head_dim (RoPE rotates pairs). Errors name `path`.
absl::Status ValidateLlamaConfig(const std::string& path, const ModelConfig& config);

// A tensor a llama model must have, with its shape in GGUF order.
struct LlamaTensorShape {
  std::string name;
  std::vector<int64_t> shape;
};

// Every tensor of a llama model with `config`: the embedding, per layer the attention and FFN
// weights, the final norm and, when `with_output` (an untied classifier), the output matrix.
std::vector<LlamaTensorShape> LlamaTensorShapes(const ModelConfig& config, bool with_output);

}  // namespace fabric

#endif  // FABRIC_MODEL_GGUF_READER_H_
