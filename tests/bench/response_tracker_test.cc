#include "bench/load_generator/response_tracker.h"

#include <string>

#include "gtest/gtest.h"

namespace fabric::bench {
namespace {

std::string Data(const std::string& json) { return "data: " + json + "\n\n"; }
std::string Text(const std::string& text) {
  return Data(R"({"choices":[{"index":0,"text":")" + text + R"(","finish_reason":null}]})");
}
const std::string kFinish =
    Data(R"({"choices":[{"index":0,"text":"","finish_reason":"length"}],"usage":null})");
std::string Usage(int prompt, int completion) {
  return Data(R"({"choices":[],"usage":{"prompt_tokens":)" + std::to_string(prompt) +
              R"(,"completion_tokens":)" + std::to_string(completion) + "}}");
}
const std::string kDone = "data: [DONE]\n\n";

ResponseTracker Started(double at) {
  ResponseTracker tracker(3, 16, 8);
  tracker.OnSent(at);
  tracker.OnHeaders(200);
  return tracker;
}

// Finishes a transfer that must have failed; returns why.
std::string FailureOf(ResponseTracker& tracker, const absl::Status& transfer = absl::OkStatus()) {
  RequestRecord r = tracker.Finish(transfer);
  EXPECT_FALSE(r.success);
  return r.error;
}

TEST(ResponseTrackerTest, TimesAStreamedCompletion) {
  ResponseTracker tracker = Started(1.0);
  EXPECT_TRUE(tracker.streaming());
  tracker.OnBody(": ping\n\n", 1.25);  // a comment is no token
  tracker.OnBody(Text("Once"), 1.5);
  tracker.OnBody(Text(" upon"), 1.75);
  tracker.OnBody(Text(" a") + Text(" time"), 2.0);  // two chunks in one read
  tracker.OnBody(kFinish + Usage(17, 5) + kDone, 2.5);
  RequestRecord r = tracker.Finish(absl::OkStatus());
  EXPECT_FALSE(tracker.streaming());
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.index, 3);
  EXPECT_DOUBLE_EQ(r.ttft, 0.5);
  EXPECT_EQ(r.itl, (std::vector<double>{0.25, 0.25, 0.0}));
  EXPECT_DOUBLE_EQ(r.latency, 1.5);  // the finish_reason chunk is the last with choices
  EXPECT_EQ(r.text_chunks, 4);
  EXPECT_EQ(r.output_tokens, 5);  // usage wins over the chunk count
  EXPECT_EQ(r.usage_completion_tokens, 5);
  EXPECT_EQ(r.input_tokens, 17);
  EXPECT_EQ(r.generated_text, "Once upon a time");
}

TEST(ResponseTrackerTest, ChatRoleChunkIsNotTheFirstToken) {
  ResponseTracker tracker = Started(0);
  tracker.OnBody(Data(R"({"choices":[{"delta":{"role":"assistant"}}]})"), 0.25);
  tracker.OnBody(Data(R"({"choices":[{"delta":{"content":"Hi"}}]})"), 0.5);
  tracker.OnBody(Data(R"({"choices":[{"delta":{"content":"!"}}]})"), 1.0);
  tracker.OnBody(kDone, 1.0);
  RequestRecord r = tracker.Finish(absl::OkStatus());
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_DOUBLE_EQ(r.ttft, 0.5);
  EXPECT_EQ(r.itl, std::vector<double>{0.5});
  EXPECT_EQ(r.output_tokens, 2);  // no usage: the text chunks
  EXPECT_EQ(r.usage_completion_tokens, -1);
  EXPECT_EQ(r.input_tokens, 16);  // no usage: what the client sent
}

TEST(ResponseTrackerTest, NoTextAtAllTimesTheFirstChunkWithChoices) {
  ResponseTracker tracker = Started(0);
  tracker.OnBody(kFinish + Usage(16, 0) + kDone, 0.5);
  RequestRecord r = tracker.Finish(absl::OkStatus());
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_DOUBLE_EQ(r.ttft, 0.5);
  EXPECT_DOUBLE_EQ(r.latency, 0.5);
  EXPECT_EQ(r.output_tokens, 0);
}

TEST(ResponseTrackerTest, ErrorEventFailsTheRequest) {
  ResponseTracker tracker = Started(0);
  tracker.OnBody(Text("a"), 0.5);
  tracker.OnBody(Data(R"({"error":{"message":"deadline exceeded","type":"server_error"}})") +
                     kDone,
                 0.75);
  EXPECT_EQ(FailureOf(tracker), "deadline exceeded");
}

TEST(ResponseTrackerTest, HttpErrorCarriesTheServerMessage) {
  ResponseTracker tracker(0, 16, 8);
  tracker.OnSent(0);
  tracker.OnHeaders(429);
  EXPECT_FALSE(tracker.streaming());
  tracker.OnBody(R"({"error":{"message":"the request queue is full",)", 0.1);
  tracker.OnBody(R"("type":"rate_limit_error"}})", 0.1);
  EXPECT_EQ(FailureOf(tracker), "HTTP 429: the request queue is full");
}

TEST(ResponseTrackerTest, TransportErrorsAndEmptyStreamsFail) {
  ResponseTracker refused(0, 16, 8);
  refused.OnSent(0);
  EXPECT_EQ(FailureOf(refused, absl::UnavailableError("Connection refused")),
            "Connection refused");

  ResponseTracker empty = Started(0);
  empty.OnBody(kDone, 0.5);
  EXPECT_EQ(FailureOf(empty), "the stream carried no chunk with choices");

  ResponseTracker garbage = Started(0);
  garbage.OnBody("data: {not json\n\n", 0.5);
  EXPECT_EQ(FailureOf(garbage), "malformed stream chunk: {not json");
}

}  // namespace
}  // namespace fabric::bench
