// HttpServer against a real client (libcurl) and, where a test must hang up at an exact
// moment, a bare socket. Servers bind 127.0.0.1 port 0; every wait is on a condition with a
// generous deadline, never a sleep standing in for one.
#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fabric {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kTimeout = absl::Seconds(60);

// Polls `done` until it holds or `timeout` passes; returns whether it held.
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout = kTimeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

int CountThreads() {
  using std::filesystem::directory_iterator;
  return static_cast<int>(
      std::distance(directory_iterator("/proc/self/task"), directory_iterator()));
}

// What handlers received, handed to the test thread. Thread-safe.
class Inbox {
 public:
  void Add(HttpRequest request, std::shared_ptr<HttpResponder> responder) {
    absl::MutexLock lock(&mu_);
    requests_.push_back(std::move(request));
    responders_.push_back(std::move(responder));
  }
  bool WaitForCount(size_t count) {
    absl::MutexLock lock(&mu_);
    auto arrived = [this, count]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return requests_.size() >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&arrived), kTimeout);
  }
  size_t size() {
    absl::MutexLock lock(&mu_);
    return requests_.size();
  }
  HttpRequest request(size_t i) {
    absl::MutexLock lock(&mu_);
    return requests_.at(i);
  }
  std::shared_ptr<HttpResponder> responder(size_t i) {
    absl::MutexLock lock(&mu_);
    return responders_.at(i);
  }

 private:
  absl::Mutex mu_;
  std::vector<HttpRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<HttpResponder>> responders_ ABSL_GUARDED_BY(mu_);
};

// ---- libcurl client ----

struct CurlReply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string headers;  // lower-cased
  std::string body;
};

struct FetchOptions {
  std::string method = "GET";
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
};

size_t AppendTo(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// Sets up `curl` for one transfer into `reply`; returns the header list to free afterwards.
curl_slist* Configure(CURL* curl, const std::string& url, const FetchOptions& options,
                      CurlReply* reply) {
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendTo);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply->body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &AppendTo);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply->headers);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, options.method.c_str());
  if (options.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, options.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(options.body.size()));
  }
  curl_slist* headers = nullptr;
  for (const std::string& header : options.headers) {
    headers = curl_slist_append(headers, header.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  return headers;
}

void Finish(CURL* curl, CurlReply* reply) {
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
  reply->headers = absl::AsciiStrToLower(reply->headers);
}

// One transfer on `curl` (reusing its connection if it has one).
CurlReply Fetch(CURL* curl, const std::string& url, const FetchOptions& options = {}) {
  CurlReply reply;
  curl_slist* headers = Configure(curl, url, options, &reply);
  reply.code = curl_easy_perform(curl);
  Finish(curl, &reply);
  curl_slist_free_all(headers);
  return reply;
}

CurlReply Fetch(const std::string& url, const FetchOptions& options = {}) {
  CURL* curl = curl_easy_init();
  CurlReply reply = Fetch(curl, url, options);
  curl_easy_cleanup(curl);
  return reply;
}

// ---- bare socket client, for hanging up at an exact moment ----

class RawClient {
 public:
  explicit RawClient(int port) : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~RawClient() { Close(); }

  bool connected() const { return connected_; }
  const std::string& received() const { return received_; }

  bool Send(const std::string& data) {
    return send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Reads until `needle` has arrived; false on EOF, error or timeout.
  bool ReadUntil(const std::string& needle) {
    const absl::Time deadline = absl::Now() + kTimeout;
    size_t searched = 0;  // received_ holds no match that starts before this
    while (received_.find(needle, searched) == std::string::npos) {
      searched = received_.size() >= needle.size() ? received_.size() - needle.size() + 1 : 0;
      pollfd poll_fd = {.fd = fd_, .events = POLLIN, .revents = 0};
      const int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (wait_ms <= 0 || poll(&poll_fd, 1, wait_ms) <= 0) return false;
      char buffer[1 << 16];
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) return false;
      received_.append(buffer, static_cast<size_t>(n));
    }
    return true;
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  bool connected_ = false;
  std::string received_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  void StartServer(HttpHandler handler, HttpServerOptions options = {}) {
    absl::StatusOr<std::unique_ptr<HttpServer>> server =
        HttpServer::Start("127.0.0.1", 0, std::move(handler), options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->port(), 0);
  }
  std::string Url(const std::string& target) const {
    return absl::StrCat("http://127.0.0.1:", server_->port(), target);
  }
  // Runs `work` on a thread that TearDown() joins.
  void Spawn(std::function<void()> work) {
    absl::MutexLock lock(&threads_mu_);
    threads_.emplace_back(std::move(work));
  }

  void TearDown() override {
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&threads_mu_);
      threads.swap(threads_);
    }
    for (std::thread& thread : threads) thread.join();
    server_.reset();
  }

  std::unique_ptr<HttpServer> server_;
  absl::Mutex threads_mu_;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(threads_mu_);
};

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
}  // namespace fabric
