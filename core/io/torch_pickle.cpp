#include "core/io/torch_pickle.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace dqa::io {
namespace {

struct TensorRef {
  std::shared_ptr<const PickleStorage> storage;
  int64_t offset = 0;  // in elements
  std::vector<int64_t> sizes, strides;
};

struct PObj;
using P = std::shared_ptr<PObj>;
struct PObj {
  // Object: an instance of a TorchScript class (__torch__.*), a name and the attribute
  // dictionary BUILD gave it (in items, as a Dict's).
  enum class K { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor, Object } k = K::None;
  int64_t i = 0;
  double f = 0;
  std::string s;         // Str; Global and Object: "module.name"
  std::vector<P> items;  // Tuple, List; Dict: key, value, key, value, ...
  std::shared_ptr<const PickleStorage> storage;
  std::shared_ptr<TensorRef> tensor;
};

const char* kindName(PObj::K k) {
  switch (k) {
    case PObj::K::None:
      return "None";
    case PObj::K::Bool:
      return "a bool";
    case PObj::K::Int:
      return "an integer";
    case PObj::K::Float:
      return "a float";
    case PObj::K::Str:
      return "a string";
    case PObj::K::Tuple:
      return "a tuple";
    case PObj::K::List:
      return "a list";
    case PObj::K::Dict:
      return "a dictionary";
    case PObj::K::Global:
      return "a Python global";
    case PObj::K::Storage:
      return "a storage";
    case PObj::K::Tensor:
      return "a tensor";
    case PObj::K::Object:
      return "a TorchScript object";
  }
  return "?";
}

// 2^48 elements: far beyond any checkpoint, small enough that byte counts never overflow.
constexpr int64_t kMaxElements = int64_t(1) << 48;
// 2^24 objects built: far beyond a state dict's thousands.
constexpr size_t kMaxObjects = size_t(1) << 24;
// Dictionary items copied by OrderedDict(pairs), which torch.save never writes (it calls
// OrderedDict() and then SETITEMS). 2^22 still took 14 s under ASan (fuzz_pickle timeout).
constexpr size_t kMaxCopies = size_t(1) << 14;
// Attributes copied into TorchScript objects by BUILD: a module's few per object, a
// scripted LLaMA-7B's some thousands in all; a state dictionary BUILT into object after
// object is bounded here.
constexpr size_t kMaxAttributeCopies = size_t(1) << 20;
// Flattening visits each dictionary once per path to it, so 8 dictionaries each holding
// the next under 8 keys reach 8^8 names. A real state dict has hundreds to thousands of
// entries (LLaMA-7B: 32 layers x 9 weights + 3 = 291).
constexpr size_t kMaxEntries = size_t(1) << 16;
constexpr size_t kMaxNameBytes = size_t(16) << 20;

struct PickleError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool storageType(const std::string& global, PickleStorageType* out) {
  using T = PickleStorageType;
  static const std::pair<const char*, T> kTypes[] = {
      {"torch.FloatStorage", T::Float},   {"torch.HalfStorage", T::Half}, {"torch.BFloat16Storage", T::BFloat16},
      {"torch.DoubleStorage", T::Double}, {"torch.LongStorage", T::Long}, {"torch.IntStorage", T::Int},
      {"torch.ShortStorage", T::Short},   {"torch.CharStorage", T::Char}, {"torch.ByteStorage", T::Byte},
      {"torch.BoolStorage", T::Bool}};
  for (const auto& [name, type] : kTypes)
    if (global == name) {
      *out = type;
      return true;
    }
  return false;
}

// Runs the subset of pickle protocols 2-5 that torch.save writes for a state dict. Only
// data is built; the few functions torch.save names (OrderedDict, _rebuild_tensor_v2,
// _rebuild_parameter) are interpreted here, every other global is an error. The opcodes
// are split by what they do: values, containers, and the stack / memo / framing ones.
// With `torchScript`, NEWOBJ of a __torch__ class (what torch.jit.save writes for each
// module) makes an Object that BUILD fills with its attributes; no class is looked up
// and nothing from the archive's code/ is compiled or run.
class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, bool torchScript) : d_(data), n_(size), torchScript_(torchScript) {}
  // A foreign pickle may nest containers millions deep or make them hold themselves:
  // unlinking every object first makes the release flat (no recursion, no cycles).
  // So the objects run() returns live only as long as the Unpickler.
  ~Unpickler() {
    for (const P& p : all_) p->items.clear();
  }
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  // The value STOP leaves on the stack; throws PickleError.
  P run() {
    for (;;) {
      const uint8_t op = u8();
      if (op == '.') return pop();  // STOP
      if (valueOp(op) || containerOp(op) || stackOp(op)) continue;
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02x", op);
      throw PickleError(std::string("pickle opcode ") + hex +
                        " is not used by torch.save for tensors (a custom object?)");
    }
  }

 private:
  // None, bools, integers, floats, strings and globals; false for any other opcode.
  bool valueOp(uint8_t op) {
    switch (op) {
      case 'N':
        push(make(PObj::K::None));
        return true;
      case 0x88:
      case 0x89: {  // NEWTRUE, NEWFALSE
        P b = make(PObj::K::Bool);
        b->i = op == 0x88;
        push(b);
        return true;
      }
      case 'J':
        pushInt(static_cast<int32_t>(le(4)));
        return true;  // BININT
      case 'K':
        pushInt(u8());
        return true;  // BININT1
      case 'M':
        pushInt(static_cast<int64_t>(le(2)));
        return true;  // BININT2
      case 0x8a:
        pushLong1();
        return true;  // LONG1
      case 'G':
        pushBinFloat();
        return true;  // BINFLOAT
      case 'X':
        pushStr(bytes(le(4)));
        return true;  // BINUNICODE
      case 0x8c:
        pushStr(bytes(u8()));
        return true;  // SHORT_BINUNICODE
      case 0x8d:
        pushStr(bytes(le(8)));
        return true;  // BINUNICODE8
      case 'T':
        pushStr(bytes(le(4)));
        return true;  // BINSTRING
      case 'U':
        pushStr(bytes(u8()));
        return true;  // SHORT_BINSTRING
      case 'B':
        pushStr(bytes(le(4)));
        return true;  // BINBYTES
      case 'C':
        pushStr(bytes(u8()));
        return true;  // SHORT_BINBYTES
      case 'c': {     // GLOBAL "module\nname\n"
        std::string module = line();
        pushGlobal(module + "." + line());
        return true;
      }
      case 0x93: {  // STACK_GLOBAL
        P name = pop(), module = pop();
        if (name->k != PObj::K::Str || module->k != PObj::K::Str)
          throw PickleError("STACK_GLOBAL without module and name strings");
        pushGlobal(module->s + "." + name->s);
        return true;
      }
      default:
        return false;
    }
  }

  // Building tuples, lists and dictionaries, and the calls that make tensors.
  bool containerOp(uint8_t op) {
    switch (op) {
      case ')':
        push(make(PObj::K::Tuple));
        return true;  // EMPTY_TUPLE
      case ']':
        push(make(PObj::K::List));
        return true;  // EMPTY_LIST
      case '}':
        push(make(PObj::K::Dict));
        return true;  // EMPTY_DICT
      case 't':
        pushMarked(PObj::K::Tuple);
        return true;  // TUPLE
      case 'l':
        pushMarked(PObj::K::List);
        return true;  // LIST
      case 'd': {     // DICT
        P dict = pushMarked(PObj::K::Dict);
        if (dict->items.size() % 2) throw PickleError("DICT with an odd number of items");
        return true;
      }
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        P t = make(PObj::K::Tuple);
        t->items.resize(op - 0x84);
        for (size_t i = t->items.size(); i-- > 0;) t->items[i] = pop();
        push(t);
        return true;
      }
      case 'a': {  // APPEND
        P v = pop();
        expect(top(), PObj::K::List, "APPEND")->items.push_back(v);
        return true;
      }
      case 'e': {  // APPENDS
        auto vs = popToMark();
        auto& items = expect(top(), PObj::K::List, "APPENDS")->items;
        items.insert(items.end(), vs.begin(), vs.end());
        return true;
      }
      case 's': {  // SETITEM
        P v = pop(), key = pop();
        auto& items = expect(top(), PObj::K::Dict, "SETITEM")->items;
        items.push_back(key);
        items.push_back(v);
        return true;
      }
      case 'u':
        setItems();
        return true;  // SETITEMS
      case 'R': {     // REDUCE
        P args = pop(), fn = pop();
        push(reduce(fn, args));
        return true;
      }
      case 'b':
        build();
        return true;  // BUILD
      case 0x81: {    // NEWOBJ
        P args = pop(), cls = pop();
        push(newObject(cls, args));
        return true;
      }
      case 'Q':
        push(persistent(pop()));
        return true;  // BINPERSID
      default:
        return false;
    }
  }

  // Protocol and framing, MARK, POP, DUP, and the memo.
  bool stackOp(uint8_t op) {
    switch (op) {
      case 0x80:
        u8();
        return true;  // PROTO
      case 0x95:
        le(8);
        return true;  // FRAME (a length hint)
      case '(':
        marks_.push_back(stack_.size());
        return true;  // MARK
      case 'q':
        memo(u8());
        return true;  // BINPUT
      case 'r':
        memo(le(4));
        return true;  // LONG_BINPUT
      case 0x94:
        memo(memo_.size());
        return true;  // MEMOIZE
      case 'h':
        recall(u8());
        return true;  // BINGET
      case 'j':
        recall(le(4));
        return true;  // LONG_BINGET
      case '0':
        pop();
        return true;  // POP
      case '1':
        popToMark();
        return true;  // POP_MARK
      case '2':
        push(top());
        return true;  // DUP
      default:
        return false;
    }
  }

  // ---------------------------------------------------------------- reading the bytes
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

  // ---------------------------------------------------------------- values
  void pushLong1() {
    const int n = u8();
    if (n > 8) throw PickleError("an integer wider than 64 bits");
    uint64_t v = n ? le(n) : 0;
    if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t(0) << (8 * n);  // sign-extend
    pushInt(static_cast<int64_t>(v));
  }
  void pushBinFloat() {  // 8 bytes, big-endian
    need(8);
    uint64_t bits = 0;
    for (int b = 0; b < 8; ++b) bits = (bits << 8) | d_[pos_ + b];
    pos_ += 8;
    P f = make(PObj::K::Float);
    std::memcpy(&f->f, &bits, 8);
    push(f);
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
    if (all_.size() >= kMaxObjects) throw PickleError("the pickle builds implausibly many objects");
    all_.push_back(std::make_shared<PObj>());
    all_.back()->k = k;
    return all_.back();
  }

  // ---------------------------------------------------------------- the stack and memo
  void push(P p) {
    if (stack_.size() > (1u << 24)) throw PickleError("the pickle stack grows without bound");
    stack_.push_back(std::move(p));
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

  // ---------------------------------------------------------------- containers
  // TUPLE, LIST, DICT: a new container of the values above the last MARK.
  P pushMarked(PObj::K k) {
    P c = make(k);
    c->items = popToMark();
    push(c);
    return c;
  }
  void setItems() {
    auto kvs = popToMark();
    if (kvs.size() % 2) throw PickleError("SETITEMS with an odd number of items");
    auto& items = expect(top(), PObj::K::Dict, "SETITEMS")->items;
    items.insert(items.end(), kvs.begin(), kvs.end());
  }
  void build() {  // BUILD: object state
    P state = pop();
    const P& target = top();
    if (target->k == PObj::K::Object) {  // a TorchScript module's attributes
      if (state->k != PObj::K::Dict)
        throw PickleError("the TorchScript object " + target->s + " is given " + kindName(state->k) +
                          " as its attributes, not a dictionary");
      attributeCopies_ += state->items.size() / 2;
      if (attributeCopies_ > kMaxAttributeCopies) throw PickleError("the pickle builds implausibly many objects");
      target->items.insert(target->items.end(), state->items.begin(), state->items.end());
      return;
    }
    // An OrderedDict's state is its _metadata (module versions); a tensor's is
    // its Python attributes. Neither matters for the weights.
    if (target->k != PObj::K::Dict && target->k != PObj::K::Tensor)
      throw PickleError(std::string("BUILD on ") + kindName(target->k));
  }

  // cls.__new__(cls, *args): in a TorchScript archive, a module of a __torch__ class.
  P newObject(const P& cls, const P& args) {
    if (cls->k != PObj::K::Global) throw PickleError(std::string("NEWOBJ of ") + kindName(cls->k));
    const bool scriptClass = cls->s.rfind("__torch__.", 0) == 0;
    if (!torchScript_ || !scriptClass)
      throw PickleError("it creates an instance of the Python class " + cls->s +
                        ", which is not made here (only the modules of a TorchScript archive are)");
    if (args->k != PObj::K::Tuple || !args->items.empty())
      throw PickleError("the TorchScript object " + cls->s + " is created with arguments");
    P object = make(PObj::K::Object);
    object->s = cls->s;
    return object;
  }

  // ('storage', torch.HalfStorage, key, location, numel): a tensor's bytes in data/<key>.
  P persistent(const P& pid) {
    const auto& a = pid->items;
    if (pid->k != PObj::K::Tuple || a.size() < 5 || a[0]->k != PObj::K::Str || a[0]->s != "storage" ||
        a[1]->k != PObj::K::Global || a[2]->k != PObj::K::Str || a[4]->k != PObj::K::Int)
      throw PickleError("a persistent id that is not a torch storage");
    PickleStorageType type;
    if (!storageType(a[1]->s, &type))
      throw PickleError("storage type " + a[1]->s + " is not supported (floating point or integer storages only)");
    if (a[4]->i < 0 || a[4]->i > kMaxElements) throw PickleError("a storage with an impossible size");
    auto& s = storages_[a[2]->s];
    if (!s) {
      auto fresh = std::make_shared<PickleStorage>();
      fresh->key = a[2]->s;
      fresh->type = type;
      fresh->numel = a[4]->i;
      s = fresh;
    } else if (s->type != type || s->numel != a[4]->i) {
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
    if (g == "collections.OrderedDict") return orderedDict(a);
    if (g == "torch._utils._rebuild_tensor_v2" || g == "torch._utils._rebuild_tensor") return rebuildTensor(a);
    // libtorch's own writer (torch::pickle_save) tags typed containers, Dict[str, Tensor];
    // in Python the function only annotates its first argument.
    if (g == "torch.jit._pickle.restore_type_tag") {
      if (a.empty()) throw PickleError("restore_type_tag without a value");
      return a[0];
    }
    // TorchScript tags typed lists of attributes the same way.
    if (torchScript_ && (g == "torch.jit._pickle.build_intlist" || g == "torch.jit._pickle.build_floatlist" ||
                         g == "torch.jit._pickle.build_boollist" || g == "torch.jit._pickle.build_doublelist" ||
                         g == "torch.jit._pickle.build_tensorlist")) {
      if (a.empty()) throw PickleError(g + " without a value");
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

  // OrderedDict([(key, value), ...]); torch.save writes OrderedDict() + SETITEMS.
  // The only opcode that copies a container: one memoized list of pairs passed again and
  // again would grow quadratically in the pickle's size (54 KB asked for 2 GB), so the
  // copies have a budget of their own (kMaxCopies).
  P orderedDict(const std::vector<P>& a) {
    P dict = make(PObj::K::Dict);
    if (!a.empty() && (a[0]->k == PObj::K::List || a[0]->k == PObj::K::Tuple))
      for (const auto& pair : a[0]->items) {
        if (++copied_ > kMaxCopies) throw PickleError("the pickle builds implausibly many objects");
        if (pair->k != PObj::K::Tuple || pair->items.size() != 2)
          throw PickleError("OrderedDict built from something other than pairs");
        dict->items.push_back(pair->items[0]);
        dict->items.push_back(pair->items[1]);
      }
    return dict;
  }

  // _rebuild_tensor_v2(storage, offset, sizes, strides, ...): a view of the storage.
  P rebuildTensor(const std::vector<P>& a) {
    if (a.size() < 4 || a[0]->k != PObj::K::Storage || a[1]->k != PObj::K::Int || a[2]->k != PObj::K::Tuple ||
        a[3]->k != PObj::K::Tuple)
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

  const uint8_t* d_;
  size_t n_;
  const bool torchScript_;
  size_t pos_ = 0;
  std::vector<P> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, P> memo_;
  std::vector<P> all_;  // every object built, for the flat release
  size_t copied_ = 0;   // dictionary items copied by OrderedDict(pairs)
  size_t attributeCopies_ = 0;
  std::map<std::string, std::shared_ptr<const PickleStorage>> storages_;
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

// {"state_dict": {...}} and friends: the weights are one level down.
P unwrap(const P& root) {
  if (root->k == PObj::K::Dict && root->items.size() == 2 && root->items[0]->k == PObj::K::Str &&
      root->items[1]->k == PObj::K::Dict &&
      (root->items[0]->s == "state_dict" || root->items[0]->s == "model" || root->items[0]->s == "module"))
    return root->items[1];
  return root;
}

// The dictionary's tensors by flattened name, in file order; nested dictionaries (and
// TorchScript objects, their attributes) are walked iteratively, at most `maxDepth` deep
// (the file is foreign); integers are collected, everything else is skipped. A dictionary
// inside itself is refused at once; one shared by several parents is walked once per path
// to it, within kMaxEntries.
Result<std::vector<std::pair<std::string, TensorRef>>> flatten(const P& root, const std::string& path, int maxDepth,
                                                               StateDictPickle* out) {
  auto nested = [](const P& v) { return v->k == PObj::K::Dict || v->k == PObj::K::Object; };
  struct Item {
    P value;
    std::string name;
    int depth;
    std::vector<const PObj*> outer;
  };
  std::vector<Item> work{{root, "", 0, {}}};
  std::vector<std::pair<std::string, TensorRef>> found;
  size_t entries = 0, nameBytes = 0;
  while (!work.empty()) {
    Item it = work.back();
    work.pop_back();
    const auto& kv = it.value->items;
    std::vector<Item> children;
    for (size_t i = 0; i + 1 < kv.size(); i += 2) {
      std::string key;
      if (kv[i]->k == PObj::K::Str)
        key = kv[i]->s;
      else if (kv[i]->k == PObj::K::Int)
        key = std::to_string(kv[i]->i);
      else
        return makeError("'" + path + "': a dictionary key is " + kindName(kv[i]->k) + ", not a name");
      const std::string name = it.name.empty() ? key : it.name + "." + key;
      nameBytes += name.size();
      if (++entries > kMaxEntries || nameBytes > kMaxNameBytes)
        return makeError("'" + path + "' nests its dictionaries into more than " + std::to_string(kMaxEntries) +
                         " entries or 16 MiB of names (one dictionary shared again and again?); a state "
                         "dict is far smaller, so the file is damaged or not a checkpoint");
      const P& v = kv[i + 1];
      if (nested(v) && (v == it.value || std::count(it.outer.begin(), it.outer.end(), v.get())))
        return makeError("'" + path + "': the dictionary '" + name +
                         "' holds itself; a state dict never "
                         "does, so the file is damaged or not a checkpoint");
      if (v->k == PObj::K::Tensor) {
        found.emplace_back(name, *v->tensor);
      } else if (nested(v) && it.depth < maxDepth) {
        children.push_back({v, name, it.depth + 1, it.outer});
        children.back().outer.push_back(it.value.get());
      } else {
        if (v->k == PObj::K::Int) out->integers.emplace_back(name, v->i);
        out->skipped.push_back(name + " (" + kindName(v->k) + ")");
      }
    }
    work.insert(work.end(), children.rbegin(), children.rend());  // keep file order
  }
  return found;
}

// Both readers; readCatchingAll (below) turns an escaping exception into an error.
Result<StateDictPickle> readStateDict(const uint8_t* data, size_t size, const std::string& path, bool torchScript) {
  Unpickler unpickler(data, size, torchScript);  // owns every object until the tensors are copied out
  P root;
  try {
    root = unpickler.run();
  } catch (const PickleError& e) {
    return makeError(
        "'" + path +
        (torchScript ? "' is not a TorchScript module of tensors: " : "' is not a plain dictionary of tensors: ") +
        e.what());
  }
  if (torchScript) {
    if (root->k != PObj::K::Object)
      return makeError("'" + path + "' holds " + kindName(root->k) + " where a TorchScript module belongs");
  } else {
    root = unwrap(root);
    if (root->k != PObj::K::Dict)
      return makeError("'" + path + "' holds " + kindName(root->k) + ", not a dictionary of tensors");
  }
  StateDictPickle out;
  // A module tree nests deeper than a checkpoint's dictionaries (CLIP: visual.transformer.
  // resblocks.0.attn.out_proj.weight).
  auto found = flatten(root, path, torchScript ? 16 : 8, &out);
  if (!found) return found.error();
  std::set<std::string> seen;
  for (auto& [name, ref] : found.value()) {
    if (!seen.insert(name).second) return makeError("'" + path + "' names the tensor '" + name + "' twice");
    if (!fitsStorage(ref))
      return makeError("'" + path + "': tensor '" + name + "' lies outside its storage; the file is damaged");
    out.tensors.push_back({name, ref.storage, ref.offset, std::move(ref.sizes), std::move(ref.strides)});
  }
  return out;
}

Result<StateDictPickle> readCatchingAll(const uint8_t* data, size_t size, const std::string& path, bool torchScript) {
  try {
    return readStateDict(data, size, path, torchScript);
  } catch (const std::exception& e) {  // out of memory: nothing else throws past the reader
    return makeError("cannot read '" + path + "': " + e.what());
  }
}

}  // namespace

size_t storageElementSize(PickleStorageType type) {
  switch (type) {
    case PickleStorageType::Double:
    case PickleStorageType::Long:
      return 8;
    case PickleStorageType::Float:
    case PickleStorageType::Int:
      return 4;
    case PickleStorageType::Half:
    case PickleStorageType::BFloat16:
    case PickleStorageType::Short:
      return 2;
    case PickleStorageType::Char:
    case PickleStorageType::Byte:
    case PickleStorageType::Bool:
      return 1;
  }
  return 1;
}

Result<StateDictPickle> readStateDictPickle(const uint8_t* data, size_t size, const std::string& path) {
  return readCatchingAll(data, size, path, /*torchScript=*/false);
}

Result<StateDictPickle> readTorchScriptPickle(const uint8_t* data, size_t size, const std::string& path) {
  return readCatchingAll(data, size, path, /*torchScript=*/true);
}

}  // namespace dqa::io
