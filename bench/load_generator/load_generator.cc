#include "bench/load_generator/load_generator.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <memory>

#include "absl/strings/str_cat.h"

namespace fabric::bench {
namespace {

class MultiLoop;

// One request on the wire: its curl handle and what it has measured so far.
struct Transfer {
  Transfer(MultiLoop* loop, int index, const PlannedRequest& request)
      : loop(loop), index(index), tracker(index, request.prompt_len, request.max_tokens) {}
  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
  }

  MultiLoop* const loop;
  const int index;
  ResponseTracker tracker;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  bool counted_as_stream = false;
  char error[CURL_ERROR_SIZE] = {};
};

// Owns the curl multi handle and every transfer; lives on the stack of RunLoad and is used by
// that thread only (curl calls the callbacks from inside curl_multi_perform).
class MultiLoop {
 public:
  MultiLoop(const LoadOptions& options, const std::vector<PlannedRequest>& requests)
      : options_(options), requests_(requests), records_(requests.size()) {}
  ~MultiLoop() {
    for (auto& [easy, transfer] : active_) curl_multi_remove_handle(multi_, easy);
    active_.clear();
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
  }

  absl::StatusOr<LoadResult> Run();

 private:
  double Now() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  bool HasFreeSlot() const {
    return options_.max_concurrency <= 0 || in_flight_ < options_.max_concurrency;
  }
  void AdmitArrivals();
  absl::Status Launch(int index);
  int Reap();
  int PollTimeoutMs() const;
  void StreamOpened(Transfer& transfer);

  static size_t OnHeader(char* data, size_t size, size_t n, void* user);
  static size_t OnWrite(char* data, size_t size, size_t n, void* user);

  const LoadOptions& options_;
  const std::vector<PlannedRequest>& requests_;
  std::vector<RequestRecord> records_;
  std::chrono::steady_clock::time_point start_;
  CURLM* multi_ = nullptr;
  std::vector<std::pair<CURL*, std::unique_ptr<Transfer>>> active_;
  std::deque<int> waiting_;  // arrived, waiting for a slot
  size_t next_arrival_ = 0;
  int in_flight_ = 0;
  int open_streams_ = 0;
  int max_in_flight_ = 0;
  int max_open_streams_ = 0;
};

absl::StatusOr<LoadResult> MultiLoop::Run() {
  multi_ = curl_multi_init();
  if (multi_ == nullptr) return absl::InternalError("curl_multi_init failed");
  start_ = std::chrono::steady_clock::now();
  const int total = static_cast<int>(requests_.size());
  int finished = 0;
  double last_progress = 0;
  while (finished < total) {
    AdmitArrivals();
    while (!waiting_.empty() && HasFreeSlot()) {
      const int index = waiting_.front();
      waiting_.pop_front();
      if (absl::Status launched = Launch(index); !launched.ok()) {
        records_[index] = ResponseTracker(index, requests_[index].prompt_len,
                                          requests_[index].max_tokens)
                              .Finish(launched);
        ++finished;
      }
    }
    int running = 0;
    if (CURLMcode code = curl_multi_perform(multi_, &running); code != CURLM_OK) {
      return absl::InternalError(absl::StrCat("curl_multi_perform: ", curl_multi_strerror(code)));
    }
    finished += Reap();
    if (options_.on_progress && (Now() - last_progress >= 1.0 || finished == total)) {
      last_progress = Now();
      options_.on_progress(finished, total);
    }
    if (finished == total) break;
    if (CURLMcode code = curl_multi_poll(multi_, nullptr, 0, PollTimeoutMs(), nullptr);
        code != CURLM_OK) {
      return absl::InternalError(absl::StrCat("curl_multi_poll: ", curl_multi_strerror(code)));
    }
  }
  LoadResult result;
  result.duration_s = Now();
  result.records = std::move(records_);
  result.max_concurrent_requests = max_in_flight_;
  result.max_concurrent_streams = max_open_streams_;
  return result;
}

void MultiLoop::AdmitArrivals() {
  const double now = Now();
  while (next_arrival_ < requests_.size() && requests_[next_arrival_].arrival <= now) {
    waiting_.push_back(static_cast<int>(next_arrival_++));
  }
}

// Until the next arrival (or a free slot for a waiting request); curl shortens it to its own
// timers, and any socket activity ends it.
int MultiLoop::PollTimeoutMs() const {
  if (!waiting_.empty() && HasFreeSlot()) return 0;
  if (next_arrival_ >= requests_.size()) return 1000;
  const double wait_s = requests_[next_arrival_].arrival - Now();
  return static_cast<int>(std::clamp(std::ceil(wait_s * 1000), 0.0, 1000.0));
}

absl::Status MultiLoop::Launch(int index) {
  const PlannedRequest& request = requests_[index];
  auto transfer = std::make_unique<Transfer>(this, index, request);
  CURL* easy = transfer->easy = curl_easy_init();
  if (easy == nullptr) return absl::InternalError("curl_easy_init failed");
  const std::string url = absl::StrCat(options_.base_url, ApiPath(options_.api));
  transfer->headers = curl_slist_append(nullptr, "Content-Type: application/json");
  transfer->headers = curl_slist_append(transfer->headers, "Accept: text/event-stream");
  // Without this, curl waits up to a second for "100 Continue" before sending a long body.
  transfer->headers = curl_slist_append(transfer->headers, "Expect:");
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_s * 1000));
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &MultiLoop::OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &MultiLoop::OnWrite);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
  if (CURLMcode code = curl_multi_add_handle(multi_, easy); code != CURLM_OK) {
    return absl::InternalError(absl::StrCat("curl_multi_add_handle: ", curl_multi_strerror(code)));
  }
  transfer->tracker.OnSent(Now());
  active_.emplace_back(easy, std::move(transfer));
  max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
  return absl::OkStatus();
}

// Finishes the transfers curl reports done; returns how many.
int MultiLoop::Reap() {
  int reaped = 0;
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* easy = message->easy_handle;
    auto it = std::find_if(active_.begin(), active_.end(),
                           [easy](const auto& entry) { return entry.first == easy; });
    if (it == active_.end()) continue;
    Transfer& transfer = *it->second;
    absl::Status status;
    if (message->data.result != CURLE_OK) {
      status = absl::UnavailableError(
          transfer.error[0] != '\0' ? std::string(transfer.error)
                                    : std::string(curl_easy_strerror(message->data.result)));
    }
    if (transfer.counted_as_stream) --open_streams_;
    records_[transfer.index] = transfer.tracker.Finish(status);
    curl_multi_remove_handle(multi_, easy);
    std::swap(*it, active_.back());
    active_.pop_back();  // cleans the handle up
    --in_flight_;
    ++reaped;
  }
  return reaped;
}

void MultiLoop::StreamOpened(Transfer& transfer) {
  if (transfer.counted_as_stream || !transfer.tracker.streaming()) return;
  transfer.counted_as_stream = true;
  max_open_streams_ = std::max(max_open_streams_, ++open_streams_);
}

size_t MultiLoop::OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const absl::string_view line(data, size * n);
  if (line == "\r\n" || line == "\n") {  // the end of a header block
    long status = 0;
    curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &status);
    transfer->tracker.OnHeaders(status);
    transfer->loop->StreamOpened(*transfer);
  }
  return size * n;
}

size_t MultiLoop::OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  transfer->tracker.OnBody(absl::string_view(data, size * n), transfer->loop->Now());
  return size * n;
}

}  // namespace

absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options,
                                   const std::vector<PlannedRequest>& requests) {
  MultiLoop loop(options, requests);
  return loop.Run();
}

}  // namespace fabric::bench
