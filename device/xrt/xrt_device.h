// XrtDevice: a real Alveo card driven through XRT's native C++ API (xrt::device, xrt::xclbin,
// xrt::bo, xrt::kernel, xrt::run). This header has no XRT types: only device/xrt/ sees XRT.
//
// Opening a card loads its xclbin and checks the kernels it declares against
// kernels/kernel_signatures.h. Buffers live in the banks the xclbin's connectivity gives their
// kind (see Allocate); a launch passes a BufferRef's offset as a sub-buffer, so the kernel sees
// the address `offset` bytes into the buffer, and refuses a buffer in a bank the argument's port
// does not reach (XRT would silently copy it).
//
// XRT errors never leave this module: every XRT call is wrapped, and its exception becomes an
// absl::Status carrying XRT's message.
//
// Host emulation (an explicit option, for CI): under XRT's no-op shim (XCL_EMULATION_MODE=noop)
// the runs complete without computing anything. With `emulate_kernels_on_host`, once a run's
// XRT command completes the device computes the g++-compiled kernel (the mock device's, from
// device/mock/kernel_registry.h) on the buffers' mapped host memory, on a thread of its own, so
// the XRT code path yields the same results as MockDevice. Wait covers that computation.
#ifndef FABRIC_DEVICE_XRT_XRT_DEVICE_H_
#define FABRIC_DEVICE_XRT_XRT_DEVICE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "device/device.h"
#include "device/xrt/card_sensors.h"

namespace fabric {

struct XrtDeviceOptions {
  // The card: an index ("0", "1") or a PCIe address ("0000:3b:00.1").
  std::string card = "0";
  // The bitstream to load onto it.
  std::string xclbin_path;
  // DeviceInfo.name; empty means "xrt" + index ("xrt0") or "xrt-" + PCIe address.
  std::string name;
  // Compute every completed run on the host (see the file comment). Only allowed under the
  // no-op shim, where the card memory is host memory and no kernel runs otherwise.
  bool emulate_kernels_on_host = false;
  // Testing: called on the emulation thread before each emulated run computes; a test blocks
  // in it to hold a run unfinished (for timeouts) without depending on timing.
  std::function<void(std::string_view kernel)> before_emulated_run;
};

// True when XCL_EMULATION_MODE=noop: XRT's no-op shim stands in for every card.
bool XrtNoopMode();

// Owned by the DeviceWorker that drives it, one thread at a time like every Device; stats(),
// sensors() and info() may be called from any thread. XRT calls that open or close
// cards are serialized process-wide against all other XRT calls (see XrtLock in xrt_card.h), so
// cards may be opened, driven and closed from several threads. As on a card, a run may read
// buffers written before its launch and its results are there once Wait returns; free a buffer
// only after the runs using it are waited for.
class XrtDevice : public Device {
 public:
  // Opens the card and loads and checks the xclbin. A missing card, a missing or unloadable
  // xclbin file, or an XRT that cannot find its shim is an error naming the card, XRT's message
  // and what to check; an xclbin whose kernels disagree with the signature table is a
  // FailedPrecondition naming the kernel and the argument.
  static absl::StatusOr<std::unique_ptr<XrtDevice>> Open(XrtDeviceOptions options);
  ~XrtDevice() override;

  const DeviceInfo& info() const override { return info_; }
  DeviceStats stats() const override;

  // An empty `bank` means the banks the xclbin's connectivity gives buffers of `kind`: those
  // every port of the matching bundles reaches (weights: gmem_w; KV cache: gmem_kv;
  // activations: gmem_in, gmem_out and gmem_idx), preferring banks no other kind's port
  // reaches, and among them the one with the most free space, so weights spread over their
  // channels. A named bank must be one the xclbin uses.
  absl::StatusOr<BufferId> Allocate(size_t bytes, std::string_view bank, MemoryKind kind) override;
  absl::Status Free(BufferId buffer) override;
  absl::Status Write(BufferId buffer, size_t offset, std::span<const uint8_t> data) override;
  absl::Status Read(BufferId buffer, size_t offset, std::span<uint8_t> out) override;
  // Splits [begin, end) over the kernel's compute units, one xrt::run each.
  absl::StatusOr<RunHandle> Launch(std::string_view kernel,
                                   std::span<const KernelArg> args) override;
  absl::Status Wait(RunHandle run, absl::Duration timeout) override;

  // Temperature and power now; absent values are absent (always, under the no-op shim).
  CardSensors sensors() const;
  // The bank `buffer` lives in.
  absl::StatusOr<std::string> BankOf(BufferId buffer) const;
  // The banks the xclbin connects argument `arg` of `kernel` to, in bank order.
  absl::StatusOr<std::vector<std::string>> ArgumentBanks(std::string_view kernel,
                                                         std::string_view arg) const;

 private:
  struct Xrt;  // the XRT objects, defined in xrt_device.cc

  struct Buffer;
  struct Run;

  XrtDevice(DeviceInfo info, std::unique_ptr<Xrt> xrt);
  absl::StatusOr<int> ChooseBank(size_t bytes, std::string_view bank, MemoryKind kind) const;
  absl::StatusOr<Buffer*> Find(BufferId buffer, size_t offset, size_t bytes,
                               const std::string& what) const;
  absl::StatusOr<Buffer*> FindArgBuffer(std::string_view kernel, size_t index,
                                        const BufferRef& ref) const;
  absl::Status StartRuns(std::span<const KernelArg> args, const std::vector<Buffer*>& buffers,
                         Run& run);
  absl::Status WaitForXrt(RunHandle handle, Run& run, absl::Duration timeout) const;
  void AbandonStartedRuns(Run& run);

  const DeviceInfo info_;
  std::unique_ptr<Xrt> xrt_;

  mutable absl::Mutex stats_mu_;
  DeviceStats stats_ ABSL_GUARDED_BY(stats_mu_);
};

}  // namespace fabric

#endif  // FABRIC_DEVICE_XRT_XRT_DEVICE_H_
