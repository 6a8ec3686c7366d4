// Parses a subcommand's `--name value` / `--name=value` flags.
#ifndef FABRIC_COMMON_CLI_ARGS_H_
#define FABRIC_COMMON_CLI_ARGS_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fabric {

// The flags given to one subcommand. Immutable after Parse.
class CliArgs {
 public:
  // Parses `args`, accepting only flags named in `known` (without the dashes), which take a
  // value, and in `switches`, which take none; anything else is an error naming it.
  // `--help` and `-h` are always accepted and set the switch "help".
  static absl::StatusOr<CliArgs> Parse(const std::vector<std::string>& args,
                                       const std::set<std::string>& known,
                                       const std::set<std::string>& switches = {});

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string GetString(const std::string& name, const std::string& fallback = "") const;
  // Typed getters fail with a message naming the flag when the value does not parse.
  absl::StatusOr<int> GetInt(const std::string& name, int fallback) const;
  absl::StatusOr<float> GetFloat(const std::string& name, float fallback) const;
  absl::StatusOr<uint64_t> GetUint64(const std::string& name, uint64_t fallback) const;
  // Fails naming the first of `names` that is missing.
  absl::Status Require(const std::vector<std::string>& names) const;

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace fabric

#endif  // FABRIC_COMMON_CLI_ARGS_H_
