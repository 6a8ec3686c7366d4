// An incremental parser for Server-Sent Events (the WHATWG `text/event-stream` format), fed
// whatever pieces a socket read returns: an event, a line, even a CRLF pair may be split
// across calls.
#ifndef FABRIC_BENCH_LOAD_GENERATOR_SSE_PARSER_H_
#define FABRIC_BENCH_LOAD_GENERATOR_SSE_PARSER_H_

#include <functional>
#include <string>

#include "absl/strings/string_view.h"

namespace fabric::bench {

// One dispatched event. `data` joins the event's `data:` lines with '\n'.
struct SseEvent {
  std::string event;  // the `event:` field; empty means "message"
  std::string data;
  std::string id;
};

// Owned by one response stream; not thread-safe. Lines end with LF, CRLF or CR; lines starting
// with ':' are comments (keep-alive pings); a blank line dispatches the event collected so far,
// unless it has no data. A trailing event without its blank line is never dispatched.
class SseParser {
 public:
  using Callback = std::function<void(const SseEvent&)>;

  // Parses `bytes`, calling `on_event` for every event they complete.
  void Feed(absl::string_view bytes, const Callback& on_event);

 private:
  void ProcessLine(absl::string_view line, const Callback& on_event);

  std::string line_;          // the incomplete line carried over from the last Feed
  bool after_cr_ = false;     // the last byte seen was CR: a leading LF next ends nothing
  bool first_line_ = true;    // a UTF-8 byte order mark may start it
  SseEvent pending_;
  bool has_data_ = false;
};

}  // namespace fabric::bench

#endif  // FABRIC_BENCH_LOAD_GENERATOR_SSE_PARSER_H_
