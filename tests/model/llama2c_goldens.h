// Reads the golden generations of llama2.c (tests/model/testdata/stories260K_llama2c_greedy.txt).
#ifndef FABRIC_TESTS_MODEL_LLAMA2C_GOLDENS_H_
#define FABRIC_TESTS_MODEL_LLAMA2C_GOLDENS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fabric {

// One greedy run of llama2.c: `./run model -z tokenizer -t 0.0 -n steps -i prompt`.
struct Llama2cGolden {
  std::string prompt;
  int steps = 0;                // forward passes, prompt included
  std::vector<int> prompt_ids;  // encode(prompt), BOS first
  std::vector<int> gen_ids;     // every argmax-chosen id; a final BOS (1) when stop == "bos"
  std::string stop;             // "steps" or "bos"
  std::string raw_text;         // decoded prompt and generation, before llama2.c's filtering
};

// Parses the golden file: blocks of "case" ... "end" with "key: value" lines; strings are C
// literals (octal escapes); '#' lines are comments; unknown keys are ignored.
absl::StatusOr<std::vector<Llama2cGolden>> ReadLlama2cGoldens(const std::string& path);

}  // namespace fabric

#endif  // FABRIC_TESTS_MODEL_LLAMA2C_GOLDENS_H_
