// `fabric bench`: a load generator for any OpenAI-compatible server, after `vllm bench serve`.
#ifndef FABRIC_SERVER_BENCH_COMMAND_H_
#define FABRIC_SERVER_BENCH_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace fabric {

absl::Status RunBenchCommand(const std::vector<std::string>& args);

}  // namespace fabric

#endif  // FABRIC_SERVER_BENCH_COMMAND_H_
