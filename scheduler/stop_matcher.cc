#include "scheduler/stop_matcher.h"

#include <algorithm>

namespace fabric {

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

std::string StopMatcher::Add(std::string_view piece) {
  if (stopped_) return "";
  pending_.append(piece);
  size_t first_match = std::string::npos;
  for (const std::string& stop : stops_) first_match = std::min(first_match, pending_.find(stop));
  if (first_match != std::string::npos) {
    stopped_ = true;
    std::string released = pending_.substr(0, first_match);
    pending_.clear();
    return released;
  }
  // Hold back the longest tail that is a proper prefix of some stop sequence.
  size_t hold = 0;
  for (const std::string& stop : stops_) {
    for (size_t n = std::min(stop.size() - 1, pending_.size()); n > hold; --n) {
      if (pending_.compare(pending_.size() - n, n, stop, 0, n) == 0) {
        hold = n;
        break;
      }
    }
  }
  std::string released = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return released;
}

std::string StopMatcher::Flush() {
  std::string rest;
  rest.swap(pending_);
  return stopped_ ? "" : rest;
}

}  // namespace fabric
