// Why a sequence stopped generating.
#ifndef FABRIC_MODEL_FINISH_REASON_H_
#define FABRIC_MODEL_FINISH_REASON_H_

#include <string_view>

namespace fabric {

enum class FinishReason {
  kStop,       // end of text, or a stop sequence
  kLength,     // max_tokens or the context length
  kCancelled,  // the client went away, its deadline passed, or the server is shutting down
  kError,      // the card failed
};

// The OpenAI spelling: "stop", "length", "cancelled", "error".
constexpr std::string_view FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kCancelled:
      return "cancelled";
    case FinishReason::kError:
      return "error";
  }
  return "error";
}

}  // namespace fabric

#endif  // FABRIC_MODEL_FINISH_REASON_H_
