// HttpServer: streamed responses, many at once, and clients that hang up.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/http_test_fixture.h"

namespace fabric::testing_util {
namespace {

using ::testing::HasSubstr;

TEST_F(HttpServerTest, DroppedResponderAnswers500OrCutsTheStream) {
  StartServer([](HttpRequest request, std::shared_ptr<HttpResponder> responder) {
    if (request.path == "/stream") {
      responder->StartStream(200, "text/event-stream");
      responder->SendChunk("data: partial\n\n");
    }
  });  // and lets go of the responder
  EXPECT_EQ(Fetch(Url("/plain")).status, 500);
  const CurlReply stream = Fetch(Url("/stream"));
  EXPECT_EQ(stream.body, "data: partial\n\n");
  EXPECT_NE(stream.code, CURLE_OK);  // cut short, not a complete response
  EXPECT_TRUE(WaitFor([&] { return server_->open_connections() == 0; }));
}

TEST_F(HttpServerTest, StreamsChunksFromAWorkerInOrder) {
  constexpr int kChunks = 100;
  StartServer([this](HttpRequest, std::shared_ptr<HttpResponder> responder) {
    Spawn([responder = std::move(responder)] {
      responder->StartStream(200, "text/event-stream");
      for (int i = 0; i < kChunks; ++i) responder->SendChunk(absl::StrCat("data: ", i, "\n\n"));
      responder->EndStream();
    });
  });
  const CurlReply reply = Fetch(Url("/stream"));
  std::string expected;
  for (int i = 0; i < kChunks; ++i) absl::StrAppend(&expected, "data: ", i, "\n\n");
  EXPECT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, expected);
  EXPECT_THAT(reply.headers, HasSubstr("content-type: text/event-stream\r\n"));
  EXPECT_THAT(reply.headers, HasSubstr("cache-control: no-cache\r\n"));
  EXPECT_THAT(reply.headers, HasSubstr("transfer-encoding: chunked\r\n"));
}

TEST_F(HttpServerTest, HoldsTwoHundredConcurrentStreamsOnOneLoopThread) {
  constexpr int kStreams = 200;
  constexpr int kChunks = 4;
  const int threads_before = CountThreads();
  Inbox inbox;
  StartServer([&](HttpRequest request, std::shared_ptr<HttpResponder> responder) {
    responder->StartStream(200, "text/event-stream");
    responder->SendChunk("data: open\n\n");
    inbox.Add(std::move(request), std::move(responder));
  });

  // Once every stream is open at the same time, count threads and connections, then finish.
  std::atomic<int> threads_while_open{0};
  std::atomic<size_t> connections_while_open{0};
  std::thread worker([&] {
    if (inbox.WaitForCount(kStreams)) {
      threads_while_open = CountThreads();
      connections_while_open = server_->open_connections();
    }
    const size_t streams = inbox.size();
    for (int c = 0; c < kChunks; ++c) {
      for (size_t i = 0; i < streams; ++i) {
        inbox.responder(i)->SendChunk(
            absl::StrCat("data: ", inbox.request(i).query, " ", c, "\n\n"));
      }
    }
    for (size_t i = 0; i < streams; ++i) inbox.responder(i)->EndStream();
  });

  CURLM* multi = curl_multi_init();
  std::vector<CurlReply> replies(kStreams);
  std::vector<CURL*> handles;
  std::vector<curl_slist*> header_lists;
  for (int i = 0; i < kStreams; ++i) {
    CURL* curl = curl_easy_init();
    header_lists.push_back(Configure(curl, Url(absl::StrCat("/stream?id=", i)), {}, &replies[i]));
    curl_easy_setopt(curl, CURLOPT_PRIVATE, &replies[i]);
    curl_multi_add_handle(multi, curl);
    handles.push_back(curl);
  }
  const absl::Time deadline = absl::Now() + absl::Minutes(2);
  int running = kStreams;
  while (running > 0 && absl::Now() < deadline) {
    curl_multi_perform(multi, &running);
    if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    CurlReply* reply = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &reply);
    reply->code = message->data.result;
  }
  worker.join();

  for (int i = 0; i < kStreams; ++i) {
    Finish(handles[i], &replies[i]);
    std::string expected = "data: open\n\n";
    for (int c = 0; c < kChunks; ++c) absl::StrAppend(&expected, "data: id=", i, " ", c, "\n\n");
    EXPECT_EQ(replies[i].code, CURLE_OK) << "stream " << i;
    EXPECT_EQ(replies[i].status, 200) << "stream " << i;
    EXPECT_EQ(replies[i].body, expected) << "stream " << i;
    curl_multi_remove_handle(multi, handles[i]);
    curl_easy_cleanup(handles[i]);
    curl_slist_free_all(header_lists[i]);
  }
  curl_multi_cleanup(multi);

  std::cout << "[ figures  ] " << connections_while_open << " streams open at once; threads "
            << threads_before << " before the server, " << threads_while_open
            << " while they were open (the loop thread and the test's worker)\n";
  EXPECT_EQ(connections_while_open, static_cast<size_t>(kStreams));
  // A thread per connection would add 200; the loop thread and this test's worker add 2.
  EXPECT_LE(threads_while_open - threads_before, 3);
  EXPECT_TRUE(WaitFor([&] { return server_->open_connections() == 0; }));
}

TEST_F(HttpServerTest, ClientDisconnectMidStreamCallsOnClientGoneOnce) {
  std::atomic<int> gone{0};
  Inbox inbox;
  StartServer([&](HttpRequest request, std::shared_ptr<HttpResponder> responder) {
    if (request.path == "/ping") return responder->Respond(200, "text/plain", "pong");
    responder->OnClientGone([&gone] { ++gone; });
    responder->StartStream(200, "text/event-stream");
    inbox.Add(request, responder);
    Spawn([responder] {  // streams until it notices the client is gone
      const absl::Time deadline = absl::Now() + kTimeout;
      for (int i = 0; !responder->client_gone() && absl::Now() < deadline; ++i) {
        responder->SendChunk(absl::StrCat("data: ", i, "\n\n"));
        absl::SleepFor(absl::Milliseconds(1));  // pacing, so the queue stays small
      }
    });
  });
  RawClient client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send("GET /stream HTTP/1.1\r\nHost: test\r\n\r\n"));
  ASSERT_TRUE(client.ReadUntil("data: 3\n\n")) << client.received();
  EXPECT_EQ(server_->open_connections(), 1u);
  client.Close();

  ASSERT_TRUE(WaitFor([&] { return gone.load() == 1; }));
  std::shared_ptr<HttpResponder> responder = inbox.responder(0);
  EXPECT_TRUE(responder->client_gone());
  for (int i = 0; i < 3; ++i) responder->SendChunk("data: too late\n\n");
  responder->EndStream();
  responder->Respond(500, "text/plain", "too late");
  // The loop runs calls in order, so once a later request is answered those have been run.
  EXPECT_EQ(Fetch(Url("/ping")).body, "pong");
  EXPECT_EQ(gone.load(), 1);
  EXPECT_TRUE(WaitFor([&] { return server_->open_connections() == 0; }));
}

TEST_F(HttpServerTest, UnansweredRequestIsReleasedWhenTheClientHangsUp) {
  std::atomic<int> gone{0};
  Inbox inbox;
  StartServer([&](HttpRequest request, std::shared_ptr<HttpResponder> responder) {
    responder->OnClientGone([&gone] { ++gone; });
    inbox.Add(std::move(request), std::move(responder));  // and never answers
  });
  RawClient client(server_->port());
  ASSERT_TRUE(client.Send("POST /generate HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\n\r\nhi"));
  ASSERT_TRUE(inbox.WaitForCount(1));
  EXPECT_EQ(server_->open_connections(), 1u);
  client.Close();

  ASSERT_TRUE(WaitFor([&] { return gone.load() == 1; }));
  EXPECT_TRUE(WaitFor([&] { return server_->open_connections() == 0; }));
  std::shared_ptr<HttpResponder> responder = inbox.responder(0);
  EXPECT_TRUE(responder->client_gone());
  responder->Respond(200, "text/plain", "nobody is listening");
  bool late_callback_ran = false;
  responder->OnClientGone([&] { late_callback_ran = true; });  // already gone: runs at once
  EXPECT_TRUE(late_callback_ran);
  EXPECT_EQ(gone.load(), 1);
}

TEST_F(HttpServerTest, ProducerThatNeverPausesDoesNotStarveTheSockets) {
  Inbox inbox;
  StartServer([&](HttpRequest request, std::shared_ptr<HttpResponder> responder) {
    responder->StartStream(200, "text/event-stream");
    inbox.Add(std::move(request), std::move(responder));
  });
  RawClient client(server_->port());
  ASSERT_TRUE(client.Send("GET /stream HTTP/1.1\r\nHost: test\r\n\r\n"));
  ASSERT_TRUE(inbox.WaitForCount(1));
  std::atomic<bool> received{false};
  std::thread producer([&] {  // posts as fast as it can until the client has seen a chunk
    std::shared_ptr<HttpResponder> responder = inbox.responder(0);
    while (!received) responder->SendChunk("data: x\n\n");
    responder->EndStream();
  });
  absl::Cleanup join_producer = [&] {
    received = true;
    producer.join();
  };
  EXPECT_TRUE(client.ReadUntil("data: x\n\n"));
  std::move(join_producer).Invoke();
  EXPECT_TRUE(client.ReadUntil("\r\n0\r\n\r\n"));  // and the stream ends cleanly
}

}  // namespace
}  // namespace fabric::testing_util
