#include "device/xrt/card_sensors.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace fabric {
namespace {

struct SensorCase {
  std::string name;
  std::string thermal;
  std::string electrical;
  std::optional<double> celsius;
  std::optional<double> watts;
};

class CardSensorsTest : public ::testing::TestWithParam<SensorCase> {};

TEST_P(CardSensorsTest, ReadsWhatTheCardReportsAndNothingElse) {
  const SensorCase& c = GetParam();
  EXPECT_EQ(FpgaCelsiusFromThermal(c.thermal), c.celsius);
  EXPECT_EQ(PowerWattsFromElectrical(c.electrical), c.watts);
}

// The no-op shim's documents (as XRT 2.13 returns them): sensors not present, power "N/A".
const SensorCase kNoop = {
    "noop",
    R"json({"thermals": [{"error_msg": "No such query request (76)", "location_id": "fpga0",
        "description": "FPGA", "temp_C": "0", "is_present": "false"}]})json",
    R"json({"power_rails": [{}], "power_consumption_max_watts": "N\/A",
        "power_consumption_watts": "N\/A", "power_consumption_warning": "N\/A"})json",
    std::nullopt, std::nullopt};
// A card that reports both, as strings like XRT writes them.
const SensorCase kCard = {
    "card",
    R"json({"thermals": [{"location_id": "pcb_top_front", "temp_C": "35", "is_present": "true"},
        {"location_id": "fpga0", "temp_C": "41", "is_present": "true"}]})json",
    R"json({"power_consumption_max_watts": "225", "power_consumption_watts": "23.5"})json", 41.0,
    23.5};
const SensorCase kNumbers = {
    "numbers",
    R"json({"thermals": [{"location_id": "fpga0", "temp_C": 52, "is_present": true}]})json",
    R"json({"power_consumption_watts": 30})json", 52.0, 30.0};
const SensorCase kGarbage = {"garbage", "not json", "[1, 2]", std::nullopt, std::nullopt};
const SensorCase kNoFpgaSensor = {
    "no_fpga_sensor",
    R"json({"thermals": [{"location_id": "pcb_top_front", "temp_C": "35",
                          "is_present": "true"}]})json",
    R"json({})json", std::nullopt, std::nullopt};

INSTANTIATE_TEST_SUITE_P(xrt, CardSensorsTest,
                         ::testing::Values(kNoop, kCard, kNumbers, kGarbage, kNoFpgaSensor),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace fabric
