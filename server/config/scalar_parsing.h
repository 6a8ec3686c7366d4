// Strict text-to-value conversions for configuration scalars. The whole text must be the
// value, and a value that does not fit its target is an error, never a truncation or a wrap.
// Error messages say what was expected and what was found (`expected an integer, got "12abc"`);
// callers prefix them with where the text came from.
#ifndef FABRIC_SERVER_CONFIG_SCALAR_PARSING_H_
#define FABRIC_SERVER_CONFIG_SCALAR_PARSING_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace fabric {

// A decimal integer ("42", "-7", "+3") within [min, max]. "3.5", "1e3" and "12abc" are errors.
absl::StatusOr<int64_t> ParseSignedInteger(const std::string& text, int64_t min, int64_t max);

// A non-negative decimal integer within [0, max]. "-1" is an error.
absl::StatusOr<uint64_t> ParseUnsignedInteger(const std::string& text, uint64_t max);

// A finite decimal number ("0.5", "600", "1e-3") whose magnitude is at most `max_magnitude`.
// "inf", "nan" and numbers too large for a double are errors.
absl::StatusOr<double> ParseFiniteNumber(const std::string& text, double max_magnitude);

// "true" or "false" (also "True"/"TRUE"/"False"/"FALSE", YAML 1.2's spellings).
// "yes", "on", "1" and the like are errors.
absl::StatusOr<bool> ParseBool(const std::string& text);

// A byte count within [0, max]: a plain integer ("17179869184") or a number with a unit,
// optionally separated by a space, units case-insensitive:
//   B                          bytes
//   K, M, G, T (or Ki, Mi, Gi, Ti, KiB, MiB, GiB, TiB)  powers of 1024: "8G" is 8 GiB
//   KB, MB, GB, TB             powers of 1000 (SI): "2GB" is 2,000,000,000 bytes
// A fraction is allowed when it comes to whole bytes: "1.5GiB" is fine, "0.3KiB" is an error.
absl::StatusOr<uint64_t> ParseByteSize(const std::string& text, uint64_t max);

}  // namespace fabric

#endif  // FABRIC_SERVER_CONFIG_SCALAR_PARSING_H_
