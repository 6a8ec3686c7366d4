// One request's generation state, owned by the scheduler thread.
#ifndef FABRIC_SCHEDULER_SEQUENCE_H_
#define FABRIC_SCHEDULER_SEQUENCE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "model/sampler.h"
#include "scheduler/logits_processor.h"
#include "scheduler/request.h"
#include "scheduler/stop_matcher.h"
#include "scheduler/utf8_stream.h"

namespace fabric {

struct Sequence {
  Sequence(uint64_t id, GenerationRequest request, std::shared_ptr<RequestObserver> observer)
      : id(id),
        observer(std::move(observer)),
        handle(std::make_shared<RequestHandle>()),
        tokens(request.prompt_tokens),
        prompt_len(static_cast<int>(request.prompt_tokens.size())),
        sampler(request.sampling),
        stop(request.stop),
        logits(request.presence_penalty, request.frequency_penalty),
        request(std::move(request)) {}

  uint64_t id;
  std::shared_ptr<RequestObserver> observer;
  std::shared_ptr<RequestHandle> handle;
  std::vector<int> tokens;  // prompt, then generated
  int prompt_len;
  int processed = 0;        // tokens whose keys and values are in the cache (0 after preemption)
  std::vector<int> blocks;  // KV-cache block table
  Sampler sampler;
  Utf8Stream utf8;  // token bytes -> whole characters, before stop matching
  StopMatcher stop;
  LogitsProcessor logits;
  GenerationRequest request;
  bool running = false;   // admitted to a card (rather than waiting)
  bool finished = false;

  absl::Time arrival = absl::Now();
  absl::Time scheduled = absl::InfinitePast();  // first admitted to a card
  absl::Time last_token;    // when the latest token was generated

  int generated() const { return static_cast<int>(tokens.size()) - prompt_len; }
};

}  // namespace fabric

#endif  // FABRIC_SCHEDULER_SEQUENCE_H_
