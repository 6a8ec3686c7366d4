#include "bench/load_generator/response_tracker.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace fabric::bench {
namespace {

using nlohmann::json;

constexpr size_t kMaxErrorBody = 2048;

// The text a chunk's first choice carries: `text` (completions) or `delta.content` (chat).
std::string ChoiceText(const json& choice) {
  if (auto text = choice.find("text"); text != choice.end() && text->is_string()) {
    return text->get<std::string>();
  }
  if (auto delta = choice.find("delta"); delta != choice.end() && delta->is_object()) {
    if (auto content = delta->find("content"); content != delta->end() && content->is_string()) {
      return content->get<std::string>();
    }
  }
  return "";
}

// OpenAI's {"error": {"message": ...}}, or the body itself.
std::string ErrorMessage(const std::string& body) {
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_object() && parsed.contains("error")) {
    const json& error = parsed["error"];
    if (error.is_object() && error.contains("message") && error["message"].is_string()) {
      return error["message"].get<std::string>();
    }
    if (error.is_string()) return error.get<std::string>();
  }
  return body;
}

}  // namespace

ResponseTracker::ResponseTracker(int index, int prompt_len, int max_tokens) {
  record_.index = index;
  record_.prompt_len = prompt_len;
  record_.max_tokens = max_tokens;
  record_.input_tokens = -1;  // until usage says
}

void ResponseTracker::OnSent(double now) { record_.send_time = now; }

void ResponseTracker::OnHeaders(long http_status) { http_status_ = http_status; }

void ResponseTracker::OnBody(absl::string_view bytes, double now) {
  if (http_status_ != 200) {
    const size_t room = kMaxErrorBody - std::min(kMaxErrorBody, error_body_.size());
    error_body_.append(bytes.data(), std::min(room, bytes.size()));
    return;
  }
  parser_.Feed(bytes, [&](const SseEvent& event) { OnEvent(event, now); });
}

void ResponseTracker::OnEvent(const SseEvent& event, double now) {
  if (event.data == "[DONE]" || !record_.error.empty()) return;
  json chunk = json::parse(event.data, nullptr, false);
  if (!chunk.is_object()) {
    return Fail(absl::StrCat("malformed stream chunk: ", event.data.substr(0, 200)));
  }
  if (chunk.contains("error")) return Fail(ErrorMessage(event.data));
  if (auto choices = chunk.find("choices");
      choices != chunk.end() && choices->is_array() && !choices->empty()) {
    if (first_choice_time_ < 0) first_choice_time_ = now;
    last_choice_time_ = now;
    std::string text = ChoiceText((*choices)[0]);
    if (!text.empty()) {
      if (first_text_time_ < 0) {
        first_text_time_ = now;
      } else {
        record_.itl.push_back(now - last_text_time_);
      }
      last_text_time_ = now;
      ++record_.text_chunks;
      record_.generated_text += text;
    }
  }
  if (auto usage = chunk.find("usage"); usage != chunk.end() && usage->is_object()) {
    if (usage->contains("completion_tokens") && (*usage)["completion_tokens"].is_number_integer()) {
      record_.usage_completion_tokens = (*usage)["completion_tokens"].get<int>();
    }
    if (usage->contains("prompt_tokens") && (*usage)["prompt_tokens"].is_number_integer()) {
      record_.input_tokens = (*usage)["prompt_tokens"].get<int>();
    }
  }
}

void ResponseTracker::Fail(std::string error) {
  if (record_.error.empty()) record_.error = std::move(error);
}

RequestRecord ResponseTracker::Finish(const absl::Status& transfer) {
  finished_ = true;
  if (!transfer.ok()) {
    Fail(std::string(transfer.message()));
  } else if (http_status_ != 200) {
    Fail(absl::StrCat("HTTP ", http_status_, ": ", ErrorMessage(error_body_)));
  } else if (first_choice_time_ < 0 && record_.error.empty()) {
    Fail("the stream carried no chunk with choices");
  }
  record_.success = record_.error.empty();
  if (!record_.success) {
    record_.itl.clear();
    return std::move(record_);
  }
  const double first = first_text_time_ >= 0 ? first_text_time_ : first_choice_time_;
  record_.ttft = first - record_.send_time;
  record_.latency = last_choice_time_ - record_.send_time;
  record_.output_tokens = record_.usage_completion_tokens >= 0 ? record_.usage_completion_tokens
                                                               : record_.text_chunks;
  if (record_.input_tokens < 0) record_.input_tokens = record_.prompt_len;
  return std::move(record_);
}

}  // namespace fabric::bench
