#include "core/data/answer_words.h"

#include <cctype>

namespace dqa::data {

bool isWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '\''; }

std::string lowerCase(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

size_t findWord(const std::string& s, const std::string& phrase, size_t from) {
  for (size_t pos = s.find(phrase, from); pos != std::string::npos; pos = s.find(phrase, pos + 1)) {
    const bool left = pos == 0 || !isWordChar(s[pos - 1]);
    const size_t end = pos + phrase.size();
    const bool right = end >= s.size() || !isWordChar(s[end]);
    if (left && right) return pos;
  }
  return std::string::npos;
}

std::vector<std::pair<size_t, size_t>> sentenceSpans(const std::string& text) {
  std::vector<std::pair<size_t, size_t>> spans;
  size_t begin = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool end = (c == '.' || c == '!' || c == '?') &&
                     (i + 1 == text.size() || std::isspace(static_cast<unsigned char>(text[i + 1])));
    if (end || c == '\n') {
      spans.emplace_back(begin, i + 1);
      begin = i + 1;
    }
  }
  if (begin < text.size()) spans.emplace_back(begin, text.size());
  return spans;
}

}  // namespace dqa::data
