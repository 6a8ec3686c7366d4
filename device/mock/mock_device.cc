#include "device/mock/mock_device.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "device/launch_checks.h"
#include "device/mock/kernel_registry.h"

namespace fabric {
namespace {

constexpr size_t kAlignment = 64;  // a cache line, and the AXI burst alignment of real cards

// The operating system wakes a sleeping thread tens of microseconds late, a sizeable part of
// an emulated step: sleep until this close to an emulated end, then spin. The spin yields, so
// other threads of a busy host still get the core.
constexpr auto kSpinBeforeEnd = std::chrono::microseconds(200);

std::chrono::steady_clock::duration ToClock(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds));
}

void WaitUntil(std::chrono::steady_clock::time_point end) {
  const auto now = std::chrono::steady_clock::now();
  if (end - now > kSpinBeforeEnd) std::this_thread::sleep_for(end - now - kSpinBeforeEnd);
  while (std::chrono::steady_clock::now() < end) std::this_thread::yield();
}

}  // namespace

void MockDevice::AlignedDelete::operator()(uint8_t* memory) const {
  ::operator delete[](memory, std::align_val_t(kAlignment));
}

absl::StatusOr<std::unique_ptr<MockDevice>> MockDevice::Create(MockDeviceOptions options) {
  DeviceInfo info;
  info.name = options.name;
  info.kind = "mock";
  info.compute_units = std::max(options.compute_units, 1);
  info.banks = options.banks;
  if (options.timing.has_value()) info.emulates = options.timing->card;
  if (info.banks.empty()) info.banks.push_back({"HBM", options.memory_bytes});
  if (options.kernels.empty()) {
    for (const KernelSpec& spec : kKernelSpecs) info.kernels.emplace_back(spec.name);
  } else {
    for (const std::string& kernel : options.kernels) {
      if (FindMockKernel(kernel) == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat(options.name, ": unknown kernel '", kernel, "' in its profile"));
      }
    }
    info.kernels = options.kernels;
  }
  return std::unique_ptr<MockDevice>(new MockDevice(std::move(info), std::move(options.timing)));
}

MockDevice::MockDevice(DeviceInfo info, std::optional<CardTiming> timing)
    : info_(std::move(info)),
      bank_used_(info_.banks.size(), 0),
      compute_units_(info_.compute_units),
      timing_(std::move(timing)) {}

DeviceStats MockDevice::stats() const {
  absl::MutexLock lock(&stats_mu_);
  DeviceStats stats = stats_;
  if (timing_.has_value()) stats.emulation = emulation_;
  return stats;
}

absl::StatusOr<BufferId> MockDevice::Allocate(size_t bytes, std::string_view bank,
                                              MemoryKind kind) {
  int bank_index = 0;
  if (!bank.empty()) {
    auto it = std::find_if(info_.banks.begin(), info_.banks.end(),
                           [&](const MemoryBankInfo& b) { return b.name == bank; });
    if (it == info_.banks.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(info_.name, ": no memory bank '", std::string(bank), "'"));
    }
    bank_index = static_cast<int>(it - info_.banks.begin());
  }
  const MemoryBankInfo& info = info_.banks[bank_index];
  if (bytes > info.capacity_bytes - bank_used_[bank_index]) {
    return absl::ResourceExhaustedError(
        absl::StrCat(info_.name, ": cannot allocate ", bytes, " bytes of ",
                     std::string(MemoryKindName(kind)), " in bank ", info.name, ": ",
                     bank_used_[bank_index], " of ", info.capacity_bytes, " bytes already in use"));
  }
  const size_t padded =
      std::max<size_t>((bytes + kAlignment - 1) / kAlignment * kAlignment, kAlignment);
  uint8_t* memory = new (std::align_val_t(kAlignment), std::nothrow) uint8_t[padded];
  if (memory == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat(info_.name, ": host memory exhausted allocating ", bytes, " bytes"));
  }
  std::memset(memory, 0, padded);  // card memory is zeroed, so runs are reproducible
  const BufferId id = next_buffer_++;
  buffers_.emplace(
      id, Allocation{std::unique_ptr<uint8_t[], AlignedDelete>(memory), bytes, bank_index, kind});
  bank_used_[bank_index] += bytes;
  absl::MutexLock lock(&stats_mu_);
  stats_.memory_used_bytes[static_cast<int>(kind)] += bytes;
  return id;
}

absl::Status MockDevice::Free(BufferId buffer) {
  auto it = buffers_.find(buffer);
  if (it == buffers_.end()) {
    return absl::NotFoundError(absl::StrCat(info_.name, ": no buffer ", buffer));
  }
  bank_used_[it->second.bank] -= it->second.bytes;
  {
    absl::MutexLock lock(&stats_mu_);
    stats_.memory_used_bytes[static_cast<int>(it->second.kind)] -= it->second.bytes;
  }
  buffers_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<MockDevice::Allocation*> MockDevice::Find(BufferId buffer, size_t offset,
                                                         size_t bytes, const std::string& what) {
  auto it = buffers_.find(buffer);
  if (it == buffers_.end()) {
    return absl::NotFoundError(absl::StrCat(info_.name, ": ", what, ": no buffer ", buffer));
  }
  RETURN_IF_ERROR(CheckBufferRange(info_.name, what, buffer, offset, bytes, it->second.bytes));
  return &it->second;
}

absl::Status MockDevice::Write(BufferId buffer, size_t offset, std::span<const uint8_t> data) {
  const Clock::time_point start = Clock::now();
  ASSIGN_OR_RETURN(Allocation * allocation, Find(buffer, offset, data.size(), "write"));
  std::memcpy(allocation->memory.get() + offset, data.data(), data.size());
  {
    absl::MutexLock lock(&stats_mu_);
    stats_.bytes_written += data.size();
  }
  EmulateTransfer(start, data.size(), /*to_host=*/false);
  return absl::OkStatus();
}

absl::Status MockDevice::Read(BufferId buffer, size_t offset, std::span<uint8_t> out) {
  const Clock::time_point start = Clock::now();
  ASSIGN_OR_RETURN(Allocation * allocation, Find(buffer, offset, out.size(), "read"));
  std::memcpy(out.data(), allocation->memory.get() + offset, out.size());
  {
    absl::MutexLock lock(&stats_mu_);
    stats_.bytes_read += out.size();
  }
  EmulateTransfer(start, out.size(), /*to_host=*/true);
  return absl::OkStatus();
}

absl::StatusOr<MockDevice::ResolvedLaunch> MockDevice::Resolve(std::string_view kernel,
                                                               const KernelSpec& spec,
                                                               std::span<const KernelArg> args) {
  RETURN_IF_ERROR(CheckLaunchArgs(info_.name, kernel, spec, args));
  ResolvedLaunch resolved{std::vector<ResolvedArg>(args.size()),
                          std::vector<size_t>(args.size(), 0)};
  for (size_t i = 0; i < args.size(); ++i) {
    if (const auto* ref = std::get_if<BufferRef>(&args[i])) {
      ASSIGN_OR_RETURN(Allocation * allocation, Find(ref->buffer, ref->offset, 0,
                                                     absl::StrCat(std::string(kernel), " argument ",
                                                                  std::string(spec.args[i].name))));
      resolved.args[i] = allocation->memory.get() + ref->offset;
      resolved.buffer_bytes[i] = allocation->bytes - ref->offset;
    } else if (const auto* value = std::get_if<int32_t>(&args[i])) {
      resolved.args[i] = *value;
    } else {
      resolved.args[i] = std::get<float>(args[i]);
    }
  }
  return resolved;
}

absl::StatusOr<std::optional<double>> MockDevice::EmulatedSeconds(
    const KernelSpec& spec, const ResolvedLaunch& launch) const {
  if (!timing_.has_value()) return std::nullopt;
  ASSIGN_OR_RETURN(const planner::KernelLaunch priced,
                   DescribeLaunch(spec, launch.args, launch.buffer_bytes));
  absl::StatusOr<double> seconds = timing_->launch_seconds(priced);
  if (!seconds.ok()) {
    return absl::Status(seconds.status().code(),
                        absl::StrCat(info_.name, " emulating ", timing_->card, ": ",
                                     seconds.status().message()));
  }
  return *seconds;
}

absl::StatusOr<RunHandle> MockDevice::Launch(std::string_view kernel,
                                             std::span<const KernelArg> args) {
  // A timed launch is issued now: checking and preparing it is the host's part of the round
  // trip the emulated time includes.
  const Clock::time_point start = Clock::now();
  if (std::find(info_.kernels.begin(), info_.kernels.end(), kernel) == info_.kernels.end()) {
    return absl::NotFoundError(absl::StrCat(info_.name, ": its bitstream has no kernel '",
                                            std::string(kernel), "' (it offers ",
                                            absl::StrJoin(info_.kernels, ", "), ")"));
  }
  const MockKernel* mock = FindMockKernel(kernel);
  const KernelSpec& spec = *mock->spec;
  ASSIGN_OR_RETURN(ResolvedLaunch launch, Resolve(kernel, spec, args));
  std::vector<ResolvedArg>& resolved = launch.args;
  // The last two arguments are the [begin, end) work range: split it across compute units.
  const int begin = std::get<int32_t>(resolved[args.size() - 2]);
  const int end = std::get<int32_t>(resolved[args.size() - 1]);
  ASSIGN_OR_RETURN(const std::optional<double> emulated, EmulatedSeconds(spec, launch));
  LaunchShape shape{spec.name, end - begin, 0};
  for (size_t i = 0; i + 2 < args.size(); ++i) {
    if (const int32_t* value = std::get_if<int32_t>(&args[i])) {
      shape.ints = shape.ints * 1000003 + static_cast<uint32_t>(*value);
    }
  }
  const int parts = PartsFor(shape);
  const int chunk = parts == 0 ? 0 : (end - begin + parts - 1) / parts;
  KernelInvoker invoke = mock->invoke;
  const uint64_t job = compute_units_.Submit(
      [invoke, resolved = std::move(resolved), begin, end, chunk](int part) {
        std::vector<ResolvedArg> own = resolved;
        const int part_begin = begin + part * chunk;
        own[own.size() - 2] = part_begin;
        own[own.size() - 1] = std::min(end, part_begin + chunk);
        invoke(own);
      },
      parts);
  launch_shapes_[job] = shape;
  if (emulated.has_value()) emulated_runs_[job] = {Occupy(start, *emulated), *emulated};
  absl::MutexLock lock(&stats_mu_);
  ++stats_.launches;
  ++stats_.launches_by_kernel[std::string(kernel)];
  return job;
}

int MockDevice::PartsFor(const LaunchShape& shape) const {
  auto last = last_work_.find(shape);
  return compute_units_.PartsFor(shape.items, last == last_work_.end()
                                                  ? std::nullopt
                                                  : std::optional<absl::Duration>(last->second));
}

absl::Status MockDevice::Wait(RunHandle run, absl::Duration timeout) {
  absl::StatusOr<ComputeUnits::JobTimes> times = compute_units_.Wait(run, timeout);
  if (!times.ok()) {
    return absl::Status(times.status().code(),
                        absl::StrCat(info_.name, ": ", times.status().message()));
  }
  if (auto shape = launch_shapes_.find(run); shape != launch_shapes_.end()) {
    last_work_[shape->second] = times->work;
    launch_shapes_.erase(shape);
  }
  const absl::Duration busy = times->busy;
  auto timed = emulated_runs_.find(run);
  if (timed == emulated_runs_.end()) {
    absl::MutexLock lock(&stats_mu_);
    stats_.busy_seconds += absl::ToDoubleSeconds(busy);
    return absl::OkStatus();
  }
  const EmulatedRun emulated = timed->second;
  emulated_runs_.erase(timed);
  // No waiting for the card's clock here: results leave the card only through a Read, which
  // does. A CPU that finished after the emulated end has held the card up.
  const Clock::time_point computed = Clock::now();
  absl::MutexLock lock(&stats_mu_);
  stats_.busy_seconds += emulated.seconds;  // the card's time, however long the CPU took
  ++emulation_.launches;
  if (computed > emulated.end) {
    ++emulation_.overruns;
    emulation_.overrun_seconds += std::chrono::duration<double>(computed - emulated.end).count();
  }
  return absl::OkStatus();
}

MockDevice::Clock::time_point MockDevice::Occupy(Clock::time_point start, double seconds) {
  card_free_at_ = std::max(start, card_free_at_) + ToClock(seconds);
  return card_free_at_;
}

void MockDevice::EmulateTransfer(Clock::time_point start, size_t bytes, bool to_host) {
  if (!timing_.has_value()) return;
  const double seconds = timing_->transfer_seconds(bytes);
  const Clock::time_point end = Occupy(start, seconds);
  if (to_host) WaitUntil(end);
  absl::MutexLock lock(&stats_mu_);
  ++emulation_.transfers;
  emulation_.transfer_seconds += seconds;
}

}  // namespace fabric
