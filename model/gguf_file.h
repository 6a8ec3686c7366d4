// GGUF (versions 2 and 3, little-endian): the container format, parsed without interpretation.
#ifndef FABRIC_MODEL_GGUF_FILE_H_
#define FABRIC_MODEL_GGUF_FILE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace fabric {

// GGUF metadata value types.
enum class GgufValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

inline constexpr char kGgufMagic[4] = {'G', 'G', 'U', 'F'};
inline constexpr uint64_t kGgufDefaultAlignment = 32;

// ggml's name for tensor type number `type` ("F32", "Q4_0", "Q6_K", ...), or "type <n>".
std::string GgmlTypeName(uint32_t type);

// A name or string read from a file, made safe for an error message: C-escaped and cut to
// 80 bytes (a corrupt length can make a "name" of megabytes of binary).
std::string PrintableName(std::string_view text);

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> shape;  // ne[]: shape[0] is the contiguous row length
  uint32_t ggml_type = 0;
  uint64_t offset = 0;  // relative to the start of the data section
};

// The structure of a GGUF file: its metadata and tensor infos, bounds-checked but not
// interpreted. Values are decoded on demand from `bytes`, which must outlive this object.
// Immutable after Parse: safe to read from any thread.
class GgufFile {
 public:
  // Parses the header, every metadata value (nested arrays included) and every tensor info.
  // Errors name `path` and say what is truncated or malformed.
  static absl::StatusOr<GgufFile> Parse(std::string path, std::span<const uint8_t> bytes);

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  // Absolute file offset of the (aligned) data section.
  uint64_t data_offset() const { return data_offset_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }

  bool Has(std::string_view key) const { return index_.find(key) != index_.end(); }
  // Keys in file order.
  std::vector<std::string> Keys() const;

  // Typed getters. NotFound when the key is absent; InvalidArgument when its type does not
  // fit. Error messages name the file and the key.
  absl::StatusOr<int64_t> GetInt(std::string_view key) const;   // any integer type
  absl::StatusOr<double> GetFloat(std::string_view key) const;  // float32 or float64
  absl::StatusOr<bool> GetBool(std::string_view key) const;
  absl::StatusOr<std::string> GetString(std::string_view key) const;
  absl::StatusOr<std::vector<std::string>> GetStringArray(std::string_view key) const;
  absl::StatusOr<std::vector<float>> GetFloatArray(std::string_view key) const;
  absl::StatusOr<std::vector<int64_t>> GetIntArray(std::string_view key) const;

 private:
  struct Entry {
    std::string key;
    GgufValueType type = GgufValueType::kUint8;
    GgufValueType array_type = GgufValueType::kUint8;  // for arrays
    uint64_t array_count = 0;                          // for arrays
    size_t value_offset = 0;  // scalars and strings: the value; arrays: the first element
  };
  class Parser;

  GgufFile(std::string path, std::span<const uint8_t> bytes)
      : path_(std::move(path)), bytes_(bytes) {}
  absl::StatusOr<const Entry*> Find(std::string_view key) const;
  absl::Status TypeError(const Entry& entry, std::string_view expected) const;

  std::string path_;
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint64_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<Entry> entries_;
  std::map<std::string, size_t, std::less<>> index_;
  std::vector<GgufTensorInfo> tensors_;
};

}  // namespace fabric

#endif  // FABRIC_MODEL_GGUF_FILE_H_
