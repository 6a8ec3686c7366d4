// What a transport hands the scheduler, and what the scheduler reports back.
#ifndef FABRIC_SCHEDULER_REQUEST_H_
#define FABRIC_SCHEDULER_REQUEST_H_

#include <atomic>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "model/finish_reason.h"
#include "model/sampler.h"

namespace fabric {

struct GenerationRequest {
  std::vector<int> prompt_tokens;  // BOS first when the model wants it
  int max_tokens = 16;
  SamplingParams sampling;
  std::vector<std::string> stop;   // stop sequences; the text ends before the first match
  float presence_penalty = 0;      // subtracted once from tokens already generated
  float frequency_penalty = 0;     // subtracted per occurrence in the generated tokens
  int top_logprobs = -1;           // -1: no logprobs; else the chosen token's and k others
  absl::Time deadline = absl::InfiniteFuture();
};

struct TokenLogprob {
  int token = 0;
  float logprob = 0;
};

// One generated token and the text it releases. Text is held back while it could be the
// start of a stop sequence, so `text` may be empty, or carry earlier tokens' text too.
struct TokenOutput {
  int token = 0;
  std::string text;
  float logprob = 0;                     // when logprobs were asked for
  std::vector<TokenLogprob> top_logprobs;
};

struct FinishInfo {
  FinishReason reason = FinishReason::kStop;
  absl::Status status;      // why, for kCancelled and kError
  std::string text;         // held-back text released at the end
  int prompt_tokens = 0;
  int completion_tokens = 0;
};

// Receives one request's results, on the scheduler thread: must return quickly and never
// block (transports queue the work for their own threads).
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void OnToken(const TokenOutput& output) = 0;
  // Called exactly once, last.
  virtual void OnFinish(const FinishInfo& finish) = 0;
};

// Lets a transport cancel a request it submitted (client gone, deadline). Thread-safe.
class RequestHandle {
 public:
  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

}  // namespace fabric

#endif  // FABRIC_SCHEDULER_REQUEST_H_
