#include "server/config/scalar_parsing.h"

#include <cctype>
#include <cmath>
#include <cstddef>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace fabric {
namespace {

absl::Status Expected(const std::string& what, const std::string& text) {
  return absl::InvalidArgumentError(absl::StrCat("expected ", what, ", got \"", text, "\""));
}

// An optional sign and one or more decimal digits, nothing else.
bool IsDecimalInteger(const std::string& text) {
  const size_t start = (!text.empty() && (text[0] == '+' || text[0] == '-')) ? 1 : 0;
  if (start == text.size()) return false;
  for (size_t i = start; i < text.size(); ++i) {
    if (!absl::ascii_isdigit(text[i])) return false;
  }
  return true;
}

// Only the characters of a decimal number and at least one digit: rules out "inf", "nan" and
// hexadecimal forms before the number parser, which would accept them, sees the text.
bool LooksLikeDecimalNumber(const std::string& text) {
  bool has_digit = false;
  for (const char c : text) {
    if (absl::ascii_isdigit(c)) {
      has_digit = true;
    } else if (c != '+' && c != '-' && c != '.' && c != 'e' && c != 'E') {
      return false;
    }
  }
  return has_digit;
}

// Bytes per unit of `name` (case-insensitive), or 0 when it is not a size unit: "" and "b" are
// bytes; "k", "ki", "kib" powers of 1024; "kb" powers of 1000; likewise m, g, t.
uint64_t BytesPerUnit(const std::string& name) {
  const std::string unit = absl::AsciiStrToLower(name);
  if (unit.empty() || unit == "b") return 1;
  const size_t power = std::string_view("kmgt").find(unit[0]);
  const std::string rest = unit.substr(1);
  const bool binary = rest.empty() || rest == "i" || rest == "ib";
  if (power == std::string_view::npos || (!binary && rest != "b")) return 0;
  uint64_t bytes = 1;
  for (size_t i = 0; i <= power; ++i) bytes *= binary ? 1024 : 1000;
  return bytes;
}

}  // namespace

absl::StatusOr<int64_t> ParseSignedInteger(const std::string& text, int64_t min, int64_t max) {
  if (!IsDecimalInteger(text)) return Expected("an integer", text);
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < min || value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(text, " is out of range (", min, " to ", max, ")"));
  }
  return value;
}

absl::StatusOr<uint64_t> ParseUnsignedInteger(const std::string& text, uint64_t max) {
  if (!IsDecimalInteger(text) || text[0] == '-') return Expected("a non-negative integer", text);
  uint64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value > max) {
    return absl::InvalidArgumentError(absl::StrCat(text, " is out of range (0 to ", max, ")"));
  }
  return value;
}

absl::StatusOr<double> ParseFiniteNumber(const std::string& text, double max_magnitude) {
  double value = 0;
  if (!LooksLikeDecimalNumber(text) || !absl::SimpleAtod(text, &value)) {
    return Expected("a number", text);
  }
  if (!std::isfinite(value) || std::fabs(value) > max_magnitude) {
    return absl::InvalidArgumentError(
        absl::StrCat(text, " is out of range (largest magnitude ", max_magnitude, ")"));
  }
  return value;
}

absl::StatusOr<bool> ParseBool(const std::string& text) {
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  return Expected("true or false", text);
}

absl::StatusOr<uint64_t> ParseByteSize(const std::string& text, uint64_t max) {
  // "<digits>[.<digits>][ ]<unit>"
  size_t end = 0;
  while (end < text.size() && (absl::ascii_isdigit(text[end]) || text[end] == '.')) ++end;
  const std::string number = text.substr(0, end);
  const size_t dot = number.find('.');
  const std::string whole = number.substr(0, dot);
  const std::string fraction = dot == std::string::npos ? "" : number.substr(dot + 1);
  if (whole.empty() || fraction.find('.') != std::string::npos ||
      (dot != std::string::npos && fraction.empty())) {
    return Expected("a byte count such as 17179869184, \"16GiB\" or \"512MiB\"", text);
  }
  const std::string unit_name = text.substr(end < text.size() && text[end] == ' ' ? end + 1 : end);
  const uint64_t unit_bytes = BytesPerUnit(unit_name);
  if (unit_bytes == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown size unit \"", unit_name, "\" in \"", text,
        "\"; use B, K/KiB, M/MiB, G/GiB, T/TiB (powers of 1024) or KB, MB, GB, TB (powers of "
        "1000)"));
  }
  const absl::Status out_of_range = absl::InvalidArgumentError(
      absl::StrCat("\"", text, "\" is out of range (at most ", max, " bytes)"));
  // Exact arithmetic: digits * unit / 10^fraction_digits must be a whole number of bytes.
  if (whole.size() + fraction.size() > 24) return out_of_range;
  unsigned __int128 digits = 0, divisor = 1;
  for (const char c : whole + fraction) digits = digits * 10 + static_cast<unsigned>(c - '0');
  for (size_t i = 0; i < fraction.size(); ++i) divisor *= 10;
  const unsigned __int128 scaled = digits * unit_bytes;  // < 10^24 * 2^40 < 2^120
  if (scaled % divisor != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a whole number of bytes"));
  }
  if (scaled / divisor > max) return out_of_range;
  return static_cast<uint64_t>(scaled / divisor);
}

}  // namespace fabric
