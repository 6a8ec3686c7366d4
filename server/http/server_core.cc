#include "server/http/server_core.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace fabric::http_internal {
namespace {

std::string FormatAddress(const std::string& host, int port) {
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

// Returns a non-blocking socket listening on host:port.
absl::StatusOr<int> OpenListener(const std::string& host, int port) {
  const std::string address = FormatAddress(host, port);
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot listen for HTTP on ", address, ": port out of range"));
  }
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  const std::string service = absl::StrCat(port);
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot listen for HTTP on ", address, ": ", gai_strerror(rc)));
  }
  int error = 0;
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    // Stream chunks are small and latency-bound: send them at once rather than wait for the
    // client's delayed ACK (Nagle). Accepted sockets inherit this from the listener on Linux.
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
      error = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0)
    return absl::ErrnoToStatus(error, absl::StrCat("cannot listen for HTTP on ", address));
  return fd;
}

absl::StatusOr<int> BoundPort(int fd) {
  sockaddr_storage address = {};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return absl::ErrnoToStatus(errno, "getsockname on the HTTP listener");
  }
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

const char* MethodName(evhttp_cmd_type command) {
  switch (command) {
    case EVHTTP_REQ_GET:
      return "GET";
    case EVHTTP_REQ_POST:
      return "POST";
    case EVHTTP_REQ_HEAD:
      return "HEAD";
    case EVHTTP_REQ_PUT:
      return "PUT";
    case EVHTTP_REQ_DELETE:
      return "DELETE";
    case EVHTTP_REQ_OPTIONS:
      return "OPTIONS";
    case EVHTTP_REQ_TRACE:
      return "TRACE";
    case EVHTTP_REQ_CONNECT:
      return "CONNECT";
    case EVHTTP_REQ_PATCH:
      return "PATCH";
  }
  return "UNKNOWN";
}

HttpRequest ParseRequest(evhttp_request* request) {
  HttpRequest parsed;
  parsed.method = MethodName(evhttp_request_get_command(request));
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(request);
  const char* path = uri != nullptr ? evhttp_uri_get_path(uri) : nullptr;
  const char* query = uri != nullptr ? evhttp_uri_get_query(uri) : nullptr;
  parsed.path = path != nullptr && *path != '\0' ? path : "/";
  parsed.query = query != nullptr ? query : "";
  const evkeyvalq* headers = evhttp_request_get_input_headers(request);
  for (const evkeyval* header = headers->tqh_first; header != nullptr;
       header = header->next.tqe_next) {
    auto [it, inserted] =
        parsed.headers.try_emplace(absl::AsciiStrToLower(header->key), header->value);
    if (!inserted) absl::StrAppend(&it->second, ", ", header->value);
  }
  evbuffer* body = evhttp_request_get_input_buffer(request);
  parsed.body.resize(evbuffer_get_length(body));
  evbuffer_remove(body, parsed.body.data(), parsed.body.size());
  return parsed;
}

// evhttp stops reading a connection while its request awaits a response, so a client that
// hangs up then goes unnoticed until the first write. This puts the connection in the state
// evhttp itself uses while writing a response: reading on, to see EOF, but no read callback,
// so bytes of a pipelined next request wait in the input buffer. EOF then takes evhttp's
// normal path to the close callback.
void WatchForClose(evhttp_connection* evcon) {
  bufferevent* bev = evhttp_connection_get_bufferevent(evcon);
  bufferevent_data_cb read_cb = nullptr;
  bufferevent_data_cb write_cb = nullptr;
  bufferevent_event_cb event_cb = nullptr;
  void* arg = nullptr;
  bufferevent_getcb(bev, &read_cb, &write_cb, &event_cb, &arg);
  bufferevent_setcb(bev, nullptr, write_cb, event_cb, arg);
  bufferevent_enable(bev, EV_READ);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerCore>> ServerCore::Start(const std::string& host, int port,
                                                              HttpHandler handler,
                                                              const HttpServerOptions& options) {
  if (!handler) return absl::InvalidArgumentError("HttpServer needs a handler");
  absl::StatusOr<std::shared_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) return loop.status();
  std::unique_ptr<ServerCore> core(new ServerCore(*std::move(loop), std::move(handler)));
  if (absl::Status status = core->Listen(host.empty() ? "0.0.0.0" : host, port, options);
      !status.ok()) {
    return status;
  }
  ServerCore* raw = core.get();
  core->loop_->Start([raw] {
    // Closes the listener and every connection; their close callbacks (and so OnClientGone
    // callbacks, which may call StopAccepting()) run from in here.
    raw->listener_ = nullptr;
    evhttp_free(raw->http_);
    raw->http_ = nullptr;
  });
  return core;
}

ServerCore::ServerCore(std::shared_ptr<EventLoop> loop, HttpHandler handler)
    : loop_(std::move(loop)), handler_(std::move(handler)) {}

ServerCore::~ServerCore() {
  Shutdown();
  if (http_ != nullptr) evhttp_free(http_);  // Start() failed before the loop ran
}

absl::Status ServerCore::Listen(const std::string& host, int port,
                                const HttpServerOptions& options) {
  http_ = evhttp_new(loop_->base());
  if (http_ == nullptr) return absl::InternalError("libevent: cannot create an HTTP server");
  evhttp_set_max_body_size(http_, static_cast<ev_ssize_t>(options.max_body_bytes));
  evhttp_set_max_headers_size(http_, static_cast<ev_ssize_t>(options.max_header_bytes));
  // Reads (and drops) the rest of an oversized body before answering 413, so the client is
  // not reset while still sending and does see the answer.
  evhttp_set_flags(http_, EVHTTP_SERVER_LINGERING_CLOSE);
  evhttp_set_allowed_methods(http_, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                        EVHTTP_REQ_PATCH);
  evhttp_set_gencb(http_, &ServerCore::OnRequest, this);

  absl::StatusOr<int> fd = OpenListener(host, port);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<int> bound_port = BoundPort(*fd);
  if (!bound_port.ok()) {
    close(*fd);
    return bound_port.status();
  }
  port_ = *bound_port;
  listener_ = evhttp_accept_socket_with_handle(http_, *fd);  // owns the fd from here on
  if (listener_ == nullptr) {
    close(*fd);
    return absl::InternalError(
        absl::StrCat("libevent: cannot accept HTTP on ", FormatAddress(host, port_)));
  }
  return absl::OkStatus();
}

void ServerCore::StopAccepting() {
  loop_->RunAndWait([this] {
    if (listener_ == nullptr) return;
    evhttp_del_accept_socket(http_, listener_);  // closes the socket
    listener_ = nullptr;
    DrainOnLoop();
  });
}

void ServerCore::DrainOnLoop() {
  draining_ = true;
  std::vector<evhttp_connection*> idle;
  for (const auto& [evcon, connection] : connections_) {
    if (connection->exchange != nullptr) {
      connection->exchange->CloseConnectionAfterResponseOnLoop();
    } else if (evbuffer_get_length(
                   bufferevent_get_input(evhttp_connection_get_bufferevent(evcon))) == 0) {
      idle.push_back(evcon);  // not even part of a next request has arrived
    }
  }
  // Each free runs OnConnectionClose(), which erases the connection from connections_.
  for (evhttp_connection* evcon : idle) evhttp_connection_free(evcon);
}

void ServerCore::Shutdown() { loop_->Stop(); }

void ServerCore::OnRequest(evhttp_request* request, void* core) {
  static_cast<ServerCore*>(core)->Dispatch(request);
}

void ServerCore::Dispatch(evhttp_request* request) {
  evhttp_connection* evcon = evhttp_request_get_connection(request);
  Connection& connection = Track(evcon);
  auto exchange = std::make_shared<Exchange>(loop_, request);
  connection.exchange = exchange;
  evhttp_request_set_on_complete_cb(request, &ServerCore::OnResponseComplete, &connection);
  if (draining_) exchange->CloseConnectionAfterResponseOnLoop();
  // Responder calls are queued, never run inline, so the request is still untouched here.
  handler_(ParseRequest(request), std::shared_ptr<HttpResponder>(new HttpResponder(exchange)));
  WatchForClose(evcon);
}

ServerCore::Connection& ServerCore::Track(evhttp_connection* evcon) {
  auto [it, inserted] = connections_.try_emplace(evcon);
  if (inserted) {
    it->second = std::make_unique<Connection>(Connection{.core = this, .exchange = nullptr});
    evhttp_connection_set_closecb(evcon, &ServerCore::OnConnectionClose, it->second.get());
    ++open_connections_;
  }
  return *it->second;
}

void ServerCore::OnResponseComplete(evhttp_request* /*request*/, void* connection) {
  std::shared_ptr<Exchange> exchange = std::move(static_cast<Connection*>(connection)->exchange);
  if (exchange != nullptr) exchange->CompletedOnLoop();
}

void ServerCore::OnConnectionClose(evhttp_connection* evcon, void* connection) {
  ServerCore* core = static_cast<Connection*>(connection)->core;
  std::shared_ptr<Exchange> exchange = std::move(static_cast<Connection*>(connection)->exchange);
  evhttp_connection_set_closecb(evcon, nullptr, nullptr);
  core->connections_.erase(evcon);
  --core->open_connections_;
  if (exchange != nullptr) exchange->ConnectionClosedOnLoop();
}

}  // namespace fabric::http_internal
