#include "server/http/http_server.h"

#include <utility>

#include "server/http/exchange.h"
#include "server/http/server_core.h"

namespace fabric {

using http_internal::Exchange;

HttpResponder::HttpResponder(std::shared_ptr<Exchange> exchange) : exchange_(std::move(exchange)) {}

HttpResponder::~HttpResponder() {
  exchange_->Post([](Exchange& exchange) { exchange.AbandonedOnLoop(); });
}

void HttpResponder::Respond(int status, std::string content_type, std::string body,
                            std::map<std::string, std::string> extra_headers) {
  exchange_->Post([status, content_type = std::move(content_type), body = std::move(body),
                   extra_headers = std::move(extra_headers)](Exchange& exchange) {
    exchange.RespondOnLoop(status, content_type, body, extra_headers);
  });
}

void HttpResponder::StartStream(int status, std::string content_type) {
  exchange_->Post([status, content_type = std::move(content_type)](Exchange& exchange) {
    exchange.StartStreamOnLoop(status, content_type);
  });
}

void HttpResponder::SendChunk(std::string data) {
  exchange_->Post([data = std::move(data)](Exchange& exchange) { exchange.SendChunkOnLoop(data); });
}

void HttpResponder::EndStream() {
  exchange_->Post([](Exchange& exchange) { exchange.EndStreamOnLoop(); });
}

bool HttpResponder::client_gone() const { return exchange_->client_gone(); }

void HttpResponder::OnClientGone(std::function<void()> callback) {
  exchange_->SetOnClientGone(std::move(callback));
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& host, int port,
                                                              HttpHandler handler,
                                                              HttpServerOptions options) {
  absl::StatusOr<std::unique_ptr<http_internal::ServerCore>> core =
      http_internal::ServerCore::Start(host, port, std::move(handler), options);
  if (!core.ok()) return core.status();
  return std::unique_ptr<HttpServer>(new HttpServer(*std::move(core)));
}

HttpServer::HttpServer(std::unique_ptr<http_internal::ServerCore> core) : core_(std::move(core)) {}

HttpServer::~HttpServer() = default;  // ~ServerCore shuts down and joins

int HttpServer::port() const { return core_->port(); }

void HttpServer::StopAccepting() { core_->StopAccepting(); }

void HttpServer::Shutdown() { core_->Shutdown(); }

size_t HttpServer::open_connections() const { return core_->open_connections(); }

}  // namespace fabric
