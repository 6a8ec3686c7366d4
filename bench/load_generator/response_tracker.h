// Follows one streamed OpenAI response as it arrives and times it the way `vllm bench serve`
// does. Times are seconds on the load generator's clock.
//
//   TTFT  first chunk carrying generated text, from the moment the request was sent (if the
//         server generated no text at all: its first chunk with choices, as vLLM counts it)
//   ITL   the gaps between consecutive chunks carrying text
//   E2EL  the last chunk with choices (text or finish_reason), from the moment of sending
//   output tokens   usage.completion_tokens of the final chunk; without it, the text chunks
//   input tokens    usage.prompt_tokens; without it, the prompt length sent
#ifndef FABRIC_BENCH_LOAD_GENERATOR_RESPONSE_TRACKER_H_
#define FABRIC_BENCH_LOAD_GENERATOR_RESPONSE_TRACKER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "bench/load_generator/sse_parser.h"

namespace fabric::bench {

// What one request measured.
struct RequestRecord {
  int index = 0;
  int prompt_len = 0;   // what the client sent: token ids, or words for chat
  int max_tokens = 0;
  double send_time = 0;  // when the request was handed to the connection
  bool success = false;
  std::string error;     // why not, when !success
  double ttft = 0;       // seconds
  double latency = 0;    // E2EL, seconds
  std::vector<double> itl;  // seconds
  int output_tokens = 0;    // usage when reported, else text chunks
  int input_tokens = 0;     // usage.prompt_tokens when reported, else prompt_len
  int usage_completion_tokens = -1;  // -1: the server sent no usage
  int text_chunks = 0;
  std::string generated_text;
};

// Owned by one transfer; not thread-safe.
class ResponseTracker {
 public:
  ResponseTracker(int index, int prompt_len, int max_tokens);

  void OnSent(double now);
  // The end of a response header block (interim 1xx blocks included).
  void OnHeaders(long http_status);
  void OnBody(absl::string_view bytes, double now);
  // The transfer ended: OK, or the transport error. Returns the record.
  RequestRecord Finish(const absl::Status& transfer);

  // Headers said 200 and the stream is open.
  bool streaming() const { return http_status_ == 200 && !finished_; }

 private:
  void OnEvent(const SseEvent& event, double now);
  void Fail(std::string error);

  RequestRecord record_;
  SseParser parser_;
  long http_status_ = 0;
  bool finished_ = false;
  std::string error_body_;  // the start of a non-200 body
  double first_choice_time_ = -1;
  double first_text_time_ = -1;
  double last_text_time_ = -1;
  double last_choice_time_ = -1;
};

}  // namespace fabric::bench

#endif  // FABRIC_BENCH_LOAD_GENERATOR_RESPONSE_TRACKER_H_
