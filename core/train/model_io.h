#pragma once
// Writing a model directory from the trainer: every weight as float32 safetensors, the
// config.json (optionally with changed vision_config fields) and the tokenizer.
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "core/common/result.h"
#include "core/model/multimodal.h"

namespace dqa::train {

// Writes `tensors` as float32 model.safetensors, the config.json at `configPath` with
// `visionConfigChanges` set in its vision_config, and a copy of the tokenizer (none when
// `tokenizerPath` is empty or already the directory's own).
Status writeModelDirectory(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                           const std::string& configPath, const nlohmann::json& visionConfigChanges,
                           const std::string& tokenizerPath, const std::string& directory);

// The model's weights through writeModelDirectory, with its own config.json.
// `visionConfigChanges`: fields to set in config.json's vision_config (e.g. pair_scale).
Status saveModelDirectory(model::MultimodalModel& model, const std::string& directory, const std::string& tokenizerPath,
                          const nlohmann::json& visionConfigChanges = nlohmann::json::object());

// Replaces `directory` by `staging` atomically enough for a crash: the old one is
// removed only after the new one is complete.
Status replaceDirectory(const std::string& staging, const std::string& directory);

// A loss curve (and optional validation curve) as a PNG.
void drawCurves(const std::string& path, const std::string& title, const std::vector<std::pair<int, double>>& train,
                const std::vector<std::pair<int, double>>& validation);

}  // namespace dqa::train
