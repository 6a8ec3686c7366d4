#include "model/chat_template.h"

namespace fabric {
namespace {

// Builds a prompt from text and special pieces: the first text goes through Encode (BOS and
// the dummy prefix), the rest continue it.
class PromptBuilder {
 public:
  explicit PromptBuilder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {
    tokens_.push_back(tokenizer.vocabulary().bos_id);
  }
  void Text(std::string_view text) {
    if (text.empty()) return;
    std::vector<int> ids = tokens_.size() == 1 ? tokenizer_.Encode(text, false)
                                               : tokenizer_.EncodeContinuation(text);
    tokens_.insert(tokens_.end(), ids.begin(), ids.end());
  }
  // A special token by its piece (e.g. "<|im_start|>"), or its text when the vocabulary
  // lacks it.
  void Special(const std::string& piece) {
    if (std::optional<int> id = tokenizer_.FindPiece(piece)) {
      tokens_.push_back(*id);
    } else {
      Text(piece);
    }
  }
  void Id(int id) { tokens_.push_back(id); }
  std::vector<int> Take() { return std::move(tokens_); }

 private:
  const Tokenizer& tokenizer_;
  std::vector<int> tokens_;
};

void Llama2(const std::vector<ChatTurn>& turns, PromptBuilder& out, const Vocabulary& vocab) {
  std::string system;
  bool first_user = true;
  for (const ChatTurn& turn : turns) {
    if (turn.role == "system") {
      system = turn.content;
    } else if (turn.role == "user") {
      if (!first_user) out.Id(vocab.bos_id);
      std::string text = "[INST] ";
      if (first_user && !system.empty()) text += "<<SYS>>\n" + system + "\n<</SYS>>\n\n";
      out.Text(text + turn.content + " [/INST]");
      first_user = false;
    } else {
      out.Text(" " + turn.content + " ");
      out.Id(vocab.eos_id);
    }
  }
}

}  // namespace

std::string_view ChatFormatName(ChatFormat format) {
  switch (format) {
    case ChatFormat::kPlain:
      return "plain";
    case ChatFormat::kLlama2:
      return "llama2";
    case ChatFormat::kChatML:
      return "chatml";
    case ChatFormat::kZephyr:
      return "zephyr";
  }
  return "plain";
}

ChatFormat DetectChatFormat(const std::optional<std::string>& gguf_template) {
  if (!gguf_template.has_value()) return ChatFormat::kPlain;
  const std::string& t = *gguf_template;
  if (t.find("<|im_start|>") != std::string::npos) return ChatFormat::kChatML;
  if (t.find("[INST]") != std::string::npos) return ChatFormat::kLlama2;
  if (t.find("<|user|>") != std::string::npos) return ChatFormat::kZephyr;
  return ChatFormat::kPlain;
}

std::vector<int> EncodeChat(ChatFormat format, const std::vector<ChatTurn>& turns,
                            const Tokenizer& tokenizer) {
  PromptBuilder out(tokenizer);
  const Vocabulary& vocab = tokenizer.vocabulary();
  switch (format) {
    case ChatFormat::kLlama2:
      Llama2(turns, out, vocab);
      break;
    case ChatFormat::kChatML:
      for (const ChatTurn& turn : turns) {
        out.Special("<|im_start|>");
        out.Text(turn.role + "\n" + turn.content);
        out.Special("<|im_end|>");
        out.Text("\n");
      }
      out.Special("<|im_start|>");
      out.Text("assistant\n");
      break;
    case ChatFormat::kZephyr:
      for (const ChatTurn& turn : turns) {
        out.Text("<|" + turn.role + "|>\n" + turn.content);
        out.Id(vocab.eos_id);
        out.Text("\n");
      }
      out.Text("<|assistant|>\n");
      break;
    case ChatFormat::kPlain:
      for (const ChatTurn& turn : turns) out.Text(turn.role + ": " + turn.content + "\n");
      out.Text("assistant:");
      break;
  }
  return out.Take();
}

std::vector<std::string> ChatStopSequences(ChatFormat format) {
  if (format == ChatFormat::kPlain) return {"\nuser:", "\nsystem:"};
  if (format == ChatFormat::kChatML) return {"<|im_end|>"};
  return {};
}

}  // namespace fabric
