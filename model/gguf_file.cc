#include "model/gguf_file.h"

#include <bit>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace fabric {

static_assert(std::endian::native == std::endian::little, "GGUF is read in place: little-endian");

namespace {

// Debian's Abseil 20220623 has its own string_view, which StrCat does not take std's for.
inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

constexpr int kMaxArrayDepth = 8;  // nested arrays deeper than this are rejected
constexpr uint32_t kMaxDims = 4;   // GGML_MAX_DIMS
constexpr uint64_t kMaxAlignment = 1 << 20;
// The smallest encodings, used to cap counts read from the file against its size.
constexpr size_t kMinEntryBytes = 8 + 4 + 1;               // key length, type, a 1-byte value
constexpr size_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // name, n_dims, one dim, type, offset

std::string_view ValueTypeName(uint32_t type) {
  static constexpr std::string_view kNames[] = {"uint8",  "int8",    "uint16", "int16",  "uint32",
                                                "int32",  "float32", "bool",   "string", "array",
                                                "uint64", "int64",   "float64"};
  return type < std::size(kNames) ? kNames[type] : "unknown";
}

// Bytes of one scalar value of `type`; 0 for strings, arrays and unknown types.
size_t ScalarSize(uint32_t type) {
  switch (static_cast<GgufValueType>(type)) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
      return 2;
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kFloat32:
      return 4;
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
    case GgufValueType::kFloat64:
      return 8;
    default:
      return 0;
  }
}

// The smallest encoding of one value of `type` (strings and arrays carry a length).
size_t MinValueSize(uint32_t type) {
  if (type == static_cast<uint32_t>(GgufValueType::kString)) return 8;
  if (type == static_cast<uint32_t>(GgufValueType::kArray)) return 12;
  return ScalarSize(type);
}

bool IsIntegerType(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
      return true;
    default:
      return false;
  }
}

// Bounds-checked little-endian reads from a byte span.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> bytes, size_t pos) : bytes_(bytes), pos_(pos) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }

  bool Skip(uint64_t n) {
    if (n > remaining()) return false;
    pos_ += n;
    return true;
  }
  template <typename T>
  bool Read(T* out) {
    if (sizeof(T) > remaining()) return false;
    std::memcpy(out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool ReadString(std::string_view* out) {
    uint64_t n = 0;
    const size_t start = pos_;
    if (!Read(&n) || n > remaining()) {
      pos_ = start;
      return false;
    }
    *out = std::string_view(reinterpret_cast<const char*>(bytes_.data()) + pos_, n);
    pos_ += n;
    return true;
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_;
};

// Reads an integer of any GGUF integer type at the cursor.
std::optional<int64_t> ReadInteger(Cursor& cursor, GgufValueType type) {
  auto read = [&cursor]<typename T>(T value) -> std::optional<int64_t> {
    if (!cursor.Read(&value)) return std::nullopt;
    if constexpr (std::is_same_v<T, uint64_t>) {
      if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    }
    return static_cast<int64_t>(value);
  };
  switch (type) {
    case GgufValueType::kUint8:
      return read(uint8_t{});
    case GgufValueType::kInt8:
      return read(int8_t{});
    case GgufValueType::kUint16:
      return read(uint16_t{});
    case GgufValueType::kInt16:
      return read(int16_t{});
    case GgufValueType::kUint32:
      return read(uint32_t{});
    case GgufValueType::kInt32:
      return read(int32_t{});
    case GgufValueType::kUint64:
      return read(uint64_t{});
    case GgufValueType::kInt64:
      return read(int64_t{});
    default:
      return std::nullopt;
  }
}

}  // namespace

std::string PrintableName(std::string_view text) {
  constexpr size_t kMaxBytes = 80;
  std::string printable = absl::CHexEscape(Sv(text.substr(0, kMaxBytes)));
  if (text.size() > kMaxBytes) absl::StrAppend(&printable, "... (", text.size(), " bytes)");
  return printable;
}

std::string GgmlTypeName(uint32_t type) {
  static constexpr std::string_view kNames[] = {
      "F32",   "F16",        "Q4_0",       "Q4_1",       "Q4_2",     "Q4_3",     "Q5_0",
      "Q5_1",  "Q8_0",       "Q8_1",       "Q2_K",       "Q3_K",     "Q4_K",     "Q5_K",
      "Q6_K",  "Q8_K",       "IQ2_XXS",    "IQ2_XS",     "IQ3_XXS",  "IQ1_S",    "IQ4_NL",
      "IQ3_S", "IQ2_S",      "IQ4_XS",     "I8",         "I16",      "I32",      "I64",
      "F64",   "IQ1_M",      "BF16",       "Q4_0_4_4",   "Q4_0_4_8", "Q4_0_8_8", "TQ1_0",
      "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4"};
  if (type < std::size(kNames)) return std::string(kNames[type]);
  return absl::StrCat("type ", type);
}

// Parses one GGUF file's header into a GgufFile; every error names the file.
class GgufFile::Parser {
 public:
  Parser(GgufFile& file) : file_(file), cursor_(file.bytes_, 0) {}

  absl::Status Run() {
    RETURN_IF_ERROR(ParseHeader());
    for (uint64_t i = 0; i < n_entries_; ++i) RETURN_IF_ERROR(ParseEntry(i));
    RETURN_IF_ERROR(ParseAlignment());
    for (uint64_t i = 0; i < n_tensors_; ++i) RETURN_IF_ERROR(ParseTensorInfo(i));
    const uint64_t end = cursor_.pos();
    file_.data_offset_ = (end + file_.alignment_ - 1) / file_.alignment_ * file_.alignment_;
    if (n_tensors_ > 0 && file_.data_offset_ > file_.bytes_.size()) {
      return Truncated("the data section", end);
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(absl::string_view problem) const {
    return absl::InvalidArgumentError(absl::StrCat(file_.path_, ": ", problem));
  }
  absl::Status Truncated(absl::string_view what, size_t offset) const {
    return Error(absl::StrCat("truncated GGUF file: ", what, " at offset ", offset,
                              " runs past the end of the file (", file_.bytes_.size(), " bytes)"));
  }

  absl::Status ParseHeader() {
    char magic[4];
    if (!cursor_.Read(&magic) || std::memcmp(magic, kGgufMagic, 4) != 0) {
      return Error("not a GGUF file (bad magic; expected \"GGUF\")");
    }
    if (!cursor_.Read(&file_.version_)) return Truncated("the header", 4);
    if (file_.version_ != 2 && file_.version_ != 3) {
      return Error(
          absl::StrCat("unsupported GGUF version ", file_.version_,
                       __builtin_bswap32(file_.version_) <= 3 ? " (a big-endian file?)" : "",
                       "; Fabric reads versions 2 and 3"));
    }
    if (!cursor_.Read(&n_tensors_) || !cursor_.Read(&n_entries_)) {
      return Truncated("the header", 8);
    }
    // Counts may be garbage: each entry and tensor info needs a minimum number of bytes.
    const size_t left = cursor_.remaining();
    if (n_entries_ > left / kMinEntryBytes || n_tensors_ > left / kMinTensorInfoBytes ||
        n_entries_ * kMinEntryBytes + n_tensors_ * kMinTensorInfoBytes > left) {
      return Error(absl::StrCat("truncated or corrupt GGUF file: the header declares ", n_entries_,
                                " metadata entries and ", n_tensors_,
                                " tensors, which cannot fit in the remaining ", left, " bytes"));
    }
    return absl::OkStatus();
  }

  absl::Status ParseEntry(uint64_t i) {
    const size_t start = cursor_.pos();
    std::string_view key;
    uint32_t type = 0;
    if (!cursor_.ReadString(&key)) return Truncated(absl::StrCat("metadata key #", i), start);
    const std::string where = absl::StrCat("metadata '", PrintableName(key), "'");
    if (!cursor_.Read(&type)) return Truncated(where, start);
    if (file_.index_.find(key) != file_.index_.end()) {
      return Error(absl::StrCat("duplicate metadata key '", PrintableName(key), "'"));
    }
    Entry entry;
    entry.key = std::string(key);
    entry.type = static_cast<GgufValueType>(type);
    if (type == static_cast<uint32_t>(GgufValueType::kArray)) {
      uint32_t element_type = 0;
      if (!cursor_.Read(&element_type) || !cursor_.Read(&entry.array_count)) {
        return Truncated(where, start);
      }
      entry.array_type = static_cast<GgufValueType>(element_type);
      entry.value_offset = cursor_.pos();
      RETURN_IF_ERROR(SkipArray(where, element_type, entry.array_count, 1));
    } else {
      entry.value_offset = cursor_.pos();
      RETURN_IF_ERROR(SkipValue(where, type, 0));
    }
    file_.index_.emplace(entry.key, file_.entries_.size());
    file_.entries_.push_back(std::move(entry));
    return absl::OkStatus();
  }

  absl::Status SkipValue(const std::string& where, uint32_t type, int depth) {
    const size_t start = cursor_.pos();
    if (type == static_cast<uint32_t>(GgufValueType::kString)) {
      std::string_view ignored;
      if (!cursor_.ReadString(&ignored)) return Truncated(where, start);
      return absl::OkStatus();
    }
    if (type == static_cast<uint32_t>(GgufValueType::kArray)) {
      uint32_t element_type = 0;
      uint64_t count = 0;
      if (!cursor_.Read(&element_type) || !cursor_.Read(&count)) return Truncated(where, start);
      return SkipArray(where, element_type, count, depth + 1);
    }
    const size_t size = ScalarSize(type);
    if (size == 0) return Error(absl::StrCat(where, " has unknown value type ", type));
    if (!cursor_.Skip(size)) return Truncated(where, start);
    return absl::OkStatus();
  }

  absl::Status SkipArray(const std::string& where, uint32_t element_type, uint64_t count,
                         int depth) {
    if (depth > kMaxArrayDepth) return Error(absl::StrCat(where, ": arrays nested too deeply"));
    const size_t min_size = MinValueSize(element_type);
    if (min_size == 0) {
      return Error(absl::StrCat(where, " is an array of unknown value type ", element_type));
    }
    if (count > cursor_.remaining() / min_size) {
      return Error(
          absl::StrCat("truncated or corrupt GGUF file: ", where, " at offset ", cursor_.pos(),
                       " declares ", count, " elements of type ", Sv(ValueTypeName(element_type)),
                       ", which cannot fit in the remaining ", cursor_.remaining(), " bytes"));
    }
    const size_t scalar = ScalarSize(element_type);
    if (scalar != 0) {
      cursor_.Skip(count * scalar);  // fits: checked above
      return absl::OkStatus();
    }
    for (uint64_t i = 0; i < count; ++i) {
      RETURN_IF_ERROR(SkipValue(where, element_type, depth));
    }
    return absl::OkStatus();
  }

  absl::Status ParseAlignment() {
    if (!file_.Has("general.alignment")) return absl::OkStatus();
    ASSIGN_OR_RETURN(const int64_t alignment, file_.GetInt("general.alignment"));
    if (alignment <= 0 || static_cast<uint64_t>(alignment) > kMaxAlignment ||
        !std::has_single_bit(static_cast<uint64_t>(alignment))) {
      return Error(absl::StrCat("general.alignment ", alignment, " is not a power of two up to ",
                                kMaxAlignment));
    }
    file_.alignment_ = static_cast<uint64_t>(alignment);
    return absl::OkStatus();
  }

  absl::Status ParseTensorInfo(uint64_t i) {
    const size_t start = cursor_.pos();
    std::string_view name;
    if (!cursor_.ReadString(&name)) return Truncated(absl::StrCat("tensor info #", i), start);
    const std::string where = absl::StrCat("tensor info '", PrintableName(name), "'");
    GgufTensorInfo info;
    info.name = std::string(name);
    uint32_t n_dims = 0;
    if (!cursor_.Read(&n_dims)) return Truncated(where, start);
    if (n_dims == 0 || n_dims > kMaxDims) {
      return Error(absl::StrCat("tensor '", PrintableName(name), "' has ", n_dims,
                                " dimensions (1 to ", kMaxDims, " allowed)"));
    }
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne = 0;
      if (!cursor_.Read(&ne)) return Truncated(where, start);
      // Each dimension and the total stay far below 2^62, so byte counts cannot overflow.
      constexpr uint64_t kMaxElements = uint64_t{1} << 50;
      if (ne == 0 || ne > kMaxElements || elements > kMaxElements / ne) {
        return Error(
            absl::StrCat("tensor '", PrintableName(name), "' has an invalid dimension ", ne));
      }
      elements *= ne;
      info.shape.push_back(static_cast<int64_t>(ne));
    }
    if (!cursor_.Read(&info.ggml_type) || !cursor_.Read(&info.offset)) {
      return Truncated(where, start);
    }
    for (const GgufTensorInfo& other : file_.tensors_) {
      if (other.name == name)
        return Error(absl::StrCat("duplicate tensor '", PrintableName(name), "'"));
    }
    file_.tensors_.push_back(std::move(info));
    return absl::OkStatus();
  }

  GgufFile& file_;
  Cursor cursor_;
  uint64_t n_tensors_ = 0;
  uint64_t n_entries_ = 0;
};

absl::StatusOr<GgufFile> GgufFile::Parse(std::string path, std::span<const uint8_t> bytes) {
  GgufFile file(std::move(path), bytes);
  RETURN_IF_ERROR(Parser(file).Run());
  return file;
}

std::vector<std::string> GgufFile::Keys() const {
  std::vector<std::string> keys;
  keys.reserve(entries_.size());
  for (const Entry& entry : entries_) keys.push_back(entry.key);
  return keys;
}

absl::StatusOr<const GgufFile::Entry*> GgufFile::Find(std::string_view key) const {
  auto it = index_.find(key);
  if (it == index_.end()) {
    return absl::NotFoundError(
        absl::StrCat(path_, ": missing metadata '", PrintableName(key), "'"));
  }
  return &entries_[it->second];
}

absl::Status GgufFile::TypeError(const Entry& entry, std::string_view expected) const {
  std::string actual(ValueTypeName(static_cast<uint32_t>(entry.type)));
  if (entry.type == GgufValueType::kArray) {
    actual = absl::StrCat("array of ", Sv(ValueTypeName(static_cast<uint32_t>(entry.array_type))));
  }
  return absl::InvalidArgumentError(absl::StrCat(path_, ": metadata '", PrintableName(entry.key),
                                                 "' is ", actual, ", expected ", Sv(expected)));
}

absl::StatusOr<int64_t> GgufFile::GetInt(std::string_view key) const {
  ASSIGN_OR_RETURN(const Entry* entry, Find(key));
  if (!IsIntegerType(entry->type)) return TypeError(*entry, "an integer");
  Cursor cursor(bytes_, entry->value_offset);
  std::optional<int64_t> value = ReadInteger(cursor, entry->type);
  if (!value) return TypeError(*entry, "an integer below 2^63");
  return *value;
}

absl::StatusOr<double> GgufFile::GetFloat(std::string_view key) const {
  ASSIGN_OR_RETURN(const Entry* entry, Find(key));
  Cursor cursor(bytes_, entry->value_offset);
  if (entry->type == GgufValueType::kFloat32) {
    float value = 0;
    if (cursor.Read(&value)) return value;
  } else if (entry->type == GgufValueType::kFloat64) {
    double value = 0;
    if (cursor.Read(&value)) return value;
  }
  return TypeError(*entry, "float32 or float64");
}

absl::StatusOr<bool> GgufFile::GetBool(std::string_view key) const {
  ASSIGN_OR_RETURN(const Entry* entry, Find(key));
  Cursor cursor(bytes_, entry->value_offset);
  uint8_t value = 0;
  if (entry->type != GgufValueType::kBool || !cursor.Read(&value)) {
    return TypeError(*entry, "bool");
  }
  return value != 0;
}

absl::StatusOr<std::string> GgufFile::GetString(std::string_view key) const {
  ASSIGN_OR_RETURN(const Entry* entry, Find(key));
  Cursor cursor(bytes_, entry->value_offset);
  std::string_view value;
  if (entry->type != GgufValueType::kString || !cursor.ReadString(&value)) {
    return TypeError(*entry, "string");
  }
  return std::string(value);
}

// Array elements were bounds-checked by Parse, so the reads below cannot fail; they are
// checked anyway.
absl::StatusOr<std::vector<std::string>> GgufFile::GetStringArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const Entry* entry, Find(key));
  if (entry->type != GgufValueType::kArray || entry->array_type != GgufValueType::kString) {
    return TypeError(*entry, "array of string");
  }
  std::vector<std::string> values;
  values.reserve(entry->array_count);
  Cursor cursor(bytes_, entry->value_offset);
  for (uint64_t i = 0; i < entry->array_count; ++i) {
    std::string_view value;
    if (!cursor.ReadString(&value)) return TypeError(*entry, "a well-formed array of string");
    values.emplace_back(value);
  }
  return values;
}

absl::StatusOr<std::vector<float>> GgufFile::GetFloatArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const Entry* entry, Find(key));
  if (entry->type != GgufValueType::kArray || entry->array_type != GgufValueType::kFloat32) {
    return TypeError(*entry, "array of float32");
  }
  std::vector<float> values(entry->array_count);
  Cursor cursor(bytes_, entry->value_offset);
  for (float& value : values) {
    if (!cursor.Read(&value)) return TypeError(*entry, "a well-formed array of float32");
  }
  return values;
}

absl::StatusOr<std::vector<int64_t>> GgufFile::GetIntArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const Entry* entry, Find(key));
  if (entry->type != GgufValueType::kArray || !IsIntegerType(entry->array_type)) {
    return TypeError(*entry, "array of integers");
  }
  std::vector<int64_t> values;
  values.reserve(entry->array_count);
  Cursor cursor(bytes_, entry->value_offset);
  for (uint64_t i = 0; i < entry->array_count; ++i) {
    std::optional<int64_t> value = ReadInteger(cursor, entry->array_type);
    if (!value) return TypeError(*entry, "an array of integers below 2^63");
    values.push_back(*value);
  }
  return values;
}

}  // namespace fabric
