#include "server/generate_command.h"

#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "device/device_worker.h"
#include "device/mock/mock_device.h"
#include "model/generator.h"
#include "model/llama_program.h"
#include "model/model_file.h"
#include "model/tokenizer.h"
#include "common/cli_args.h"

namespace fabric {
namespace {

constexpr char kUsage[] =
    "usage: fabric generate --model FILE [--tokenizer FILE] --prompt TEXT [--max-tokens N]\n"
    "         [--temperature T] [--top-k K] [--top-p P] [--seed S] [--compute-units N]\n"
    "         [--memory-gb G]";

void WriteOut(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

absl::Status RunGenerateCommand(const std::vector<std::string>& args) {
  auto parsed = CliArgs::Parse(args, {"model", "tokenizer", "prompt", "max-tokens", "temperature",
                                      "top-k", "top-p", "seed", "compute-units", "memory-gb"});
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(parsed.status().message(), "\n", kUsage));
  }
  const CliArgs& flags = *parsed;
  if (flags.Has("help")) {
    std::printf("%s\n", kUsage);
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(flags.Require({"model"}));
  SamplingParams sampling;
  ASSIGN_OR_RETURN(const int max_tokens, flags.GetInt("max-tokens", 256));
  ASSIGN_OR_RETURN(sampling.temperature, flags.GetFloat("temperature", 0.8f));
  ASSIGN_OR_RETURN(sampling.top_k, flags.GetInt("top-k", 40));
  ASSIGN_OR_RETURN(sampling.top_p, flags.GetFloat("top-p", 0.95f));
  ASSIGN_OR_RETURN(sampling.seed,
                   flags.GetUint64("seed", static_cast<uint64_t>(absl::GetCurrentTimeNanos())));
  ASSIGN_OR_RETURN(const int compute_units,
                   flags.GetInt("compute-units", std::thread::hardware_concurrency()));
  ASSIGN_OR_RETURN(const float memory_gb, flags.GetFloat("memory-gb", 16));

  ASSIGN_OR_RETURN(std::unique_ptr<ModelFile> model,
                   ModelFile::Open(flags.GetString("model"), flags.GetString("tokenizer")));
  MockDeviceOptions card;
  card.compute_units = compute_units;
  card.memory_bytes = static_cast<uint64_t>(memory_gb * (1ull << 30));
  ASSIGN_OR_RETURN(std::unique_ptr<MockDevice> device, MockDevice::Create(card));
  DeviceWorker worker(std::move(device));
  ProgramOptions options;
  options.max_sequences = 1;
  ASSIGN_OR_RETURN(std::unique_ptr<LlamaProgram> program,
                   LlamaProgram::Create(*model, worker, options));
  Tokenizer tokenizer(model->vocabulary());
  Generator generator(*program, tokenizer);

  const std::string prompt = flags.GetString("prompt");
  std::vector<int> prompt_tokens = tokenizer.Encode(prompt, /*add_bos=*/true);
  for (size_t i = 1; i < prompt_tokens.size(); ++i) {
    WriteOut(tokenizer.Decode(prompt_tokens[i - 1], prompt_tokens[i]));
  }
  ASSIGN_OR_RETURN(GenerationResult result,
                   generator.GenerateTokens(prompt_tokens, max_tokens, sampling,
                                            [](int, std::string_view text) { WriteOut(text); }));
  WriteOut("\n");
  const size_t n_prompt = result.prompt_tokens.size(), n_generated = result.tokens.size();
  std::fprintf(stderr, "prompt: %zu tokens in %.3f s (%.1f tokens/s)\n", n_prompt,
               result.prefill_seconds, n_prompt / std::max(result.prefill_seconds, 1e-9));
  if (n_generated > 1) {
    std::fprintf(stderr, "generated: %zu tokens, decode %.1f tokens/s\n", n_generated,
                 (n_generated - 1) / std::max(result.decode_seconds, 1e-9));
  }
  return absl::OkStatus();
}

}  // namespace fabric
