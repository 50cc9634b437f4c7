#include "core/train/model_average.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include "core/io/model_config.h"
#include "core/io/safetensors.h"
#include "core/model/weights.h"
#include "core/train/model_io.h"

namespace dqa::train {

namespace fs = std::filesystem;

namespace {

Result<nlohmann::json> readConfig(const std::string& directory) {
  const std::string path = directory + "/config.json";
  auto text = io::readTextFile(path);
  if (!text) return text.error();
  auto config = nlohmann::json::parse(text.value(), nullptr, false);
  if (config.is_discarded()) return makeError(path + " is not valid JSON");
  return config;
}

// Every directory after the first has the first's config and tokenizer.
Status checkSameModel(const std::vector<std::string>& directories) {
  auto first = readConfig(directories.front());
  if (!first) return first.error();
  auto firstTokenizer = io::readTextFile(directories.front() + "/tokenizer.model", 64 << 20);
  if (!firstTokenizer) return firstTokenizer.error();
  for (size_t i = 1; i < directories.size(); ++i) {
    auto config = readConfig(directories[i]);
    if (!config) return config.error();
    if (config.value() != first.value())
      return makeError(directories[i] + "/config.json differs from " + directories.front() +
                       "/config.json; only runs of one model (the same shape and settings, trained from the same "
                       "starting point) can be averaged");
    auto tokenizer = io::readTextFile(directories[i] + "/tokenizer.model", 64 << 20);
    if (!tokenizer) return tokenizer.error();
    if (tokenizer.value() != firstTokenizer.value())
      return makeError(directories[i] + "/tokenizer.model differs from " + directories.front() +
                       "/tokenizer.model; models with different tokenizers cannot be averaged");
  }
  return Ok{};
}

// The mean of each tensor of the first file over all files, in the first file's order.
Result<std::vector<std::pair<std::string, at::Tensor>>> meanTensors(
    const std::vector<std::shared_ptr<io::SafetensorsFile>>& files) {
  const auto& first = *files.front();
  for (size_t i = 1; i < files.size(); ++i)
    if (files[i]->tensors().size() != first.tensors().size())
      return makeError(files[i]->path() + " has " + std::to_string(files[i]->tensors().size()) + " tensors but " +
                       first.path() + " has " + std::to_string(first.tensors().size()));
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& [name, entry] : first.tensors()) {
    at::Tensor sum = at::zeros(entry.shape, at::kDouble);  // float64: the mean of float32 values stays exact
    for (const auto& file : files) {
      const io::TensorEntry* e = file->find(name);
      if (!e) return makeError(file->path() + " has no tensor '" + name + "' (" + first.path() + " has)");
      if (e->dtype != io::DType::F32)
        return makeError(file->path() + ": '" + name + "' is " + io::dtypeName(e->dtype) +
                         "; only float32 model directories (as depictqa-train writes them) can be averaged");
      if (e->shape != entry.shape)
        return makeError(file->path() + ": '" + name + "' has shape " + model::shapeString(e->shape) + " but " +
                         model::shapeString(entry.shape) + " in " + first.path());
      // The mapping outlives this use; from_blob only reads it here.
      sum += at::from_blob(const_cast<void*>(file->data(*e)), e->shape, at::kFloat).to(at::kDouble);
    }
    out.emplace_back(name, (sum / double(files.size())).to(at::kFloat));
  }
  return out;
}

}  // namespace

Status averageModelDirectories(const std::vector<std::string>& directories, const std::string& outDirectory) {
  if (directories.size() < 2)
    return makeError("averaging needs two or more model directories, got " + std::to_string(directories.size()));
  std::error_code ec;
  for (size_t i = 0; i < directories.size(); ++i) {
    if (fs::exists(outDirectory, ec) && fs::equivalent(directories[i], outDirectory, ec))
      return makeError("the output directory " + outDirectory + " is one of the models being averaged");
    for (size_t j = 0; j < i; ++j)
      if (fs::equivalent(directories[i], directories[j], ec))
        return makeError(directories[i] + " is given twice; average runs that differ (e.g. in --seed)");
  }
  if (auto same = checkSameModel(directories); !same) return same;
  std::vector<std::shared_ptr<io::SafetensorsFile>> files;
  for (const auto& d : directories) {
    auto file = io::SafetensorsFile::open(d + "/model.safetensors");
    if (!file) return file.error();  // the reader's message names the file
    files.push_back(file.value());
  }
  try {
    auto tensors = meanTensors(files);
    if (!tensors) return tensors.error();
    const std::string staging = outDirectory + ".partial";
    fs::remove_all(staging, ec);
    if (auto ok = writeModelDirectory(tensors.value(), directories.front() + "/config.json", nlohmann::json::object(),
                                      directories.front() + "/tokenizer.model", staging);
        !ok)
      return ok;
    return replaceDirectory(staging, outDirectory);
  } catch (const c10::Error& e) {
    return makeError(std::string("averaging the weights failed: ") + e.what_without_backtrace());
  }
}

namespace {

// Whether `weights` are the ones whose sums are kept: the same names and shapes, in order.
Status sameWeights(const std::vector<std::pair<std::string, at::Tensor>>& sums, const model::NamedParameters& weights) {
  if (sums.size() != weights.size())
    return makeError("the weight average holds " + std::to_string(sums.size()) + " tensors but the model has " +
                     std::to_string(weights.size()));
  for (size_t i = 0; i < sums.size(); ++i)
    if (sums[i].first != weights[i].first || !sums[i].second.sizes().equals(weights[i].second->sizes()))
      return makeError("the weight average's tensor " + std::to_string(i) + " is '" + sums[i].first + "' " +
                       model::shapeString(sums[i].second.sizes()) + " but the model's is '" + weights[i].first + "' " +
                       model::shapeString(weights[i].second->sizes()));
  return Ok{};
}

}  // namespace

Status RunningWeightMean::add(const model::NamedParameters& weights) {
  at::NoGradGuard noGrad;
  if (count_ == 0) {
    sums_.clear();
    // A copy even where the weight is float64 already: the sums must not alias the weights.
    for (const auto& [name, t] : weights) sums_.emplace_back(name, t->detach().to(at::kDouble, false, true));
  } else {
    if (auto same = sameWeights(sums_, weights); !same) return same;
    for (size_t i = 0; i < sums_.size(); ++i) sums_[i].second += weights[i].second->to(at::kDouble);
  }
  ++count_;
  return Ok{};
}

Status RunningWeightMean::copyMeanInto(const model::NamedParameters& weights) const {
  if (count_ == 0) return makeError("the weight average is empty: no step was added to it");
  if (auto same = sameWeights(sums_, weights); !same) return same;
  at::NoGradGuard noGrad;
  for (size_t i = 0; i < sums_.size(); ++i)
    weights[i].second->copy_((sums_[i].second / double(count_)).to(weights[i].second->scalar_type()));
  return Ok{};
}

Status RunningWeightMean::save(const std::string& path) const {
  std::vector<io::TensorToWrite> out;
  std::vector<at::Tensor> keep;
  for (const auto& [name, sum] : sums_) {
    keep.push_back(sum.contiguous());
    out.push_back(
        {name, io::DType::F64, keep.back().sizes().vec(), keep.back().data_ptr(), size_t(keep.back().nbytes())});
  }
  return io::writeSafetensors(path, out, {{"count", std::to_string(count_)}});
}

Status RunningWeightMean::load(const std::string& path, const model::NamedParameters& weights) {
  auto store = model::WeightStore::open({path});
  if (!store) return store.error();
  auto file = io::SafetensorsFile::open(path);
  if (!file) return file.error();
  const auto& meta = file.value()->metadata();
  const auto count = meta.find("count");
  if (count == meta.end())
    return makeError(path + " has no count of averaged steps; delete the checkpoint to start over");
  std::vector<std::pair<std::string, at::Tensor>> sums;
  for (const auto& [name, t] : weights) {
    auto sum = store->get(name, at::kDouble, at::kCPU, t->sizes().vec());
    if (!sum) return makeError(path + ": " + sum.message() + "; delete the checkpoint to start over");
    sums.emplace_back(name, sum.value().clone());
  }
  try {
    count_ = std::stoi(count->second);
  } catch (const std::exception&) {
    return makeError(path + ": the count of averaged steps '" + count->second + "' is not a number");
  }
  sums_ = std::move(sums);
  return Ok{};
}

}  // namespace dqa::train
