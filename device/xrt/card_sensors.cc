#include "device/xrt/card_sensors.h"

#include <string>

#include "absl/strings/numbers.h"
#include "nlohmann/json.hpp"

namespace fabric {
namespace {

using Json = nlohmann::json;

// XRT writes numbers as strings ("41", "N/A"); accept plain numbers too.
std::optional<double> Number(const Json& value) {
  if (value.is_number()) return value.get<double>();
  double number;
  if (value.is_string() && absl::SimpleAtod(value.get<std::string>(), &number)) return number;
  return std::nullopt;
}

bool IsTrue(const Json& value) {
  return (value.is_string() && value.get<std::string>() == "true") ||
         (value.is_boolean() && value.get<bool>());
}

std::optional<Json> Parse(std::string_view json) {
  Json document = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) return std::nullopt;
  return document;
}

}  // namespace

std::optional<double> FpgaCelsiusFromThermal(std::string_view json) {
  const std::optional<Json> document = Parse(json);
  if (!document.has_value()) return std::nullopt;
  auto thermals = document->find("thermals");
  if (thermals == document->end() || !thermals->is_array()) return std::nullopt;
  for (const Json& sensor : *thermals) {
    if (!sensor.is_object() || sensor.value("location_id", Json()) != "fpga0") continue;
    if (!IsTrue(sensor.value("is_present", Json()))) return std::nullopt;
    return Number(sensor.value("temp_C", Json()));
  }
  return std::nullopt;
}

std::optional<double> PowerWattsFromElectrical(std::string_view json) {
  const std::optional<Json> document = Parse(json);
  if (!document.has_value()) return std::nullopt;
  return Number(document->value("power_consumption_watts", Json()));
}

}  // namespace fabric
