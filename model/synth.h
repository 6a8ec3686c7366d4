// Synthesizes random-weight llama GGUF models of realistic shapes, for tests and benchmarks.
#ifndef FABRIC_MODEL_SYNTH_H_
#define FABRIC_MODEL_SYNTH_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "model/model_config.h"
#include "model/tensor.h"

namespace fabric {

struct SynthOptions {
  // One of SynthShapeNames(): "tiny", "stories260k", "stories15m", "stories110m",
  // "tinyllama-1.1b".
  std::string shape = "tiny";
  std::string tokenizer_path;  // a llama2.c tokenizer file; its size sets vocab_size
  std::string output_path;
  TensorType type = TensorType::kF32;
  uint64_t seed = 1;  // the same seed and options give the same bytes
  std::string name;   // general.name; "synthetic-<shape>" when empty
};

struct SynthReport {
  ModelConfig config;
  // Matrices stored as F32 although another type was asked for (Q8_0 needs rows that are a
  // multiple of 32). The 1-D norm weights are always F32 and not listed.
  std::vector<std::string> kept_f32;
  uint64_t bytes = 0;  // file size
};

std::vector<std::string> SynthShapeNames();
// The config of a named shape, vocab_size 0 (it comes from the tokenizer).
absl::StatusOr<ModelConfig> SynthShape(std::string_view name);

// Writes a llama GGUF with random weights: matrices uniform with variance 1/row_len (so
// activations stay near unit scale), norm weights 1.0. Streams row chunks to disk.
absl::StatusOr<SynthReport> SynthesizeModel(const SynthOptions& options);

}  // namespace fabric

#endif  // FABRIC_MODEL_SYNTH_H_
