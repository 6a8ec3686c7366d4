// Event-driven HTTP/1.1 server (libevent's evhttp) that the REST API sits on. One event-loop
// thread owns every socket, so thousands of open streaming (Server-Sent Events) responses cost
// buffers, not threads. Handlers run on that thread and must not block: they hand the work to
// another thread and answer later through their HttpResponder, from any thread.
#ifndef FABRIC_SERVER_HTTP_HTTP_SERVER_H_
#define FABRIC_SERVER_HTTP_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace fabric {
namespace http_internal {
class Exchange;
class ServerCore;
}  // namespace http_internal

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // as sent (not percent-decoded), without the query string
  std::string query;   // raw query string, may be empty
  // Lower-cased names; repeated headers are joined with ", ".
  std::map<std::string, std::string> headers;
  std::string body;
};

// A handle on one request's response. Thread-safe: every call is queued to the event-loop
// thread and carried out there in call order. After the response has ended, the client has
// disconnected or the server has shut down, the calls are no-ops; a handle may outlive the
// server. Owned (shared) by whoever holds it; the server keeps its own state alive for as long
// as the request is open.
class HttpResponder {
 public:
  // The last owner letting go of an unfinished response is a bug, but the client is not left
  // hanging: a response never started gets 500, an unfinished stream has its connection closed.
  ~HttpResponder();
  HttpResponder(const HttpResponder&) = delete;
  HttpResponder& operator=(const HttpResponder&) = delete;

  // The whole response at once. Adds Content-Type and Content-Length (entries by those names
  // in `extra_headers` are ignored). Keeps the connection alive for the client's next request.
  void Respond(int status, std::string content_type, std::string body,
               std::map<std::string, std::string> extra_headers = {});

  // Streaming: the status line and headers now (chunked transfer encoding, plus
  // Cache-Control: no-cache), then one chunk per SendChunk(), then the end. SendChunk() and
  // EndStream() before StartStream(), and anything after Respond(), are no-ops; so is an empty
  // chunk.
  void StartStream(int status, std::string content_type);  // e.g. "text/event-stream"
  void SendChunk(std::string data);
  void EndStream();

  // True once the connection closed before the response ended (client disconnect or server
  // shutdown).
  bool client_gone() const;
  // `callback` runs once, on the event-loop thread, if the connection closes before the
  // response ends; set it in the handler (it is how generation gets cancelled). Set later,
  // after the client has already gone, it runs at once on the calling thread.
  void OnClientGone(std::function<void()> callback);

 private:
  friend class http_internal::ServerCore;
  explicit HttpResponder(std::shared_ptr<http_internal::Exchange> exchange);

  const std::shared_ptr<http_internal::Exchange> exchange_;
};

// Runs on the event-loop thread; must not block.
using HttpHandler =
    std::function<void(HttpRequest request, std::shared_ptr<HttpResponder> responder)>;

struct HttpServerOptions {
  // Requests with a larger body get 413, with larger headers 400, without reaching the
  // handler.
  size_t max_body_bytes = 8 << 20;
  size_t max_header_bytes = 64 << 10;
};

// Owns the listening socket, every connection and the event-loop thread. Thread-safe, except
// that Shutdown() and the destructor must not be called from a handler or an OnClientGone
// callback (the loop thread cannot join itself: it aborts).
class HttpServer {
 public:
  // Binds host:port (port 0 picks a free one; host "" or "0.0.0.0" means all IPv4 addresses,
  // "::" all addresses) and starts the event-loop thread. Errors (address in use, unknown
  // host) name the address.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& host, int port,
                                                           HttpHandler handler,
                                                           HttpServerOptions options = {});
  // Shutdown(), then waits for the loop thread.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;  // the bound port

  // Starts a graceful drain and returns once the listening socket is closed: new connections
  // are refused; kept-alive connections waiting for a next request are closed; responses in
  // progress carry on, then close their connection (with "Connection: close" if their
  // headers were not sent yet). open_connections() then falls to 0 as they finish.
  void StopAccepting();
  // Closes every connection (open responses see OnClientGone) and stops the loop thread.
  // Idempotent.
  void Shutdown();

  // Connections that have sent at least one request and are still open. For tests and metrics.
  size_t open_connections() const;

 private:
  explicit HttpServer(std::unique_ptr<http_internal::ServerCore> core);

  const std::unique_ptr<http_internal::ServerCore> core_;
};

}  // namespace fabric

#endif  // FABRIC_SERVER_HTTP_HTTP_SERVER_H_
