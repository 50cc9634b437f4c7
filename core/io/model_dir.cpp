#include "core/io/model_dir.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/io/model_config.h"

namespace dqa::io {
namespace {

std::vector<std::string> listDirectory(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A model directory must hold config.json; the weights are checked later.
bool looksLikeModel(const std::string& dir) { return isRegularFile(dir + "/config.json"); }

}  // namespace

bool isDirectory(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool isRegularFile(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string executableDirectory() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  auto slash = p.rfind('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}

Status checkAdapterDirectory(const std::string& dir) {
  if (!isRegularFile(dir + "/adapter_config.json"))
    return makeError("'" + dir + "' has no adapter_config.json (expected a peft LoRA adapter)");
  if (!isRegularFile(dir + "/adapter_model.safetensors")) {
    if (isRegularFile(dir + "/adapter_model.bin"))
      return makeError("'" + dir +
                       "/adapter_model.bin' is a pickled checkpoint, which can run "
                       "code when loaded; convert it once with `depictqa convert` to safetensors");
    return makeError("'" + dir + "' has no adapter_model.safetensors");
  }
  return Ok{};
}

Result<ModelFiles> discoverModelFiles(const std::string& directory) {
  if (!isDirectory(directory))
    return makeError("model directory '" + directory + "' does not exist or is not a directory");
  ModelFiles files;
  files.directory = directory;
  files.configPath = directory + "/config.json";
  if (!isRegularFile(files.configPath))
    return makeError("'" + directory + "' is not a model directory: config.json is missing");

  const auto names = listDirectory(directory);
  const std::string index = directory + "/model.safetensors.index.json";
  if (isRegularFile(index)) {
    auto text = readTextFile(index);
    if (!text) return text.error();
    auto j = nlohmann::json::parse(text.value(), nullptr, false);
    auto map = j.is_object() ? j.find("weight_map") : j.end();
    if (map == j.end() || !map->is_object()) return makeError(index + ": no weight_map object; the index is damaged");
    std::set<std::string> shards;
    for (auto it = map->begin(); it != map->end(); ++it) {
      if (!it->is_string()) return makeError(index + ": weight_map values must be file names");
      std::string shard = it->get<std::string>();
      if (shard.find('/') != std::string::npos || shard.find("..") != std::string::npos)
        return makeError(index + ": shard name '" + shard + "' must be a plain file name");
      shards.insert(shard);
    }
    for (const auto& s : shards) {
      if (!isRegularFile(directory + "/" + s)) return makeError("shard '" + s + "' listed in " + index + " is missing");
      files.weightFiles.push_back(directory + "/" + s);
    }
  } else {
    for (const auto& n : names) {
      if (endsWith(n, ".safetensors") && n != "expected.safetensors" && n.rfind("adapter_", 0) != 0)
        files.weightFiles.push_back(directory + "/" + n);
    }
  }
  if (files.weightFiles.empty()) {
    for (const auto& n : names) {
      if (endsWith(n, ".bin") || endsWith(n, ".pt") || endsWith(n, ".pth") || endsWith(n, ".ckpt"))
        return makeError("'" + directory + "' holds only pickled weights (" + n +
                         "), which can execute code when loaded and are never opened by this "
                         "app. Convert them once with `depictqa convert` to safetensors.");
    }
    return makeError("'" + directory + "' has no *.safetensors weights");
  }
  if (isRegularFile(directory + "/tokenizer.model")) files.tokenizerPath = directory + "/tokenizer.model";
  if (isRegularFile(directory + "/adapter_config.json"))
    files.adapterDirectory = directory;
  else if (isRegularFile(directory + "/adapter/adapter_config.json"))
    files.adapterDirectory = directory + "/adapter";
  return files;
}

Result<std::string> locateModelDirectory(const ModelLookup& lookup, std::vector<std::string>* tried) {
  std::vector<std::string> candidates;
  if (!lookup.explicitPath.empty()) {
    // An explicit choice is never silently replaced by another model.
    if (tried) tried->push_back(lookup.explicitPath);
    if (!looksLikeModel(lookup.explicitPath))
      return makeError("'" + lookup.explicitPath + "' is not a model directory (no config.json)");
    return lookup.explicitPath;
  }
  if (const char* env = std::getenv("DEPICTQA_MODEL"); env && *env) candidates.push_back(env);
  if (!lookup.savedSetting.empty()) candidates.push_back(lookup.savedSetting);
  std::vector<std::string> dataDirs;
  if (const char* home = std::getenv("XDG_DATA_HOME"); home && *home)
    dataDirs.push_back(home);
  else if (const char* h = std::getenv("HOME"); h && *h)
    dataDirs.push_back(std::string(h) + "/.local/share");
  std::string xdg = std::getenv("XDG_DATA_DIRS") ? std::getenv("XDG_DATA_DIRS") : "";
  if (xdg.empty()) xdg = "/usr/local/share:/usr/share";
  std::stringstream ss(xdg);
  for (std::string d; std::getline(ss, d, ':');)
    if (!d.empty()) dataDirs.push_back(d);
  for (const auto& d : dataDirs) candidates.push_back(d + "/depictqa/models/default");
  const std::string exe = executableDirectory();
  candidates.push_back(exe + "/../share/depictqa/models/default");
  candidates.push_back(exe + "/../models/default");     // build tree: build/models
  candidates.push_back(exe + "/../../models/default");  // source tree next to build/
  for (const auto& c : candidates) {
    if (tried) tried->push_back(c);
    if (looksLikeModel(c)) return c;
  }
  std::string msg = "no model found; looked in:";
  for (const auto& c : candidates) msg += "\n  " + c;
  msg += "\nPass --model DIR or set DEPICTQA_MODEL.";
  return makeError(msg);
}

}  // namespace dqa::io
