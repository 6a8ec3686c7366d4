#include "bench/load_generator/server_probe.h"

#include <curl/curl.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "bench/load_generator/openai_request.h"
#include "common/status_macros.h"

namespace fabric::bench {
namespace {

// GET `url`: the body of a 200 answer, Unavailable otherwise.
absl::StatusOr<std::string> HttpGet(const std::string& url, double timeout_s) {
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
  return body;
}

// The value of label `name` in a sample's label set `{a="x",b="y"}`; empty when absent.
absl::string_view LabelValue(absl::string_view labels, absl::string_view name) {
  const std::string key = absl::StrCat(name, "=\"");
  size_t at = labels.find(key);
  // A whole label name: at the start of the set or after a comma.
  while (at != absl::string_view::npos && at > 0 && labels[at - 1] != '{' &&
         labels[at - 1] != ',') {
    at = labels.find(key, at + 1);
  }
  if (at == absl::string_view::npos) return {};
  const size_t begin = at + key.size();
  const size_t end = labels.find('"', begin);
  return end == absl::string_view::npos ? absl::string_view() : labels.substr(begin, end - begin);
}

}  // namespace

absl::StatusOr<std::string> FetchFirstModelId(const std::string& base_url, double timeout_s) {
  ASSIGN_OR_RETURN(const std::string body,
                   HttpGet(absl::StrCat(base_url, "/v1/models"), timeout_s));
  return FirstModelId(body);
}

std::vector<std::string> EmulatedCards(const std::string& metrics_text) {
  std::vector<std::string> cards;
  for (absl::string_view line : absl::StrSplit(metrics_text, '\n')) {
    if (!absl::StartsWith(line, "fabric_device_info{")) continue;
    const absl::string_view labels = line.substr(0, line.rfind('}') + 1);
    const absl::string_view emulates = LabelValue(labels, "emulates");
    if (!emulates.empty()) {
      cards.push_back(absl::StrCat(LabelValue(labels, "device"), " as ", emulates));
    }
  }
  return cards;
}

std::vector<std::string> FetchEmulatedCards(const std::string& base_url, double timeout_s) {
  absl::StatusOr<std::string> body = HttpGet(absl::StrCat(base_url, "/metrics"), timeout_s);
  return body.ok() ? EmulatedCards(*body) : std::vector<std::string>();
}

}  // namespace fabric::bench
