#include "model/llama2c_reader.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "model/gguf_reader.h"
#include "model/tensor.h"

namespace fabric {
namespace {

constexpr size_t kHeaderBytes = 7 * sizeof(int32_t);

absl::Status Error(const std::string& path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
}

// A byte piece is spelled "<0xHH>" with two hex digits.
bool IsBytePiece(const std::string& piece) {
  auto hex = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
  };
  return piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 && hex(piece[3]) && hex(piece[4]) &&
         piece[5] == '>';
}

struct Header {
  int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
};

std::string Describe(const Header& h) {
  return absl::StrCat("dim ", h.dim, ", hidden ", h.hidden_dim, ", layers ", h.n_layers, ", heads ",
                      h.n_heads, ", kv heads ", h.n_kv_heads, ", vocab ", h.vocab_size,
                      ", seq_len ", h.seq_len);
}

// Adds a * b * c floats to `total`; false on overflow.
bool AddFloats(uint64_t& total, uint64_t a, uint64_t b, uint64_t c = 1) {
  uint64_t ab = 0, abc = 0;
  return !__builtin_mul_overflow(a, b, &ab) && !__builtin_mul_overflow(ab, c, &abc) &&
         !__builtin_add_overflow(total, abc, &total);
}

// Bytes a checkpoint of (validated) `c` must have, or nullopt on overflow.
std::optional<uint64_t> ExpectedBytes(const ModelConfig& c, int seq_len, bool shared) {
  const uint64_t dim = c.dim, hidden = c.hidden_dim, layers = c.n_layers, vocab = c.vocab_size;
  const uint64_t kv_dim = c.kv_dim();
  const uint64_t rope = static_cast<uint64_t>(seq_len) * c.head_dim() / 2;
  uint64_t floats = 0;
  bool ok = AddFloats(floats, vocab, dim) &&            // token embedding
            AddFloats(floats, layers, dim) &&           // attention norms
            AddFloats(floats, layers, dim, dim) &&      // wq
            AddFloats(floats, layers, dim, kv_dim) &&   // wk
            AddFloats(floats, layers, dim, kv_dim) &&   // wv
            AddFloats(floats, layers, dim, dim) &&      // wo
            AddFloats(floats, layers, dim) &&           // ffn norms
            AddFloats(floats, layers, dim, hidden) &&   // w1
            AddFloats(floats, layers, hidden, dim) &&   // w2
            AddFloats(floats, layers, dim, hidden) &&   // w3
            AddFloats(floats, dim, 1) &&                // final norm
            AddFloats(floats, rope, 2) &&               // RoPE tables (unused)
            (shared || AddFloats(floats, vocab, dim));  // classifier
  uint64_t bytes = 0;
  if (!ok || __builtin_mul_overflow(floats, sizeof(float), &bytes) ||
      __builtin_add_overflow(bytes, kHeaderBytes, &bytes)) {
    return std::nullopt;
  }
  return bytes;
}

// Lays the checkpoint's float32 arrays out as GGUF-named tensors viewing `bytes`.
class TensorLayout {
 public:
  explicit TensorLayout(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  // Appends one tensor per layer (or a single one when `layers` is 0) of `shape`.
  void Add(std::string_view name, std::vector<int64_t> shape, int layers = 0) {
    int64_t elements = 1;
    for (int64_t d : shape) elements *= d;
    const size_t size = elements * sizeof(float);
    for (int layer = 0; layer < std::max(layers, 1); ++layer) {
      std::string full = layers == 0 ? std::string(name) : tensor_names::Layer(layer, name);
      tensors_.push_back({.name = std::move(full),
                          .type = TensorType::kF32,
                          .shape = shape,
                          .data = bytes_.subspan(offset_, size)});
      offset_ += size;
    }
  }
  void Skip(size_t floats) { offset_ += floats * sizeof(float); }
  size_t offset() const { return offset_; }
  std::vector<Tensor> Take() { return std::move(tensors_); }

 private:
  std::span<const uint8_t> bytes_;
  size_t offset_ = kHeaderBytes;
  std::vector<Tensor> tensors_;
};

std::vector<Tensor> LayOutTensors(std::span<const uint8_t> bytes, const ModelConfig& c, int seq_len,
                                  bool shared) {
  namespace names = tensor_names;
  const int64_t dim = c.dim, hidden = c.hidden_dim, kv_dim = c.kv_dim();
  const int layers = c.n_layers;
  TensorLayout layout(bytes);
  // llama2.c stores W as [out, in] row-major, which is GGUF's [in, out].
  layout.Add(names::kTokenEmbedding, {dim, c.vocab_size});
  layout.Add(names::kAttnNorm, {dim}, layers);
  layout.Add(names::kAttnQ, {dim, dim}, layers);
  layout.Add(names::kAttnK, {dim, kv_dim}, layers);
  layout.Add(names::kAttnV, {dim, kv_dim}, layers);
  layout.Add(names::kAttnOutput, {dim, dim}, layers);
  layout.Add(names::kFfnNorm, {dim}, layers);
  layout.Add(names::kFfnGate, {dim, hidden}, layers);  // w1
  layout.Add(names::kFfnDown, {hidden, dim}, layers);  // w2
  layout.Add(names::kFfnUp, {dim, hidden}, layers);    // w3
  layout.Add(names::kOutputNorm, {dim});
  layout.Skip(static_cast<size_t>(seq_len) * c.head_dim() / 2 * 2);  // freq_cis_real, _imag
  if (!shared) layout.Add(names::kOutput, {dim, c.vocab_size});
  return layout.Take();
}

}  // namespace

absl::StatusOr<Vocabulary> ReadLlama2cTokenizer(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file, MappedFile::Open(path));
  const std::span<const uint8_t> bytes = file->bytes();
  auto read_int = [&bytes](size_t offset) {
    int32_t value;
    std::memcpy(&value, bytes.data() + offset, sizeof value);
    return value;
  };
  if (bytes.size() < sizeof(int32_t)) {
    return Error(path, "truncated llama2.c tokenizer: no max_token_length");
  }
  const int32_t max_token_length = read_int(0);
  if (max_token_length <= 0) {
    return Error(path,
                 absl::StrCat("not a llama2.c tokenizer: max_token_length is ", max_token_length));
  }
  Vocabulary vocab;
  size_t offset = sizeof(int32_t);
  while (offset < bytes.size()) {
    const size_t id = vocab.pieces.size();
    if (bytes.size() - offset < 2 * sizeof(int32_t)) {
      return Error(path, absl::StrCat("truncated llama2.c tokenizer: piece ", id, " at offset ",
                                      offset, " runs past the end of the file"));
    }
    float score;
    std::memcpy(&score, bytes.data() + offset, sizeof score);
    const int32_t length = read_int(offset + sizeof(float));
    offset += 2 * sizeof(int32_t);
    if (length < 0 || static_cast<size_t>(length) > bytes.size() - offset) {
      return Error(path, absl::StrCat("corrupt llama2.c tokenizer: piece ", id, " at offset ",
                                      offset - 8, " has length ", length, ", but ",
                                      bytes.size() - offset, " bytes remain"));
    }
    std::string piece(reinterpret_cast<const char*>(bytes.data()) + offset, length);
    offset += length;
    TokenKind kind = TokenKind::kNormal;
    if (id == 0) {
      kind = TokenKind::kUnknown;
    } else if (id == 1 || id == 2) {
      kind = TokenKind::kControl;
    } else if (IsBytePiece(piece)) {
      kind = TokenKind::kByte;
    }
    vocab.pieces.push_back(std::move(piece));
    vocab.scores.push_back(score);
    vocab.kinds.push_back(kind);
  }
  if (vocab.pieces.size() < 3) {
    return Error(path, absl::StrCat("llama2.c tokenizer has ", vocab.pieces.size(),
                                    " pieces; <unk>, <s> and </s> at least are expected"));
  }
  vocab.bos_id = 1;
  vocab.eos_id = 2;
  vocab.add_bos = true;
  return vocab;
}

absl::StatusOr<std::unique_ptr<ModelFile>> ReadLlama2cModel(std::unique_ptr<MappedFile> mapping,
                                                            const std::string& tokenizer_path) {
  const std::string path = mapping->path();
  const std::span<const uint8_t> bytes = mapping->bytes();
  if (bytes.size() < kHeaderBytes) {
    return Error(path, absl::StrCat("truncated llama2.c checkpoint: ", bytes.size(),
                                    " bytes, smaller than its 28-byte header"));
  }
  Header h;
  std::memcpy(&h, bytes.data(), kHeaderBytes);
  if (h.vocab_size == std::numeric_limits<int32_t>::min()) {
    return Error(path, absl::StrCat("not a llama2.c checkpoint: header ", Describe(h)));
  }
  const bool shared = h.vocab_size > 0;
  ModelConfig config{.name = std::filesystem::path(path).stem().string(),
                     .dim = h.dim,
                     .hidden_dim = h.hidden_dim,
                     .n_layers = h.n_layers,
                     .n_heads = h.n_heads,
                     .n_kv_heads = h.n_kv_heads,
                     .vocab_size = shared ? h.vocab_size : -h.vocab_size,
                     .context_length = h.seq_len};
  if (absl::Status valid = ValidateLlamaConfig(path, config); !valid.ok()) {
    return Error(path, absl::StrCat("not a valid llama2.c checkpoint header (", Describe(h), "): ",
                                    absl::StripPrefix(valid.message(), absl::StrCat(path, ": "))));
  }
  const std::optional<uint64_t> expected = ExpectedBytes(config, h.seq_len, shared);
  if (!expected || *expected != bytes.size()) {
    return Error(path, absl::StrCat("llama2.c checkpoint tensor sizes do not match the header (",
                                    Describe(h), shared ? ", shared" : ", separate",
                                    " classifier): ", "expected ",
                                    expected ? absl::StrCat(*expected) : "over 2^64",
                                    " bytes, actual ", bytes.size(), " bytes"));
  }
  if (tokenizer_path.empty()) {
    return Error(path, "a llama2.c checkpoint needs a tokenizer file (tokenizer path missing)");
  }
  ASSIGN_OR_RETURN(Vocabulary vocab, ReadLlama2cTokenizer(tokenizer_path));
  if (vocab.size() != config.vocab_size) {
    return Error(path, absl::StrCat("vocabulary size mismatch: the checkpoint has vocab_size ",
                                    config.vocab_size, " but tokenizer ", tokenizer_path, " has ",
                                    vocab.size(), " pieces"));
  }
  std::vector<Tensor> tensors = LayOutTensors(bytes, config, h.seq_len, shared);
  return std::make_unique<ModelFile>(path, std::move(mapping), std::move(config),
                                     std::move(tensors), std::move(vocab), std::nullopt);
}

}  // namespace fabric
