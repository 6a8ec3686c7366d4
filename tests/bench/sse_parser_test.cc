#include "bench/load_generator/sse_parser.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace fabric::bench {
namespace {

std::vector<SseEvent> FeedPieces(const std::vector<std::string>& pieces) {
  SseParser parser;
  std::vector<SseEvent> events;
  for (const std::string& piece : pieces) {
    parser.Feed(piece, [&](const SseEvent& event) { events.push_back(event); });
  }
  return events;
}

std::vector<std::string> DataOf(const std::vector<SseEvent>& events) {
  std::vector<std::string> data;
  for (const SseEvent& event : events) data.push_back(event.data);
  return data;
}

// A stream with everything the parser must handle: comments (pings), multi-line data, the
// three line endings, an event name, a field without a space after the colon, unknown fields,
// a blank-line run, and the final [DONE].
const std::string kStream =
    ": ping\n\n"
    "data: {\"choices\":[{\"text\":\"Once\"}]}\n\n"
    "event: update\r\ndata: first line\r\ndata: second line\r\n\r\n"
    "data:no space\rretry: 100\rfoo: bar\r\r"
    "\n\n"
    "data\n\n"
    "id: 7\ndata: {\"usage\":{\"completion_tokens\":2}}\n\n"
    "data: [DONE]\n\n";

const std::vector<std::string> kExpectedData = {
    "{\"choices\":[{\"text\":\"Once\"}]}",
    "first line\nsecond line",
    "no space",
    "",  // a bare `data` line is an event with empty data
    "{\"usage\":{\"completion_tokens\":2}}",
    "[DONE]",
};

TEST(SseParserTest, ParsesAWholeStream) {
  std::vector<SseEvent> events = FeedPieces({kStream});
  EXPECT_EQ(DataOf(events), kExpectedData);
  ASSERT_EQ(events.size(), kExpectedData.size());
  EXPECT_EQ(events[1].event, "update");
  EXPECT_EQ(events[2].event, "");  // the name does not outlive its event
  EXPECT_EQ(events[4].id, "7");
}

TEST(SseParserTest, SameEventsWhereverTheStreamIsSplit) {
  for (size_t cut = 0; cut <= kStream.size(); ++cut) {
    EXPECT_EQ(DataOf(FeedPieces({kStream.substr(0, cut), kStream.substr(cut)})), kExpectedData)
        << "split at byte " << cut;
  }
  for (size_t a = 0; a <= kStream.size(); a += 3) {
    for (size_t b = a; b <= kStream.size(); b += 5) {
      EXPECT_EQ(DataOf(FeedPieces({kStream.substr(0, a), kStream.substr(a, b - a),
                                   kStream.substr(b)})),
                kExpectedData)
          << "split at bytes " << a << " and " << b;
    }
  }
}

TEST(SseParserTest, OneByteAtATime) {
  std::vector<std::string> bytes;
  for (char c : kStream) bytes.push_back(std::string(1, c));
  EXPECT_EQ(DataOf(FeedPieces(bytes)), kExpectedData);
}

TEST(SseParserTest, CrLfSplitBetweenReadsEndsOneLine) {
  // "\r" ends the line; the "\n" arriving in the next read must not end another (which would
  // be a blank line dispatching the event early).
  std::vector<SseEvent> events = FeedPieces({"data: a\r", "\ndata: b\r", "\n\r", "\n"});
  EXPECT_EQ(DataOf(events), std::vector<std::string>{"a\nb"});
}

TEST(SseParserTest, AnIncompleteEventIsHeldUntilItsBlankLine) {
  SseParser parser;
  int dispatched = 0;
  auto count = [&](const SseEvent&) { ++dispatched; };
  parser.Feed("data: [DO", count);
  parser.Feed("NE]\n", count);
  EXPECT_EQ(dispatched, 0);
  parser.Feed("\n", count);
  EXPECT_EQ(dispatched, 1);
}

TEST(SseParserTest, CommentsAloneDispatchNothing) {
  EXPECT_TRUE(FeedPieces({": keep-alive\n\n: another\n\n\n"}).empty());
}

TEST(SseParserTest, SkipsAByteOrderMarkSplitAcrossReads) {
  EXPECT_EQ(DataOf(FeedPieces({"\xEF\xBB", "\xBF" "data: x\n\n"})), std::vector<std::string>{"x"});
}

}  // namespace
}  // namespace fabric::bench
