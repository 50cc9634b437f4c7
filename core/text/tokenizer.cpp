#include "core/text/tokenizer.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>

// The C API of libdepictqa_spm (core/text/spm_module/spm_module.cpp documents it). The
// signatures are repeated here because the module is dlopen'ed, never linked: keep both
// in step and bump the ABI version in both when one changes.
struct dqa_spm;

#if defined(__SANITIZE_ADDRESS__)
#define DQA_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DQA_ADDRESS_SANITIZER 1
#endif
#endif
#ifndef DQA_ADDRESS_SANITIZER
#define DQA_ADDRESS_SANITIZER 0
#endif

namespace dqa::text {
namespace {

constexpr int kSpmAbiVersion = 1;
constexpr const char* kModuleFileName = "libdepictqa_spm.so";
constexpr const char* kModuleEnvVar = "DEPICTQA_SPM_MODULE";

using PieceFn = void (*)(void* user, const char* piece, size_t len);

// One loaded module: its function table. Modules are never dlclose'd: unloading a
// library that carries its own protobuf runtime (with atexit hooks) is asking for a
// crash at exit, and there is only ever one or two of them.
struct SpmApi {
  std::string path;
  dqa_spm* (*load)(const char*, char*, size_t) = nullptr;
  void (*free)(dqa_spm*) = nullptr;
  int64_t (*encodeIds)(const dqa_spm*, const char*, size_t, int32_t*, size_t) = nullptr;
  int64_t (*encodePieces)(const dqa_spm*, const char*, size_t, PieceFn, void*) = nullptr;
  int64_t (*decodeIds)(const dqa_spm*, const int32_t*, size_t, char*, size_t) = nullptr;
  int64_t (*idToPiece)(const dqa_spm*, int32_t, char*, size_t) = nullptr;
  int32_t (*pieceToId)(const dqa_spm*, const char*, size_t) = nullptr;
  int32_t (*vocabSize)(const dqa_spm*) = nullptr;
  int32_t (*bosId)(const dqa_spm*) = nullptr;
  int32_t (*eosId)(const dqa_spm*) = nullptr;
  int32_t (*unkId)(const dqa_spm*) = nullptr;
  int32_t (*padId)(const dqa_spm*) = nullptr;
  int (*isByte)(const dqa_spm*, int32_t) = nullptr;
  int (*isControl)(const dqa_spm*, int32_t) = nullptr;
  int (*isUnknown)(const dqa_spm*, int32_t) = nullptr;
};

bool isRegularFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string canonical(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) != nullptr) return buf;
  return path;
}

std::string executableDir() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return {};
  std::string exe(buf, static_cast<size_t>(n));
  const auto slash = exe.rfind('/');
  return slash == std::string::npos ? std::string() : exe.substr(0, slash);
}

template <class Fn>
bool bind(void* handle, const char* name, Fn& fn, std::string& missing) {
  ::dlerror();
  void* sym = ::dlsym(handle, name);
  if (sym == nullptr) {
    if (!missing.empty()) missing += ", ";
    missing += name;
    return false;
  }
  fn = reinterpret_cast<Fn>(sym);
  return true;
}

Result<std::shared_ptr<const SpmApi>> openModule(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const SpmApi>> cache;

  if (!isRegularFile(path)) {
    return makeError("The SentencePiece module " + path +
                     " does not exist. Build the depictqa_spm target, reinstall, or set " + kModuleEnvVar +
                     " to the path of " + kModuleFileName + ".");
  }
  const std::string key = canonical(path);
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = cache.find(key); it != cache.end()) return it->second;

  // RTLD_DEEPBIND: the module's sentencepiece must bind to its own protobuf-lite, not
  // to the libprotobuf that libtorch has already put in the global scope.
  ::dlerror();
#if DQA_ADDRESS_SANITIZER
  // AddressSanitizer aborts on RTLD_DEEPBIND (google/sanitizers#611). Sanitizer builds
  // load the module into a link-map namespace of its own instead, which isolates its
  // protobuf just as well; the module must then be built without ASan (see
  // scripts/sanitize.sh).
  void* handle = ::dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
#else
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
#endif
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return makeError("Could not load the SentencePiece module " + path + ": " + (why ? why : "unknown dlopen error") +
                     ". Rebuild the depictqa_spm target, or check that libsentencepiece0 "
                     "is installed.");
  }

  int (*abiVersion)() = nullptr;
  auto api = std::make_shared<SpmApi>();
  api->path = path;
  std::string missing;
  bind(handle, "dqa_spm_abi_version", abiVersion, missing);
  bind(handle, "dqa_spm_load", api->load, missing);
  bind(handle, "dqa_spm_free", api->free, missing);
  bind(handle, "dqa_spm_encode_ids", api->encodeIds, missing);
  bind(handle, "dqa_spm_encode_pieces", api->encodePieces, missing);
  bind(handle, "dqa_spm_decode_ids", api->decodeIds, missing);
  bind(handle, "dqa_spm_id_to_piece", api->idToPiece, missing);
  bind(handle, "dqa_spm_piece_to_id", api->pieceToId, missing);
  bind(handle, "dqa_spm_vocab_size", api->vocabSize, missing);
  bind(handle, "dqa_spm_bos_id", api->bosId, missing);
  bind(handle, "dqa_spm_eos_id", api->eosId, missing);
  bind(handle, "dqa_spm_unk_id", api->unkId, missing);
  bind(handle, "dqa_spm_pad_id", api->padId, missing);
  bind(handle, "dqa_spm_is_byte", api->isByte, missing);
  bind(handle, "dqa_spm_is_control", api->isControl, missing);
  bind(handle, "dqa_spm_is_unknown", api->isUnknown, missing);
  if (!missing.empty()) {
    ::dlclose(handle);  // not ours: nothing from it has run yet, safe to unload
    return makeError(path + " is not a DepictQA SentencePiece module (missing " + missing + "). Point " +
                     kModuleEnvVar + " at " + kModuleFileName + " from this build.");
  }
  if (const int v = abiVersion(); v != kSpmAbiVersion) {
    return makeError("The SentencePiece module " + path + " has interface version " + std::to_string(v) +
                     " but this program needs " + std::to_string(kSpmAbiVersion) +
                     ": it comes from another build. Reinstall or rebuild depictqa_spm.");
  }
  std::shared_ptr<const SpmApi> shared = std::move(api);
  cache.emplace(key, shared);
  return shared;
}

// "<0xAB>" -> 0xAB; -1 when the piece is not in that form.
int parseBytePiece(const std::string& piece) {
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return -1;
  int value = 0;
  for (int i = 3; i < 5; ++i) {
    const char c = piece[static_cast<size_t>(i)];
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return -1;
    value = value * 16 + d;
  }
  return value;
}

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
  return s;
}

}  // namespace

struct Tokenizer::Impl {
  std::shared_ptr<const SpmApi> api;
  dqa_spm* handle = nullptr;
  std::string modelPath;
  int size = 0;
  int32_t bos = -1, eos = -1, unk = -1, pad = -1;
  // Per id, filled once at load: streaming asks for pieceBytes on every new token, and
  // the vocabulary (32 k for LLaMA) is small enough to keep.
  std::vector<std::string> pieces;
  std::vector<std::string> bytes;
  std::vector<uint8_t> flags;  // kByte | kControl | kUnknown
  static constexpr uint8_t kByte = 1, kControl = 2, kUnknown = 4;
  // The literal special tokens of encodeWithSpecials, with their ids.
  std::vector<std::pair<std::string, int32_t>> specials;

  ~Impl() {
    if (handle != nullptr) api->free(handle);
  }
  bool valid(int32_t id) const { return id >= 0 && id < size; }

  std::string pieceOf(int32_t id) const {
    std::string s(32, '\0');
    int64_t n = api->idToPiece(handle, id, s.data(), s.size());
    if (n < 0) return {};
    if (static_cast<size_t>(n) > s.size()) {
      s.resize(static_cast<size_t>(n));
      n = api->idToPiece(handle, id, s.data(), s.size());
      if (n < 0) return {};
    }
    s.resize(static_cast<size_t>(n));
    return s;
  }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::vector<std::string> Tokenizer::moduleSearchPaths() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv(kModuleEnvVar); env != nullptr && *env != '\0') paths.emplace_back(env);
  const std::string dir = executableDir();
  if (!dir.empty()) {
    paths.push_back(dir + "/../lib/" + kModuleFileName);           // build tree, prefix/bin
    paths.push_back(dir + "/" + kModuleFileName);                  // portable folder
    paths.push_back(dir + "/../lib/depictqa/" + kModuleFileName);  // installed package
  }
#ifdef DEPICTQA_SPM_MODULE_BUILD_PATH
  paths.emplace_back(DEPICTQA_SPM_MODULE_BUILD_PATH);
#endif
  return paths;
}

Result<std::string> Tokenizer::findModule() {
  if (const char* env = std::getenv(kModuleEnvVar); env != nullptr && *env != '\0') {
    if (isRegularFile(env)) return std::string(env);
    return makeError(std::string(kModuleEnvVar) + " is set to " + env +
                     ", which is not a file. Unset it to use the bundled module, or point "
                     "it at " +
                     kModuleFileName + ".");
  }
  const auto paths = moduleSearchPaths();
  std::string tried;
  for (const auto& p : paths) {
    if (isRegularFile(p)) return p;
    tried += "\n  " + p;
  }
  return makeError(std::string("The SentencePiece module ") + kModuleFileName + " was not found. Looked in:" + tried +
                   "\nBuild the depictqa_spm target, "
                   "reinstall, or set " +
                   kModuleEnvVar + " to its path.");
}

Result<std::shared_ptr<Tokenizer>> Tokenizer::load(const std::string& modelPath) {
  auto module = findModule();
  if (!module) return module.error();
  return load(modelPath, module.value());
}

Result<std::shared_ptr<Tokenizer>> Tokenizer::load(const std::string& modelPath, const std::string& modulePath) {
  // Check the model first: a missing tokenizer.model is the common mistake and the
  // message should name it rather than the module.
  if (!isRegularFile(modelPath)) {
    return makeError("Tokenizer model not found: " + modelPath +
                     ". A model directory needs the SentencePiece file tokenizer.model.");
  }
  auto api = openModule(modulePath);
  if (!api) return api.error();

  auto impl = std::make_unique<Impl>();
  impl->api = api.value();
  impl->modelPath = modelPath;
  char err[1024] = {0};
  impl->handle = impl->api->load(modelPath.c_str(), err, sizeof(err));
  if (impl->handle == nullptr) {
    // sentencepiece's messages end in ". " or ".." inconsistently; end ours cleanly.
    std::string why = err[0] ? std::string(err) : std::string("unknown error");
    while (!why.empty() && (why.back() == '.' || why.back() == ' ')) why.pop_back();
    return makeError("Could not read the tokenizer model " + modelPath + ": " + why +
                     ". The file is damaged or not a SentencePiece model (a Hugging Face "
                     "tokenizer.json is not enough; tokenizer.model is needed).");
  }
  Impl& m = *impl;
  m.size = m.api->vocabSize(m.handle);
  m.bos = m.api->bosId(m.handle);
  m.eos = m.api->eosId(m.handle);
  m.unk = m.api->unkId(m.handle);
  m.pad = m.api->padId(m.handle);

  const std::string kSpace = "\xE2\x96\x81";  // "▁", SentencePiece's visible space
  m.pieces.resize(static_cast<size_t>(m.size));
  m.bytes.resize(static_cast<size_t>(m.size));
  m.flags.assign(static_cast<size_t>(m.size), 0);
  for (int32_t id = 0; id < m.size; ++id) {
    const auto i = static_cast<size_t>(id);
    m.pieces[i] = m.pieceOf(id);
    if (m.api->isByte(m.handle, id)) m.flags[i] |= Impl::kByte;
    if (m.api->isControl(m.handle, id)) m.flags[i] |= Impl::kControl;
    if (m.api->isUnknown(m.handle, id)) m.flags[i] |= Impl::kUnknown;
    if (m.flags[i] & (Impl::kControl | Impl::kUnknown)) {
      // Invisible in generated text (sentencepiece would show <unk> as " ⁇ ", but a
      // streamed answer is better without it).
    } else if (m.flags[i] & Impl::kByte) {
      const int b = parseBytePiece(m.pieces[i]);
      if (b >= 0) m.bytes[i] = std::string(1, static_cast<char>(b));
    } else {
      m.bytes[i] = replaceAll(m.pieces[i], kSpace, " ");
    }
  }
  // Only specials the model really has: a model without BOS keeps "<s>" as text.
  for (const auto& [text, id] : {std::pair<std::string, int32_t>{"</s>", m.eos}, {"<s>", m.bos}, {"<unk>", m.unk}}) {
    if (m.valid(id)) m.specials.emplace_back(text, id);
  }
  return std::shared_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
}

std::vector<int32_t> Tokenizer::encode(const std::string& text) const {
  if (text.empty()) return {};
  // Usually one call: a token covers at least one input byte, plus the dummy prefix;
  // normalisation (NFKC) can expand text, hence the retry.
  std::vector<int32_t> ids(text.size() + 8);
  int64_t n = impl_->api->encodeIds(impl_->handle, text.data(), text.size(), ids.data(), ids.size());
  if (n < 0) return {};
  if (static_cast<size_t>(n) > ids.size()) {
    ids.resize(static_cast<size_t>(n));
    n = impl_->api->encodeIds(impl_->handle, text.data(), text.size(), ids.data(), ids.size());
    if (n < 0) return {};
  }
  ids.resize(static_cast<size_t>(n));
  return ids;
}

std::vector<std::string> Tokenizer::encodePieces(const std::string& text) const {
  std::vector<std::string> pieces;
  if (text.empty()) return pieces;
  // The callback must not let an exception unwind through the module's C frames.
  struct Sink {
    std::vector<std::string>* out;
    bool failed = false;
  } sink{&pieces};
  const PieceFn fn = [](void* user, const char* piece, size_t len) {
    auto* s = static_cast<Sink*>(user);
    try {
      s->out->emplace_back(piece, len);
    } catch (...) { s->failed = true; }
  };
  const int64_t n = impl_->api->encodePieces(impl_->handle, text.data(), text.size(), fn, &sink);
  if (n < 0 || sink.failed) return {};
  return pieces;
}

std::vector<int32_t> Tokenizer::encodeWithSpecials(const std::string& text) const {
  std::vector<int32_t> out;
  size_t start = 0;
  auto flush = [&](size_t end) {
    if (end > start) {
      const auto ids = encode(text.substr(start, end - start));
      out.insert(out.end(), ids.begin(), ids.end());
    }
  };
  // Left to right, the earliest special wins (the specials never overlap each other,
  // so this is what Hugging Face's trie split does).
  while (start <= text.size()) {
    size_t best = std::string::npos;
    const std::pair<std::string, int32_t>* hit = nullptr;
    for (const auto& sp : impl_->specials) {
      const size_t pos = text.find(sp.first, start);
      if (pos != std::string::npos && (pos < best || (pos == best && sp.first.size() > hit->first.size()))) {
        best = pos;
        hit = &sp;
      }
    }
    if (hit == nullptr) break;
    flush(best);
    out.push_back(hit->second);
    start = best + hit->first.size();
  }
  flush(text.size());
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::vector<int32_t> valid;
  valid.reserve(ids.size());
  for (const int32_t id : ids)
    if (impl_->valid(id)) valid.push_back(id);
  if (valid.empty()) return {};
  std::string s(valid.size() * 8 + 16, '\0');
  int64_t n = impl_->api->decodeIds(impl_->handle, valid.data(), valid.size(), s.data(), s.size());
  if (n < 0) return {};
  if (static_cast<size_t>(n) > s.size()) {
    s.resize(static_cast<size_t>(n));
    n = impl_->api->decodeIds(impl_->handle, valid.data(), valid.size(), s.data(), s.size());
    if (n < 0) return {};
  }
  s.resize(static_cast<size_t>(n));
  return s;
}

std::string Tokenizer::pieceBytes(int32_t id) const {
  return impl_->valid(id) ? impl_->bytes[static_cast<size_t>(id)] : std::string();
}

std::string Tokenizer::idToPiece(int32_t id) const {
  return impl_->valid(id) ? impl_->pieces[static_cast<size_t>(id)] : std::string();
}

int32_t Tokenizer::pieceToId(const std::string& piece) const {
  return impl_->api->pieceToId(impl_->handle, piece.data(), piece.size());
}

int Tokenizer::vocabSize() const { return impl_->size; }
int32_t Tokenizer::bosId() const { return impl_->bos; }
int32_t Tokenizer::eosId() const { return impl_->eos; }
int32_t Tokenizer::unkId() const { return impl_->unk; }
int32_t Tokenizer::padId() const { return impl_->pad; }

bool Tokenizer::isControl(int32_t id) const {
  return impl_->valid(id) && (impl_->flags[static_cast<size_t>(id)] & Impl::kControl);
}
bool Tokenizer::isByte(int32_t id) const {
  return impl_->valid(id) && (impl_->flags[static_cast<size_t>(id)] & Impl::kByte);
}
bool Tokenizer::isUnknown(int32_t id) const {
  return impl_->valid(id) && (impl_->flags[static_cast<size_t>(id)] & Impl::kUnknown);
}

const std::string& Tokenizer::modelPath() const { return impl_->modelPath; }
const std::string& Tokenizer::modulePath() const { return impl_->api->path; }

}  // namespace dqa::text
