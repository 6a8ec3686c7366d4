#include "tests/model/llama2c_goldens.h"

#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fabric {
namespace {

absl::Status LineError(const std::string& path, int line, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": ", problem));
}

bool ParseCString(absl::string_view value, std::string* out) {
  if (value.size() < 2 || value.front() != '"' || value.back() != '"') return false;
  return absl::CUnescape(value.substr(1, value.size() - 2), out);
}

bool ParseIds(absl::string_view value, std::vector<int>* out) {
  out->clear();
  for (absl::string_view word : absl::StrSplit(value, ' ', absl::SkipEmpty())) {
    int id = 0;
    if (!absl::SimpleAtoi(word, &id)) return false;
    out->push_back(id);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<Llama2cGolden>> ReadLlama2cGoldens(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::vector<Llama2cGolden> goldens;
  bool in_case = false;
  int seen = 0;  // bit mask of required fields
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    if (line == "case") {
      if (in_case) return LineError(path, number, "'case' inside a case");
      goldens.emplace_back();
      in_case = true;
      seen = 0;
      continue;
    }
    if (!in_case) return LineError(path, number, "expected 'case'");
    if (line == "end") {
      if (seen != 0x3f) return LineError(path, number, "case lacks a required field");
      if (goldens.back().prompt_ids.empty()) return LineError(path, number, "no prompt_ids");
      in_case = false;
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) return LineError(path, number, "expected 'key: value'");
    const absl::string_view key = absl::string_view(line).substr(0, colon);
    absl::string_view value = absl::string_view(line).substr(colon + 1);
    absl::ConsumePrefix(&value, " ");
    Llama2cGolden& golden = goldens.back();
    bool ok = true;
    if (key == "prompt") {
      ok = ParseCString(value, &golden.prompt);
      seen |= 1;
    } else if (key == "steps") {
      ok = absl::SimpleAtoi(value, &golden.steps);
      seen |= 2;
    } else if (key == "prompt_ids") {
      ok = ParseIds(value, &golden.prompt_ids);
      seen |= 4;
    } else if (key == "gen_ids") {
      ok = ParseIds(value, &golden.gen_ids);
      seen |= 8;
    } else if (key == "stop") {
      golden.stop = std::string(value);
      ok = golden.stop == "steps" || golden.stop == "bos";
      seen |= 16;
    } else if (key == "raw_text") {
      ok = ParseCString(value, &golden.raw_text);
      seen |= 32;
    }
    if (!ok) return LineError(path, number, absl::StrCat("cannot parse '", key, "'"));
  }
  if (in_case) return absl::InvalidArgumentError(absl::StrCat(path, ": last case has no 'end'"));
  return goldens;
}

}  // namespace fabric
