#include "server/http/exchange.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace fabric::http_internal {
namespace {

// Hands `data` to `send` as an evbuffer (evhttp copies what it needs out of it).
template <typename SendFn>
void SendBuffer(const std::string& data, SendFn send) {
  evbuffer* buffer = evbuffer_new();
  if (buffer == nullptr) return;
  evbuffer_add(buffer, data.data(), data.size());
  send(buffer);
  evbuffer_free(buffer);
}

void FreeConnection(bufferevent* /*bev*/, void* evcon) {
  evhttp_connection_free(static_cast<evhttp_connection*>(evcon));
}

void FreeConnectionOnEvent(bufferevent* bev, short /*what*/, void* evcon) {
  FreeConnection(bev, evcon);
}

// Closes `evcon` once its output has been written (or the client has gone). Takes the
// connection's socket callbacks away from evhttp, which has nothing left to do with it.
void CloseAfterFlush(evhttp_connection* evcon) {
  bufferevent* bev = evhttp_connection_get_bufferevent(evcon);
  if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
    evhttp_connection_free(evcon);
    return;
  }
  bufferevent_setcb(bev, nullptr, &FreeConnection, &FreeConnectionOnEvent, evcon);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

}  // namespace

Exchange::Exchange(std::weak_ptr<EventLoop> loop, evhttp_request* request)
    : loop_(std::move(loop)), request_(request) {}

void Exchange::Post(absl::AnyInvocable<void(Exchange&)> operation) {
  if (client_gone()) return;
  std::shared_ptr<EventLoop> loop = loop_.lock();
  if (loop == nullptr) return;
  loop->Post([self = shared_from_this(), operation = std::move(operation)]() mutable {
    operation(*self);
  });
}

void Exchange::SetOnClientGone(std::function<void()> callback) {
  {
    absl::MutexLock lock(&mu_);
    if (!client_gone()) {
      on_client_gone_ = std::move(callback);
      return;
    }
  }
  if (callback) callback();
}

void Exchange::RespondOnLoop(int status, const std::string& content_type, const std::string& body,
                             const Headers& extra_headers) {
  if (request_ == nullptr || started_) return;
  started_ = true;
  ended_ = true;
  evkeyvalq* headers = evhttp_request_get_output_headers(request_);
  evhttp_add_header(headers, "Content-Type", content_type.c_str());
  evhttp_add_header(headers, "Content-Length", absl::StrCat(body.size()).c_str());
  for (const auto& [name, value] : extra_headers) {
    if (absl::EqualsIgnoreCase(name, "Content-Type") ||
        absl::EqualsIgnoreCase(name, "Content-Length")) {
      continue;  // set above
    }
    evhttp_add_header(headers, name.c_str(), value.c_str());  // refuses CR/LF in values
  }
  // evhttp_send_reply() may finish synchronously, calling CompletedOnLoop() from inside.
  SendBuffer(body, [this, status](evbuffer* buffer) {
    evhttp_send_reply(request_, status, nullptr, buffer);
  });
}

void Exchange::StartStreamOnLoop(int status, const std::string& content_type) {
  if (request_ == nullptr || started_) return;
  started_ = true;
  streaming_ = true;
  evkeyvalq* headers = evhttp_request_get_output_headers(request_);
  evhttp_add_header(headers, "Content-Type", content_type.c_str());
  evhttp_add_header(headers, "Cache-Control", "no-cache");
  evhttp_add_header(headers, "X-Accel-Buffering", "no");  // tells nginx-style proxies too
  // No Content-Length, so HTTP/1.1 clients get chunked transfer encoding.
  evhttp_send_reply_start(request_, status, nullptr);
}

void Exchange::SendChunkOnLoop(const std::string& data) {
  // An empty chunk would end the chunked encoding; evhttp ignores it, and so do we.
  if (request_ == nullptr || !streaming_ || ended_ || data.empty()) return;
  SendBuffer(data, [this](evbuffer* buffer) { evhttp_send_reply_chunk(request_, buffer); });
}

void Exchange::EndStreamOnLoop() {
  if (request_ == nullptr || !streaming_ || ended_) return;
  ended_ = true;
  evhttp_send_reply_end(request_);  // may call CompletedOnLoop() from inside
}

void Exchange::AbandonedOnLoop() {
  if (request_ == nullptr || ended_) return;
  if (!started_) {
    RespondOnLoop(500, "text/plain", "internal error: the request was dropped unanswered\n", {});
    return;
  }
  // What is queued still reaches the client; the missing last chunk tells it the stream was
  // cut short. Closing runs ConnectionClosedOnLoop().
  CloseAfterFlush(evhttp_request_get_connection(request_));
}

void Exchange::CloseConnectionAfterResponseOnLoop() {
  if (request_ == nullptr) return;
  // evhttp checks the response headers for this when the response is done.
  evhttp_add_header(evhttp_request_get_output_headers(request_), "Connection", "close");
}

void Exchange::CompletedOnLoop() {
  request_ = nullptr;
  ended_ = true;
}

void Exchange::ConnectionClosedOnLoop() {
  // evhttp detaches a request the user has not finished from a failing connection and leaves
  // freeing it to the user; one it still holds it frees itself.
  if (request_ != nullptr && evhttp_request_get_connection(request_) == nullptr) {
    evhttp_request_free(request_);
  }
  request_ = nullptr;
  if (ended_) return;
  ended_ = true;
  std::function<void()> callback;
  {
    absl::MutexLock lock(&mu_);
    client_gone_ = true;
    callback = std::move(on_client_gone_);
    on_client_gone_ = nullptr;
  }
  if (callback) callback();
}

}  // namespace fabric::http_internal
