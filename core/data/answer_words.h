#pragma once
// How the answer parser (parser.h) and the answer grammar (answer_grammar.h) cut an
// answer into words and sentences; one rule for both, so that what the guard reads while
// an answer is written is what the evaluation reads afterwards.
#include <string>
#include <utility>
#include <vector>

namespace dqa::data {

// Letters, digits, '-' and '\'' ("out-of-focus", "can't").
bool isWordChar(char c);
std::string lowerCase(std::string s);
// Position of `phrase` in `s` as whole words, from `from`; npos if absent.
size_t findWord(const std::string& s, const std::string& phrase, size_t from = 0);
// Byte ranges [begin, end) of the sentences: each ends after a '.', '!' or '?' followed by
// whitespace or the end of the text, or after a newline; text after the last end is the
// last (unfinished) sentence. Every byte belongs to one range.
std::vector<std::pair<size_t, size_t>> sentenceSpans(const std::string& text);

}  // namespace dqa::data
