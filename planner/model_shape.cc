#include "planner/model_shape.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fabric::planner {
namespace {

struct NamedEntry {
  std::string_view name;
  ModelShape (*make)();
};

ModelShape Llama(std::string name, int dim, int layers, int heads, int kv_heads, int ffn,
                 int context) {
  return ModelShape{.name = std::move(name), .dim = dim, .n_layers = layers, .n_heads = heads,
                    .n_kv_heads = kv_heads, .ffn_dim = ffn, .vocab_size = 32000,
                    .context_length = context};
}

ModelShape Gpt2(std::string name, int dim, int layers, int heads) {
  return ModelShape{.name = std::move(name), .dim = dim, .n_layers = layers, .n_heads = heads,
                    .n_kv_heads = heads, .ffn_dim = 4 * dim, .vocab_size = 50257,
                    .context_length = 1024, .ffn_kind = FfnKind::kGelu, .rotary = false};
}

// Shapes from the models' published configurations (Hugging Face config.json of
// meta-llama/Llama-2-{7b,13b}-hf, TinyLlama-1.1B, gpt2-medium, gpt2-xl; llama2.c's stories).
const NamedEntry kShapes[] = {
    {"llama2-7b", [] { return Llama("llama2-7b", 4096, 32, 32, 32, 11008, 4096); }},
    {"llama2-13b", [] { return Llama("llama2-13b", 5120, 40, 40, 40, 13824, 4096); }},
    {"tinyllama-1.1b", [] { return Llama("tinyllama-1.1b", 2048, 22, 32, 4, 5632, 2048); }},
    {"gpt2-medium", [] { return Gpt2("gpt2-medium", 1024, 24, 16); }},
    {"gpt2-xl", [] { return Gpt2("gpt2-xl", 1600, 48, 25); }},
    {"stories15m", [] { return Llama("stories15m", 288, 6, 6, 6, 768, 256); }},
    {"stories110m", [] { return Llama("stories110m", 768, 12, 12, 12, 2048, 1024); }},
};

struct PrecisionPreset {
  std::string_view name;
  double weight_bits;
  int activation_bits, kv_bits, compute_bits;
};

const PrecisionPreset kPresets[] = {
    {"fp16", 16, 16, 16, 16},
    {"f32", 32, 32, 32, 32},
    // Q8_0: blocks of 32 int8 weights and one fp16 scale = 34 bytes per 32 weights.
    {"q8_0", 8.5, 32, 32, 8},
    // 4-bit weights in blocks of 32 with an fp16 scale = 18 bytes per 32 weights.
    {"int4", 4.5, 16, 16, 8},
};

}  // namespace

int Sparsity::index_bits() const {
  return dense() ? 0 : static_cast<int>(std::ceil(std::log2(static_cast<double>(m))));
}

double ModelShape::LayerParameters() const {
  const double d = dim;
  return d * (d + 2.0 * kv_dim()) + d * d + ffn_matrices() * d * ffn_dim;
}

double ModelShape::LayerWeightBytes() const {
  const double kept = LayerParameters() * sparsity.density();
  return kept * (weight_bits + sparsity.index_bits()) / 8;
}

double ModelShape::TableBytes() const {
  return static_cast<double>(vocab_size) * dim * weight_bits / 8;
}

double ModelShape::Parameters(bool tied) const {
  const double table = static_cast<double>(vocab_size) * dim;
  return n_layers * LayerParameters() + table * (tied ? 1 : 2);
}

std::vector<std::string> ShapeNames() {
  std::vector<std::string> names;
  for (const NamedEntry& entry : kShapes) names.emplace_back(entry.name);
  return names;
}

absl::StatusOr<ModelShape> NamedShape(std::string_view name) {
  for (const NamedEntry& entry : kShapes) {
    if (entry.name == name) return entry.make();
  }
  return absl::NotFoundError(absl::StrCat("unknown model shape '", std::string(name),
                                          "' (known: ", absl::StrJoin(ShapeNames(), ", "), ")"));
}

std::vector<std::string> PrecisionNames() {
  std::vector<std::string> names;
  for (const PrecisionPreset& preset : kPresets) names.emplace_back(preset.name);
  return names;
}

absl::Status ApplyPrecision(std::string_view preset, ModelShape* shape) {
  for (const PrecisionPreset& p : kPresets) {
    if (p.name != preset) continue;
    shape->weight_bits = p.weight_bits;
    shape->activation_bits = p.activation_bits;
    shape->kv_bits = p.kv_bits;
    shape->compute_bits = p.compute_bits;
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown precision '", std::string(preset),
                                                 "' (known: ",
                                                 absl::StrJoin(PrecisionNames(), ", "), ")"));
}

absl::Status ValidateShape(const ModelShape& s) {
  const std::string who = absl::StrCat("model shape '", s.name, "'");
  if (s.dim <= 0 || s.n_layers <= 0 || s.n_heads <= 0 || s.n_kv_heads <= 0 || s.ffn_dim <= 0 ||
      s.vocab_size <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(who, ": widths and counts must be positive"));
  }
  if (s.dim % s.n_heads != 0 || s.n_heads % s.n_kv_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        who, ": ", s.n_heads, " heads must divide the width ", s.dim, " and be a multiple of the ",
        s.n_kv_heads, " key/value heads"));
  }
  if (s.weight_bits <= 0 || s.activation_bits <= 0 || s.kv_bits <= 0 || s.compute_bits <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(who, ": precisions must be positive"));
  }
  return absl::OkStatus();
}

}  // namespace fabric::planner
