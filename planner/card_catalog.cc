#include "planner/card_catalog.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fabric::planner {
namespace {

constexpr double kGB = 1e9;             // data sheets give bandwidths in decimal GB/s
constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr double kMHz = 1e6;
// On-chip memory from the data sheets' megabit figures (block RAM + UltraRAM).
constexpr uint64_t MegabitsToBytes(double megabits) {
  return static_cast<uint64_t>(megabits * 1e6 / 8);
}
// Vitis platforms of these cards default kernels to 300 MHz; large HLS designs close near it.
constexpr double kDefaultKernelClock = 300 * kMHz;

std::vector<CardSpec> BuildCatalog() {
  std::vector<CardSpec> cards;
  // Sources: AMD "Alveo U50 Data Center Accelerator Cards Data Sheet" (DS965) and product
  // brief: XCU50 with 5,952 DSP48E2, 47.3 Mb block RAM + 180 Mb UltraRAM, 8 GB HBM2 at
  // 316 GB/s, one QSFP28 (100 Gb/s), PCIe Gen3 x16 (Gen4 x8 with CCIX), 75 W.
  cards.push_back({.name = "u50", .product = "AMD Alveo U50", .dsp_slices = 5952,
                   .onchip_bytes = MegabitsToBytes(47.3 + 180), .hbm_bytes = 8 * kGiB,
                   .hbm_bytes_per_second = 316 * kGB, .kernel_clock_hz = kDefaultKernelClock,
                   .power_watts = 75, .qsfp_ports = 1, .qsfp_bits_per_second = 100e9,
                   .pcie_gen = 3, .pcie_lanes = 16});
  // Sources: "Alveo U55C Data Center Accelerator Cards Data Sheet" (DS978); UG1393 "HBM
  // Configuration and Use" (16 GB HBM2 in 32 pseudo channels of 14.375 GB/s = 460 GB/s):
  // 9,024 DSP48E2, 70.9 Mb block RAM + 270 Mb UltraRAM, two QSFP28, PCIe Gen3 x16, 150 W.
  cards.push_back({.name = "u55c", .product = "AMD Alveo U55C", .dsp_slices = 9024,
                   .onchip_bytes = MegabitsToBytes(70.9 + 270), .hbm_bytes = 16 * kGiB,
                   .hbm_bytes_per_second = 460 * kGB, .kernel_clock_hz = kDefaultKernelClock,
                   .power_watts = 150, .qsfp_ports = 2, .qsfp_bits_per_second = 100e9,
                   .pcie_gen = 3, .pcie_lanes = 16});
  // Sources: "Alveo U280 Data Center Accelerator Cards Data Sheet" (DS963); UG1393 (8 GB HBM2,
  // 460 GB/s): 9,024 DSP48E2, 70.9 Mb block RAM + 270 Mb UltraRAM, 32 GB DDR4 in two DDR4-2400
  // channels (38 GB/s), two QSFP28, PCIe Gen3 x16 (Gen4 x8 with CCIX), 225 W.
  cards.push_back({.name = "u280", .product = "AMD Alveo U280", .dsp_slices = 9024,
                   .onchip_bytes = MegabitsToBytes(70.9 + 270), .hbm_bytes = 8 * kGiB,
                   .hbm_bytes_per_second = 460 * kGB, .ddr_bytes = 32 * kGiB,
                   .ddr_bytes_per_second = 38 * kGB, .kernel_clock_hz = kDefaultKernelClock,
                   .power_watts = 225, .qsfp_ports = 2, .qsfp_bits_per_second = 100e9,
                   .pcie_gen = 3, .pcie_lanes = 16});
  // Sources: AMD "Alveo V80 Compute Accelerator Card" product brief; AMR V80 board docs
  // (32 GB HBM + 32 GB DDR4 DIMM, PCIe Gen5 x8 in the CPM5, four QSFP56): 10,848 DSP58,
  // 32 GB HBM2e at 819 GB/s, 200 Gb/s per QSFP56, 190 W. The DIMM is one DDR4-3200 channel
  // (25.6 GB/s). On-chip memory is an estimate for its VH1782-class device (about 497 Mb of
  // block RAM + UltraRAM); the brief we used gives no figure.
  cards.push_back({.name = "v80", .product = "AMD Alveo V80", .dsp_family = DspFamily::kDsp58,
                   .dsp_slices = 10848, .onchip_bytes = MegabitsToBytes(497),
                   .hbm_bytes = 32 * kGiB, .hbm_bytes_per_second = 819 * kGB,
                   .ddr_bytes = 32 * kGiB, .ddr_bytes_per_second = 25.6 * kGB,
                   .kernel_clock_hz = kDefaultKernelClock, .power_watts = 190, .qsfp_ports = 4,
                   .qsfp_bits_per_second = 200e9, .pcie_gen = 5, .pcie_lanes = 8});
  // Sources: "VCK5000 Data Center Acceleration Development Kit User Guide" (UG1428) and
  // install guide (UG1531, two QSFP28); the Gen4 x8 QDMA Vitis platform: XCVC1902 with 400 AI
  // Engines (1.25 GHz), 1,968 DSP58, 34 Mb block RAM + 130 Mb UltraRAM, 16 GB DDR4 at
  // 102.4 GB/s, 225 W.
  cards.push_back({.name = "vck5000", .product = "AMD VCK5000", .dsp_family = DspFamily::kDsp58,
                   .dsp_slices = 1968, .ai_engines = 400, .ai_engine_clock_hz = 1250 * kMHz,
                   .onchip_bytes = MegabitsToBytes(34 + 130), .ddr_bytes = 16 * kGiB,
                   .ddr_bytes_per_second = 102.4 * kGB, .kernel_clock_hz = kDefaultKernelClock,
                   .power_watts = 225, .qsfp_ports = 2, .qsfp_bits_per_second = 100e9,
                   .pcie_gen = 4, .pcie_lanes = 8});
  return cards;
}

std::string Lowercase(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

}  // namespace

double CardSpec::pcie_bytes_per_second() const {
  if (pcie_gen < 1 || pcie_lanes < 1) return 0;
  // Gen3 runs 8 GT/s a lane and every generation since doubles it.
  const double transfers = 8e9 * static_cast<double>(1 << (std::max(pcie_gen, 3) - 3));
  const double encoding = pcie_gen >= 3 ? 128.0 / 130.0 : 8.0 / 10.0;
  return transfers * encoding / 8 * pcie_lanes;
}

const std::vector<CardSpec>& CardCatalog() {
  static const auto* const kCatalog = new std::vector<CardSpec>(BuildCatalog());
  return *kCatalog;
}

std::vector<std::string> CardNames() {
  std::vector<std::string> names;
  for (const CardSpec& card : CardCatalog()) names.push_back(card.name);
  return names;
}

absl::StatusOr<CardSpec> FindCard(std::string_view name) {
  const std::string key = Lowercase(name);
  for (const CardSpec& card : CardCatalog()) {
    if (card.name == key) return card;
  }
  return absl::NotFoundError(absl::StrCat("unknown card '", std::string(name),
                                          "' (known: ", absl::StrJoin(CardNames(), ", "),
                                          "); describe another card with `custom`"));
}

absl::Status ValidateCard(const CardSpec& card) {
  const std::string who = absl::StrCat("card '", card.name, "'");
  if (card.dsp_slices <= 0 && card.ai_engines <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(who, " has no DSP slices or AI Engines"));
  }
  if (card.ai_engines > 0 && card.ai_engine_clock_hz <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(who, " has AI Engines but no AI Engine clock"));
  }
  if (card.kernel_clock_hz <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(who, " has no kernel clock"));
  }
  if (card.model_memory_bytes() == 0 || card.model_memory_bytes_per_second() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, " needs HBM or DDR with both a capacity and a bandwidth"));
  }
  if (card.pcie_gen < 1 || card.pcie_gen > 6 || card.pcie_lanes < 1 || card.pcie_lanes > 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        who, " has PCIe gen ", card.pcie_gen, " x", card.pcie_lanes,
        "; give a generation from 1 to 6 and 1 to 32 lanes"));
  }
  return absl::OkStatus();
}

}  // namespace fabric::planner
