// HttpServer: requests and whole responses, limits, and the server's own lifecycle.
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

TEST_F(HttpServerTest, RequestFieldsReachTheHandler) {
  Inbox inbox;
  StartServer([&](HttpRequest request, std::shared_ptr<HttpResponder> responder) {
    responder->Respond(200, "text/plain", "ok");
    inbox.Add(std::move(request), std::move(responder));
  });
  const CurlReply reply =
      Fetch(Url("/v1/things?a=1&b=two"),
            {.method = "POST",
             .body = "hello body",
             .headers = {"X-Custom-Thing: Some Value", "Content-Type: application/json",
                         "X-Repeated: a", "X-Repeated: b"}});
  EXPECT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "ok");

  ASSERT_EQ(inbox.size(), 1u);
  const HttpRequest request = inbox.request(0);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/v1/things");
  EXPECT_EQ(request.query, "a=1&b=two");
  EXPECT_EQ(request.body, "hello body");
  EXPECT_EQ(request.headers.at("x-custom-thing"), "Some Value");
  EXPECT_EQ(request.headers.at("content-type"), "application/json");
  EXPECT_EQ(request.headers.at("content-length"), "10");
  EXPECT_EQ(request.headers.at("x-repeated"), "a, b");
  EXPECT_EQ(request.headers.at("host"), absl::StrCat("127.0.0.1:", server_->port()));

  EXPECT_EQ(Fetch(Url("/plain")).status, 200);
  const HttpRequest get = inbox.request(1);
  EXPECT_EQ(absl::StrCat(get.method, " ", get.path, " [", get.query, "] [", get.body, "]"),
            "GET /plain [] []");
}

TEST_F(HttpServerTest, RespondAddsHeadersAndKeepsTheConnectionAlive) {
  StartServer([](HttpRequest, std::shared_ptr<HttpResponder> responder) {
    responder->Respond(201, "application/json", "{}", {{"X-Request-Id", "abc"}});
  });
  CURL* curl = curl_easy_init();
  const CurlReply first = Fetch(curl, Url("/a"));
  const CurlReply second = Fetch(curl, Url("/b"));
  long new_connections = -1;
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &new_connections);
  EXPECT_EQ(new_connections, 0);  // the second request reused the first one's connection
  EXPECT_EQ(server_->open_connections(), 1u);
  curl_easy_cleanup(curl);

  for (const CurlReply& reply : {first, second}) {
    EXPECT_EQ(reply.code, CURLE_OK);
    EXPECT_EQ(reply.status, 201);
    EXPECT_EQ(reply.body, "{}");
    EXPECT_THAT(reply.headers, HasSubstr("content-type: application/json\r\n"));
    EXPECT_THAT(reply.headers, HasSubstr("content-length: 2\r\n"));
    EXPECT_THAT(reply.headers, HasSubstr("x-request-id: abc\r\n"));
  }
  EXPECT_TRUE(WaitFor([&] { return server_->open_connections() == 0; }));
}

TEST_F(HttpServerTest, RespondsFromAnotherThreadLater) {
  StartServer([this](HttpRequest request, std::shared_ptr<HttpResponder> responder) {
    Spawn([request = std::move(request), responder = std::move(responder)] {
      absl::SleepFor(absl::Milliseconds(50));  // the handler has long returned
      responder->Respond(200, "text/plain", absl::StrCat("late ", request.path));
    });
  });
  const CurlReply reply = Fetch(Url("/slow"));
  EXPECT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "late /slow");
}

TEST_F(HttpServerTest, OversizedBodyGets413AndOversizedHeaders400) {
  std::atomic<int> calls{0};
  auto handler = [&](HttpRequest request, std::shared_ptr<HttpResponder> responder) {
    ++calls;
    responder->Respond(200, "text/plain", absl::StrCat(request.body.size()));
  };
  // "Expect:" stops curl from waiting for 100-continue before sending the body.
  const FetchOptions at_limit = {
      .method = "POST", .body = std::string(1024, 'x'), .headers = {"Expect:"}};
  FetchOptions over_limit = at_limit;
  over_limit.body += "y";
  StartServer(handler, {.max_body_bytes = 1024, .max_header_bytes = 1024});
  EXPECT_EQ(Fetch(Url("/small"), at_limit).body, "1024");
  EXPECT_EQ(Fetch(Url("/small"), over_limit).status, 413);
  EXPECT_EQ(calls.load(), 1);
  RawClient client(server_->port());
  ASSERT_TRUE(client.Send(
      absl::StrCat("GET / HTTP/1.1\r\nHost: test\r\nX-Big: ", std::string(2000, 'h'), "\r\n\r\n")));
  EXPECT_TRUE(client.ReadUntil("\r\n\r\n"));
  EXPECT_THAT(client.received(), HasSubstr(" 400 "));  // evhttp's answer to huge headers
  EXPECT_EQ(calls.load(), 1);

  server_.reset();
  StartServer(handler);  // the default limit, 8 MiB
  const FetchOptions huge = {
      .method = "POST", .body = std::string((8 << 20) + 1, 'z'), .headers = {"Expect:"}};
  const CurlReply reply = Fetch(Url("/huge"), huge);
  EXPECT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(HttpServerTest, StopAcceptingRefusesNewConnectionsAndDrainsOpenOnes) {
  Inbox inbox;
  StartServer([&](HttpRequest request, std::shared_ptr<HttpResponder> responder) {
    if (request.path == "/quick") return responder->Respond(200, "text/plain", "quick");
    if (request.path == "/stream") {
      responder->StartStream(200, "text/event-stream");
      responder->SendChunk("data: one\n\n");
    }
    inbox.Add(std::move(request), std::move(responder));  // "/pending" waits for the test
  });
  CURL* idle = curl_easy_init();  // its connection stays open, waiting for a next request
  EXPECT_EQ(Fetch(idle, Url("/quick")).body, "quick");
  CurlReply stream, pending;
  std::thread stream_client([&] { stream = Fetch(Url("/stream")); });
  std::thread pending_client([&] { pending = Fetch(Url("/pending")); });
  absl::Cleanup join_clients = [&] {
    if (inbox.size() < 2) server_->Shutdown();  // lets the clients give up
    stream_client.join();
    pending_client.join();
    curl_easy_cleanup(idle);
  };
  ASSERT_TRUE(inbox.WaitForCount(2));
  EXPECT_EQ(server_->open_connections(), 3u);

  server_->StopAccepting();
  EXPECT_EQ(Fetch(Url("/late")).code, CURLE_COULDNT_CONNECT);
  EXPECT_EQ(server_->open_connections(), 2u);  // the idle connection is closed at once
  for (size_t i = 0; i < 2; ++i) {
    if (inbox.request(i).path == "/pending") {
      inbox.responder(i)->Respond(200, "text/plain", "done");
    } else {
      inbox.responder(i)->SendChunk("data: two\n\n");
      inbox.responder(i)->EndStream();
    }
  }
  std::move(join_clients).Invoke();
  EXPECT_EQ(stream.code, CURLE_OK);
  EXPECT_EQ(stream.body, "data: one\n\ndata: two\n\n");
  EXPECT_EQ(pending.body, "done");
  EXPECT_THAT(pending.headers, HasSubstr("connection: close\r\n"));
  EXPECT_TRUE(WaitFor([&] { return server_->open_connections() == 0; }));
}

TEST_F(HttpServerTest, StartFailsWhenThePortIsInUse) {
  auto echo = [](HttpRequest request, std::shared_ptr<HttpResponder> responder) {
    responder->Respond(200, "text/plain", absl::StrCat("echo ", request.path));
  };
  StartServer(echo);
  absl::StatusOr<std::unique_ptr<HttpServer>> second =
      HttpServer::Start("127.0.0.1", server_->port(), echo);
  ASSERT_FALSE(second.ok());
  const std::string message(second.status().message());
  EXPECT_THAT(message, HasSubstr(absl::StrCat("127.0.0.1:", server_->port())));
  EXPECT_THAT(message, HasSubstr("in use"));
  EXPECT_EQ(Fetch(Url("/still-serving")).body, "echo /still-serving");
}

TEST_F(HttpServerTest, ResponderOutlivesTheServer) {
  std::atomic<int> gone{0};
  Inbox inbox;
  StartServer([&](HttpRequest request, std::shared_ptr<HttpResponder> responder) {
    responder->OnClientGone([&gone] { ++gone; });
    responder->StartStream(200, "text/event-stream");
    inbox.Add(std::move(request), std::move(responder));
  });
  RawClient client(server_->port());
  ASSERT_TRUE(client.Send("GET /stream HTTP/1.1\r\nHost: test\r\n\r\n"));
  ASSERT_TRUE(inbox.WaitForCount(1));
  std::shared_ptr<HttpResponder> responder = inbox.responder(0);

  std::atomic<bool> stop{false};
  std::thread sender([&] {  // keeps using the responder while the server goes away
    while (!stop) {
      responder->SendChunk("data: x\n\n");
      absl::SleepFor(absl::Microseconds(100));  // pacing, so the queue stays small
    }
  });
  absl::Cleanup join_sender = [&] {
    stop = true;
    sender.join();
  };
  ASSERT_TRUE(client.ReadUntil("data: x\n\n"));
  server_.reset();
  EXPECT_EQ(gone.load(), 1);  // shutdown closed the open stream
  EXPECT_TRUE(responder->client_gone());
  std::move(join_sender).Invoke();
  responder->SendChunk("data: after\n\n");
  responder->EndStream();
  EXPECT_EQ(gone.load(), 1);
}

TEST_F(HttpServerTest, MalformedRequestGets400WithoutReachingTheHandler) {
  std::atomic<int> calls{0};
  StartServer([&](HttpRequest, std::shared_ptr<HttpResponder> responder) {
    ++calls;
    responder->Respond(200, "text/plain", "ok");
  });
  RawClient client(server_->port());
  ASSERT_TRUE(client.Send("THIS IS NOT HTTP\r\n\r\n"));
  EXPECT_TRUE(client.ReadUntil("\r\n\r\n"));
  EXPECT_THAT(client.received(), HasSubstr(" 400 "));
  EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace fabric::testing_util
