// Turns chat messages into the prompt a model was trained on.
#ifndef FABRIC_MODEL_CHAT_TEMPLATE_H_
#define FABRIC_MODEL_CHAT_TEMPLATE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/tokenizer.h"

namespace fabric {

// The chat formats Fabric recognizes in a GGUF's tokenizer.chat_template; any other template
// (or none) gets kPlain.
enum class ChatFormat {
  kPlain,   // "system: ...\nuser: ...\nassistant:" for models without a known template
  kLlama2,  // <s>[INST] <<SYS>>\n...\n<</SYS>>\n\n... [/INST] ... </s>
  kChatML,  // <|im_start|>role\n...<|im_end|>\n
  kZephyr,  // <|user|>\n...</s>\n<|assistant|>\n
};

std::string_view ChatFormatName(ChatFormat format);
ChatFormat DetectChatFormat(const std::optional<std::string>& gguf_template);

struct ChatTurn {
  std::string role;  // system, user or assistant
  std::string content;
};

// The prompt tokens for `turns`, ending where the assistant's next reply begins.
std::vector<int> EncodeChat(ChatFormat format, const std::vector<ChatTurn>& turns,
                            const Tokenizer& tokenizer);
// Text that marks the start of another turn in the plain format; generation stops there.
std::vector<std::string> ChatStopSequences(ChatFormat format);

}  // namespace fabric

#endif  // FABRIC_MODEL_CHAT_TEMPLATE_H_
