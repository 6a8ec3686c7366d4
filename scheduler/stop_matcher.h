// Finds stop sequences in streamed text and decides how much of it is safe to release.
#ifndef FABRIC_SCHEDULER_STOP_MATCHER_H_
#define FABRIC_SCHEDULER_STOP_MATCHER_H_

#include <string>
#include <string_view>
#include <vector>

namespace fabric {

// One per sequence; not thread-safe.
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  // Appends `piece` and returns the text now safe to release: everything except a tail that
  // could still begin a stop sequence. After a match, returns the text before it and
  // stopped() turns true.
  std::string Add(std::string_view piece);
  // The held-back tail, released when generation ends for another reason.
  std::string Flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;  // text not yet released
  bool stopped_ = false;
};

}  // namespace fabric

#endif  // FABRIC_SCHEDULER_STOP_MATCHER_H_
