#include "bench/load_generator/sse_parser.h"

namespace fabric::bench {

void SseParser::Feed(absl::string_view bytes, const Callback& on_event) {
  size_t start = 0;  // where the current line begins in `bytes`
  for (size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (c == '\n' && after_cr_) {  // the LF of a CRLF whose CR already ended the line
      after_cr_ = false;
      start = i + 1;
      continue;
    }
    after_cr_ = false;
    if (c != '\r' && c != '\n') continue;
    if (line_.empty()) {
      ProcessLine(bytes.substr(start, i - start), on_event);
    } else {
      line_.append(bytes.data() + start, i - start);
      ProcessLine(line_, on_event);
      line_.clear();
    }
    start = i + 1;
    after_cr_ = c == '\r';
  }
  line_.append(bytes.data() + start, bytes.size() - start);
}

void SseParser::ProcessLine(absl::string_view line, const Callback& on_event) {
  if (first_line_) {
    first_line_ = false;
    constexpr absl::string_view kBom = "\xEF\xBB\xBF";
    if (line.substr(0, kBom.size()) == kBom) line.remove_prefix(kBom.size());
  }
  if (line.empty()) {  // dispatch
    if (has_data_) on_event(pending_);
    pending_.event.clear();
    pending_.data.clear();
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // a comment
  absl::string_view field = line, value;
  if (const size_t colon = line.find(':'); colon != absl::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) pending_.data.push_back('\n');
    pending_.data.append(value.data(), value.size());
    has_data_ = true;
  } else if (field == "event") {
    pending_.event.assign(value.data(), value.size());
  } else if (field == "id" && value.find('\0') == absl::string_view::npos) {
    pending_.id.assign(value.data(), value.size());  // persists into later events
  }
  // `retry` and unknown fields are ignored.
}

}  // namespace fabric::bench
