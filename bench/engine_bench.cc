// Decode and prefill speed of one mock card on a model file, against this machine's memory
// bandwidth. Decode reads every weight once per token, so bandwidth / weight bytes per token
// bounds decode tokens/s; the report gives the fraction of that bound reached.
//
//   fabric-engine-bench --model M.gguf [--threads N] [--prompt-tokens P] [--decode-tokens D]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/memory_bandwidth.h"
#include "device/device_worker.h"
#include "device/mock/mock_device.h"
#include "model/kv_block_allocator.h"
#include "model/llama_program.h"
#include "model/model_file.h"
#include "model/tensor.h"
#include "common/cli_args.h"

namespace fabric {
namespace {

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Bytes of weights a decode step streams from card memory: everything but the embedding
// table, of which one row is gathered (unless it doubles as the classifier).
uint64_t WeightBytesPerToken(const ModelFile& model) {
  const bool tied = model.FindTensor(tensor_names::kOutput) == nullptr;
  uint64_t bytes = 0;
  for (const Tensor& tensor : model.tensors()) {
    if (tensor.name == tensor_names::kTokenEmbedding && !tied) continue;
    // F16 weights are widened to F32 on the card.
    const TensorType type = tensor.type == TensorType::kQ8_0 ? TensorType::kQ8_0
                                                             : TensorType::kF32;
    bytes += TensorBytes(type, tensor.elements());
  }
  return bytes;
}

int Run(const CliArgs& flags) {
  const std::string path = flags.GetString("model");
  const int threads = flags.GetInt("threads", 1).value_or(1);
  const int prompt_tokens = flags.GetInt("prompt-tokens", 128).value_or(128);
  const int decode_tokens = flags.GetInt("decode-tokens", 32).value_or(32);
  const int repeats = flags.GetInt("repeats", 3).value_or(3);

  const double bandwidth = MeasureReadBandwidth(size_t{1} << 30, threads, 9);
  auto model = ModelFile::Open(path);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  MockDeviceOptions card;
  card.compute_units = threads;
  card.memory_bytes = uint64_t{20} << 30;
  DeviceWorker worker(std::move(MockDevice::Create(card)).value());
  ProgramOptions options;
  options.max_batch_tokens = prompt_tokens;
  options.max_sequences = 1;
  auto program = LlamaProgram::Create(**model, worker, options);
  if (!program.ok()) {
    std::fprintf(stderr, "%s\n", std::string(program.status().message()).c_str());
    return 1;
  }
  const ModelConfig& config = (*model)->config();
  KvBlockAllocator blocks(config.context_length / options.kv_block_size + 1,
                          options.kv_block_size);

  std::vector<double> prefill_rates, decode_step_seconds;
  for (int r = 0; r < repeats; ++r) {
    Batch batch;
    batch.block_tables.resize(1);
    (void)blocks.Reserve(prompt_tokens + decode_tokens, batch.block_tables[0]);
    for (int p = 0; p < prompt_tokens; ++p) {
      batch.Add(3 + (p * 7919) % (config.vocab_size - 3), p, 0, p == prompt_tokens - 1);
    }
    auto start = std::chrono::steady_clock::now();
    if (auto logits = (*program)->Forward(batch); !logits.ok()) {
      std::fprintf(stderr, "%s\n", std::string(logits.status().message()).c_str());
      return 1;
    }
    prefill_rates.push_back(prompt_tokens / Seconds(start));
    for (int d = 0; d < decode_tokens; ++d) {
      Batch step;
      step.block_tables = batch.block_tables;
      step.Add(3 + (d * 104729) % (config.vocab_size - 3), prompt_tokens + d, 0, true);
      start = std::chrono::steady_clock::now();
      if (!(*program)->Forward(step).ok()) return 1;
      decode_step_seconds.push_back(Seconds(start));
    }
    blocks.Release(batch.block_tables[0]);
  }
  const double decode_rate = 1.0 / Median(decode_step_seconds);
  const double prefill_rate = Median(prefill_rates);
  const uint64_t bytes_per_token = WeightBytesPerToken(**model);
  const double bound = bandwidth / static_cast<double>(bytes_per_token);
  std::printf(
      "{\"model\": \"%s\", \"threads\": %d, \"read_bandwidth_gbps\": %.2f, "
      "\"weight_bytes_per_token\": %llu, \"decode_bound_tokens_per_s\": %.2f, "
      "\"decode_tokens_per_s\": %.2f, \"fraction_of_bound\": %.3f, "
      "\"prefill_tokens\": %d, \"prefill_tokens_per_s\": %.2f}\n",
      path.c_str(), threads, bandwidth / 1e9, static_cast<unsigned long long>(bytes_per_token),
      bound, decode_rate, decode_rate / bound, prompt_tokens, prefill_rate);
  return 0;
}

}  // namespace
}  // namespace fabric

int main(int argc, char** argv) {
  auto flags = fabric::CliArgs::Parse(
      std::vector<std::string>(argv + 1, argv + argc),
      {"model", "threads", "prompt-tokens", "decode-tokens", "repeats"});
  if (!flags.ok() || flags->Has("help") || !flags->Has("model")) {
    std::fprintf(stderr,
                 "usage: fabric-engine-bench --model FILE [--threads N] [--prompt-tokens P] "
                 "[--decode-tokens D] [--repeats R]\n");
    return 2;
  }
  return fabric::Run(*flags);
}
