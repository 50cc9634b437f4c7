// libdepictqa_spm: SentencePiece behind a plain C API.
//
// Why a module: Debian's libsentencepiece.so.0 carries its own protobuf-lite 3.14,
// which clashes with the libprotobuf 3.21 that libtorch loads (segfault before main).
// The core loads this module with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND), so
// sentencepiece and its protobuf resolve against each other and nothing leaks out.
// For the same reason no C++ type crosses this boundary: only C scalars, caller-owned
// buffers and a C callback. Nothing throws out of these functions.
//
// The C API (ABI version 1; core/text/tokenizer.cpp declares the same signatures):
//
//   int      dqa_spm_abi_version(void);
//   dqa_spm* dqa_spm_load(const char* path, char* err, size_t errlen);
//              NULL on failure, with sentencepiece's message in err (NUL-terminated,
//              truncated to errlen).
//   void     dqa_spm_free(dqa_spm* h);
//   int64_t  dqa_spm_encode_ids(const dqa_spm* h, const char* text, size_t len,
//                               int32_t* out, size_t cap);
//              Plain encode (dummy prefix, no BOS/EOS). Returns the number of ids and
//              writes min(count, cap) of them; call again with a larger buffer when
//              count > cap. -1 on error.
//   int64_t  dqa_spm_encode_pieces(const dqa_spm* h, const char* text, size_t len,
//                                  dqa_spm_piece_fn fn, void* user);
//              Calls fn(user, piece, piece_len) for each piece in order; returns the
//              count, -1 on error. (A callback, because pieces are variable-length
//              strings and a handle-owned buffer would not be thread-safe.)
//   int64_t  dqa_spm_decode_ids(const dqa_spm* h, const int32_t* ids, size_t n,
//                               char* out, size_t cap);
//              sentencepiece's Decode. Returns the byte length of the text (no NUL
//              written) and copies min(length, cap) bytes. -1 on error, including any
//              id outside [0, vocab_size) (sentencepiece would index out of range).
//   int64_t  dqa_spm_id_to_piece(const dqa_spm* h, int32_t id, char* out, size_t cap);
//              Same length convention; -1 for an id out of range.
//   int32_t  dqa_spm_piece_to_id(const dqa_spm* h, const char* piece, size_t len);
//              The unk id for an unknown piece.
//   int32_t  dqa_spm_vocab_size / dqa_spm_bos_id / dqa_spm_eos_id / dqa_spm_unk_id /
//            dqa_spm_pad_id (const dqa_spm* h);   (-1 where the model has none)
//   int      dqa_spm_is_byte / dqa_spm_is_control / dqa_spm_is_unknown /
//            dqa_spm_is_unused (const dqa_spm* h, int32_t id);  (0 for an id out of range)
//
// Thread safety: SentencePieceProcessor's encode/decode are const and re-entrant, so
// every function but load/free may be called concurrently on one handle.
#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#define DQA_SPM_API extern "C" __attribute__((visibility("default")))

namespace {
constexpr int kAbiVersion = 1;

void setError(char* err, size_t errlen, const std::string& message) {
  if (err == nullptr || errlen == 0) return;
  const size_t n = std::min(message.size(), errlen - 1);
  std::memcpy(err, message.data(), n);
  err[n] = '\0';
}

// Copies min(size, cap) bytes and returns the full size, so that the caller can retry.
int64_t copyOut(const std::string& s, char* out, size_t cap) {
  if (out != nullptr && cap > 0) std::memcpy(out, s.data(), std::min(s.size(), cap));
  return static_cast<int64_t>(s.size());
}
}  // namespace

struct dqa_spm {
  sentencepiece::SentencePieceProcessor sp;
  int size = 0;  // cached: checked on every id that comes in from outside
  bool valid(int32_t id) const { return id >= 0 && id < size; }
};

typedef void (*dqa_spm_piece_fn)(void* user, const char* piece, size_t len);

DQA_SPM_API int dqa_spm_abi_version(void) { return kAbiVersion; }

DQA_SPM_API dqa_spm* dqa_spm_load(const char* path, char* err, size_t errlen) {
  setError(err, errlen, "");
  if (path == nullptr) {
    setError(err, errlen, "no model path given");
    return nullptr;
  }
  try {
    auto* h = new dqa_spm;
    const auto status = h->sp.Load(std::string_view(path));
    if (!status.ok()) {
      setError(err, errlen, status.ToString());
      delete h;
      return nullptr;
    }
    h->size = h->sp.GetPieceSize();
    if (h->size <= 0) {
      setError(err, errlen, "the model has an empty vocabulary");
      delete h;
      return nullptr;
    }
    return h;
  } catch (const std::exception& e) {
    setError(err, errlen, std::string("sentencepiece failed: ") + e.what());
  } catch (...) { setError(err, errlen, "sentencepiece failed with an unknown error"); }
  return nullptr;
}

DQA_SPM_API void dqa_spm_free(dqa_spm* h) { delete h; }

DQA_SPM_API int64_t dqa_spm_encode_ids(const dqa_spm* h, const char* text, size_t len, int32_t* out, size_t cap) {
  if (h == nullptr || (text == nullptr && len > 0)) return -1;
  try {
    std::vector<int> ids;
    if (!h->sp.Encode(std::string_view(text == nullptr ? "" : text, len), &ids).ok()) return -1;
    if (out != nullptr) {
      const size_t n = std::min(ids.size(), cap);
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<int32_t>(ids[i]);
    }
    return static_cast<int64_t>(ids.size());
  } catch (...) { return -1; }
}

DQA_SPM_API int64_t dqa_spm_encode_pieces(const dqa_spm* h, const char* text, size_t len, dqa_spm_piece_fn fn,
                                          void* user) {
  if (h == nullptr || fn == nullptr || (text == nullptr && len > 0)) return -1;
  try {
    std::vector<std::string> pieces;
    if (!h->sp.Encode(std::string_view(text == nullptr ? "" : text, len), &pieces).ok()) return -1;
    for (const auto& p : pieces) fn(user, p.data(), p.size());
    return static_cast<int64_t>(pieces.size());
  } catch (...) { return -1; }
}

DQA_SPM_API int64_t dqa_spm_decode_ids(const dqa_spm* h, const int32_t* ids, size_t n, char* out, size_t cap) {
  if (h == nullptr || (ids == nullptr && n > 0)) return -1;
  try {
    std::vector<int> v(n);
    for (size_t i = 0; i < n; ++i) {
      if (!h->valid(ids[i])) return -1;
      v[i] = ids[i];
    }
    std::string text;
    if (!h->sp.Decode(v, &text).ok()) return -1;
    return copyOut(text, out, cap);
  } catch (...) { return -1; }
}

DQA_SPM_API int64_t dqa_spm_id_to_piece(const dqa_spm* h, int32_t id, char* out, size_t cap) {
  if (h == nullptr || !h->valid(id)) return -1;
  try {
    return copyOut(h->sp.IdToPiece(id), out, cap);
  } catch (...) { return -1; }
}

DQA_SPM_API int32_t dqa_spm_piece_to_id(const dqa_spm* h, const char* piece, size_t len) {
  if (h == nullptr) return -1;
  try {
    return h->sp.PieceToId(std::string_view(piece == nullptr ? "" : piece, len));
  } catch (...) { return h->sp.unk_id(); }
}

DQA_SPM_API int32_t dqa_spm_vocab_size(const dqa_spm* h) { return h ? h->size : 0; }
DQA_SPM_API int32_t dqa_spm_bos_id(const dqa_spm* h) { return h ? h->sp.bos_id() : -1; }
DQA_SPM_API int32_t dqa_spm_eos_id(const dqa_spm* h) { return h ? h->sp.eos_id() : -1; }
DQA_SPM_API int32_t dqa_spm_unk_id(const dqa_spm* h) { return h ? h->sp.unk_id() : -1; }
DQA_SPM_API int32_t dqa_spm_pad_id(const dqa_spm* h) { return h ? h->sp.pad_id() : -1; }

DQA_SPM_API int dqa_spm_is_byte(const dqa_spm* h, int32_t id) { return h && h->valid(id) && h->sp.IsByte(id) ? 1 : 0; }
DQA_SPM_API int dqa_spm_is_control(const dqa_spm* h, int32_t id) {
  return h && h->valid(id) && h->sp.IsControl(id) ? 1 : 0;
}
DQA_SPM_API int dqa_spm_is_unknown(const dqa_spm* h, int32_t id) {
  return h && h->valid(id) && h->sp.IsUnknown(id) ? 1 : 0;
}
DQA_SPM_API int dqa_spm_is_unused(const dqa_spm* h, int32_t id) {
  return h && h->valid(id) && h->sp.IsUnused(id) ? 1 : 0;
}
