#pragma once
// SentencePiece tokenizer. The library itself lives in a separately loaded module
// (see spm_module/), because Debian's libsentencepiece clashes with libtorch's protobuf.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.h"

namespace dqa::text {

class Tokenizer {
 public:
  // Loads `modelPath` (a SentencePiece .model) with the module found by findModule().
  static Result<std::shared_ptr<Tokenizer>> load(const std::string& modelPath);
  // Same with an explicit module file (tests, tools); the module is never searched for.
  static Result<std::shared_ptr<Tokenizer>> load(const std::string& modelPath, const std::string& modulePath);

  // Where the SentencePiece module (libdepictqa_spm.so) is looked for, in order:
  // $DEPICTQA_SPM_MODULE (when set and non-empty), next to the running executable
  // (<exe dir>/../lib/, <exe dir>/, <exe dir>/../lib/depictqa/), then the build tree.
  static std::vector<std::string> moduleSearchPaths();
  // The first existing path of moduleSearchPaths(). When $DEPICTQA_SPM_MODULE is set it
  // is the only candidate: a path a person chose explicitly must not be silently
  // replaced by another module. The environment is read on every call (not cached).
  static Result<std::string> findModule();

  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Plain SentencePiece encoding (adds the dummy-prefix "▁"; no BOS/EOS).
  std::vector<int32_t> encode(const std::string& text) const;
  std::vector<std::string> encodePieces(const std::string& text) const;
  // Hugging Face slow LlamaTokenizer, legacy mode, no special tokens added: the literal
  // "</s>" (and "<s>", "<unk>") inside the text become their ids, each remaining chunk
  // is encoded on its own. Whitespace around the specials is kept (not stripped).
  std::vector<int32_t> encodeWithSpecials(const std::string& text) const;
  // SentencePiece's decode. Ids outside [0, vocabSize()) are skipped (a model's
  // embedding table may be padded beyond the tokenizer's vocabulary).
  std::string decode(const std::vector<int32_t>& ids) const;
  // The bytes one token contributes to decoded text (byte-fallback pieces give one raw
  // byte, "▁" becomes a space). Streaming joins these and cuts at UTF-8 boundaries.
  // Control and unknown tokens and ids outside the vocabulary give "". decode() drops
  // the first token's leading space (the dummy prefix); joining pieceBytes does not,
  // so a stream drops the leading space of its first non-empty text itself.
  std::string pieceBytes(int32_t id) const;
  std::string idToPiece(int32_t id) const;            // "" for an id out of range
  int32_t pieceToId(const std::string& piece) const;  // unkId() for an unknown piece

  int vocabSize() const;
  int32_t bosId() const;
  int32_t eosId() const;
  int32_t unkId() const;
  int32_t padId() const;  // -1 when the model has none (LLaMA's has none)

  bool isControl(int32_t id) const;  // <s>, </s> (and other control pieces)
  bool isByte(int32_t id) const;     // byte-fallback pieces "<0xAB>"
  bool isUnknown(int32_t id) const;  // <unk>

  const std::string& modelPath() const;
  const std::string& modulePath() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dqa::text
