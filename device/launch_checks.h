// The checks every Device makes of a launch and of a buffer access, with the same messages on
// every kind of card: arguments against the kernel's signature, the work range, and byte
// ranges inside buffers.
#ifndef FABRIC_DEVICE_LAUNCH_CHECKS_H_
#define FABRIC_DEVICE_LAUNCH_CHECKS_H_

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "device/device.h"
#include "kernels/kernel_signatures.h"

namespace fabric {

// What kind of argument `arg` is, in the signature table's terms.
ArgKind KindOfArg(const KernelArg& arg);

// InvalidArgument, naming card `card` and the kernel, unless `args` match `spec` in number and
// kind and end with a valid work range 0 <= begin <= end.
absl::Status CheckLaunchArgs(const std::string& card, std::string_view kernel,
                             const KernelSpec& spec, std::span<const KernelArg> args);

// OutOfRange, naming the card and `what`, unless bytes [offset, offset + bytes) lie inside
// buffer `buffer` of `buffer_bytes` bytes.
absl::Status CheckBufferRange(const std::string& card, const std::string& what, BufferId buffer,
                              size_t offset, size_t bytes, size_t buffer_bytes);

}  // namespace fabric

#endif  // FABRIC_DEVICE_LAUNCH_CHECKS_H_
