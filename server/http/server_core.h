// What HttpServer is made of: the evhttp object, its listener, the connections it tracks and
// the event loop they all live on.
#ifndef FABRIC_SERVER_HTTP_SERVER_CORE_H_
#define FABRIC_SERVER_HTTP_SERVER_CORE_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "server/http/event_loop.h"
#include "server/http/exchange.h"
#include "server/http/http_server.h"

struct evhttp;
struct evhttp_bound_socket;
struct evhttp_connection;
struct evhttp_request;

namespace fabric::http_internal {

// Owned by HttpServer. Everything libevent is touched on the loop thread only, apart from the
// setup in Start() that happens before the thread exists. StopAccepting(), Shutdown(), port()
// and open_connections() are thread-safe (Shutdown() not on the loop thread).
class ServerCore {
 public:
  static absl::StatusOr<std::unique_ptr<ServerCore>> Start(const std::string& host, int port,
                                                           HttpHandler handler,
                                                           const HttpServerOptions& options);
  ~ServerCore();  // Shutdown()
  ServerCore(const ServerCore&) = delete;
  ServerCore& operator=(const ServerCore&) = delete;

  int port() const { return port_; }
  // Closes the listener, then every connection that waits for a next request; the others
  // close once their response is written.
  void StopAccepting();
  void Shutdown();
  size_t open_connections() const { return open_connections_.load(); }

 private:
  // One client connection that has sent a request; lives until evhttp closes it.
  struct Connection {
    ServerCore* core;
    std::shared_ptr<Exchange> exchange;  // the request being answered, if any
  };

  ServerCore(std::shared_ptr<EventLoop> loop, HttpHandler handler);

  absl::Status Listen(const std::string& host, int port, const HttpServerOptions& options);

  // evhttp callbacks, on the loop thread.
  static void OnRequest(evhttp_request* request, void* core);
  static void OnResponseComplete(evhttp_request* request, void* connection);
  static void OnConnectionClose(evhttp_connection* evcon, void* connection);

  void Dispatch(evhttp_request* request);
  Connection& Track(evhttp_connection* evcon);
  void DrainOnLoop();

  const std::shared_ptr<EventLoop> loop_;
  const HttpHandler handler_;
  int port_ = 0;
  std::atomic<size_t> open_connections_{0};

  // Loop thread only (and Start() before the thread runs).
  evhttp* http_ = nullptr;
  evhttp_bound_socket* listener_ = nullptr;
  bool draining_ = false;  // StopAccepting() ran: no connection is kept alive any more
  std::unordered_map<evhttp_connection*, std::unique_ptr<Connection>> connections_;
};

}  // namespace fabric::http_internal

#endif  // FABRIC_SERVER_HTTP_SERVER_CORE_H_
