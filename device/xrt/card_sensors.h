// Reads a card's temperature and power out of the JSON documents XRT returns for
// xrt::info::device::thermal and xrt::info::device::electrical. A value the card does not report
// (a sensor marked not present, "N/A", an unparsable document) is absent, never zero.
// Stateless functions: thread-safe.
#ifndef FABRIC_DEVICE_XRT_CARD_SENSORS_H_
#define FABRIC_DEVICE_XRT_CARD_SENSORS_H_

#include <optional>
#include <string_view>

namespace fabric {

// What a card reports about itself right now.
struct CardSensors {
  std::optional<double> fpga_celsius;  // the FPGA die ("fpga0" thermal sensor)
  std::optional<double> power_watts;   // the whole card's consumption
};

// The FPGA's temperature from the thermal document: {"thermals": [{"location_id": "fpga0",
// "is_present": "true", "temp_C": "41"}, ...]}.
std::optional<double> FpgaCelsiusFromThermal(std::string_view json);

// The card's power from the electrical document: {"power_consumption_watts": "23.4", ...}.
std::optional<double> PowerWattsFromElectrical(std::string_view json);

}  // namespace fabric

#endif  // FABRIC_DEVICE_XRT_CARD_SENSORS_H_
