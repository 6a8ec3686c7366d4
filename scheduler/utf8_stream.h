// Turns a stream of token bytes into valid UTF-8 text. Byte-fallback tokens split characters
// across tokens, and a model may emit bytes that never form a character; clients (JSON, proto3
// strings) need valid UTF-8.
#ifndef FABRIC_SCHEDULER_UTF8_STREAM_H_
#define FABRIC_SCHEDULER_UTF8_STREAM_H_

#include <string>
#include <string_view>

namespace fabric {

// `bytes` with every invalid or truncated sequence replaced by U+FFFD.
std::string SanitizeUtf8(std::string_view bytes);

// One per sequence; not thread-safe.
class Utf8Stream {
 public:
  // Appends bytes; returns the complete characters so far (invalid bytes become U+FFFD) and
  // holds back a trailing sequence that may still be completed by the next token.
  std::string Add(std::string_view bytes);
  // Releases what is held back, replaced by U+FFFD since it will never be completed.
  std::string Flush();

 private:
  std::string pending_;
};

}  // namespace fabric

#endif  // FABRIC_SCHEDULER_UTF8_STREAM_H_
