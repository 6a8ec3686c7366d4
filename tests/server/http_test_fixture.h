// A test fixture for HttpServer: a real client (libcurl), a bare socket client for hanging up
// at an exact moment, and an inbox of what handlers received. Servers bind 127.0.0.1 port 0;
// every wait is on a condition with a generous deadline, never a sleep standing in for one.
#ifndef FABRIC_TESTS_SERVER_HTTP_TEST_FIXTURE_H_
#define FABRIC_TESTS_SERVER_HTTP_TEST_FIXTURE_H_

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
#include "server/http/http_server.h"

namespace fabric::testing_util {

inline constexpr absl::Duration kTimeout = absl::Seconds(60);

// Polls `done` until it holds or `timeout` passes; returns whether it held.
inline bool WaitFor(const std::function<bool()>& done, absl::Duration timeout = kTimeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

inline int CountThreads() {
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

inline size_t AppendTo(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// Sets up `curl` for one transfer into `reply`; returns the header list to free afterwards.
inline curl_slist* Configure(CURL* curl, const std::string& url, const FetchOptions& options,
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

inline void Finish(CURL* curl, CurlReply* reply) {
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
  reply->headers = absl::AsciiStrToLower(reply->headers);
}

// One transfer on `curl` (reusing its connection if it has one).
inline CurlReply Fetch(CURL* curl, const std::string& url, const FetchOptions& options = {}) {
  CurlReply reply;
  curl_slist* headers = Configure(curl, url, options, &reply);
  reply.code = curl_easy_perform(curl);
  Finish(curl, &reply);
  curl_slist_free_all(headers);
  return reply;
}

inline CurlReply Fetch(const std::string& url, const FetchOptions& options = {}) {
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

}  // namespace fabric::testing_util

#endif  // FABRIC_TESTS_SERVER_HTTP_TEST_FIXTURE_H_
