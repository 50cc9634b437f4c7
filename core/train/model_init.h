#pragma once
// A new model from scratch: config.json in the LLaVA layout the core loads, and
// randomly initialised weights (as Hugging Face initialises LLaMA/CLIP).
#include <cstdint>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/io/model_config.h"

namespace dqa::train {

struct ModelShape {
  // Vision encoder (CLIP-ViT shaped). Early fusion: the encoder of a distorted image
  // sees these features of it and its reference (3 channels each; see io::VisionInputFeature).
  int visionWidth = 192, visionLayers = 4, visionHeads = 3, visionMlp = 768;
  int patchSize = 14, imageSize = 140;
  bool earlyFusion = true;
  std::vector<std::string> inputFeatures{"image", "difference"};
  // Decoder (LLaMA shaped).
  int vocabSize = 2048, width = 256, layers = 4, heads = 4, kvHeads = 4, mlp = 688;
  int contextLength = 1024;
};

// The config.json text for `shape`.
std::string modelConfigJson(const ModelShape& shape);

// Writes config.json and model.safetensors with fresh weights into `directory`.
Status writeInitialModel(const ModelShape& shape, const std::string& directory, uint64_t seed);

}  // namespace dqa::train
