#pragma once
// The DepictQA prompt (Vicuna v1 template, DepictQA-Wild system prompt, unique image
// tags) as a sequence of chunks: text segments, each tokenized on its own, and image
// slots where the visual tokens of one image are inserted.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/common/result.h"

namespace dqa::text {

class Tokenizer;

enum class Task { Description, Comparison, Reasoning };
enum class ImageRole { Reference, A, B, Single };  // Single: "<Img>" of one-image tasks

const char* taskName(Task task);            // "description", "comparison", "reasoning"
const char* imageRoleName(ImageRole role);  // "Reference", "A", "B", "Single"

struct PromptRequest {
  Task task = Task::Comparison;
  bool withReference = true;  // full-reference (reference image shown) or not
  bool shortAnswer = false;   // append " Answer the question using a single word or phrase."
  std::string question;       // the user's question (empty: the task's default)
  std::string preference;     // e.g. "I can't tolerate any noise." (empty: none)
};

struct PromptChunk {
  enum class Kind { Text, Image } kind = Kind::Text;
  std::string text;                    // Kind::Text: the segment, exactly as tokenized
  ImageRole role = ImageRole::Single;  // Kind::Image: which image goes here
};

struct Prompt {
  std::vector<PromptChunk> chunks;        // BOS is not a chunk; it is always first
  std::string question;                   // the final question text (with preference and tail)
  std::vector<ImageRole> images() const;  // image slots in order
  std::string debugString() const;        // text with "[IMAGE:Reference]" markers
};

// The images a request needs, in prompt order (e.g. Reference, A, B).
std::vector<ImageRole> requiredImages(const PromptRequest& request);

// Validates the request and builds the chunks. The final question is
// trim(question or the default) [+ " " + preference, ending in '.', '!' or '?']
// [+ kShortAnswerTail]. Errors (with a message for the person who typed it): question or
// preference containing a special token or image tag ("</s>", "<s>", "<unk>", "<Img"...,
// which would corrupt the template), invalid UTF-8 or NUL bytes, or text longer than
// kMaxQuestionChars / kMaxPreferenceChars code points.
Result<Prompt> buildPrompt(const PromptRequest& request);
std::string defaultQuestion(Task task, bool withReference);
// The checks buildPrompt makes on a question, for any text that goes into the template
// (`what` names it in the message: "question", "answer"): no NUL, valid UTF-8, at most
// maxChars code points, none of the special tokens or image tags.
Status validateText(const std::string& text, const char* what, size_t maxChars);
extern const char* const kShortAnswerTail;
constexpr size_t kMaxQuestionChars = 4000;    // code points, after trimming
constexpr size_t kMaxPreferenceChars = 1000;  // code points, after trimming

// "description" / "comparison" / "reasoning" (what taskName returns); case-insensitive.
// False when the name is none of them.
bool parseTask(const std::string& name, Task* task);
// SYS of the template: S0 + S1 (+ S2 with a reference) + "\n\n".
std::string systemPrompt(bool withReference);

// A chunk's token ids: text segments via Tokenizer::encodeWithSpecials.
struct TokenizedChunk {
  PromptChunk::Kind kind = PromptChunk::Kind::Text;
  std::vector<int32_t> ids;            // Kind::Text
  ImageRole role = ImageRole::Single;  // Kind::Image
};
std::vector<TokenizedChunk> tokenizePrompt(const Prompt& prompt, const Tokenizer& tokenizer);

// The token ids that tell a brief "Image A" answer from "Image B" (the first ids where
// their encodings differ) and the ids before them. a/b are -1 if the encodings never
// differ. The engine reads the verdict and its confidence there; the trainer checks it.
struct VerdictTokens {
  std::vector<int32_t> prefix;
  int32_t a = -1, b = -1;
  char letterOf(int32_t id) const { return id == a ? 'A' : id == b ? 'B' : 0; }  // 0: neither letter
};
VerdictTokens verdictTokens(const Tokenizer& tokenizer);
// Indices into `ids` of the letter token of every "Image A"/"Image B", in order.
std::vector<int> imageLetterIndices(const std::vector<int32_t>& ids, const VerdictTokens& verdict);

}  // namespace dqa::text
