#include "model/gguf_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/status_macros.h"
#include "kernels/formats.h"
#include "model/gguf_file.h"

namespace fabric {
namespace {

// Debian's Abseil 20220623 has its own string_view, which StrCat does not take std's for.
inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

constexpr size_t kStdioBufferBytes = 4 << 20;
constexpr int64_t kChunkValues = 1 << 20;  // floats converted per WriteRows call

// llama.cpp's general.file_type values (enum llama_ftype).
constexpr uint32_t kFileTypeAllF32 = 0;
constexpr uint32_t kFileTypeMostlyF16 = 1;
constexpr uint32_t kFileTypeMostlyQ8_0 = 7;

uint64_t AlignUp(uint64_t n) {
  return (n + kGgufWriteAlignment - 1) / kGgufWriteAlignment * kGgufWriteAlignment;
}

// Accumulates GGUF metadata entries in their on-disk encoding.
class Metadata {
 public:
  void String(std::string_view key, std::string_view value) {
    Key(key, GgufValueType::kString);
    Str(value);
  }
  void U32(std::string_view key, uint32_t value) {
    Key(key, GgufValueType::kUint32);
    Raw(value);
  }
  void F32(std::string_view key, float value) {
    Key(key, GgufValueType::kFloat32);
    Raw(value);
  }
  void Bool(std::string_view key, bool value) {
    Key(key, GgufValueType::kBool);
    Raw(static_cast<uint8_t>(value));
  }
  template <typename T, typename Encode>
  void Array(std::string_view key, GgufValueType type, const std::vector<T>& values,
             Encode encode) {
    Key(key, GgufValueType::kArray);
    Raw(static_cast<uint32_t>(type));
    Raw(static_cast<uint64_t>(values.size()));
    for (const T& value : values) encode(value);
  }
  template <typename T>
  void Raw(T value) {
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof value);
  }
  void Str(std::string_view value) {
    Raw(static_cast<uint64_t>(value.size()));
    bytes_.append(value);
  }

  const std::string& bytes() const { return bytes_; }
  uint64_t count() const { return count_; }

 private:
  void Key(std::string_view key, GgufValueType type) {
    Str(key);
    Raw(static_cast<uint32_t>(type));
    ++count_;
  }

  std::string bytes_;
  uint64_t count_ = 0;
};

uint32_t FileType(const std::vector<GgufTensorSpec>& tensors) {
  uint32_t file_type = kFileTypeAllF32;
  for (const GgufTensorSpec& spec : tensors) {
    if (spec.type == TensorType::kQ8_0) return kFileTypeMostlyQ8_0;
    if (spec.type == TensorType::kF16) file_type = kFileTypeMostlyF16;
  }
  return file_type;
}

void AddModelMetadata(Metadata& m, const ModelConfig& config, const Vocabulary& vocab,
                      const std::vector<GgufTensorSpec>& tensors,
                      const std::optional<std::string>& chat_template) {
  m.String("general.architecture", "llama");
  m.String("general.name", config.name);
  m.U32("general.alignment", kGgufWriteAlignment);
  m.U32("general.file_type", FileType(tensors));
  m.U32("general.quantization_version", 2);
  m.U32("llama.vocab_size", config.vocab_size);
  m.U32("llama.context_length", config.context_length);
  m.U32("llama.embedding_length", config.dim);
  m.U32("llama.feed_forward_length", config.hidden_dim);
  m.U32("llama.block_count", config.n_layers);
  m.U32("llama.attention.head_count", config.n_heads);
  m.U32("llama.attention.head_count_kv", config.n_kv_heads);
  m.U32("llama.rope.dimension_count", config.head_dim());
  m.F32("llama.rope.freq_base", config.rope_theta);
  m.F32("llama.attention.layer_norm_rms_epsilon", config.rms_norm_eps);
  m.String("tokenizer.ggml.model", "llama");
  m.Array("tokenizer.ggml.tokens", GgufValueType::kString, vocab.pieces,
          [&m](const std::string& piece) {
            m.Str(absl::StrReplaceAll(piece, {{" ", "\u2581"}}));
          });
  m.Array("tokenizer.ggml.scores", GgufValueType::kFloat32, vocab.scores,
          [&m](float score) { m.Raw(score); });
  m.Array("tokenizer.ggml.token_type", GgufValueType::kInt32, vocab.kinds,
          [&m](TokenKind kind) { m.Raw(static_cast<int32_t>(kind)); });
  m.U32("tokenizer.ggml.bos_token_id", vocab.bos_id);
  m.U32("tokenizer.ggml.eos_token_id", vocab.eos_id);
  m.Bool("tokenizer.ggml.add_bos_token", vocab.add_bos);
  if (chat_template) m.String("tokenizer.chat_template", *chat_template);
}

absl::Status CheckSpec(const std::string& path, const GgufTensorSpec& spec) {
  bool positive = !spec.shape.empty() && spec.shape.size() <= 4;
  for (int64_t d : spec.shape) positive = positive && d > 0;
  if (!positive) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": tensor '", spec.name, "' needs 1 to 4 positive dimensions"));
  }
  if (spec.shape[0] % TensorBlockSize(spec.type) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": tensor '", spec.name, "' has row length ", spec.shape[0], ", which ",
                     Sv(TensorTypeName(spec.type)), " cannot store (blocks of ",
                     TensorBlockSize(spec.type), ")"));
  }
  return absl::OkStatus();
}

int64_t Elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

TensorType StorageType(TensorType requested, const std::vector<int64_t>& shape) {
  if (shape.size() < 2) return TensorType::kF32;
  if (shape[0] % TensorBlockSize(requested) != 0) return TensorType::kF32;
  return requested;
}

absl::StatusOr<std::unique_ptr<GgufWriter>> GgufWriter::Create(
    const std::string& path, const ModelConfig& config, const Vocabulary& vocabulary,
    std::vector<GgufTensorSpec> tensors, const std::optional<std::string>& chat_template) {
  if (vocabulary.scores.size() != vocabulary.pieces.size() ||
      vocabulary.kinds.size() != vocabulary.pieces.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": vocabulary pieces, scores and kinds differ in length"));
  }
  if (vocabulary.size() != config.vocab_size || vocabulary.bos_id < 0 ||
      vocabulary.bos_id >= vocabulary.size() || vocabulary.eos_id < 0 ||
      vocabulary.eos_id >= vocabulary.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": the vocabulary (", vocabulary.size(), " pieces, bos ", vocabulary.bos_id,
        ", eos ", vocabulary.eos_id, ") does not fit the config's vocab_size ", config.vocab_size));
  }
  for (const GgufTensorSpec& spec : tensors) RETURN_IF_ERROR(CheckSpec(path, spec));

  Metadata metadata;
  AddModelMetadata(metadata, config, vocabulary, tensors, chat_template);
  Metadata header;
  header.Raw(static_cast<uint32_t>(3));  // version
  header.Raw(static_cast<uint64_t>(tensors.size()));
  header.Raw(metadata.count());
  std::string bytes(kGgufMagic, sizeof kGgufMagic);
  bytes += header.bytes();
  bytes += metadata.bytes();
  Metadata infos;
  uint64_t offset = 0;
  for (const GgufTensorSpec& spec : tensors) {
    infos.Str(spec.name);
    infos.Raw(static_cast<uint32_t>(spec.shape.size()));
    for (int64_t d : spec.shape) infos.Raw(static_cast<uint64_t>(d));
    infos.Raw(static_cast<uint32_t>(spec.type));
    infos.Raw(offset);
    offset = AlignUp(offset + TensorBytes(spec.type, Elements(spec.shape)));
  }
  bytes += infos.bytes();
  bytes.resize(AlignUp(bytes.size()), '\0');

  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot create: ", std::strerror(errno)));
  }
  std::unique_ptr<GgufWriter> writer(new GgufWriter(path, file, std::move(tensors)));
  writer->buffer_.resize(kStdioBufferBytes);
  std::setvbuf(file, writer->buffer_.data(), _IOFBF, writer->buffer_.size());
  RETURN_IF_ERROR(writer->Write(bytes.data(), bytes.size()));
  // A model without tensors is complete already.
  return writer;
}

GgufWriter::~GgufWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status GgufWriter::WriteErrno(std::string_view what_std) {
  const absl::string_view what(what_std.data(), what_std.size());
  return absl::InternalError(absl::StrCat(path_, ": ", what, ": ", std::strerror(errno)));
}

absl::Status GgufWriter::Write(const void* data, size_t size) {
  if (file_ == nullptr) return absl::FailedPreconditionError(path_ + ": already finished");
  if (size > 0 && std::fwrite(data, 1, size, file_) != size) return WriteErrno("write failed");
  written_ += size;
  return absl::OkStatus();
}

absl::Status GgufWriter::BeginRows(int64_t rows) {
  if (current_ >= tensors_.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, ": data written after the last tensor"));
  }
  const GgufTensorSpec& spec = tensors_[current_];
  const int64_t total = Elements(spec.shape) / spec.shape[0];
  if (rows_done_ + rows > total) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": tensor '", spec.name, "' has ", total,
                                                   " rows; ", rows_done_ + rows, " supplied"));
  }
  return absl::OkStatus();
}

absl::Status GgufWriter::EndRows(int64_t rows) {
  const GgufTensorSpec& spec = tensors_[current_];
  rows_done_ += rows;
  if (rows_done_ == Elements(spec.shape) / spec.shape[0]) {
    static constexpr char kZeros[kGgufWriteAlignment] = {};
    RETURN_IF_ERROR(Write(kZeros, AlignUp(written_) - written_));
    ++current_;
    rows_done_ = 0;
  }
  return absl::OkStatus();
}

absl::Status GgufWriter::WriteRows(std::span<const float> values) {
  if (current_ >= tensors_.size()) return BeginRows(0);
  const GgufTensorSpec& spec = tensors_[current_];
  const int64_t row_len = spec.shape[0];
  if (values.size() % row_len != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": tensor '", spec.name,
                                                   "': ", values.size(),
                                                   " values are not whole rows of ", row_len));
  }
  const int64_t rows = values.size() / row_len;
  RETURN_IF_ERROR(BeginRows(rows));
  const size_t n = values.size();
  switch (spec.type) {
    case TensorType::kF32:
      RETURN_IF_ERROR(Write(values.data(), n * sizeof(float)));
      break;
    case TensorType::kF16: {
      scratch_.resize(n * sizeof(uint16_t));
      uint16_t* out = reinterpret_cast<uint16_t*>(scratch_.data());
      for (size_t i = 0; i < n; ++i) out[i] = Fp32ToFp16(values[i]);
      RETURN_IF_ERROR(Write(scratch_.data(), scratch_.size()));
      break;
    }
    case TensorType::kQ8_0: {
      scratch_.resize(n / kQ8BlockSize * sizeof(BlockQ8_0));
      BlockQ8_0* out = reinterpret_cast<BlockQ8_0*>(scratch_.data());
      for (size_t b = 0; b < n / kQ8BlockSize; ++b) {
        QuantizeBlockQ8_0(values.data() + b * kQ8BlockSize, &out[b]);
      }
      RETURN_IF_ERROR(Write(scratch_.data(), scratch_.size()));
      break;
    }
  }
  return EndRows(rows);
}

absl::Status GgufWriter::WriteEncoded(std::span<const uint8_t> bytes) {
  if (current_ >= tensors_.size()) return BeginRows(0);
  const GgufTensorSpec& spec = tensors_[current_];
  const size_t row_bytes = TensorBytes(spec.type, spec.shape[0]);
  if (bytes.size() % row_bytes != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": tensor '", spec.name, "': ", bytes.size(),
                     " bytes are not whole rows of ", row_bytes, " bytes"));
  }
  const int64_t rows = bytes.size() / row_bytes;
  RETURN_IF_ERROR(BeginRows(rows));
  RETURN_IF_ERROR(Write(bytes.data(), bytes.size()));
  return EndRows(rows);
}

absl::Status GgufWriter::Finish() {
  if (file_ == nullptr) return absl::FailedPreconditionError(path_ + ": already finished");
  if (current_ < tensors_.size()) {
    return absl::FailedPreconditionError(absl::StrCat(path_, ": tensor '", tensors_[current_].name,
                                                      "' is incomplete (", rows_done_,
                                                      " rows written)"));
  }
  std::FILE* file = std::exchange(file_, nullptr);
  if (std::fflush(file) != 0) {
    std::fclose(file);
    return WriteErrno("write failed");
  }
  if (std::fclose(file) != 0) return WriteErrno("close failed");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> WriteModelGguf(const ModelFile& model, TensorType type,
                                                        const std::string& path) {
  std::vector<GgufTensorSpec> specs;
  std::vector<std::string> kept_f32;
  for (const Tensor& tensor : model.tensors()) {
    const TensorType storage = StorageType(type, tensor.shape);
    if (storage != type && tensor.shape.size() >= 2) kept_f32.push_back(tensor.name);
    specs.push_back({.name = tensor.name, .shape = tensor.shape, .type = storage});
  }
  ASSIGN_OR_RETURN(std::unique_ptr<GgufWriter> writer,
                   GgufWriter::Create(path, model.config(), model.vocabulary(), std::move(specs),
                                      model.chat_template()));
  std::vector<float> chunk;
  for (const Tensor& tensor : model.tensors()) {
    if (StorageType(type, tensor.shape) == tensor.type) {
      RETURN_IF_ERROR(writer->WriteEncoded(tensor.data));
      continue;
    }
    const int64_t row_len = tensor.row_len();
    const int64_t chunk_rows = std::max<int64_t>(1, kChunkValues / row_len);
    for (int64_t row = 0; row < tensor.rows(); row += chunk_rows) {
      const int64_t rows = std::min(chunk_rows, tensor.rows() - row);
      chunk.resize(rows * row_len);
      RETURN_IF_ERROR(DequantizeRows(tensor, row, rows, chunk));
      RETURN_IF_ERROR(writer->WriteRows(chunk));
    }
  }
  RETURN_IF_ERROR(writer->Finish());
  return kept_f32;
}

}  // namespace fabric
