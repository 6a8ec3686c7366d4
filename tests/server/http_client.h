// A small libcurl client for tests: real HTTP requests to a server on this machine.
#ifndef FABRIC_TESTS_SERVER_HTTP_CLIENT_H_
#define FABRIC_TESTS_SERVER_HTTP_CLIENT_H_

#include <curl/curl.h>

#include <functional>
#include <string>

namespace fabric::testing_util {

struct HttpResult {
  long status = 0;  // 0 when the transfer failed
  std::string body;
};

// Sends one request; `on_data` (if set) sees each piece of the body as it arrives and may
// return false to hang up.
inline HttpResult HttpCall(const std::string& method, const std::string& url,
                           const std::string& body = "",
                           const std::function<bool(const std::string&)>& on_data = nullptr) {
  struct Context {
    HttpResult result;
    const std::function<bool(const std::string&)>* on_data;
  } context{{}, &on_data};
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  }
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* user) -> size_t {
        auto* ctx = static_cast<Context*>(user);
        std::string piece(data, size * n);
        ctx->result.body += piece;
        if (*ctx->on_data && !(*ctx->on_data)(piece)) return 0;  // abort the transfer
        return size * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &context);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &context.result.status);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return context.result;
}

}  // namespace fabric::testing_util

#endif  // FABRIC_TESTS_SERVER_HTTP_CLIENT_H_
