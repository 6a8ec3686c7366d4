// Writes a random-weight llama GGUF of a named shape (see model/synth.h):
//   model_synth --shape tinyllama-1.1b --type q8_0 --out /tmp/tinyllama-q8_0.gguf
//       [--tokenizer /work/shared/models/llama2-tokenizer/tokenizer.bin] [--seed 1] [--name N]
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "model/synth.h"

namespace {

constexpr char kDefaultTokenizer[] = "/work/shared/models/llama2-tokenizer/tokenizer.bin";

int Usage() {
  std::fprintf(stderr,
               "usage: model_synth --shape NAME --out PATH [--type f32|f16|q8_0] "
               "[--tokenizer PATH] [--seed N] [--name NAME]\nshapes:");
  for (const std::string& name : fabric::SynthShapeNames()) {
    std::fprintf(stderr, " %s", name.c_str());
  }
  std::fprintf(stderr, "\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  fabric::SynthOptions options;
  options.tokenizer_path = kDefaultTokenizer;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--shape") {
      options.shape = value;
    } else if (flag == "--out") {
      options.output_path = value;
    } else if (flag == "--tokenizer") {
      options.tokenizer_path = value;
    } else if (flag == "--name") {
      options.name = value;
    } else if (flag == "--seed") {
      if (!absl::SimpleAtoi(value, &options.seed)) return Usage();
    } else if (flag == "--type") {
      if (value == "f32") {
        options.type = fabric::TensorType::kF32;
      } else if (value == "f16") {
        options.type = fabric::TensorType::kF16;
      } else if (value == "q8_0") {
        options.type = fabric::TensorType::kQ8_0;
      } else {
        return Usage();
      }
    } else {
      return Usage();
    }
  }
  if (argc % 2 != 1 || options.output_path.empty()) return Usage();
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<fabric::SynthReport> report = fabric::SynthesizeModel(options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!report.ok()) {
    std::fprintf(stderr, "%s\n", std::string(report.status().message()).c_str());
    return 1;
  }
  for (const std::string& name : report->kept_f32) {
    std::printf("kept F32 (rows not a multiple of 32): %s\n", name.c_str());
  }
  std::printf("wrote %s: %s, %llu bytes in %.2f s\n", options.output_path.c_str(),
              report->config.name.c_str(), static_cast<unsigned long long>(report->bytes),
              seconds);
  return 0;
}
