// Opening an XRT card for XrtDevice: the card, its loaded xclbin, the banks the xclbin uses and
// the kernels Fabric knows, each with the banks its arguments connect to. Internal to
// device/xrt/ (it holds XRT types; only this library sees XRT headers).
#ifndef FABRIC_DEVICE_XRT_XRT_CARD_H_
#define FABRIC_DEVICE_XRT_XRT_CARD_H_

#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "device/device.h"
#include "device/xrt/xrt_device.h"
#include "kernels/kernel_signatures.h"

namespace fabric {

// XRT 2.13 keeps some process-wide tables without a lock (the per-device command schedulers of
// kds.cpp, the handle-to-device map of system.cpp are read unlocked while a newly opened card is
// inserted). So every XRT call holds this mutex: shared for ordinary calls, exclusive while a
// card is opened or closed. Cards opened before launching never contend.
absl::Mutex& XrtLock();

// An absl::Status for an XRT exception: `code`, "<card>: <what>: XRT: <message>".
absl::Status XrtError(absl::StatusCode code, std::string_view card, std::string_view what,
                      const std::exception& error);

struct CardBank {
  std::string tag;       // "HBM[3]"
  int memory_group = 0;  // XRT's memory index: the group an xrt::bo is created in
  uint64_t capacity_bytes = 0;
};

struct CardKernel {
  const KernelSpec* spec = nullptr;
  xrt::kernel kernel;
  int compute_units = 1;
  // Per argument: the banks (indices into XrtCard::banks) its port reaches; empty for scalars.
  std::vector<std::vector<int>> arg_banks;
};

// Immutable once opened, except through the xrt objects (thread-safe per XRT).
struct XrtCard {
  std::string name;  // DeviceInfo.name
  std::optional<std::string> card_name;
  xrt::device device;
  xrt::uuid uuid;
  std::vector<CardBank> banks;  // the xclbin's used banks, in memory-index order
  std::map<std::string, CardKernel, std::less<>> kernels;  // the kernels Fabric knows
  // Per MemoryKind: the banks Allocate chooses from when no bank is named.
  std::vector<int> kind_banks[std::size(kAllMemoryKinds)];
};

// Opens `options.card` as `name`, loads `options.xclbin_path` and checks its interface. Takes
// XrtLock() exclusively. Errors as XrtDevice::Open documents.
absl::StatusOr<std::unique_ptr<XrtCard>> OpenCard(const XrtDeviceOptions& options,
                                                  const std::string& name);

// Closes the card (its kernels, then the device) under XrtLock(), exclusively.
void CloseCard(std::unique_ptr<XrtCard> card);

}  // namespace fabric

#endif  // FABRIC_DEVICE_XRT_XRT_CARD_H_
