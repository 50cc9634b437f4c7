#pragma once
// A model is a directory: config.json, *.safetensors (optionally sharded with an
// index), tokenizer.model, optionally a peft LoRA adapter. This finds the files and
// refuses what must not be loaded (pickled checkpoints).
#include <string>
#include <vector>

#include "core/common/result.h"

namespace dqa::io {

struct ModelFiles {
  std::string directory;
  std::string configPath;
  std::vector<std::string> weightFiles;  // safetensors, in a stable order
  std::string tokenizerPath;             // empty when the directory has none
  std::string adapterDirectory;          // empty when there is no LoRA adapter
};

Result<ModelFiles> discoverModelFiles(const std::string& directory);
// An adapter directory (adapter_config.json + adapter_model.safetensors).
Status checkAdapterDirectory(const std::string& directory);

struct ModelLookup {
  std::string explicitPath;  // --model flag
  std::string savedSetting;  // the app's saved setting (empty if none)
};
// Lookup order: flag, DEPICTQA_MODEL, saved setting, XDG data dirs
// (<dir>/depictqa/models/default), bundled default next to the executable.
// Returns the directory and, in `tried`, every place looked at (for messages).
Result<std::string> locateModelDirectory(const ModelLookup& lookup, std::vector<std::string>* tried = nullptr);

std::string executableDirectory();
bool isDirectory(const std::string& path);
bool isRegularFile(const std::string& path);

}  // namespace dqa::io
