// A read-only memory mapping of a whole file.
#ifndef FABRIC_COMMON_MAPPED_FILE_H_
#define FABRIC_COMMON_MAPPED_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"

namespace fabric {

// Owns one read-only mapping; the bytes stay valid for the object's lifetime.
// Immutable after Open, so it is safe to read from any thread.
class MappedFile {
 public:
  // Maps `path`; fails with NotFound / InvalidArgument naming the file.
  static absl::StatusOr<std::unique_ptr<MappedFile>> Open(const std::string& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}

  std::string path_;
  const uint8_t* data_;
  size_t size_;
};

}  // namespace fabric

#endif  // FABRIC_COMMON_MAPPED_FILE_H_
