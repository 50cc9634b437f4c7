#include "core/train/model_average.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
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

}  // namespace dqa::train
