#include "server/bench_command.h"

#include <cstdio>
#include <fstream>
#include <limits>
#include <optional>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/load_generator/benchmark.h"
#include "bench/load_generator/report.h"
#include "common/cli_args.h"
#include "common/status_macros.h"

namespace fabric {
namespace {

using bench::BenchmarkRun;
using bench::GoodputSlo;
using bench::LoadOptions;
using bench::WorkloadOptions;

constexpr char kUsage[] =
    "usage: fabric bench [--base-url URL] [--model NAME] [--endpoint completions|chat]\n"
    "         [--num-prompts N] [--input-len N] [--output-len N] [--random-range-ratio R]\n"
    "         [--request-rate R|inf] [--max-concurrency C] [--seed S] [--token-id-range LO..HI]\n"
    "         [--goodput ttft:MS tpot:MS e2el:MS] [--output-json FILE] [--timeout SECONDS]\n"
    "Streams synthetic requests to an OpenAI-compatible server and reports throughput, TTFT,\n"
    "TPOT, ITL and E2EL like `vllm bench serve`. --random-input-len and --random-output-len\n"
    "are other names for --input-len and --output-len. Completions prompts are token ids drawn\n"
    "from --token-id-range (default 3..511); chat prompts are words.";

const std::set<std::string> kFlags = {
    "base-url", "model", "endpoint", "num-prompts", "input-len", "output-len",
    "random-input-len", "random-output-len", "random-range-ratio", "request-rate",
    "max-concurrency", "seed", "token-id-range", "goodput", "output-json", "timeout"};

// vLLM takes `--goodput ttft:500 tpot:50` as separate words: join the words after --goodput.
std::vector<std::string> JoinGoodputWords(const std::vector<std::string>& args) {
  std::vector<std::string> joined;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool inline_value = args[i].rfind("--goodput=", 0) == 0;
    if (args[i] != "--goodput" && !inline_value) {
      joined.push_back(args[i]);
      continue;
    }
    joined.push_back("--goodput");
    std::string value = inline_value ? args[i].substr(10) : "";
    while (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
      absl::StrAppend(&value, value.empty() ? "" : " ", args[++i]);
    }
    joined.push_back(value);
  }
  return joined;
}

// A length given under either of its two names.
absl::StatusOr<int> Length(const CliArgs& flags, const std::string& name,
                           const std::string& random_name, int fallback) {
  ASSIGN_OR_RETURN(const int plain, flags.GetInt(name, fallback));
  ASSIGN_OR_RETURN(const int random, flags.GetInt(random_name, plain));
  if (flags.Has(name) && flags.Has(random_name) && plain != random) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " and --", random_name, " name one length; give one"));
  }
  return random;
}

absl::Status ParseTokenIdRange(const std::string& text, WorkloadOptions& workload) {
  std::pair<std::string, std::string> bounds = absl::StrSplit(text, "..");
  if (!absl::SimpleAtoi(bounds.first, &workload.token_id_min) ||
      !absl::SimpleAtoi(bounds.second, &workload.token_id_max)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--token-id-range must be LO..HI, not '", text, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<WorkloadOptions> ParseWorkload(const CliArgs& flags) {
  WorkloadOptions w;
  ASSIGN_OR_RETURN(w.api, bench::ParseApi(flags.GetString("endpoint", "completions")));
  w.model = flags.GetString("model");
  ASSIGN_OR_RETURN(w.num_prompts, flags.GetInt("num-prompts", w.num_prompts));
  ASSIGN_OR_RETURN(w.input_len, Length(flags, "input-len", "random-input-len", w.input_len));
  ASSIGN_OR_RETURN(w.output_len, Length(flags, "output-len", "random-output-len", w.output_len));
  ASSIGN_OR_RETURN(w.range_ratio, flags.GetFloat("random-range-ratio", 0));
  ASSIGN_OR_RETURN(w.request_rate,
                   flags.GetFloat("request-rate", std::numeric_limits<float>::infinity()));
  ASSIGN_OR_RETURN(w.seed, flags.GetUint64("seed", 0));
  if (flags.Has("token-id-range")) {
    RETURN_IF_ERROR(ParseTokenIdRange(flags.GetString("token-id-range"), w));
  }
  RETURN_IF_ERROR(bench::ValidateWorkload(w));  // before any request is sent
  return w;
}

absl::StatusOr<LoadOptions> ParseLoad(const CliArgs& flags) {
  LoadOptions load;
  load.base_url = flags.GetString("base-url", "http://127.0.0.1:8080");
  while (!load.base_url.empty() && load.base_url.back() == '/') load.base_url.pop_back();
  ASSIGN_OR_RETURN(load.max_concurrency, flags.GetInt("max-concurrency", 0));
  if (load.max_concurrency < 0) {
    return absl::InvalidArgumentError("--max-concurrency must not be negative");
  }
  ASSIGN_OR_RETURN(const float timeout, flags.GetFloat("timeout", 600));
  if (!(timeout > 0)) return absl::InvalidArgumentError("--timeout must be positive");
  load.timeout_s = timeout;
  load.on_progress = [](int finished, int total) {
    std::fprintf(stderr, "\rfabric bench: %d/%d requests finished", finished, total);
    std::fflush(stderr);
  };
  return load;
}

absl::Status WriteJson(const std::string& path, const BenchmarkRun& run) {
  std::ofstream out(path);
  out << bench::ReportJson(run).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
      << "\n";
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("could not write ", path));
  return absl::OkStatus();
}

}  // namespace

absl::Status RunBenchCommand(const std::vector<std::string>& args) {
  auto parsed = CliArgs::Parse(JoinGoodputWords(args), kFlags);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(parsed.status().message(), "\n", kUsage));
  }
  const CliArgs& flags = *parsed;
  if (flags.Has("help")) {
    std::fputs(kUsage, stdout);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(WorkloadOptions workload, ParseWorkload(flags));
  ASSIGN_OR_RETURN(LoadOptions load, ParseLoad(flags));
  std::optional<GoodputSlo> goodput;
  if (flags.Has("goodput")) {
    ASSIGN_OR_RETURN(goodput, bench::ParseGoodput(flags.GetString("goodput")));
  }
  ASSIGN_OR_RETURN(BenchmarkRun run, bench::RunBenchmark(workload, load, goodput));
  std::fprintf(stderr, "\n");
  std::fputs(bench::FormatReport(run).c_str(), stdout);
  std::fflush(stdout);
  if (flags.Has("output-json")) RETURN_IF_ERROR(WriteJson(flags.GetString("output-json"), run));
  return absl::OkStatus();
}

}  // namespace fabric
