#pragma once
// Helpers for the parity suites: reference tensors and comparisons. Links libtorch.
#include <ATen/ATen.h>
#include <QtTest/QtTest>

#include <string>

#include "core/io/safetensors.h"
#include "core/model/weights.h"
#include "test_support.h"

namespace dqa::test {

// Tensor `key` of shared/fixtures/hf-reference/<folder>/<file>, in its stored dtype.
inline at::Tensor expectedTensor(const std::string& folder, const std::string& key,
                                 const std::string& file = "expected.safetensors") {
  auto store = model::WeightStore::open({fixtureDir(folder) + "/" + file});
  if (!store) qFatal("%s", store.message().c_str());
  auto info = io::SafetensorsFile::open(fixtureDir(folder) + "/" + file);
  const auto* e = info.value()->find(key);
  if (!e) qFatal("fixture %s has no tensor %s", file.c_str(), key.c_str());
  auto t = store->get(key, model::toScalarType(e->dtype), at::kCPU);
  if (!t) qFatal("%s", t.message().c_str());
  return t.value();
}

inline double maxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes()) {
    qWarning("shape mismatch: %s vs %s", model::shapeString(a.sizes()).c_str(), model::shapeString(b.sizes()).c_str());
    return 1e30;
  }
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// Copies a model directory into `target`, adding `delta` to one element of `tensorName`.
inline void writePerturbedCopy(const std::string& sourceDir, const std::string& target, const std::string& tensorName,
                               float delta) {
  QDir().mkpath(QString::fromStdString(target));
  for (const char* f : {"config.json", "adapter_config.json", "tokenizer.model"}) {
    QString src = QString::fromStdString(sourceDir + "/" + f);
    if (QFile::exists(src)) QFile::copy(src, QString::fromStdString(target + "/" + f));
  }
  for (const char* f : {"model.safetensors", "adapter_model.safetensors"}) {
    auto file = io::SafetensorsFile::open(sourceDir + "/" + f);
    if (!file) continue;
    std::vector<std::vector<char>> buffers;
    std::vector<io::TensorToWrite> out;
    for (const auto& [name, e] : file.value()->tensors()) {
      const char* p = static_cast<const char*>(file.value()->data(e));
      buffers.emplace_back(p, p + (e.end - e.begin));
      if (name == tensorName && e.dtype == io::DType::F32) {
        float v;
        std::memcpy(&v, buffers.back().data(), 4);
        v += delta;
        std::memcpy(buffers.back().data(), &v, 4);
      }
      out.push_back({name, e.dtype, e.shape, buffers.back().data(), buffers.back().size()});
    }
    auto ok = io::writeSafetensors(target + "/" + f, out, file.value()->metadata());
    if (!ok) qFatal("%s", ok.message().c_str());
  }
}

}  // namespace dqa::test
