#include "model/gguf_reader.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/status_macros.h"
#include "kernels/formats.h"
#include "kernels/kernel_signatures.h"
#include "model/gguf_file.h"
#include "model/tensor.h"

namespace fabric {
namespace {

// Debian's Abseil 20220623 has its own string_view, which StrCat does not take std's for.
inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status Error(const std::string& path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// A positive 32-bit metadata integer; `fallback` when the key is absent, if given.
absl::StatusOr<int> GetDimension(const GgufFile& gguf, std::string_view key,
                                 std::optional<int> fallback = std::nullopt) {
  if (fallback && !gguf.Has(key)) return *fallback;
  ASSIGN_OR_RETURN(const int64_t value, gguf.GetInt(key));
  if (value <= 0 || value > std::numeric_limits<int32_t>::max()) {
    return Error(gguf.path(), absl::StrCat("metadata '", Sv(key), "' is ", value,
                                           ", expected a positive 32-bit integer"));
  }
  return static_cast<int>(value);
}

absl::StatusOr<float> GetPositiveFloat(const GgufFile& gguf, std::string_view key,
                                       std::optional<float> fallback = std::nullopt) {
  if (fallback && !gguf.Has(key)) return *fallback;
  ASSIGN_OR_RETURN(const double value, gguf.GetFloat(key));
  if (!(value > 0) || !std::isfinite(static_cast<float>(value))) {
    return Error(gguf.path(), absl::StrCat("metadata '", Sv(key), "' is ", value,
                                           ", expected a positive finite number"));
  }
  return static_cast<float>(value);
}

// Everything but vocab_size, which comes from the token list.
absl::StatusOr<ModelConfig> ReadConfig(const GgufFile& gguf) {
  ASSIGN_OR_RETURN(const std::string architecture, gguf.GetString("general.architecture"));
  if (architecture != "llama") {
    return Error(gguf.path(), absl::StrCat("architecture '", PrintableName(architecture),
                                           "' is not supported (Fabric loads 'llama' models)"));
  }
  ModelConfig config;
  if (gguf.Has("general.name")) {
    ASSIGN_OR_RETURN(config.name, gguf.GetString("general.name"));
  } else {
    config.name = std::filesystem::path(gguf.path()).stem().string();
  }
  ASSIGN_OR_RETURN(config.dim, GetDimension(gguf, "llama.embedding_length"));
  ASSIGN_OR_RETURN(config.hidden_dim, GetDimension(gguf, "llama.feed_forward_length"));
  ASSIGN_OR_RETURN(config.n_layers, GetDimension(gguf, "llama.block_count"));
  ASSIGN_OR_RETURN(config.n_heads, GetDimension(gguf, "llama.attention.head_count"));
  ASSIGN_OR_RETURN(config.n_kv_heads,
                   GetDimension(gguf, "llama.attention.head_count_kv", config.n_heads));
  ASSIGN_OR_RETURN(config.context_length, GetDimension(gguf, "llama.context_length"));
  ASSIGN_OR_RETURN(config.rms_norm_eps,
                   GetPositiveFloat(gguf, "llama.attention.layer_norm_rms_epsilon"));
  ASSIGN_OR_RETURN(config.rope_theta, GetPositiveFloat(gguf, "llama.rope.freq_base", 10000.0f));
  return config;
}

absl::StatusOr<int> GetTokenId(const GgufFile& gguf, std::string_view key, int fallback,
                               int vocab_size) {
  if (!gguf.Has(key)) return fallback;
  ASSIGN_OR_RETURN(const int64_t id, gguf.GetInt(key));
  if (id < 0 || id >= vocab_size) {
    return Error(gguf.path(), absl::StrCat("metadata '", Sv(key), "' is ", id,
                                           ", outside the vocabulary of ", vocab_size));
  }
  return static_cast<int>(id);
}

absl::StatusOr<Vocabulary> ReadVocabulary(const GgufFile& gguf) {
  const std::string& path = gguf.path();
  if (gguf.Has("tokenizer.ggml.model")) {
    ASSIGN_OR_RETURN(const std::string model, gguf.GetString("tokenizer.ggml.model"));
    if (model != "llama") {
      return Error(path, absl::StrCat("tokenizer model '", PrintableName(model),
                                      "' is not supported (Fabric reads SentencePiece 'llama')"));
    }
  }
  Vocabulary vocab;
  ASSIGN_OR_RETURN(vocab.pieces, gguf.GetStringArray("tokenizer.ggml.tokens"));
  const size_t n = vocab.pieces.size();
  if (n == 0 || n > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return Error(path, absl::StrCat("tokenizer.ggml.tokens has ", n, " tokens"));
  }
  for (std::string& piece : vocab.pieces) piece = absl::StrReplaceAll(piece, {{"\u2581", " "}});

  if (gguf.Has("tokenizer.ggml.scores")) {
    ASSIGN_OR_RETURN(vocab.scores, gguf.GetFloatArray("tokenizer.ggml.scores"));
  } else {
    vocab.scores.assign(n, 0.0f);
  }
  vocab.kinds.assign(n, TokenKind::kNormal);
  if (gguf.Has("tokenizer.ggml.token_type")) {
    ASSIGN_OR_RETURN(const std::vector<int64_t> types,
                     gguf.GetIntArray("tokenizer.ggml.token_type"));
    if (types.size() != n) {
      return Error(path, absl::StrCat("tokenizer.ggml.token_type has ", types.size(),
                                      " entries for ", n, " tokens"));
    }
    for (size_t i = 0; i < n; ++i) {
      if (types[i] < 0 || types[i] > static_cast<int64_t>(TokenKind::kByte)) {
        return Error(path, absl::StrCat("token ", i, " has invalid token type ", types[i]));
      }
      // 0 is "undefined" in GGUF; treat it as a normal piece.
      if (types[i] != 0) vocab.kinds[i] = static_cast<TokenKind>(types[i]);
    }
  }
  if (vocab.scores.size() != n) {
    return Error(path, absl::StrCat("tokenizer.ggml.scores has ", vocab.scores.size(),
                                    " entries for ", n, " tokens"));
  }
  const int size = static_cast<int>(n);
  ASSIGN_OR_RETURN(vocab.bos_id, GetTokenId(gguf, "tokenizer.ggml.bos_token_id", 1, size));
  ASSIGN_OR_RETURN(vocab.eos_id, GetTokenId(gguf, "tokenizer.ggml.eos_token_id", 2, size));
  if (gguf.Has("tokenizer.ggml.add_bos_token")) {
    ASSIGN_OR_RETURN(vocab.add_bos, gguf.GetBool("tokenizer.ggml.add_bos_token"));
  }
  return vocab;
}

std::optional<TensorType> SupportedType(uint32_t ggml_type) {
  switch (ggml_type) {
    case static_cast<uint32_t>(TensorType::kF32):
      return TensorType::kF32;
    case static_cast<uint32_t>(TensorType::kF16):
      return TensorType::kF16;
    case static_cast<uint32_t>(TensorType::kQ8_0):
      return TensorType::kQ8_0;
    default:
      return std::nullopt;
  }
}

// Views every tensor in the mapping after checking its type, its block alignment and bounds.
absl::StatusOr<std::vector<Tensor>> ReadTensors(const GgufFile& gguf,
                                                std::span<const uint8_t> bytes) {
  const std::string& path = gguf.path();
  std::vector<const GgufTensorInfo*> unsupported;
  for (const GgufTensorInfo& info : gguf.tensors()) {
    if (!SupportedType(info.ggml_type)) unsupported.push_back(&info);
  }
  if (!unsupported.empty()) {
    const GgufTensorInfo& first = *unsupported.front();
    std::string more;
    if (unsupported.size() > 1) {
      more = absl::StrCat(" (and ", unsupported.size() - 1, " more tensors of unsupported types)");
    }
    return Error(path,
                 absl::StrCat("tensor '", PrintableName(first.name), "' has type ",
                              GgmlTypeName(first.ggml_type),
                              ", which Fabric does not load (it loads F32, F16 and Q8_0)", more));
  }
  std::vector<Tensor> tensors;
  tensors.reserve(gguf.tensors().size());
  for (const GgufTensorInfo& info : gguf.tensors()) {
    Tensor tensor{
        .name = info.name, .type = *SupportedType(info.ggml_type), .shape = info.shape, .data = {}};
    const int64_t block = TensorBlockSize(tensor.type);
    if (tensor.row_len() % block != 0) {
      return Error(
          path, absl::StrCat("tensor '", PrintableName(info.name), "' of type ",
                             Sv(TensorTypeName(tensor.type)), " has row length ", tensor.row_len(),
                             ", not a multiple of its block size ", block));
    }
    if (info.offset % gguf.alignment() != 0) {
      return Error(path,
                   absl::StrCat("tensor '", PrintableName(info.name), "' has offset ", info.offset,
                                ", not a multiple of the alignment ", gguf.alignment()));
    }
    // Shapes are capped at 2^50 elements by the parser, so these sums cannot overflow.
    const uint64_t size = TensorBytes(tensor.type, tensor.elements());
    const uint64_t start = gguf.data_offset() + info.offset;
    if (info.offset > bytes.size() || start > bytes.size() || size > bytes.size() - start) {
      return Error(
          path, absl::StrCat("tensor '", PrintableName(info.name), "' data (", size,
                             " bytes at file offset ", start, ") lies past the end of the file (",
                             bytes.size(), " bytes); the file may be truncated"));
    }
    tensor.data = bytes.subspan(start, size);
    tensors.push_back(std::move(tensor));
  }
  return tensors;
}

absl::Status CheckLlamaTensors(const std::string& path, const ModelConfig& config,
                               const std::vector<Tensor>& tensors) {
  auto find = [&tensors](std::string_view name) -> const Tensor* {
    for (const Tensor& tensor : tensors) {
      if (tensor.name == name) return &tensor;
    }
    return nullptr;
  };
  const bool with_output = find(tensor_names::kOutput) != nullptr;
  for (const LlamaTensorShape& expected : LlamaTensorShapes(config, with_output)) {
    const Tensor* tensor = find(expected.name);
    if (tensor == nullptr) return Error(path, absl::StrCat("missing tensor '", expected.name, "'"));
    if (tensor->shape != expected.shape) {
      return Error(
          path,
          absl::StrCat("tensor '", expected.name, "' has shape ", ShapeString(tensor->shape),
                       ", expected ", ShapeString(expected.shape), " for the model config (dim ",
                       config.dim, ", hidden ", config.hidden_dim, ", heads ", config.n_heads,
                       ", kv heads ", config.n_kv_heads, ", vocab ", config.vocab_size, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateLlamaConfig(const std::string& path, const ModelConfig& c) {
  if (c.dim <= 0 || c.hidden_dim <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 ||
      c.vocab_size <= 0 || c.context_length <= 0) {
    return Error(
        path, absl::StrCat("model sizes must be positive: dim ", c.dim, ", hidden ", c.hidden_dim,
                           ", layers ", c.n_layers, ", heads ", c.n_heads, ", kv heads ",
                           c.n_kv_heads, ", vocab ", c.vocab_size, ", context ", c.context_length));
  }
  if (c.dim % c.n_heads != 0) {
    return Error(path, absl::StrCat("heads (", c.n_heads, ") do not divide dim (", c.dim, ")"));
  }
  if (c.n_heads % c.n_kv_heads != 0) {
    return Error(
        path, absl::StrCat("kv heads (", c.n_kv_heads, ") do not divide heads (", c.n_heads, ")"));
  }
  if (c.head_dim() % 2 != 0) {
    return Error(path, absl::StrCat("head dim ", c.head_dim(), " is odd; RoPE needs pairs"));
  }
  if (c.head_dim() > kMaxHeadDim) {
    return Error(path, absl::StrCat("head dim ", c.head_dim(), " exceeds the attention kernel's ",
                                    kMaxHeadDim));
  }
  return absl::OkStatus();
}

std::vector<LlamaTensorShape> LlamaTensorShapes(const ModelConfig& config, bool with_output) {
  namespace names = tensor_names;
  const int64_t dim = config.dim, hidden = config.hidden_dim, kv_dim = config.kv_dim();
  const int64_t vocab = config.vocab_size;
  std::vector<LlamaTensorShape> shapes;
  shapes.push_back({std::string(names::kTokenEmbedding), {dim, vocab}});
  for (int layer = 0; layer < config.n_layers; ++layer) {
    shapes.push_back({names::Layer(layer, names::kAttnNorm), {dim}});
    shapes.push_back({names::Layer(layer, names::kAttnQ), {dim, dim}});
    shapes.push_back({names::Layer(layer, names::kAttnK), {dim, kv_dim}});
    shapes.push_back({names::Layer(layer, names::kAttnV), {dim, kv_dim}});
    shapes.push_back({names::Layer(layer, names::kAttnOutput), {dim, dim}});
    shapes.push_back({names::Layer(layer, names::kFfnNorm), {dim}});
    shapes.push_back({names::Layer(layer, names::kFfnGate), {dim, hidden}});
    shapes.push_back({names::Layer(layer, names::kFfnDown), {hidden, dim}});
    shapes.push_back({names::Layer(layer, names::kFfnUp), {dim, hidden}});
  }
  shapes.push_back({std::string(names::kOutputNorm), {dim}});
  if (with_output) shapes.push_back({std::string(names::kOutput), {dim, vocab}});
  return shapes;
}

absl::StatusOr<std::unique_ptr<ModelFile>> ReadGgufModel(std::unique_ptr<MappedFile> mapping) {
  const std::string path = mapping->path();
  ASSIGN_OR_RETURN(const GgufFile gguf, GgufFile::Parse(path, mapping->bytes()));
  ASSIGN_OR_RETURN(ModelConfig config, ReadConfig(gguf));
  ASSIGN_OR_RETURN(Vocabulary vocab, ReadVocabulary(gguf));
  config.vocab_size = vocab.size();
  RETURN_IF_ERROR(ValidateLlamaConfig(path, config));
  ASSIGN_OR_RETURN(std::vector<Tensor> tensors, ReadTensors(gguf, mapping->bytes()));
  RETURN_IF_ERROR(CheckLlamaTensors(path, config, tensors));
  std::optional<std::string> chat_template;
  if (gguf.Has("tokenizer.chat_template")) {
    ASSIGN_OR_RETURN(chat_template, gguf.GetString("tokenizer.chat_template"));
  }
  return std::make_unique<ModelFile>(path, std::move(mapping), std::move(config),
                                     std::move(tensors), std::move(vocab),
                                     std::move(chat_template));
}

}  // namespace fabric
