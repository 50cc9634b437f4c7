#pragma once
// Weights of a model directory as tensors: every safetensors shard memory-mapped, a
// tensor materialised on request in the compute dtype and device. Internal (torch).
#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/io/safetensors.h"

namespace dqa::model {

class WeightStore {
 public:
  static Result<WeightStore> open(const std::vector<std::string>& files);

  bool has(const std::string& name) const;
  // The tensor converted to `dtype` on `device`; an Error names the tensor and file
  // when it is missing or its shape differs from `expectedShape` (if given).
  Result<at::Tensor> get(const std::string& name, at::ScalarType dtype, at::Device device,
                         const std::vector<int64_t>& expectedShape = {}) const;
  std::vector<std::string> names() const;
  // Names never asked for with get(): extra tensors that a layout did not use.
  std::vector<std::string> unusedNames() const;
  // Every name starting with `prefix`, e.g. to detect a layout.
  bool hasPrefix(const std::string& prefix) const;
  int64_t totalElements() const;  // parameter count, from the headers

 private:
  struct Location {
    std::shared_ptr<io::SafetensorsFile> file;
    const io::TensorEntry* entry;
  };
  std::map<std::string, Location> index_;
  mutable std::set<std::string> used_;
};

at::ScalarType toScalarType(io::DType dtype);
std::string shapeString(at::IntArrayRef shape);

}  // namespace dqa::model
