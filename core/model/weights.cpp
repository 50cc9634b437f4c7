#include "core/model/weights.h"

#include <cmath>

namespace dqa::model {

at::ScalarType toScalarType(io::DType dtype) {
  switch (dtype) {
    case io::DType::F64:
      return at::kDouble;
    case io::DType::F32:
      return at::kFloat;
    case io::DType::F16:
      return at::kHalf;
    case io::DType::BF16:
      return at::kBFloat16;
    case io::DType::I64:
      return at::kLong;
    case io::DType::I32:
      return at::kInt;
    case io::DType::I16:
      return at::kShort;
    case io::DType::I8:
      return at::kChar;
    case io::DType::U8:
      return at::kByte;
    case io::DType::Bool:
      return at::kBool;
  }
  return at::kFloat;
}

std::string shapeString(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Result<WeightStore> WeightStore::open(const std::vector<std::string>& files) {
  WeightStore store;
  for (const auto& path : files) {
    auto file = io::SafetensorsFile::open(path);
    if (!file) return file.error();
    for (const auto& kv : file.value()->tensors()) {
      if (store.index_.count(kv.first))
        return makeError("tensor '" + kv.first + "' appears in more than one weight file (" + path + ")");
      store.index_[kv.first] = Location{file.value(), &kv.second};
    }
  }
  return store;
}

bool WeightStore::has(const std::string& name) const { return index_.count(name) > 0; }

bool WeightStore::hasPrefix(const std::string& prefix) const {
  auto it = index_.lower_bound(prefix);
  return it != index_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

int64_t WeightStore::totalElements() const {
  int64_t n = 0;
  for (const auto& kv : index_) n += kv.second.entry->numel();
  return n;
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  for (const auto& kv : index_) out.push_back(kv.first);
  return out;
}

std::vector<std::string> WeightStore::unusedNames() const {
  std::vector<std::string> out;
  for (const auto& kv : index_)
    if (!used_.count(kv.first)) out.push_back(kv.first);
  return out;
}

Result<at::Tensor> WeightStore::get(const std::string& name, at::ScalarType dtype, at::Device device,
                                    const std::vector<int64_t>& expectedShape) const {
  auto it = index_.find(name);
  if (it == index_.end())
    return makeError("weight '" + name +
                     "' is missing from the model files; the checkpoint does "
                     "not match config.json or is of another architecture");
  const Location& loc = it->second;
  const auto& e = *loc.entry;
  if (!expectedShape.empty() && at::IntArrayRef(e.shape) != at::IntArrayRef(expectedShape))
    return makeError("weight '" + name + "' in " + loc.file->path() + " has shape " + shapeString(e.shape) +
                     " but config.json implies " + shapeString(expectedShape));
  const bool storedFloating =
      e.dtype == io::DType::F64 || e.dtype == io::DType::F32 || e.dtype == io::DType::F16 || e.dtype == io::DType::BF16;
  if (at::isFloatingType(dtype) && !storedFloating)
    return makeError("weight '" + name + "' in " + loc.file->path() + " is stored as " + io::dtypeName(e.dtype) +
                     ", but weights must be floating point (F32, F16, "
                     "BF16 or F64); the checkpoint is damaged or was exported wrongly");
  used_.insert(name);
  try {
    // from_blob views the mapping; the copy below owns its memory, so the mapping may
    // go away later without dangling tensors.
    at::Tensor view =
        at::from_blob(const_cast<void*>(loc.file->data(e)), e.shape, at::TensorOptions().dtype(toScalarType(e.dtype)));
    at::Tensor t = view.to(device, dtype, /*non_blocking=*/false, /*copy=*/true);
    if (at::isFloatingType(t.scalar_type()) && !at::isfinite(t).all().item<bool>())
      return makeError("weight '" + name + "' in " + loc.file->path() +
                       " contains NaN or Inf values; the checkpoint is damaged");
    return t;
  } catch (const c10::Error& err) {
    return makeError("cannot load weight '" + name + "': " + err.what_without_backtrace());
  }
}

}  // namespace dqa::model
