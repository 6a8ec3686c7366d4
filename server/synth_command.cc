#include "server/synth_command.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/cli_args.h"
#include "common/status_macros.h"
#include "model/synth.h"

namespace fabric {
namespace {

absl::StatusOr<TensorType> ParseType(const std::string& name) {
  if (name == "f32") return TensorType::kF32;
  if (name == "f16") return TensorType::kF16;
  if (name == "q8_0") return TensorType::kQ8_0;
  return absl::InvalidArgumentError(
      absl::StrCat("--type must be f32, f16 or q8_0, not '", name, "'"));
}

}  // namespace

absl::Status RunSynthCommand(const std::vector<std::string>& args) {
  const std::string usage = absl::StrCat(
      "usage: fabric synth --shape {", absl::StrJoin(SynthShapeNames(), ","),
      "} --tokenizer FILE --output FILE [--type f32|f16|q8_0] [--seed N] [--name NAME]");
  auto parsed = CliArgs::Parse(args, {"shape", "tokenizer", "output", "type", "seed", "name"});
  if (!parsed.ok()) return absl::InvalidArgumentError(absl::StrCat(parsed.status().message(), "\n", usage));
  const CliArgs& flags = *parsed;
  if (flags.Has("help")) {
    std::printf("%s\n", usage.c_str());
    return absl::OkStatus();
  }
  if (absl::Status missing = flags.Require({"shape", "tokenizer", "output"}); !missing.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(missing.message(), "\n", usage));
  }
  SynthOptions options;
  options.shape = flags.GetString("shape");
  options.tokenizer_path = flags.GetString("tokenizer");
  options.output_path = flags.GetString("output");
  options.name = flags.GetString("name");
  ASSIGN_OR_RETURN(options.type, ParseType(flags.GetString("type", "f32")));
  ASSIGN_OR_RETURN(options.seed, flags.GetUint64("seed", 1));
  ASSIGN_OR_RETURN(SynthReport report, SynthesizeModel(options));
  const ModelConfig& c = report.config;
  std::printf("wrote %s: %s, dim %d, %d layers, %d heads, %d kv heads, hidden %d, vocab %d, "
              "context %d, %llu bytes\n",
              options.output_path.c_str(), options.shape.c_str(), c.dim, c.n_layers, c.n_heads,
              c.n_kv_heads, c.hidden_dim, c.vocab_size, c.context_length,
              static_cast<unsigned long long>(report.bytes));
  if (!report.kept_f32.empty()) {
    std::printf("kept in f32 (rows not a multiple of 32): %s\n",
                absl::StrJoin(report.kept_f32, ", ").c_str());
  }
  return absl::OkStatus();
}

}  // namespace fabric
