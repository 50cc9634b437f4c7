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
