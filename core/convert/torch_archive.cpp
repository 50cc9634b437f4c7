#include "core/convert/torch_archive.h"

#include <caffe2/serialize/inline_container.h>
#include <sys/stat.h>
#include <torch/csrc/jit/serialization/import.h>

#include <cstring>
#include <fstream>
#include <stdexcept>
#include <unordered_map>

namespace dqa::convert {
namespace {

// ---------------------------------------------------------------- the pickle machine
struct StorageRef {
  std::string key;  // record data/<key>
  at::ScalarType dtype = at::kFloat;
  int64_t numel = 0;
};

struct TensorRef {
  std::shared_ptr<StorageRef> storage;
  int64_t offset = 0;  // in elements
  std::vector<int64_t> sizes, strides;
};

struct PObj;
using P = std::shared_ptr<PObj>;
struct PObj {
  enum class K { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor } k = K::None;
  int64_t i = 0;
  double f = 0;
  std::string s;          // Str; Global: "module.name"
  std::vector<P> items;   // Tuple, List; Dict: key, value, key, value, ...
  std::shared_ptr<StorageRef> storage;
  std::shared_ptr<TensorRef> tensor;
};

P make(PObj::K k) {
  auto p = std::make_shared<PObj>();
  p->k = k;
  return p;
}

const char* kindName(PObj::K k) {
  switch (k) {
    case PObj::K::None: return "None";
    case PObj::K::Bool: return "a bool";
    case PObj::K::Int: return "an integer";
    case PObj::K::Float: return "a float";
    case PObj::K::Str: return "a string";
    case PObj::K::Tuple: return "a tuple";
    case PObj::K::List: return "a list";
    case PObj::K::Dict: return "a dictionary";
    case PObj::K::Global: return "a Python global";
    case PObj::K::Storage: return "a storage";
    case PObj::K::Tensor: return "a tensor";
  }
  return "?";
}

// 2^48 elements: far beyond any checkpoint, small enough that byte counts never overflow.
constexpr int64_t kMaxElements = int64_t(1) << 48;

struct PickleError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool storageDtype(const std::string& global, at::ScalarType* out) {
  static const std::pair<const char*, at::ScalarType> kTypes[] = {
      {"torch.FloatStorage", at::kFloat},   {"torch.HalfStorage", at::kHalf},
      {"torch.BFloat16Storage", at::kBFloat16}, {"torch.DoubleStorage", at::kDouble},
      {"torch.LongStorage", at::kLong},     {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},   {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},     {"torch.BoolStorage", at::kBool}};
  for (const auto& [name, dtype] : kTypes)
    if (global == name) {
      *out = dtype;
      return true;
    }
  return false;
}

// Runs the subset of pickle protocols 2-5 that torch.save writes for a state dict. Only
// data is built; the few functions torch.save names (OrderedDict, _rebuild_tensor_v2,
// _rebuild_parameter) are interpreted here, every other global is an error.
class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size) : d_(data), n_(size) {}
  // A foreign pickle may nest containers millions deep or make them hold themselves:
  // unlinking every object first makes the release flat (no recursion, no cycles).
  // So the objects run() returns live only as long as the Unpickler.
  ~Unpickler() {
    for (const P& p : all_) p->items.clear();
  }
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  P run() {
    for (;;) {
      const uint8_t op = u8();
      switch (op) {
        case 0x80: u8(); break;                       // PROTO
        case 0x95: le(8); break;                      // FRAME (a length hint)
        case '.': {                                   // STOP
          P result = pop();
          return result;
        }
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case ')': push(make(PObj::K::Tuple)); break;       // EMPTY_TUPLE
        case ']': push(make(PObj::K::List)); break;        // EMPTY_LIST
        case '}': push(make(PObj::K::Dict)); break;        // EMPTY_DICT
        case 'N': push(make(PObj::K::None)); break;
        case 0x88: case 0x89: {                       // NEWTRUE, NEWFALSE
          P b = make(PObj::K::Bool);
          b->i = op == 0x88;
          push(b);
          break;
        }
        case 'J': pushInt(static_cast<int32_t>(le(4))); break;  // BININT
        case 'K': pushInt(u8()); break;                          // BININT1
        case 'M': pushInt(static_cast<int64_t>(le(2))); break;   // BININT2
        case 0x8a: {                                             // LONG1
          const int n = u8();
          if (n > 8) throw PickleError("an integer wider than 64 bits");
          uint64_t v = n ? le(n) : 0;
          if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t(0) << (8 * n);  // sign-extend
          pushInt(static_cast<int64_t>(v));
          break;
        }
        case 'G': {                                              // BINFLOAT, big-endian
          need(8);
          uint64_t bits = 0;
          for (int b = 0; b < 8; ++b) bits = (bits << 8) | d_[pos_ + b];
          pos_ += 8;
          P f = make(PObj::K::Float);
          std::memcpy(&f->f, &bits, 8);
          push(f);
          break;
        }
        case 'X': pushStr(bytes(le(4))); break;      // BINUNICODE
        case 0x8c: pushStr(bytes(u8())); break;      // SHORT_BINUNICODE
        case 0x8d: pushStr(bytes(le(8))); break;     // BINUNICODE8
        case 'T': pushStr(bytes(le(4))); break;      // BINSTRING
        case 'U': pushStr(bytes(u8())); break;       // SHORT_BINSTRING
        case 'B': pushStr(bytes(le(4))); break;      // BINBYTES
        case 'C': pushStr(bytes(u8())); break;       // SHORT_BINBYTES
        case 'c': {                                  // GLOBAL "module\nname\n"
          std::string module = line();
          pushGlobal(module + "." + line());
          break;
        }
        case 0x93: {                                 // STACK_GLOBAL
          P name = pop(), module = pop();
          if (name->k != PObj::K::Str || module->k != PObj::K::Str)
            throw PickleError("STACK_GLOBAL without module and name strings");
          pushGlobal(module->s + "." + name->s);
          break;
        }
        case 't': {                                  // TUPLE
          P t = make(PObj::K::Tuple);
          t->items = popToMark();
          push(t);
          break;
        }
        case 0x85: case 0x86: case 0x87: {           // TUPLE1..3
          P t = make(PObj::K::Tuple);
          t->items.resize(op - 0x84);
          for (size_t i = t->items.size(); i-- > 0;) t->items[i] = pop();
          push(t);
          break;
        }
        case 'l': {                                  // LIST
          P l = make(PObj::K::List);
          l->items = popToMark();
          push(l);
          break;
        }
        case 'd': {                                  // DICT
          P dict = make(PObj::K::Dict);
          dict->items = popToMark();
          if (dict->items.size() % 2) throw PickleError("DICT with an odd number of items");
          push(dict);
          break;
        }
        case 'a': {                                  // APPEND
          P v = pop();
          expect(top(), PObj::K::List, "APPEND")->items.push_back(v);
          break;
        }
        case 'e': {                                  // APPENDS
          auto vs = popToMark();
          auto& items = expect(top(), PObj::K::List, "APPENDS")->items;
          items.insert(items.end(), vs.begin(), vs.end());
          break;
        }
        case 's': {                                  // SETITEM
          P v = pop(), key = pop();
          auto& items = expect(top(), PObj::K::Dict, "SETITEM")->items;
          items.push_back(key);
          items.push_back(v);
          break;
        }
        case 'u': {                                  // SETITEMS
          auto kvs = popToMark();
          if (kvs.size() % 2) throw PickleError("SETITEMS with an odd number of items");
          auto& items = expect(top(), PObj::K::Dict, "SETITEMS")->items;
          items.insert(items.end(), kvs.begin(), kvs.end());
          break;
        }
        case 'q': memo(u8()); break;                 // BINPUT
        case 'r': memo(le(4)); break;                // LONG_BINPUT
        case 0x94: memo(memo_.size()); break;        // MEMOIZE
        case 'h': recall(u8()); break;               // BINGET
        case 'j': recall(le(4)); break;              // LONG_BINGET
        case '0': pop(); break;                      // POP
        case '1': popToMark(); break;                // POP_MARK
        case '2': push(top()); break;                // DUP
        case 'R': {                                  // REDUCE
          P args = pop(), fn = pop();
          push(reduce(fn, args));
          break;
        }
        case 'b': {                                  // BUILD: object state
          pop();
          // An OrderedDict's state is its _metadata (module versions); a tensor's is
          // its Python attributes. Neither matters for the weights.
          const P& target = top();
          if (target->k != PObj::K::Dict && target->k != PObj::K::Tensor)
            throw PickleError(std::string("BUILD on ") + kindName(target->k));
          break;
        }
        case 'Q': push(persistent(pop())); break;    // BINPERSID
        default: {
          char hex[8];
          std::snprintf(hex, sizeof(hex), "0x%02x", op);
          throw PickleError(std::string("pickle opcode ") + hex +
                            " is not used by torch.save for tensors (a custom object?)");
        }
      }
    }
  }

 private:
  void need(uint64_t k) {
    if (k > n_ - pos_) throw PickleError("data.pkl ends in the middle of a value");
  }
  uint8_t u8() {
    need(1);
    return d_[pos_++];
  }
  uint64_t le(int bytes) {
    need(static_cast<uint64_t>(bytes));
    uint64_t v = 0;
    for (int b = 0; b < bytes; ++b) v |= uint64_t(d_[pos_ + b]) << (8 * b);
    pos_ += static_cast<size_t>(bytes);
    return v;
  }
  std::string bytes(uint64_t len) {
    need(len);
    std::string s(reinterpret_cast<const char*>(d_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return s;
  }
  std::string line() {
    const void* nl = std::memchr(d_ + pos_, '\n', n_ - pos_);
    if (!nl) throw PickleError("GLOBAL without a line end");
    const size_t end = static_cast<size_t>(static_cast<const uint8_t*>(nl) - d_);
    std::string s(reinterpret_cast<const char*>(d_ + pos_), end - pos_);
    pos_ = end + 1;
    return s;
  }
  void push(P p) {
    if (stack_.size() > (1u << 24)) throw PickleError("the pickle stack grows without bound");
    stack_.push_back(std::move(p));
  }
  void pushInt(int64_t v) {
    P p = make(PObj::K::Int);
    p->i = v;
    push(p);
  }
  void pushStr(std::string s) {
    P p = make(PObj::K::Str);
    p->s = std::move(s);
    push(p);
  }
  void pushGlobal(std::string s) {
    P p = make(PObj::K::Global);
    p->s = std::move(s);
    push(p);
  }
  P make(PObj::K k) {
    if (all_.size() >= (size_t(1) << 24)) throw PickleError("the pickle builds implausibly many objects");
    all_.push_back(dqa::convert::make(k));
    return all_.back();
  }

  P pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()))
      throw PickleError("the pickle pops more values than it pushed");
    P v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  const P& top() {
    if (stack_.empty()) throw PickleError("the pickle reads an empty stack");
    return stack_.back();
  }
  std::vector<P> popToMark() {
    if (marks_.empty() || marks_.back() > stack_.size()) throw PickleError("a MARK is missing");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<P> out(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return out;
  }
  static const P& expect(const P& p, PObj::K k, const char* op) {
    if (p->k != k) throw PickleError(std::string(op) + " on " + kindName(p->k));
    return p;
  }
  void memo(uint64_t index) {
    if (memo_.size() > (1u << 24)) throw PickleError("the pickle memo grows without bound");
    memo_[index] = top();
  }
  void recall(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) throw PickleError("the pickle refers to a value it never stored");
    push(it->second);
  }

  // ('storage', torch.HalfStorage, key, location, numel): a tensor's bytes in data/<key>.
  P persistent(const P& pid) {
    const auto& a = pid->items;
    if (pid->k != PObj::K::Tuple || a.size() < 5 || a[0]->k != PObj::K::Str || a[0]->s != "storage" ||
        a[1]->k != PObj::K::Global || a[2]->k != PObj::K::Str || a[4]->k != PObj::K::Int)
      throw PickleError("a persistent id that is not a torch storage");
    at::ScalarType dtype;
    if (!storageDtype(a[1]->s, &dtype))
      throw PickleError("storage type " + a[1]->s + " is not supported (floating point or integer storages only)");
    if (a[4]->i < 0 || a[4]->i > kMaxElements) throw PickleError("a storage with an impossible size");
    auto& s = storages_[a[2]->s];
    if (!s) {
      s = std::make_shared<StorageRef>();
      s->key = a[2]->s;
      s->dtype = dtype;
      s->numel = a[4]->i;
    } else if (s->dtype != dtype || s->numel != a[4]->i) {
      throw PickleError("storage " + a[2]->s + " is declared twice with different types");
    }
    P p = make(PObj::K::Storage);
    p->storage = s;
    return p;
  }

  P reduce(const P& fn, const P& args) {
    if (fn->k != PObj::K::Global) throw PickleError(std::string("REDUCE calls ") + kindName(fn->k));
    if (args->k != PObj::K::Tuple) throw PickleError("REDUCE without an argument tuple");
    const auto& a = args->items;
    const std::string& g = fn->s;
    if (g == "collections.OrderedDict") {
      P dict = make(PObj::K::Dict);
      // OrderedDict([(key, value), ...]); torch.save writes OrderedDict() + SETITEMS.
      if (!a.empty() && (a[0]->k == PObj::K::List || a[0]->k == PObj::K::Tuple))
        for (const auto& pair : a[0]->items) {
          if (pair->k != PObj::K::Tuple || pair->items.size() != 2)
            throw PickleError("OrderedDict built from something other than pairs");
          dict->items.push_back(pair->items[0]);
          dict->items.push_back(pair->items[1]);
        }
      return dict;
    }
    if (g == "torch._utils._rebuild_tensor_v2" || g == "torch._utils._rebuild_tensor") {
      if (a.size() < 4 || a[0]->k != PObj::K::Storage || a[1]->k != PObj::K::Int ||
          a[2]->k != PObj::K::Tuple || a[3]->k != PObj::K::Tuple)
        throw PickleError("a malformed tensor record");
      auto t = std::make_shared<TensorRef>();
      t->storage = a[0]->storage;
      t->offset = a[1]->i;
      for (const auto& x : a[2]->items) {
        if (x->k != PObj::K::Int) throw PickleError("a tensor size that is not an integer");
        t->sizes.push_back(x->i);
      }
      for (const auto& x : a[3]->items) {
        if (x->k != PObj::K::Int) throw PickleError("a tensor stride that is not an integer");
        t->strides.push_back(x->i);
      }
      if (t->sizes.size() != t->strides.size()) throw PickleError("a tensor with sizes and strides of different rank");
      if (t->sizes.size() > 16) throw PickleError("a tensor of rank " + std::to_string(t->sizes.size()));
      P p = make(PObj::K::Tensor);
      p->tensor = t;
      return p;
    }
    // libtorch's own writer (torch::pickle_save) tags typed containers, Dict[str, Tensor];
    // in Python the function only annotates its first argument.
    if (g == "torch.jit._pickle.restore_type_tag") {
      if (a.empty()) throw PickleError("restore_type_tag without a value");
      return a[0];
    }
    if (g == "torch._utils._rebuild_parameter" || g == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || a[0]->k != PObj::K::Tensor) throw PickleError("a parameter without its tensor");
      return a[0];
    }
    throw PickleError("it calls the Python function " + g +
                      ", which a dictionary of tensors never needs and which is not run here. "
                      "Save the tensors alone: torch.save(model.state_dict(), path)");
  }

  const uint8_t* d_;
  size_t n_;
  size_t pos_ = 0;
  std::vector<P> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, P> memo_;
  std::vector<P> all_;  // every object built, for the flat release
  std::map<std::string, std::shared_ptr<StorageRef>> storages_;
};

// Whether the view [offset, sizes, strides] stays inside its storage. Every number is
// bounded first (rank <= 16, values < 2^48), so the sum cannot overflow 128 bits.
bool fitsStorage(const TensorRef& t) {
  if (t.offset < 0 || t.offset > kMaxElements) return false;
  __int128 last = t.offset;
  for (size_t d = 0; d < t.sizes.size(); ++d) {
    if (t.sizes[d] < 0 || t.strides[d] < 0 || t.sizes[d] > kMaxElements || t.strides[d] > kMaxElements) return false;
    if (t.sizes[d] == 0) return true;  // empty: touches nothing
    last += static_cast<__int128>(t.sizes[d] - 1) * t.strides[d];
  }
  return last < t.storage->numel;
}

std::string lastPart(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

struct TorchCheckpoint::Impl {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;  // torch.save
  std::map<std::string, TensorRef> refs;
  std::map<std::string, at::Tensor> eager;                         // TorchScript
};

TorchCheckpoint::~TorchCheckpoint() = default;

const TensorInfo* TorchCheckpoint::find(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

Result<std::shared_ptr<TorchCheckpoint>> TorchCheckpoint::open(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return makeError("'" + path + "' does not exist");
  if (!S_ISREG(st.st_mode)) return makeError("'" + path + "' is not a regular file");
  {
    // The signature tells a zip archive (both current formats) from a legacy pickle.
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {0, 0, 0, 0};
    in.read(magic, 4);
    if (in.gcount() < 4)
      return makeError("'" + path + "' is empty or truncated (" + std::to_string(st.st_size) + " bytes)");
    if (std::memcmp(magic, "PK\x03\x04", 4) != 0) {
      if (static_cast<unsigned char>(magic[0]) == 0x80)
        return makeError("'" + path + "' uses PyTorch's legacy (before 1.6) file format, which this "
                         "converter does not read. Re-save it with any recent PyTorch, if you trust "
                         "the file: python3 -c \"import torch; torch.save(torch.load('F'), 'F.zip.pt')\"");
      return makeError("'" + path + "' is not a PyTorch file (no zip signature); is it the right file?");
    }
  }
  std::shared_ptr<TorchCheckpoint> ckpt(new TorchCheckpoint());
  ckpt->path_ = path;
  ckpt->impl_ = std::make_unique<Impl>();
  try {
    auto reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
    bool script = reader->hasRecord("constants.pkl");
    for (const auto& r : reader->getAllRecords())
      if (r.rfind("code/", 0) == 0) script = true;
    if (script) {
      // TorchScript: let libtorch rebuild the module; read its tensors only.
      reader.reset();
      torch::jit::Module m = torch::jit::load(path, c10::Device(c10::kCPU));
      ckpt->torchScript_ = true;
      auto add = [&](const std::string& name, const at::Tensor& t) {
        if (ckpt->impl_->eager.count(name)) return;
        ckpt->impl_->eager[name] = t.detach();
        ckpt->tensors_.push_back({name, t.scalar_type(), t.sizes().vec()});
      };
      for (const auto& p : m.named_parameters(/*recurse=*/true)) add(p.name, p.value);
      for (const auto& b : m.named_buffers(/*recurse=*/true)) add(b.name, b.value);
      for (const auto& sub : m.named_modules()) {
        if (!sub.value.hasattr("num_heads")) continue;
        c10::IValue v = sub.value.attr("num_heads");
        if (v.isInt()) ckpt->intAttributes_[sub.name.empty() ? "num_heads" : sub.name + ".num_heads"] = v.toInt();
      }
      return ckpt;
    }
    if (!reader->hasRecord("data.pkl"))
      return makeError("'" + path + "' is a zip archive but not a torch.save file (no data.pkl)");
    if (reader->hasRecord("byteorder")) {
      auto [bo, boSize] = reader->getRecord("byteorder");
      const std::string order(static_cast<const char*>(bo.get()), boSize);
      if (order != "little")
        return makeError("'" + path + "' was saved on a " + order + "-endian machine; not supported");
    }
    auto [data, size] = reader->getRecord("data.pkl");
    if (size > (size_t(256) << 20))
      return makeError("'" + path + "': data.pkl is implausibly large (" + std::to_string(size) + " bytes)");
    P root;
    Unpickler unpickler(static_cast<const uint8_t*>(data.get()), size);
    try {
      root = unpickler.run();
    } catch (const PickleError& e) {
      return makeError("'" + path + "' is not a plain dictionary of tensors: " + e.what());
    }
    // {"state_dict": {...}} and friends: the weights are one level down.
    if (root->k == PObj::K::Dict && root->items.size() == 2 && root->items[0]->k == PObj::K::Str &&
        root->items[1]->k == PObj::K::Dict &&
        (root->items[0]->s == "state_dict" || root->items[0]->s == "model" || root->items[0]->s == "module"))
      root = root->items[1];
    if (root->k != PObj::K::Dict)
      return makeError("'" + path + "' holds " + kindName(root->k) + ", not a dictionary of tensors");
    // Flatten nested dictionaries with '.', iteratively (depth-limited: the file is foreign).
    struct Item { P value; std::string name; int depth; };
    std::vector<Item> work{{root, "", 0}};
    std::vector<std::pair<std::string, TensorRef>> found;
    while (!work.empty()) {
      Item it = work.back();
      work.pop_back();
      const auto& kv = it.value->items;
      std::vector<Item> children;
      for (size_t i = 0; i + 1 < kv.size(); i += 2) {
        std::string key;
        if (kv[i]->k == PObj::K::Str) key = kv[i]->s;
        else if (kv[i]->k == PObj::K::Int) key = std::to_string(kv[i]->i);
        else return makeError("'" + path + "': a dictionary key is " + kindName(kv[i]->k) + ", not a name");
        const std::string name = it.name.empty() ? key : it.name + "." + key;
        const P& v = kv[i + 1];
        if (v->k == PObj::K::Tensor) found.emplace_back(name, *v->tensor);
        else if (v->k == PObj::K::Dict && it.depth < 8) children.push_back({v, name, it.depth + 1});
        else ckpt->skipped_.push_back(name + " (" + kindName(v->k) + ")");
      }
      work.insert(work.end(), children.rbegin(), children.rend());  // keep file order
    }
    for (auto& [name, ref] : found) {
      if (ckpt->impl_->refs.count(name))
        return makeError("'" + path + "' names the tensor '" + name + "' twice");
      if (!fitsStorage(ref))
        return makeError("'" + path + "': tensor '" + name + "' lies outside its storage; the file is damaged");
      ckpt->tensors_.push_back({name, ref.storage->dtype, ref.sizes});
      ckpt->impl_->refs[name] = std::move(ref);
    }
    ckpt->impl_->reader = std::move(reader);
    return ckpt;
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    if (what.find("zip archive") != std::string::npos || what.find("central directory") != std::string::npos)
      return makeError("'" + path + "' is truncated or damaged: its zip directory cannot be read (" +
                       lastPart(path) + " is " + std::to_string(st.st_size) +
                       " bytes; an interrupted download?)");
    return makeError("cannot read '" + path + "': " + what);
  } catch (const std::exception& e) {
    return makeError("cannot read '" + path + "': " + e.what());
  }
}

Result<at::Tensor> TorchCheckpoint::load(const std::string& name) const {
  try {
    if (auto it = impl_->eager.find(name); it != impl_->eager.end()) return it->second.contiguous();
    auto it = impl_->refs.find(name);
    if (it == impl_->refs.end()) return makeError("'" + path_ + "' has no tensor '" + name + "'");
    const TensorRef& ref = it->second;
    const StorageRef& s = *ref.storage;
    auto [dataPtr, size] = impl_->reader->getRecord("data/" + s.key);
    const size_t need = static_cast<size_t>(s.numel) * c10::elementSize(s.dtype);
    if (size < need)
      return makeError("'" + path_ + "': the bytes of tensor '" + name + "' are cut short (" + std::to_string(size) +
                       " of " + std::to_string(need) + "); the file is truncated or damaged");
    // The tensor takes over the record's buffer; a view of part of a shared storage is
    // copied out so that the rest of the storage is freed.
    c10::Storage storage(c10::Storage::use_byte_size_t(), need, std::move(dataPtr), nullptr, false);
    at::Tensor t = at::empty({0}, at::TensorOptions().dtype(s.dtype)).set_(storage, ref.offset, ref.sizes, ref.strides);
    if (t.is_contiguous() && ref.offset == 0 && t.numel() == s.numel) return t;
    return t.clone(at::MemoryFormat::Contiguous);
  } catch (const c10::Error& e) {
    return makeError("cannot read tensor '" + name + "' from '" + path_ + "' (truncated or damaged file?): " +
                     e.what_without_backtrace());
  }
}

}  // namespace dqa::convert
