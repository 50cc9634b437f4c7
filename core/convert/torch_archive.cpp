#include "core/convert/torch_archive.h"

#include <caffe2/serialize/inline_container.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <stdexcept>

#include "core/io/torch_pickle.h"

namespace dqa::convert {
namespace {

// The storage classes of torch.save, as libtorch dtypes.
at::ScalarType scalarType(io::PickleStorageType type) {
  using T = io::PickleStorageType;
  switch (type) {
    case T::Float:
      return at::kFloat;
    case T::Half:
      return at::kHalf;
    case T::BFloat16:
      return at::kBFloat16;
    case T::Double:
      return at::kDouble;
    case T::Long:
      return at::kLong;
    case T::Int:
      return at::kInt;
    case T::Short:
      return at::kShort;
    case T::Char:
      return at::kChar;
    case T::Byte:
      return at::kByte;
    case T::Bool:
      return at::kBool;
  }
  return at::kFloat;
}

std::string lastPart(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

struct TorchCheckpoint::Impl {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;  // torch.save
  std::map<std::string, io::PickleTensor> refs;
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
        return makeError("'" + path +
                         "' uses PyTorch's legacy (before 1.6) file format, which this "
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
    if (!reader->hasRecord("data.pkl"))
      return makeError("'" + path + "' is a zip archive but not a " +
                       (script ? "TorchScript archive" : "torch.save file") + " (no data.pkl)");
    if (reader->hasRecord("byteorder")) {
      auto [bo, boSize] = reader->getRecord("byteorder");
      const std::string order(static_cast<const char*>(bo.get()), boSize);
      if (order != "little")
        return makeError("'" + path + "' was saved on a " + order + "-endian machine; not supported");
    }
    auto [data, size] = reader->getRecord("data.pkl");
    if (size > (size_t(256) << 20))
      return makeError("'" + path + "': data.pkl is implausibly large (" + std::to_string(size) + " bytes)");
    // TorchScript (torch.jit.save): the module tree's attributes; its code is not compiled.
    auto dict = script ? io::readTorchScriptPickle(static_cast<const uint8_t*>(data.get()), size, path)
                       : io::readStateDictPickle(static_cast<const uint8_t*>(data.get()), size, path);
    if (!dict) return dict.error();
    ckpt->torchScript_ = script;
    if (script) {
      // Only the attention's head counts are of use to the converter; the modules' other
      // attributes ("training", ...) are not reported as skipped entries.
      for (const auto& [name, value] : dict->integers)
        if (name == "num_heads" || (name.size() > 10 && name.compare(name.size() - 10, 10, ".num_heads") == 0))
          ckpt->intAttributes_[name] = value;
      dict->skipped.clear();
    }
    ckpt->skipped_ = std::move(dict->skipped);
    for (auto& t : dict->tensors) {
      ckpt->tensors_.push_back({t.name, scalarType(t.storage->type), t.sizes});
      ckpt->impl_->refs[t.name] = std::move(t);
    }
    ckpt->impl_->reader = std::move(reader);
    return ckpt;
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    if (what.find("zip archive") != std::string::npos || what.find("central directory") != std::string::npos)
      return makeError("'" + path + "' is truncated or damaged: its zip directory cannot be read (" + lastPart(path) +
                       " is " + std::to_string(st.st_size) + " bytes; an interrupted download?)");
    return makeError("cannot read '" + path + "': " + what);
  } catch (const std::exception& e) { return makeError("cannot read '" + path + "': " + e.what()); }
}

Result<at::Tensor> TorchCheckpoint::load(const std::string& name) const {
  try {
    auto it = impl_->refs.find(name);
    if (it == impl_->refs.end()) return makeError("'" + path_ + "' has no tensor '" + name + "'");
    const io::PickleTensor& ref = it->second;
    const io::PickleStorage& s = *ref.storage;
    const at::ScalarType dtype = scalarType(s.type);
    auto [dataPtr, size] = impl_->reader->getRecord("data/" + s.key);
    const size_t need = static_cast<size_t>(s.numel) * c10::elementSize(dtype);
    if (size < need)
      return makeError("'" + path_ + "': the bytes of tensor '" + name + "' are cut short (" + std::to_string(size) +
                       " of " + std::to_string(need) + "); the file is truncated or damaged");
    // The tensor takes over the record's buffer; a view of part of a shared storage is
    // copied out so that the rest of the storage is freed.
    c10::Storage storage(c10::Storage::use_byte_size_t(), need, std::move(dataPtr), nullptr, false);
    at::Tensor t = at::empty({0}, at::TensorOptions().dtype(dtype)).set_(storage, ref.offset, ref.sizes, ref.strides);
    if (t.is_contiguous() && ref.offset == 0 && t.numel() == s.numel) return t;
    return t.clone(at::MemoryFormat::Contiguous);
  } catch (const c10::Error& e) {
    return makeError("cannot read tensor '" + name + "' from '" + path_ +
                     "' (truncated or damaged file?): " + e.what_without_backtrace());
  } catch (const std::exception& e) {  // a record whose stated size cannot be allocated
    return makeError("cannot read tensor '" + name + "' from '" + path_ + "': " + e.what());
  }
}

}  // namespace dqa::convert
