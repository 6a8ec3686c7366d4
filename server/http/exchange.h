// The server side of one HTTP request/response, behind HttpResponder.
#ifndef FABRIC_SERVER_HTTP_EXCHANGE_H_
#define FABRIC_SERVER_HTTP_EXCHANGE_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "server/http/event_loop.h"

struct evhttp_request;

namespace fabric::http_internal {

// One request and what has been done with its response. Created by the server on the loop
// thread for each request; shared by the server's record of the connection (until the
// response ends or the connection closes), by HttpResponder handles and by queued operations.
// Post(), client_gone() and SetOnClientGone() are thread-safe; the *OnLoop methods run on the
// loop thread only, and every one of them is a no-op once the response has ended or the
// connection has closed.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  using Headers = std::map<std::string, std::string>;

  Exchange(std::weak_ptr<EventLoop> loop, evhttp_request* request);
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // Runs `operation` on the loop thread, in posting order; dropped if the client is gone or
  // the server has shut down.
  void Post(absl::AnyInvocable<void(Exchange&)> operation);

  bool client_gone() const { return client_gone_.load(); }
  // Stores the callback for ConnectionClosedOnLoop(), or runs it at once on this thread if the
  // client is already gone.
  void SetOnClientGone(std::function<void()> callback);

  void RespondOnLoop(int status, const std::string& content_type, const std::string& body,
                     const Headers& extra_headers);
  void StartStreamOnLoop(int status, const std::string& content_type);
  void SendChunkOnLoop(const std::string& data);
  void EndStreamOnLoop();

  // The last HttpResponder handle is gone. A response never started gets a 500; a stream
  // never ended has its connection closed, so the client cannot take it for complete.
  void AbandonedOnLoop();

  // Makes the response say "Connection: close" (if its headers are still to be sent) and has
  // evhttp close the connection once the response has been written.
  void CloseConnectionAfterResponseOnLoop();

  // evhttp finished writing the response and is about to free the request.
  void CompletedOnLoop();
  // The connection is closing. Frees the request if evhttp left that to us, and runs the
  // client-gone callback if the response had not ended.
  void ConnectionClosedOnLoop();

 private:
  const std::weak_ptr<EventLoop> loop_;

  // Loop thread only.
  evhttp_request* request_;  // null once evhttp is done with it
  bool started_ = false;     // Respond() or StartStream() ran
  bool streaming_ = false;   // StartStream() ran
  bool ended_ = false;       // Respond() or EndStream() ran

  absl::Mutex mu_;
  std::atomic<bool> client_gone_{false};  // written under mu_
  std::function<void()> on_client_gone_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fabric::http_internal

#endif  // FABRIC_SERVER_HTTP_EXCHANGE_H_
