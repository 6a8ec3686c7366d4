#include "common/cli_args.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace fabric {

absl::StatusOr<CliArgs> CliArgs::Parse(const std::vector<std::string>& args,
                                       const std::set<std::string>& known,
                                       const std::set<std::string>& switches) {
  CliArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      parsed.values_["help"] = "true";
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    }
    std::string name = arg.substr(2), value;
    const size_t equals = name.find('=');
    if (switches.count(name) > 0) {
      parsed.values_[name] = "true";
      continue;
    }
    if (equals != std::string::npos) {
      value = name.substr(equals + 1);
      name.resize(equals);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
    }
    if (known.count(name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    parsed.values_[name] = value;
  }
  return parsed;
}

std::string CliArgs::GetString(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

absl::StatusOr<int> CliArgs::GetInt(const std::string& name, int fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  int value;
  if (!absl::SimpleAtoi(it->second, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be an integer, not '", it->second, "'"));
  }
  return value;
}

absl::StatusOr<float> CliArgs::GetFloat(const std::string& name, float fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  float value;
  if (!absl::SimpleAtof(it->second, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be a number, not '", it->second, "'"));
  }
  return value;
}

absl::StatusOr<uint64_t> CliArgs::GetUint64(const std::string& name, uint64_t fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  uint64_t value;
  if (!absl::SimpleAtoi(it->second, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be a non-negative integer, not '", it->second, "'"));
  }
  return value;
}

absl::Status CliArgs::Require(const std::vector<std::string>& names) const {
  for (const std::string& name : names) {
    if (!Has(name)) return absl::InvalidArgumentError(absl::StrCat("--", name, " is required"));
  }
  return absl::OkStatus();
}

}  // namespace fabric
