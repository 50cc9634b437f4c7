#pragma once
// The data.pkl record of a torch.save archive (PyTorch >= 1.6), read by a small pickle
// machine of our own that knows only what a state dict needs: dicts, lists, tuples,
// strings, numbers, OrderedDict, torch's tensor-rebuild functions and storage types. Any
// other Python global (a class, os.system, ...) is refused, never called. libtorch's own
// C++ unpickler is not used: in 1.13 it turns collections.OrderedDict -- every
// state_dict -- into None. The data.pkl of a TorchScript archive is read by the same
// machine (readTorchScriptPickle): torch::jit::load would compile the archive's code and
// crashed on a damaged archive (fuzz_torch_archive's first finding).
//
// Torch-free on purpose: the bytes come from strangers, and the libFuzzer project
// (fuzz/fuzz_pickle.cpp) compiles this file without libtorch. The zip archive
// around it and the storages' bytes are core/convert/torch_archive.cpp's business.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/common/result.h"

namespace dqa::io {

// The storage classes torch.save names (torch.FloatStorage, ...): the tensor's dtype.
enum class PickleStorageType { Float, Half, BFloat16, Double, Long, Int, Short, Char, Byte, Bool };
size_t storageElementSize(PickleStorageType type);  // bytes per element

// ('storage', torch.HalfStorage, key, location, numel): the bytes in record data/<key>.
struct PickleStorage {
  std::string key;
  PickleStorageType type = PickleStorageType::Float;
  int64_t numel = 0;
};

// A tensor as a view of a storage: element offset, sizes and strides of equal rank (<= 16).
struct PickleTensor {
  std::string name;                              // nested dictionaries flattened with '.'
  std::shared_ptr<const PickleStorage> storage;  // shared by the views of one storage
  int64_t offset = 0;
  std::vector<int64_t> sizes, strides;
};

struct StateDictPickle {
  std::vector<PickleTensor> tensors;                      // file order; names unique; each view inside its storage
  std::vector<std::string> skipped;                       // entries that are not tensors, e.g. "epoch (an integer)"
  std::vector<std::pair<std::string, int64_t>> integers;  // those of them that are integers, by name
};

// Runs data.pkl (`size` bytes) and collects the tensors of the dictionary it builds. A
// single top-level "state_dict" / "model" / "module" entry holding the dictionary is
// unwrapped; nested dictionaries (up to 8 deep) are flattened with '.'. `path` (the
// archive) only names the file in the error messages, which say what in the pickle was
// refused: a Python function, an unknown opcode, a truncated value, a tensor outside its
// storage, a name given twice.
Result<StateDictPickle> readStateDictPickle(const uint8_t* data, size_t size, const std::string& path);

// The data.pkl record of a TorchScript archive (torch.jit.save): the module tree, one
// object of a __torch__ class per module, each with its attributes. They are read as
// nested dictionaries (up to 16 deep), so a tensor is named as named_parameters() and
// named_buffers() name it ("visual.conv1.weight") and a scripted module's integer
// attributes land in `integers` ("visual.transformer.resblocks.0.attn.num_heads"). The
// classes are names only: nothing of the archive's code/ is compiled or run, and any
// other Python global is refused as in readStateDictPickle.
Result<StateDictPickle> readTorchScriptPickle(const uint8_t* data, size_t size, const std::string& path);

}  // namespace dqa::io
