#include "device/xrt/xrt_device.h"

#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "device/launch_checks.h"
#include "device/mock/kernel_registry.h"
#include "device/xrt/emulation_queue.h"
#include "device/xrt/xrt_card.h"

namespace fabric {
namespace {

// Buffers are padded to whole AXI bursts, as the mock pads them.
constexpr size_t kAlignment = 64;

std::string_view StateName(ert_cmd_state state) {
  switch (state) {
    case ERT_CMD_STATE_COMPLETED:
      return "completed";
    case ERT_CMD_STATE_ERROR:
      return "error";
    case ERT_CMD_STATE_ABORT:
      return "aborted";
    case ERT_CMD_STATE_TIMEOUT:
      return "timed out";
    case ERT_CMD_STATE_NORESPONSE:
      return "no response";
    default:
      return "unfinished";
  }
}

// xrt::run::wait with an absl timeout: XRT reads 0 ms as "forever", so round up to 1 ms.
ert_cmd_state WaitRun(const xrt::run& run, absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return run.wait();
  const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(timeout, absl::Milliseconds(1)));
  return run.wait(std::chrono::milliseconds(std::clamp<int64_t>(ms, 1, int64_t{1} << 40)));
}

// Sets a run's arguments: buffers from `bos` (an empty bo for a scalar), scalars by value.
void SetArgs(xrt::run& run, const std::vector<KernelArg>& args, const std::vector<xrt::bo>& bos) {
  for (size_t i = 0; i < args.size(); ++i) {
    const int index = static_cast<int>(i);
    if (std::holds_alternative<BufferRef>(args[i])) {
      run.set_arg(index, bos[i]);
    } else if (const auto* number = std::get_if<int32_t>(&args[i])) {
      run.set_arg(index, *number);
    } else {
      run.set_arg(index, std::get<float>(args[i]));
    }
  }
}

// Each part's arguments for the host: buffers at their mapped address plus offset.
std::vector<std::vector<ResolvedArg>> HostArgs(const std::vector<std::vector<KernelArg>>& parts,
                                               const std::vector<uint8_t*>& hosts) {
  std::vector<std::vector<ResolvedArg>> resolved;
  for (const std::vector<KernelArg>& args : parts) {
    std::vector<ResolvedArg>& out = resolved.emplace_back(args.size());
    for (size_t i = 0; i < args.size(); ++i) {
      if (const auto* ref = std::get_if<BufferRef>(&args[i])) {
        out[i] = static_cast<void*>(hosts[i] + ref->offset);
      } else if (const auto* number = std::get_if<int32_t>(&args[i])) {
        out[i] = *number;
      } else {
        out[i] = std::get<float>(args[i]);
      }
    }
  }
  return resolved;
}

// One emulated launch: the XRT runs to wait for, then each part's kernel call.
struct EmulatedLaunch {
  std::string kernel;
  std::vector<xrt::run> runs;
  KernelInvoker invoke;
  std::vector<std::vector<ResolvedArg>> parts;
  std::function<void(std::string_view)> before;
};

absl::Status RunEmulated(const std::string& card, const EmulatedLaunch& launch) {
  {
    absl::ReaderMutexLock lock(&XrtLock());
    for (const xrt::run& run : launch.runs) {
      try {
        const ert_cmd_state state = run.wait();
        if (state != ERT_CMD_STATE_COMPLETED) {
          return absl::InternalError(absl::StrCat(card, ": kernel ", launch.kernel, " ended ",
                                                  std::string(StateName(state))));
        }
      } catch (const std::exception& error) {
        return XrtError(absl::StatusCode::kInternal, card,
                        absl::StrCat("waiting for kernel ", launch.kernel), error);
      }
    }
  }
  if (launch.before) launch.before(launch.kernel);
  for (const std::vector<ResolvedArg>& part : launch.parts) launch.invoke(part);
  return absl::OkStatus();
}

}  // namespace

bool XrtNoopMode() {
  const char* mode = std::getenv("XCL_EMULATION_MODE");
  return mode != nullptr && std::string_view(mode) == "noop";
}

struct XrtDevice::Buffer {
  xrt::bo bo;
  size_t bytes;  // as asked; the bo is padded
  int bank;      // index into info_.banks
  MemoryKind kind;
  uint8_t* host;  // the mapped bo, for host emulation
};

struct XrtDevice::Run {
  std::string kernel;
  std::vector<xrt::run> runs;                     // one per compute-unit part
  std::vector<std::vector<KernelArg>> part_args;  // each part's arguments
  std::vector<xrt::bo> sub_buffers;  // arguments at an offset, alive until the run is waited
  absl::Time launched;
  uint64_t emulation = 0;  // its EmulationQueue job; 0 when not emulated
};

struct XrtDevice::Xrt {
  std::unique_ptr<XrtCard> card;
  std::unordered_map<BufferId, Buffer> buffers;
  std::vector<uint64_t> bank_used;
  BufferId next_buffer = 1;
  std::unordered_map<RunHandle, Run> runs;
  RunHandle next_run = 1;
  std::map<std::string, std::vector<xrt::run>, std::less<>> idle_runs;  // by kernel
  std::function<void(std::string_view)> before_emulated_run;
  std::unique_ptr<EmulationQueue> emulation;  // set when emulating kernels on the host
};

absl::StatusOr<std::unique_ptr<XrtDevice>> XrtDevice::Open(XrtDeviceOptions options) {
  const bool index =
      !options.card.empty() && options.card.find_first_not_of("0123456789") == std::string::npos;
  const std::string name = !options.name.empty() ? options.name
                           : index               ? "xrt" + options.card
                                                 : "xrt-" + options.card;
  if (options.emulate_kernels_on_host && !XrtNoopMode()) {
    return absl::FailedPreconditionError(absl::StrCat(
        name, ": emulate_kernels_on_host is only for XRT's no-op shim (XCL_EMULATION_MODE=noop);",
        " on a real card the kernels run on the card"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<XrtCard> card, OpenCard(options, name));
  DeviceInfo info;
  info.name = name;
  info.kind = "xrt";
  for (const CardBank& bank : card->banks) info.banks.push_back({bank.tag, bank.capacity_bytes});
  info.compute_units = 0;
  for (const KernelSpec& spec : kKernelSpecs) {
    auto it = card->kernels.find(spec.name);
    if (it == card->kernels.end()) continue;
    info.kernels.emplace_back(spec.name);
    info.compute_units = info.compute_units == 0
                             ? it->second.compute_units
                             : std::min(info.compute_units, it->second.compute_units);
  }
  info.compute_units = std::max(info.compute_units, 1);
  auto xrt = std::make_unique<Xrt>();
  info.product = card->card_name.value_or("");
  xrt->bank_used.assign(card->banks.size(), 0);
  xrt->card = std::move(card);
  if (options.emulate_kernels_on_host) {
    xrt->emulation = std::make_unique<EmulationQueue>();
    xrt->before_emulated_run = std::move(options.before_emulated_run);
  }
  return std::unique_ptr<XrtDevice>(
      new XrtDevice(std::move(info), std::move(xrt)));
}

XrtDevice::XrtDevice(DeviceInfo info, std::unique_ptr<Xrt> xrt)
    : info_(std::move(info)), xrt_(std::move(xrt)) {}

XrtDevice::~XrtDevice() {
  xrt_->emulation.reset();  // finishes the queued emulated runs first
  {
    absl::WriterMutexLock lock(&XrtLock());
    try {
      xrt_->runs.clear();
      xrt_->idle_runs.clear();
      xrt_->buffers.clear();
    } catch (const std::exception&) {
      // XRT's destructors do not throw in practice; nothing useful to do if they do.
    }
  }
  CloseCard(std::move(xrt_->card));
}

DeviceStats XrtDevice::stats() const {
  DeviceStats stats;
  {
    absl::MutexLock lock(&stats_mu_);
    stats = stats_;
  }
  const CardSensors now = sensors();
  stats.temperature_celsius = now.fpga_celsius;
  stats.power_watts = now.power_watts;
  return stats;
}

CardSensors XrtDevice::sensors() const {
  CardSensors sensors;
  absl::ReaderMutexLock lock(&XrtLock());
  try {
    sensors.fpga_celsius =
        FpgaCelsiusFromThermal(xrt_->card->device.get_info<xrt::info::device::thermal>());
  } catch (const std::exception&) {
    // Not reported: absent.
  }
  try {
    sensors.power_watts =
        PowerWattsFromElectrical(xrt_->card->device.get_info<xrt::info::device::electrical>());
  } catch (const std::exception&) {
    // Not reported: absent.
  }
  return sensors;
}

absl::StatusOr<int> XrtDevice::ChooseBank(size_t bytes, std::string_view bank,
                                          MemoryKind kind) const {
  const std::string what = absl::StrCat(info_.name, ": cannot allocate ", bytes, " bytes of ",
                                        std::string(MemoryKindName(kind)));
  std::vector<int> candidates;
  if (bank.empty()) {
    candidates = xrt_->card->kind_banks[static_cast<int>(kind)];
  } else {
    for (size_t i = 0; i < info_.banks.size(); ++i) {
      if (info_.banks[i].name == bank) candidates.push_back(static_cast<int>(i));
    }
    if (candidates.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          info_.name, ": no memory bank '", std::string(bank), "' in its xclbin (it uses ",
          absl::StrJoin(info_.banks, ", ",
                        [](std::string* out, const MemoryBankInfo& b) { out->append(b.name); }),
          ")"));
    }
  }
  if (candidates.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": the xclbin connects no memory bank to the kernel ports of that kind"));
  }
  // The bank with the most free space: spreads weights over their channels.
  int best = candidates.front();
  auto free_bytes = [&](int i) { return info_.banks[i].capacity_bytes - xrt_->bank_used[i]; };
  for (int i : candidates) best = free_bytes(i) > free_bytes(best) ? i : best;
  if (bytes > free_bytes(best)) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, " in bank ", info_.banks[best].name, ": ", xrt_->bank_used[best], " of ",
                     info_.banks[best].capacity_bytes, " bytes already in use",
                     candidates.size() > 1 ? " (the freest of the banks its ports reach)" : ""));
  }
  return best;
}

absl::StatusOr<BufferId> XrtDevice::Allocate(size_t bytes, std::string_view bank, MemoryKind kind) {
  ASSIGN_OR_RETURN(const int index, ChooseBank(bytes, bank, kind));
  const size_t padded = std::max(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment);
  Buffer buffer{{}, bytes, index, kind, nullptr};
  try {
    absl::ReaderMutexLock lock(&XrtLock());
    buffer.bo = xrt::bo(xrt_->card->device, padded, xrt::bo::flags::normal,
                        xrt_->card->banks[index].memory_group);
    // Card memory starts zeroed, as on the mock, so runs are reproducible.
    uint8_t* host = buffer.bo.map<uint8_t*>();
    std::memset(host, 0, padded);
    buffer.bo.sync(XCL_BO_SYNC_BO_TO_DEVICE);
    if (xrt_->emulation != nullptr) buffer.host = host;
  } catch (const std::exception& error) {
    return XrtError(
        absl::StatusCode::kResourceExhausted, info_.name,
        absl::StrCat("cannot allocate ", bytes, " bytes in bank ", info_.banks[index].name), error);
  }
  const BufferId id = xrt_->next_buffer++;
  xrt_->buffers.emplace(id, std::move(buffer));
  xrt_->bank_used[index] += bytes;
  absl::MutexLock lock(&stats_mu_);
  stats_.memory_used_bytes[static_cast<int>(kind)] += bytes;
  return id;
}

absl::Status XrtDevice::Free(BufferId id) {
  auto it = xrt_->buffers.find(id);
  if (it == xrt_->buffers.end()) {
    return absl::NotFoundError(absl::StrCat(info_.name, ": no buffer ", id));
  }
  xrt_->bank_used[it->second.bank] -= it->second.bytes;
  {
    absl::MutexLock lock(&stats_mu_);
    stats_.memory_used_bytes[static_cast<int>(it->second.kind)] -= it->second.bytes;
  }
  absl::ReaderMutexLock lock(&XrtLock());
  try {
    xrt_->buffers.erase(it);
  } catch (const std::exception& error) {
    return XrtError(absl::StatusCode::kInternal, info_.name, "cannot free a buffer", error);
  }
  return absl::OkStatus();
}

absl::StatusOr<XrtDevice::Buffer*> XrtDevice::Find(BufferId id, size_t offset, size_t bytes,
                                                   const std::string& what) const {
  auto it = xrt_->buffers.find(id);
  if (it == xrt_->buffers.end()) {
    return absl::NotFoundError(absl::StrCat(info_.name, ": ", what, ": no buffer ", id));
  }
  RETURN_IF_ERROR(CheckBufferRange(info_.name, what, id, offset, bytes, it->second.bytes));
  return &it->second;
}

absl::Status XrtDevice::Write(BufferId id, size_t offset, std::span<const uint8_t> data) {
  ASSIGN_OR_RETURN(Buffer * buffer, Find(id, offset, data.size(), "write"));
  if (!data.empty()) {
    absl::ReaderMutexLock lock(&XrtLock());
    try {
      buffer->bo.write(data.data(), data.size(), offset);
      buffer->bo.sync(XCL_BO_SYNC_BO_TO_DEVICE, data.size(), offset);
    } catch (const std::exception& error) {
      return XrtError(absl::StatusCode::kInternal, info_.name,
                      absl::StrCat("cannot write buffer ", id), error);
    }
  }
  absl::MutexLock lock(&stats_mu_);
  stats_.bytes_written += data.size();
  return absl::OkStatus();
}

absl::Status XrtDevice::Read(BufferId id, size_t offset, std::span<uint8_t> out) {
  ASSIGN_OR_RETURN(Buffer * buffer, Find(id, offset, out.size(), "read"));
  if (!out.empty()) {
    absl::ReaderMutexLock lock(&XrtLock());
    try {
      buffer->bo.sync(XCL_BO_SYNC_BO_FROM_DEVICE, out.size(), offset);
      buffer->bo.read(out.data(), out.size(), offset);
    } catch (const std::exception& error) {
      return XrtError(absl::StatusCode::kInternal, info_.name,
                      absl::StrCat("cannot read buffer ", id), error);
    }
  }
  absl::MutexLock lock(&stats_mu_);
  stats_.bytes_read += out.size();
  return absl::OkStatus();
}

// The buffer of argument `index`, refused when its bank is one the argument's port cannot
// reach: XRT would copy it into a reachable bank behind our back and compute on the copy.
absl::StatusOr<XrtDevice::Buffer*> XrtDevice::FindArgBuffer(std::string_view kernel, size_t index,
                                                            const BufferRef& ref) const {
  const CardKernel& card_kernel = xrt_->card->kernels.find(kernel)->second;
  const std::string arg(card_kernel.spec->args[index].name);
  ASSIGN_OR_RETURN(Buffer * buffer, Find(ref.buffer, ref.offset, 0,
                                         absl::StrCat(std::string(kernel), " argument ", arg)));
  const std::vector<int>& reach = card_kernel.arg_banks[index];
  if (std::find(reach.begin(), reach.end(), buffer->bank) == reach.end()) {
    std::vector<std::string> banks;
    for (int bank : reach) banks.push_back(info_.banks[bank].name);
    return absl::FailedPreconditionError(absl::StrCat(
        info_.name, ": kernel ", std::string(kernel), " argument ", arg, ": buffer ", ref.buffer,
        " is in bank ", info_.banks[buffer->bank].name, ", which its port does not reach (the ",
        "xclbin connects it to ", absl::StrJoin(banks, ", "), "); allocate it with the kind ",
        "that port takes, or in one of those banks"));
  }
  return buffer;
}

absl::StatusOr<RunHandle> XrtDevice::Launch(std::string_view kernel,
                                            std::span<const KernelArg> args) {
  if (xrt_->card->kernels.find(kernel) == xrt_->card->kernels.end()) {
    return absl::NotFoundError(absl::StrCat(info_.name, ": its bitstream has no kernel '",
                                            std::string(kernel), "' (it offers ",
                                            absl::StrJoin(info_.kernels, ", "), ")"));
  }
  RETURN_IF_ERROR(
      CheckLaunchArgs(info_.name, kernel, *xrt_->card->kernels.find(kernel)->second.spec, args));
  // Resolve every buffer first, so a bad argument launches nothing.
  std::vector<Buffer*> buffers(args.size(), nullptr);
  std::vector<uint8_t*> hosts(args.size(), nullptr);
  for (size_t i = 0; i < args.size(); ++i) {
    if (const auto* ref = std::get_if<BufferRef>(&args[i])) {
      ASSIGN_OR_RETURN(buffers[i], FindArgBuffer(kernel, i, *ref));
      hosts[i] = buffers[i]->host;
    }
  }
  Run run{std::string(kernel), {}, {}, {}, absl::Now(), 0};
  RETURN_IF_ERROR(StartRuns(args, buffers, run));
  if (xrt_->emulation != nullptr) {
    EmulatedLaunch launch{run.kernel, run.runs, FindMockKernel(kernel)->invoke,
                          HostArgs(run.part_args, hosts), xrt_->before_emulated_run};
    run.emulation = xrt_->emulation->Submit([card = info_.name, launch]() mutable {
      absl::Status status = RunEmulated(card, launch);
      absl::ReaderMutexLock lock(&XrtLock());
      launch.runs.clear();  // XRT objects are released under the lock
      return status;
    });
  }
  const RunHandle handle = xrt_->next_run++;
  xrt_->runs.emplace(handle, std::move(run));
  absl::MutexLock lock(&stats_mu_);
  ++stats_.launches;
  ++stats_.launches_by_kernel[std::string(kernel)];
  return handle;
}

// Splits the launch's [begin, end) range (its last two arguments) over the kernel's compute
// units and starts one xrt::run per part. A BufferRef's offset is passed as a sub-buffer, so
// the kernel sees the address `offset` bytes into the buffer.
absl::Status XrtDevice::StartRuns(std::span<const KernelArg> args,
                                  const std::vector<Buffer*>& buffers, Run& run) {
  const CardKernel& kernel = xrt_->card->kernels.find(run.kernel)->second;
  const int begin = std::get<int32_t>(args[args.size() - 2]);
  const int end = std::get<int32_t>(args[args.size() - 1]);
  const int parts = std::max(1, std::min(end - begin, kernel.compute_units));
  const int chunk = (end - begin + parts - 1) / parts;
  try {
    absl::ReaderMutexLock lock(&XrtLock());
    std::vector<xrt::bo> bos(args.size());
    for (size_t i = 0; i < args.size(); ++i) {
      if (buffers[i] == nullptr) continue;
      const size_t offset = std::get<BufferRef>(args[i]).offset;
      const xrt::bo& bo = buffers[i]->bo;
      bos[i] = offset == 0 ? bo : xrt::bo(bo, bo.size() - offset, offset);
      if (offset != 0) run.sub_buffers.push_back(bos[i]);
    }
    std::vector<xrt::run>& idle = xrt_->idle_runs[run.kernel];
    for (int part = 0; part < parts; ++part) {
      std::vector<KernelArg> part_args(args.begin(), args.end());
      const int part_begin = std::min(end, begin + part * chunk);
      part_args[args.size() - 2] = part_begin;
      part_args[args.size() - 1] = std::min(end, part_begin + chunk);
      xrt::run xrt_run = idle.empty() ? xrt::run(kernel.kernel) : std::move(idle.back());
      if (!idle.empty()) idle.pop_back();
      SetArgs(xrt_run, part_args, bos);
      xrt_run.start();
      run.runs.push_back(std::move(xrt_run));
      run.part_args.push_back(std::move(part_args));
    }
  } catch (const std::exception& error) {
    AbandonStartedRuns(run);
    return XrtError(absl::StatusCode::kInternal, info_.name,
                    absl::StrCat("cannot launch kernel ", run.kernel), error);
  }
  return absl::OkStatus();
}

// After a launch failed part-way: the parts already started may still write into their
// buffers, which the caller may free once Launch returns, so wait for them (bounded: a hung
// card stays hung, but a working one finishes) before releasing them.
void XrtDevice::AbandonStartedRuns(Run& run) {
  constexpr std::chrono::seconds kLongestKernel(60);
  absl::ReaderMutexLock lock(&XrtLock());
  try {
    for (xrt::run& started : run.runs) started.wait(kLongestKernel);
  } catch (const std::exception&) {
    // Nothing more to do: the launch already reports the error that got it here.
  }
  run.runs.clear();
  run.sub_buffers.clear();
}

// Waits for the run's XRT commands until `timeout`, holding XrtLock() for a bounded slice at a
// time, so a long kernel never holds up a card being opened elsewhere.
absl::Status XrtDevice::WaitForXrt(RunHandle handle, Run& run, absl::Duration timeout) const {
  constexpr absl::Duration kSlice = absl::Milliseconds(50);
  const absl::Time deadline = absl::Now() + timeout;  // infinite stays infinite
  for (const xrt::run& xrt_run : run.runs) {
    ert_cmd_state state = ERT_CMD_STATE_TIMEOUT;
    for (bool first = true; state == ERT_CMD_STATE_TIMEOUT; first = false) {
      const absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
      if (left == absl::ZeroDuration() && !first) {
        return absl::DeadlineExceededError(
            absl::StrCat(info_.name, ": kernel ", run.kernel, " (run ", handle,
                         ") has not finished after ", absl::FormatDuration(timeout)));
      }
      absl::ReaderMutexLock lock(&XrtLock());
      try {
        state = WaitRun(xrt_run, std::min(left, kSlice));
      } catch (const std::exception& error) {
        return XrtError(absl::StatusCode::kInternal, info_.name,
                        absl::StrCat("waiting for kernel ", run.kernel), error);
      }
    }
    if (state != ERT_CMD_STATE_COMPLETED) {
      return absl::InternalError(absl::StrCat(info_.name, ": kernel ", run.kernel, " (run ", handle,
                                              ") ended ", std::string(StateName(state))));
    }
  }
  return absl::OkStatus();
}

absl::Status XrtDevice::Wait(RunHandle handle, absl::Duration timeout) {
  auto it = xrt_->runs.find(handle);
  if (it == xrt_->runs.end()) {
    return absl::NotFoundError(absl::StrCat(info_.name, ": no run ", handle));
  }
  Run& run = it->second;
  absl::Status status;
  absl::Duration busy;
  if (run.emulation != 0) {
    absl::StatusOr<absl::Duration> ran = xrt_->emulation->Wait(run.emulation, timeout);
    if (ran.status().code() == absl::StatusCode::kDeadlineExceeded) {
      return absl::DeadlineExceededError(absl::StrCat(info_.name, ": kernel ", run.kernel, " (run ",
                                                      handle, ") has not finished after ",
                                                      absl::FormatDuration(timeout)));
    }
    status = ran.status();
    if (ran.ok()) busy = *ran;
  } else {
    status = WaitForXrt(handle, run, timeout);
    if (absl::IsDeadlineExceeded(status)) return status;  // still waitable
    busy = absl::Now() - run.launched;
  }
  {
    absl::ReaderMutexLock lock(&XrtLock());
    if (status.ok()) {
      std::vector<xrt::run>& idle = xrt_->idle_runs[run.kernel];
      for (xrt::run& xrt_run : run.runs) idle.push_back(std::move(xrt_run));
    }
    xrt_->runs.erase(it);
  }
  if (!status.ok()) return status;
  absl::MutexLock lock(&stats_mu_);
  stats_.busy_seconds += absl::ToDoubleSeconds(busy);
  return absl::OkStatus();
}

absl::StatusOr<std::string> XrtDevice::BankOf(BufferId id) const {
  auto it = xrt_->buffers.find(id);
  if (it == xrt_->buffers.end()) {
    return absl::NotFoundError(absl::StrCat(info_.name, ": no buffer ", id));
  }
  return info_.banks[it->second.bank].name;
}

absl::StatusOr<std::vector<std::string>> XrtDevice::ArgumentBanks(std::string_view kernel,
                                                                  std::string_view arg) const {
  auto found = xrt_->card->kernels.find(kernel);
  if (found == xrt_->card->kernels.end()) {
    return absl::NotFoundError(absl::StrCat(info_.name, ": no kernel '", std::string(kernel), "'"));
  }
  const CardKernel& card_kernel = found->second;
  for (size_t i = 0; i < card_kernel.spec->args.size(); ++i) {
    if (card_kernel.spec->args[i].name != arg) continue;
    std::vector<std::string> banks;
    for (int bank : card_kernel.arg_banks[i]) banks.push_back(info_.banks[bank].name);
    return banks;
  }
  return absl::NotFoundError(absl::StrCat(info_.name, ": kernel ", std::string(kernel),
                                          " has no argument '", std::string(arg), "'"));
}

}  // namespace fabric
