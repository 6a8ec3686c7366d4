#include "model/synth.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "model/gguf_reader.h"
#include "model/gguf_writer.h"
#include "model/llama2c_reader.h"

namespace fabric {
namespace {

// Debian's Abseil 20220623 has its own string_view, which StrCat does not take std's for.
inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

struct NamedShape {
  std::string_view name;
  ModelConfig config;
  bool tied;  // the classifier shares the embedding (no output.weight)
};

ModelConfig Shape(int dim, int hidden, int layers, int heads, int kv_heads, int context) {
  return ModelConfig{.name = "",
                     .dim = dim,
                     .hidden_dim = hidden,
                     .n_layers = layers,
                     .n_heads = heads,
                     .n_kv_heads = kv_heads,
                     .context_length = context};
}

const NamedShape kShapes[] = {
    {"tiny", Shape(128, 384, 2, 4, 2, 256), false},
    {"stories260k", Shape(64, 172, 5, 8, 4, 512), true},
    {"stories15m", Shape(288, 768, 6, 6, 6, 256), true},
    {"stories110m", Shape(768, 2048, 12, 12, 12, 1024), true},
    {"tinyllama-1.1b", Shape(2048, 5632, 22, 32, 4, 2048), false},
};

const NamedShape* FindShape(std::string_view name) {
  for (const NamedShape& shape : kShapes) {
    if (shape.name == name) return &shape;
  }
  return nullptr;
}

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Fills `out` with uniform values in [-scale, scale), two per 64-bit draw.
void FillUniform(uint64_t& state, float scale, std::span<float> out) {
  constexpr float kUnit = 1.0f / (1 << 23);  // 24-bit draws map to [0, 2)
  const size_t n = out.size();
  size_t i = 0;
  for (; i + 1 < n; i += 2) {
    const uint64_t r = SplitMix64(state);
    out[i] = (static_cast<float>(r >> 40) * kUnit - 1.0f) * scale;
    out[i + 1] = (static_cast<float>((r >> 16) & 0xffffff) * kUnit - 1.0f) * scale;
  }
  if (i < n) out[i] = (static_cast<float>(SplitMix64(state) >> 40) * kUnit - 1.0f) * scale;
}

absl::Status WriteTensor(GgufWriter& writer, const GgufTensorSpec& spec, uint64_t seed,
                         size_t index, std::vector<float>& chunk) {
  const int64_t row_len = spec.shape[0];
  int64_t rows = 1;
  for (size_t d = 1; d < spec.shape.size(); ++d) rows *= spec.shape[d];
  if (spec.shape.size() == 1) {  // a norm weight
    chunk.assign(row_len, 1.0f);
    return writer.WriteRows(chunk);
  }
  // Variance 1/row_len: uniform on [-a, a] has variance a^2 / 3.
  const float scale = std::sqrt(3.0f / static_cast<float>(row_len));
  // One stream per tensor, so the bytes do not depend on chunking.
  uint64_t state = seed ^ (0x6a09e667f3bcc909ull * (index + 1));
  SplitMix64(state);
  const int64_t chunk_rows = std::max<int64_t>(1, (int64_t{1} << 20) / row_len);
  for (int64_t row = 0; row < rows; row += chunk_rows) {
    const int64_t n = std::min(chunk_rows, rows - row);
    chunk.resize(n * row_len);
    FillUniform(state, scale, chunk);
    RETURN_IF_ERROR(writer.WriteRows(chunk));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> SynthShapeNames() {
  std::vector<std::string> names;
  for (const NamedShape& shape : kShapes) names.emplace_back(shape.name);
  return names;
}

absl::StatusOr<ModelConfig> SynthShape(std::string_view name) {
  const NamedShape* shape = FindShape(name);
  if (shape == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown synthetic model shape '", Sv(name),
                                            "' (known: ", absl::StrJoin(SynthShapeNames(), ", "),
                                            ")"));
  }
  ModelConfig config = shape->config;
  config.name = absl::StrCat("synthetic-", Sv(name));
  return config;
}

absl::StatusOr<SynthReport> SynthesizeModel(const SynthOptions& options) {
  ASSIGN_OR_RETURN(ModelConfig config, SynthShape(options.shape));
  if (!options.name.empty()) config.name = options.name;
  if (options.tokenizer_path.empty()) {
    return absl::InvalidArgumentError("synthesizing a model needs a llama2.c tokenizer path");
  }
  ASSIGN_OR_RETURN(const Vocabulary vocab, ReadLlama2cTokenizer(options.tokenizer_path));
  config.vocab_size = vocab.size();
  RETURN_IF_ERROR(ValidateLlamaConfig(options.output_path, config));

  SynthReport report;
  std::vector<GgufTensorSpec> specs;
  for (LlamaTensorShape& tensor : LlamaTensorShapes(config, !FindShape(options.shape)->tied)) {
    const TensorType storage = StorageType(options.type, tensor.shape);
    if (storage != options.type && tensor.shape.size() >= 2) {
      report.kept_f32.push_back(tensor.name);
    }
    specs.push_back(
        {.name = std::move(tensor.name), .shape = std::move(tensor.shape), .type = storage});
  }
  ASSIGN_OR_RETURN(std::unique_ptr<GgufWriter> writer,
                   GgufWriter::Create(options.output_path, config, vocab, specs));
  std::vector<float> chunk;
  for (size_t i = 0; i < specs.size(); ++i) {
    RETURN_IF_ERROR(WriteTensor(*writer, specs[i], options.seed, i, chunk));
  }
  RETURN_IF_ERROR(writer->Finish());
  report.bytes = writer->bytes_written();
  report.config = std::move(config);
  return report;
}

}  // namespace fabric
