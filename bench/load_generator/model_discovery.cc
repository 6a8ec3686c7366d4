#include "bench/load_generator/model_discovery.h"

#include <curl/curl.h>

#include "absl/strings/str_cat.h"
#include "bench/load_generator/openai_request.h"

namespace fabric::bench {

absl::StatusOr<std::string> FetchFirstModelId(const std::string& base_url, double timeout_s) {
  const std::string url = absl::StrCat(base_url, "/v1/models");
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  std::string body;
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_s * 1000));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* user) -> size_t {
        static_cast<std::string*>(user)->append(data, size * n);
        return size * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(
        "GET ", url, ": ", error[0] != '\0' ? error : curl_easy_strerror(code)));
  }
  if (status != 200) {
    return absl::UnavailableError(absl::StrCat("GET ", url, ": HTTP ", status, ": ",
                                               body.substr(0, 200)));
  }
  return FirstModelId(body);
}

}  // namespace fabric::bench
