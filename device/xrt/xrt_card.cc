#include "device/xrt/xrt_card.h"

#include <experimental/xrt_system.h>
#include <experimental/xrt_xclbin.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <regex>
#include <set>
#include <span>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "device/xrt/interface_check.h"

namespace fabric {
namespace {

// The bundles whose ports buffers of each MemoryKind (in kAllMemoryKinds order) are passed to.
constexpr std::string_view kWeightBundles[] = {kernel_args::kWeights};
constexpr std::string_view kCacheBundles[] = {kernel_args::kCache};
constexpr std::string_view kActivationBundles[] = {kernel_args::kInput, kernel_args::kOutput,
                                                   kernel_args::kIndex};
constexpr std::span<const std::string_view> kKindBundles[] = {kWeightBundles, kCacheBundles,
                                                              kActivationBundles};
static_assert(std::size(kKindBundles) == std::size(kAllMemoryKinds));

std::string EnvironmentValue(const char* variable) {
  const char* value = std::getenv(variable);
  return value == nullptr ? std::string("unset") : absl::StrCat("'", value, "'");
}

// What to check when a card does not open, with what XRT can say about the host.
std::string OpenHints() {
  std::string cards;
  try {
    cards = absl::StrCat("XRT sees ", xrt::system::enumerate_devices(), " card(s)");
  } catch (const std::exception& error) {
    cards = absl::StrCat("XRT cannot count cards (", error.what(), ")");
  }
  return absl::StrCat(
      cards, ". Check that the card is installed and `xbutil examine` lists it, that its ",
      "driver (xocl) is loaded, that this user may open its device nodes (/dev/dri/renderD*; ",
      "in a container, passed with --device), that the card is given as the index or PCIe ",
      "address `xbutil examine` prints, and that XILINX_XRT (", EnvironmentValue("XILINX_XRT"),
      ") names a directory whose lib/ holds XRT's shims (libxrt_core.so.2; libxrt_noop.so.2 ",
      "with XCL_EMULATION_MODE=noop, now ", EnvironmentValue("XCL_EMULATION_MODE"),
      "; on Debian, a directory with lib -> /usr/lib/x86_64-linux-gnu)");
}

absl::StatusOr<xrt::device> OpenDevice(const std::string& card, const std::string& name) {
  const bool index = !card.empty() && std::all_of(card.begin(), card.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
  // An index, or a PCIe address domain:bus:device.function ("0000:3b:00.1").
  static const std::regex kPcieAddress("[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]");
  if ((index && card.size() > 4) || (!index && !std::regex_match(card, kPcieAddress))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "xrt card '", card, "' (", name, "): not a card index or a PCIe address such as ",
        "0000:3b:00.1 (`xbutil examine` lists both)"));
  }
  try {
    if (index) return xrt::device(static_cast<unsigned int>(std::stoul(card)));
    return xrt::device(card);
  } catch (const std::exception& error) {
    return absl::NotFoundError(absl::StrCat("xrt card '", card, "' (", name,
                                            "): cannot open it: XRT: ", error.what(), ". ",
                                            OpenHints()));
  }
}

absl::StatusOr<xrt::xclbin> ReadXclbin(const std::string& path, const std::string& source) {
  std::error_code error;
  if (path.empty() || !std::filesystem::is_regular_file(path, error)) {
    return absl::NotFoundError(absl::StrCat(
        source, ": no xclbin file '", path, "': give the card's bitstream (built by kernels/hw/,",
        " or written by `fabric xclbin` for the no-op shim)"));
  }
  try {
    return xrt::xclbin(path);
  } catch (const std::exception& error) {
    return absl::FailedPreconditionError(
        absl::StrCat(source, ": cannot read xclbin '", path, "': XRT: ", error.what()));
  }
}

std::vector<DeclaredKernel> Declared(const xrt::xclbin& xclbin) {
  std::vector<DeclaredKernel> kernels;
  for (const xrt::xclbin::kernel& kernel : xclbin.get_kernels()) {
    DeclaredKernel declared{kernel.get_name(), {}};
    std::vector<xrt::xclbin::arg> args = kernel.get_args();
    std::sort(args.begin(), args.end(),
              [](const auto& a, const auto& b) { return a.get_index() < b.get_index(); });
    for (const xrt::xclbin::arg& arg : args) {
      declared.args.push_back({arg.get_name(), arg.get_host_type(), arg.get_port()});
    }
    kernels.push_back(std::move(declared));
  }
  return kernels;
}

bool IsMemoryBank(const xrt::xclbin::mem& mem) {
  using Type = xrt::xclbin::mem::memory_type;
  return mem.get_used() && mem.get_type() != Type::streaming &&
         mem.get_type() != Type::streaming_connection;
}

// The used banks, and for each XRT memory index its position among them (-1: not a bank).
std::vector<CardBank> ReadBanks(const xrt::xclbin& xclbin, std::vector<int>* position) {
  std::vector<xrt::xclbin::mem> mems = xclbin.get_mems();
  std::sort(mems.begin(), mems.end(),
            [](const auto& a, const auto& b) { return a.get_index() < b.get_index(); });
  std::vector<CardBank> banks;
  for (const xrt::xclbin::mem& mem : mems) {
    const int index = mem.get_index();
    if (index >= static_cast<int>(position->size())) position->resize(index + 1, -1);
    if (!IsMemoryBank(mem)) continue;
    (*position)[index] = static_cast<int>(banks.size());
    banks.push_back({mem.get_tag(), index, mem.get_size_kb() * uint64_t{1024}});
  }
  return banks;
}

absl::StatusOr<CardKernel> MakeKernel(XrtCard& card, const xrt::xclbin::kernel& declared,
                                      const std::vector<int>& position) {
  CardKernel kernel;
  kernel.spec = FindKernelSpec(declared.get_name());
  kernel.compute_units = static_cast<int>(declared.get_cus().size());
  if (kernel.compute_units == 0) {
    return absl::FailedPreconditionError(absl::StrCat(card.name, ": the xclbin declares kernel ",
                                                      declared.get_name(),
                                                      " without a compute unit"));
  }
  kernel.arg_banks.resize(kernel.spec->args.size());
  for (const xrt::xclbin::arg& arg : declared.get_args()) {
    std::vector<int>& banks = kernel.arg_banks.at(arg.get_index());
    for (const xrt::xclbin::mem& mem : arg.get_mems()) {
      const int index = mem.get_index();
      if (index < static_cast<int>(position.size()) && position[index] >= 0) {
        banks.push_back(position[index]);
      }
    }
    std::sort(banks.begin(), banks.end());
  }
  kernel.kernel =
      xrt::kernel(card.device, card.uuid, declared.get_name(), xrt::kernel::cu_access_mode::shared);
  return kernel;
}

// The banks the ports of `bundles` reach: those every port reaches, or if they share none,
// those any of them reaches; `any` collects the latter.
std::optional<std::set<int>> CommonReach(const XrtCard& card,
                                         std::span<const std::string_view> bundles,
                                         std::set<int>* any) {
  std::optional<std::set<int>> common;
  for (const auto& [name, kernel] : card.kernels) {
    for (size_t i = 0; i < kernel.spec->args.size(); ++i) {
      const ArgSpec& arg = kernel.spec->args[i];
      if (arg.kind != ArgKind::kBuffer ||
          std::find(bundles.begin(), bundles.end(), arg.bundle) == bundles.end()) {
        continue;
      }
      const std::set<int> reach(kernel.arg_banks[i].begin(), kernel.arg_banks[i].end());
      any->insert(reach.begin(), reach.end());
      if (!common.has_value()) {
        common = reach;
      } else {
        std::set<int> both;
        std::set_intersection(common->begin(), common->end(), reach.begin(), reach.end(),
                              std::inserter(both, both.begin()));
        common = std::move(both);
      }
    }
  }
  return common;
}

// Where buffers of kind `kind` go: the banks every port of the kind's bundles reaches,
// preferring those no port of another kind reaches; if its ports share no bank, every bank
// any of them reaches (Launch then refuses a buffer its port cannot reach); if no kernel has
// such a port, every bank.
std::vector<int> KindBanks(const XrtCard& card, size_t kind) {
  std::set<int> any, others;
  std::optional<std::set<int>> common = CommonReach(card, kKindBundles[kind], &any);
  for (size_t other = 0; other < std::size(kKindBundles); ++other) {
    if (other != kind) CommonReach(card, kKindBundles[other], &others);
  }
  std::set<int> chosen = common.has_value() && !common->empty() ? *common : any;
  std::set<int> exclusive;
  std::set_difference(chosen.begin(), chosen.end(), others.begin(), others.end(),
                      std::inserter(exclusive, exclusive.begin()));
  if (!exclusive.empty()) chosen = std::move(exclusive);
  if (chosen.empty()) {
    for (size_t i = 0; i < card.banks.size(); ++i) chosen.insert(static_cast<int>(i));
  }
  return {chosen.begin(), chosen.end()};
}

std::optional<std::string> CardName(const xrt::device& device) {
  try {
    std::string name = device.get_info<xrt::info::device::name>();
    if (!name.empty()) return name;
  } catch (const std::exception&) {
    // The shim does not report a name (the no-op shim never does).
  }
  return std::nullopt;
}

absl::Status LoadInto(XrtCard& card, const xrt::xclbin& xclbin, const std::string& source) {
  try {
    card.uuid = card.device.load_xclbin(xclbin);
  } catch (const std::exception& error) {
    return XrtError(absl::StatusCode::kFailedPrecondition, source, "cannot load the xclbin", error);
  }
  std::vector<int> position;
  try {
    card.banks = ReadBanks(xclbin, &position);
    for (const xrt::xclbin::kernel& declared : xclbin.get_kernels()) {
      if (FindKernelSpec(declared.get_name()) == nullptr) continue;
      ASSIGN_OR_RETURN(CardKernel kernel, MakeKernel(card, declared, position));
      card.kernels.emplace(declared.get_name(), std::move(kernel));
    }
  } catch (const std::exception& error) {
    return XrtError(absl::StatusCode::kFailedPrecondition, source,
                    "cannot read the xclbin's memory banks and kernels", error);
  }
  for (size_t kind = 0; kind < std::size(kAllMemoryKinds); ++kind) {
    card.kind_banks[kind] = KindBanks(card, kind);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Mutex& XrtLock() {
  static absl::Mutex* const mutex = new absl::Mutex();
  return *mutex;
}

absl::Status XrtError(absl::StatusCode code, std::string_view card, std::string_view what,
                      const std::exception& error) {
  return absl::Status(
      code, absl::StrCat(std::string(card), ": ", std::string(what), ": XRT: ", error.what()));
}

absl::StatusOr<std::unique_ptr<XrtCard>> OpenCard(const XrtDeviceOptions& options,
                                                  const std::string& name) {
  absl::WriterMutexLock lock(&XrtLock());
  auto card = std::make_unique<XrtCard>();
  card->name = name;
  ASSIGN_OR_RETURN(card->device, OpenDevice(options.card, name));
  const std::string source =
      absl::StrCat(name, " (xrt card '", options.card, "', xclbin '", options.xclbin_path, "')");
  ASSIGN_OR_RETURN(xrt::xclbin xclbin, ReadXclbin(options.xclbin_path, source));
  std::vector<DeclaredKernel> declared;
  try {
    declared = Declared(xclbin);
  } catch (const std::exception& error) {
    return XrtError(absl::StatusCode::kFailedPrecondition, source,
                    "cannot read the xclbin's kernels", error);
  }
  RETURN_IF_ERROR(CheckInterface(source, declared).status());
  absl::Status loaded = LoadInto(*card, xclbin, source);
  if (!loaded.ok()) {
    card->kernels.clear();  // while the lock is held
    return loaded;
  }
  card->card_name = CardName(card->device);
  return card;
}

void CloseCard(std::unique_ptr<XrtCard> card) {
  absl::WriterMutexLock lock(&XrtLock());
  try {
    card.reset();
  } catch (const std::exception&) {
    // Closing cannot fail usefully; XRT's destructors do not throw in practice.
  }
}

}  // namespace fabric
