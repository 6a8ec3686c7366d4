// The cards the planner knows, as data: what each offers a bitstream (multipliers, on-chip
// and card memory, clock, links). A card not in the catalogue is described by the same struct,
// filled from the cluster config's `custom` card (proto/fabric/v1/config.proto).
#ifndef FABRIC_PLANNER_CARD_CATALOG_H_
#define FABRIC_PLANNER_CARD_CATALOG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fabric::planner {

// The kind of hard multiplier the programmable logic has; it sets how many multiply-accumulates
// of a given operand width one slice performs per cycle (MacsPerDsp in bitstream_profile.h).
enum class DspFamily {
  kDsp48e2,  // UltraScale+ (U50, U55C, U280): 27x18 multiplier
  kDsp58,    // Versal (V80, VCK5000): 27x24 multiplier, INT8 dot-product and FP32 modes
};

// One accelerator card. Plain data; copy freely.
struct CardSpec {
  std::string name;     // catalogue key ("u280") or the custom card's name
  std::string product;  // "AMD Alveo U280"
  DspFamily dsp_family = DspFamily::kDsp48e2;
  int dsp_slices = 0;
  int ai_engines = 0;              // Versal AI Engine tiles (first generation), 0 if none
  double ai_engine_clock_hz = 0;
  uint64_t onchip_bytes = 0;       // block RAM + UltraRAM of the programmable logic
  uint64_t hbm_bytes = 0;
  double hbm_bytes_per_second = 0; // peak
  uint64_t ddr_bytes = 0;
  double ddr_bytes_per_second = 0; // peak, all channels
  double kernel_clock_hz = 0;      // clock a large HLS design typically closes timing at
  double power_watts = 0;          // maximum board power
  int qsfp_ports = 0;
  double qsfp_bits_per_second = 0; // per port
  int pcie_gen = 3;
  int pcie_lanes = 16;

  // Weights and KV caches live in HBM when the card has it, else in DDR: the model's memory.
  uint64_t model_memory_bytes() const { return hbm_bytes > 0 ? hbm_bytes : ddr_bytes; }
  double model_memory_bytes_per_second() const {
    return hbm_bytes > 0 ? hbm_bytes_per_second : ddr_bytes_per_second;
  }
  std::string_view model_memory_kind() const { return hbm_bytes > 0 ? "HBM" : "DDR"; }
  // PCIe payload bandwidth in one direction: lanes x line rate after 128b/130b encoding.
  double pcie_bytes_per_second() const;
};

// Every catalogue card, in a fixed order.
const std::vector<CardSpec>& CardCatalog();
std::vector<std::string> CardNames();

// The catalogue card named `name` (case-insensitive: "u280", "U280"); NotFound lists the names.
absl::StatusOr<CardSpec> FindCard(std::string_view name);

// Checks that a card, typically a custom one, can be modeled: multipliers, a clock, a memory
// with capacity and bandwidth. InvalidArgument names the first missing figure.
absl::Status ValidateCard(const CardSpec& card);

}  // namespace fabric::planner

#endif  // FABRIC_PLANNER_CARD_CATALOG_H_
