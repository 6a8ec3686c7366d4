// `fabric`: one program, with a subcommand per job.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/bench_command.h"
#include "server/generate_command.h"
#include "server/plan_command.h"
#include "server/serve_command.h"
#include "server/synth_command.h"
#include "server/xclbin_command.h"

namespace {

constexpr char kUsage[] =
    "usage: fabric <command> [flags]\n"
    "commands:\n"
    "  serve      serve a model over OpenAI-compatible REST and gRPC\n"
    "  generate   generate text from a prompt on a mock card\n"
    "  synth      write a random-weight Llama GGUF of a named shape\n"
    "  bench      measure an OpenAI-compatible server under load, like `vllm bench serve`\n"
    "  xclbin     write a bitstream's interface metadata, or its v++ connectivity\n"
    "  plan       predict TP x PP and prefill/decode plans of a model on FPGA cards\n";

// Leaves with `code` once the command's objects are gone, without exit-time destructors: XRT
// 2.13 stops its command-monitor thread from one, and that thread can miss the stop signal,
// leaving exit() joining it forever after a command that opened Alveo cards.
[[noreturn]] void Leave(int code) {
  std::fflush(nullptr);
  std::_Exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "help") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    Leave(argc < 2 ? 2 : 0);
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  absl::Status status;
  if (command == "serve") {
    status = fabric::RunServeCommand(args);
  } else if (command == "generate") {
    status = fabric::RunGenerateCommand(args);
  } else if (command == "synth") {
    status = fabric::RunSynthCommand(args);
  } else if (command == "bench") {
    status = fabric::RunBenchCommand(args);
  } else if (command == "plan") {
    status = fabric::RunPlanCommand(args);
  } else if (command == "xclbin") {
    status = fabric::RunXclbinCommand(args);
  } else {
    std::fprintf(stderr, "fabric: unknown command '%s'\n%s", command.c_str(), kUsage);
    Leave(2);
  }
  if (!status.ok()) {
    std::fprintf(stderr, "fabric %s: %s\n", command.c_str(), std::string(status.message()).c_str());
    Leave(1);
  }
  Leave(0);
}
