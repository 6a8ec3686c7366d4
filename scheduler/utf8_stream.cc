#include "scheduler/utf8_stream.h"

#include <cstdint>

namespace fabric {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// Length of the sequence a lead byte starts, or 0 if it cannot start one.
int SequenceLength(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Whether bytes[1..n) continue the sequence led by bytes[0] (rejecting overlong forms,
// surrogates and values past U+10FFFF).
bool ValidContinuation(std::string_view bytes, int n) {
  const uint8_t lead = static_cast<uint8_t>(bytes[0]);
  for (int i = 1; i < n; ++i) {
    const uint8_t c = static_cast<uint8_t>(bytes[i]);
    if ((c & 0xC0) != 0x80) return false;
    if (i == 1) {
      if (lead == 0xE0 && c < 0xA0) return false;
      if (lead == 0xED && c > 0x9F) return false;
      if (lead == 0xF0 && c < 0x90) return false;
      if (lead == 0xF4 && c > 0x8F) return false;
    }
  }
  return true;
}

// Appends the valid text of `bytes` to `out`; returns how many trailing bytes form an
// incomplete but so far valid sequence (when `hold_tail`), which are not consumed.
size_t Decode(std::string_view bytes, bool hold_tail, std::string& out) {
  size_t i = 0;
  while (i < bytes.size()) {
    const int n = SequenceLength(static_cast<uint8_t>(bytes[i]));
    if (n == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    const size_t available = bytes.size() - i;
    if (available < static_cast<size_t>(n)) {
      if (hold_tail && ValidContinuation(bytes.substr(i), static_cast<int>(available))) {
        return available;
      }
      out += kReplacement;
      ++i;
      continue;
    }
    if (!ValidContinuation(bytes.substr(i), n)) {
      out += kReplacement;
      ++i;
      continue;
    }
    out.append(bytes.substr(i, n));
    i += n;
  }
  return 0;
}

}  // namespace

std::string SanitizeUtf8(std::string_view bytes) {
  std::string out;
  Decode(bytes, false, out);
  return out;
}

std::string Utf8Stream::Add(std::string_view bytes) {
  pending_.append(bytes);
  std::string out;
  const size_t held = Decode(pending_, true, out);
  pending_.erase(0, pending_.size() - held);
  return out;
}

std::string Utf8Stream::Flush() {
  std::string out;
  Decode(pending_, false, out);
  pending_.clear();
  return out;
}

}  // namespace fabric
