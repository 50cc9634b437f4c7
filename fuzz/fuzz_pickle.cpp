// readStateDictPickle and readTorchScriptPickle over arbitrary bytes, as the data.pkl
// record of a torch.save or TorchScript archive. Besides "no crash, no UB, no exception
// escaping", every accepted dictionary must satisfy what core/convert/torch_archive.cpp relies on before it reads a storage
// (checked with __builtin_trap): unique names, a storage for every tensor, sizes and
// strides of equal rank <= 16, and a view that lies inside its storage.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "core/io/torch_pickle.h"

namespace {

// The last element the view touches, recomputed independently of the reader (in 128
// bits: sizes, strides and offset are each below 2^48 once the reader accepted them).
bool insideStorage(const dqa::io::PickleTensor& t) {
  if (t.offset < 0) return false;
  __int128 last = t.offset;
  for (size_t d = 0; d < t.sizes.size(); ++d) {
    if (t.sizes[d] < 0 || t.strides[d] < 0) return false;
    if (t.sizes[d] == 0) return true;
    last += static_cast<__int128>(t.sizes[d] - 1) * t.strides[d];
  }
  return last < t.storage->numel;
}

// A refusal names the file; an accepted dictionary keeps the invariants above.
void check(const dqa::Result<dqa::io::StateDictPickle>& dict) {
  using namespace dqa::io;
  if (!dict) {
    if (dict.message().rfind("'data.pkl'", 0) != 0) __builtin_trap();  // names the file
    return;
  }
  std::set<std::string> names;
  for (const PickleTensor& t : dict->tensors) {
    if (!names.insert(t.name).second) __builtin_trap();
    if (!t.storage || t.storage->numel < 0 || t.storage->numel > (int64_t(1) << 48)) __builtin_trap();
    if (t.sizes.size() != t.strides.size() || t.sizes.size() > 16) __builtin_trap();
    if (!insideStorage(t)) __builtin_trap();
    if (storageElementSize(t.storage->type) == 0) __builtin_trap();
  }
}

}  // namespace

// Both readers on every input: a torch.save state dict, and a TorchScript module tree.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check(dqa::io::readStateDictPickle(data, size, "data.pkl"));
  check(dqa::io::readTorchScriptPickle(data, size, "data.pkl"));
  return 0;
}
