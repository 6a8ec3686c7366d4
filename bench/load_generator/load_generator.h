// Sends a planned set of streamed requests to an OpenAI-compatible server and times every
// chunk: one thread driving libcurl's multi interface, so hundreds of streams can be open at
// once without a thread each. Requests arrive at their planned times; with a concurrency limit,
// an arrived request waits for a free slot (a semaphore, as in `vllm bench serve`) and its
// clock starts when it is sent.
#ifndef FABRIC_BENCH_LOAD_GENERATOR_LOAD_GENERATOR_H_
#define FABRIC_BENCH_LOAD_GENERATOR_LOAD_GENERATOR_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/load_generator/openai_request.h"
#include "bench/load_generator/response_tracker.h"
#include "bench/load_generator/workload.h"

namespace fabric::bench {

struct LoadOptions {
  std::string base_url;    // e.g. http://127.0.0.1:8080
  Api api = Api::kCompletions;
  int max_concurrency = 0;  // requests in flight at once; 0: no limit
  double timeout_s = 600;   // per request, connecting included
  // Called from the loop about once a second, and at the end, with the requests finished.
  std::function<void(int finished, int total)> on_progress;
};

struct LoadResult {
  std::vector<RequestRecord> records;  // in the order of the planned requests
  double duration_s = 0;               // from the start to the last request's end
  int max_concurrent_requests = 0;     // most requests sent and not yet finished at once
  int max_concurrent_streams = 0;      // most 200 responses open at once
};

// Runs on the calling thread until every request has finished or failed. Request failures are
// in the records; an error means the loop itself could not run.
absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options,
                                   const std::vector<PlannedRequest>& requests);

}  // namespace fabric::bench

#endif  // FABRIC_BENCH_LOAD_GENERATOR_LOAD_GENERATOR_H_
