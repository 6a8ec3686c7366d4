// Writes llama-architecture GGUF v3 files, streaming tensor data to disk.
#ifndef FABRIC_MODEL_GGUF_WRITER_H_
#define FABRIC_MODEL_GGUF_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/model_config.h"
#include "model/model_file.h"
#include "model/tensor.h"
#include "model/vocabulary.h"

namespace fabric {

inline constexpr uint64_t kGgufWriteAlignment = 32;

struct GgufTensorSpec {
  std::string name;
  std::vector<int64_t> shape;  // GGUF order: shape[0] is the row length
  TensorType type = TensorType::kF32;
};

// The type a tensor of `shape` is stored in when `requested` is asked for: 1-D tensors (the
// norms) stay F32, as llama.cpp keeps them; Q8_0 needs a row length that is a multiple of 32
// (blocks run along rows), so other matrices stay F32.
TensorType StorageType(TensorType requested, const std::vector<int64_t>& shape);

// Writes one GGUF file: Create writes the header (metadata and tensor infos), then each
// tensor's data is supplied in spec order through WriteRows / WriteEncoded, then Finish.
// Holds one row chunk of conversion scratch at a time, never a whole model.
// Not thread-safe; owned by its caller.
class GgufWriter {
 public:
  // Creates `path` (replacing it) and writes the metadata: general.*, llama.* from `config`,
  // tokenizer.ggml.* from `vocabulary` (spaces written as U+2581), the chat template if any,
  // and the infos of `tensors`.
  static absl::StatusOr<std::unique_ptr<GgufWriter>> Create(
      const std::string& path, const ModelConfig& config, const Vocabulary& vocabulary,
      std::vector<GgufTensorSpec> tensors,
      const std::optional<std::string>& chat_template = std::nullopt);

  ~GgufWriter();  // closes the file; without Finish it is left incomplete
  GgufWriter(const GgufWriter&) = delete;
  GgufWriter& operator=(const GgufWriter&) = delete;

  // Appends whole rows (row-major floats, a multiple of row_len values, no more than remain)
  // to the current tensor, converted to its type. A full tensor moves on to the next.
  absl::Status WriteRows(std::span<const float> values);
  // Appends bytes already encoded in the current tensor's type (whole rows).
  absl::Status WriteEncoded(std::span<const uint8_t> bytes);
  // Checks that every tensor is complete and closes the file.
  absl::Status Finish();

  const std::vector<GgufTensorSpec>& tensors() const { return tensors_; }
  // The index of the tensor being written; tensors().size() once all are complete.
  size_t current_tensor() const { return current_; }
  // Bytes written so far, header included.
  uint64_t bytes_written() const { return written_; }

 private:
  GgufWriter(std::string path, std::FILE* file, std::vector<GgufTensorSpec> tensors)
      : path_(std::move(path)), file_(file), tensors_(std::move(tensors)) {}
  absl::Status Write(const void* data, size_t size);
  absl::Status WriteErrno(std::string_view what);
  // Checks `rows` of the current tensor may follow; advances to the next tensor when full.
  absl::Status BeginRows(int64_t rows);
  absl::Status EndRows(int64_t rows);

  std::string path_;
  std::FILE* file_;
  std::vector<GgufTensorSpec> tensors_;
  std::vector<char> buffer_;      // stdio buffer
  std::vector<uint8_t> scratch_;  // converted rows
  size_t current_ = 0;
  int64_t rows_done_ = 0;  // rows of the current tensor written
  uint64_t written_ = 0;
};

// Writes `model` to `path` as GGUF, each tensor stored as StorageType(type, shape) and
// converted row chunk by row chunk (tensors already in their storage type are copied
// bit for bit). Returns the names of matrices kept in F32 although `type` was asked for.
absl::StatusOr<std::vector<std::string>> WriteModelGguf(const ModelFile& model, TensorType type,
                                                        const std::string& path);

}  // namespace fabric

#endif  // FABRIC_MODEL_GGUF_WRITER_H_
