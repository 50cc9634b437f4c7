#include "core/text/prompt.h"

#include <cctype>

#include "core/text/tokenizer.h"

namespace dqa::text {

const char* const kShortAnswerTail = " Answer the question using a single word or phrase.";

namespace {

// DepictQA-Wild's system texts and Vicuna v1 separators (DESIGN.md, "The DepictQA
// prompt, exactly"). A single character off here changes every token the model sees.
constexpr const char* kS0 =
    "A chat between a curious human and an artificial intelligence assistant. The "
    "assistant gives helpful, detailed, and polite answers to the human's questions.";
constexpr const char* kS1 =
    " As an AI assistant, you are performing an image quality "
    "assessment task.";
constexpr const char* kS2 =
    " A high-quality Reference Image is provided to assist the "
    "evaluation.";
constexpr const char* kSep0 = "   ";     // Vicuna sep " " as DepictQA writes it
constexpr const char* kSep1 = " </s> ";  // Vicuna sep2 "</s>" between turns
constexpr const char* kAfterImage = "\n\n";

// What a person must not type: the literal specials are split out as token ids by the
// tokenizer, and the image tags are the model's markers for where an image sits.
constexpr const char* kForbidden[] = {"</s>", "<s>", "<unk>", "<Img", "</Img"};

struct RoleText {
  const char* label;  // "Image A"
  const char* open;   // "<Img-A>"
  const char* close;  // "</Img-A>"
};

RoleText roleText(ImageRole role) {
  switch (role) {
    case ImageRole::Reference:
      return {"Reference Image", "<Img-Reference>", "</Img-Reference>"};
    case ImageRole::A:
      return {"Image A", "<Img-A>", "</Img-A>"};
    case ImageRole::B:
      return {"Image B", "<Img-B>", "</Img-B>"};
    case ImageRole::Single:
      break;
  }
  return {"Image", "<Img>", "</Img>"};
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && isSpace(s[b])) ++b;
  while (e > b && isSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// Number of code points, or -1 when `s` is not valid UTF-8 (overlong forms, surrogates
// and code points above U+10FFFF count as invalid, as in the Unicode standard).
long utf8Length(const std::string& s) {
  long count = 0;
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      n = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4;
      cp = c & 0x07;
    } else
      return -1;
    if (i + n > s.size()) return -1;
    for (size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return -1;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    i += n;
    ++count;
  }
  return count;
}

// "I hate noise" -> "I hate noise."; a sentence already ending in . ! or ? is kept.
std::string normalizePreference(const std::string& trimmed) {
  if (trimmed.empty()) return trimmed;
  const char last = trimmed.back();
  if (last == '.' || last == '!' || last == '?') return trimmed;
  return trimmed + ".";
}

}  // namespace

// `what` names the field in messages ("question", "preference").
Status validateText(const std::string& text, const char* what, size_t maxChars) {
  if (text.find('\0') != std::string::npos)
    return makeError(std::string("The ") + what + " contains a NUL character; remove it.");
  const long length = utf8Length(text);
  if (length < 0)
    return makeError(std::string("The ") + what + " is not valid UTF-8 text; retype it or paste it as plain text.");
  if (static_cast<size_t>(length) > maxChars)
    return makeError(std::string("The ") + what + " is too long (" + std::to_string(length) + " characters, at most " +
                     std::to_string(maxChars) + " allowed); shorten it.");
  for (const char* tag : kForbidden) {
    if (text.find(tag) != std::string::npos)
      return makeError(std::string("The ") + what + " contains \"" + tag +
                       "\", which the prompt reserves for special tokens and image tags; "
                       "remove it or write it differently.");
  }
  return Ok{};
}

const char* taskName(Task task) {
  switch (task) {
    case Task::Description:
      return "description";
    case Task::Comparison:
      return "comparison";
    case Task::Reasoning:
      return "reasoning";
  }
  return "unknown";
}

const char* imageRoleName(ImageRole role) {
  switch (role) {
    case ImageRole::Reference:
      return "Reference";
    case ImageRole::A:
      return "A";
    case ImageRole::B:
      return "B";
    case ImageRole::Single:
      return "Single";
  }
  return "unknown";
}

bool parseTask(const std::string& name, Task* task) {
  std::string lower;
  for (const char c : trim(name)) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const Task t : {Task::Description, Task::Comparison, Task::Reasoning}) {
    if (lower == taskName(t)) {
      if (task != nullptr) *task = t;
      return true;
    }
  }
  return false;
}

std::string systemPrompt(bool withReference) {
  std::string sys = std::string(kS0) + kS1;
  if (withReference) sys += kS2;
  return sys + "\n\n";
}

std::string defaultQuestion(Task task, bool withReference) {
  switch (task) {
    case Task::Description:
      return withReference ? "Describe the quality of the image compared with the reference."
                           : "Describe the quality of the image.";
    case Task::Comparison:
      return "Which image is better, Image A or Image B?";
    case Task::Reasoning:
      return withReference ? "Compared with the reference, which image is better, Image A or Image B, "
                             "and why?"
                           : "Which image is better, Image A or Image B, and why?";
  }
  return {};
}

std::vector<ImageRole> requiredImages(const PromptRequest& request) {
  std::vector<ImageRole> roles;
  if (request.withReference) roles.push_back(ImageRole::Reference);
  if (request.task == Task::Description) {
    roles.push_back(ImageRole::Single);
  } else {
    roles.push_back(ImageRole::A);
    roles.push_back(ImageRole::B);
  }
  return roles;
}

std::vector<ImageRole> Prompt::images() const {
  std::vector<ImageRole> roles;
  for (const auto& c : chunks)
    if (c.kind == PromptChunk::Kind::Image) roles.push_back(c.role);
  return roles;
}

std::string Prompt::debugString() const {
  std::string s;
  for (const auto& c : chunks) {
    if (c.kind == PromptChunk::Kind::Text)
      s += c.text;
    else
      s += std::string("[IMAGE:") + imageRoleName(c.role) + "]";
  }
  return s;
}

Result<Prompt> buildPrompt(const PromptRequest& request) {
  // Trim first: a trailing newline from a text box would otherwise change the template
  // around "\n   ASSISTANT: ".
  std::string question = trim(request.question);
  if (question.empty()) {
    question = defaultQuestion(request.task, request.withReference);
  } else if (auto st = validateText(question, "question", kMaxQuestionChars); !st) {
    return st.error();
  }
  const std::string preference = trim(request.preference);
  if (!preference.empty()) {
    if (auto st = validateText(preference, "preference", kMaxPreferenceChars); !st) return st.error();
    question += " " + normalizePreference(preference);
  }
  if (request.shortAnswer) question += kShortAnswerTail;

  Prompt prompt;
  prompt.question = question;
  // Each image closes the text before it ("… Image A: <Img-A>") and opens the text
  // after it ("</Img-A>\n\n </s> …"); see DESIGN.md for the full-reference example.
  std::string text = systemPrompt(request.withReference) + kSep1;
  for (const ImageRole role : requiredImages(request)) {
    const RoleText rt = roleText(role);
    text += std::string(rt.label) + ": " + rt.open;
    prompt.chunks.push_back({PromptChunk::Kind::Text, text, ImageRole::Single});
    prompt.chunks.push_back({PromptChunk::Kind::Image, {}, role});
    text = std::string(rt.close) + kAfterImage + kSep1;
  }
  text += "USER: " + question + "\n" + kSep0 + "ASSISTANT: ";
  prompt.chunks.push_back({PromptChunk::Kind::Text, text, ImageRole::Single});
  return prompt;
}

VerdictTokens verdictTokens(const Tokenizer& tokenizer) {
  VerdictTokens v;
  const auto ia = tokenizer.encode("Image A"), ib = tokenizer.encode("Image B");
  size_t k = 0;
  while (k < ia.size() && k < ib.size() && ia[k] == ib[k]) ++k;
  if (k < ia.size() && k < ib.size()) {
    v.prefix.assign(ia.begin(), ia.begin() + static_cast<long>(k));
    v.a = ia[k];
    v.b = ib[k];
  }
  return v;
}

std::vector<int> imageLetterIndices(const std::vector<int32_t>& ids, const VerdictTokens& v) {
  std::vector<int> found;
  if (v.a < 0) return found;
  for (size_t i = v.prefix.size(); i < ids.size(); ++i) {
    if (ids[i] != v.a && ids[i] != v.b) continue;
    if (std::equal(v.prefix.begin(), v.prefix.end(), ids.begin() + static_cast<long>(i - v.prefix.size())))
      found.push_back(static_cast<int>(i));
  }
  return found;
}

std::vector<TokenizedChunk> tokenizePrompt(const Prompt& prompt, const Tokenizer& tokenizer) {
  std::vector<TokenizedChunk> out;
  out.reserve(prompt.chunks.size());
  for (const auto& c : prompt.chunks) {
    TokenizedChunk t;
    t.kind = c.kind;
    t.role = c.role;
    if (c.kind == PromptChunk::Kind::Text) t.ids = tokenizer.encodeWithSpecials(c.text);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace dqa::text
