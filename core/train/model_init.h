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
  // "quality": the convolutional quality encoder (core/model/quality_encoder.h), or
  // "clip": a CLIP-ViT shaped encoder.
  std::string visionKind = "quality";
  // Quality encoder: widths at 1/4, 1/8, 1/16 and the token width; residual blocks per stage.
  std::vector<int> stageWidths{48, 64, 96, 128};
  std::vector<int> stageBlocks{2, 1, 1, 1};
  std::vector<std::string> qualityInputs{"image",    "ref_diff",      "ref_absdiff",     "ref_gms",
                                         "highpass", "other_diff",    "other_absdiff",   "other_gms",
                                         "flags",    "ref_gradratio", "other_gradratio", "other_highpass"};
  int maxTokenGrid = 8;
  int headWidth = 128;
  bool aspectScores = true;  // a head for each aspect's own score (preferences weigh them)
  int aspectScoreWidth = 0;  // that head's own hidden layer (0: it reads the shared one)
  // The type head's classes: "none" then the KADID types (data::typeInfo names).
  std::vector<std::string> distortionTypes;
  // CLIP encoder. Early fusion: the encoder of a distorted image
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

// Copies the quality-encoder model in `from` to `directory` with a per-aspect score head
// added (config aspect_scores: fresh weights) and the projector's quality-token linear
// widened for the features that head adds, their columns zero: the copy answers exactly
// as the original until the new head and columns are trained.
Status addAspectScoreHead(const std::string& from, const std::string& directory, uint64_t seed);

// Copies the model in `from` to `directory` with its per-aspect score head replaced by
// fresh weights that read the pooled map through a GELU layer of `width` of their own
// (config aspect_score_width; 0: a linear layer on the heads' shared layer, as before).
// Nothing else changes, so the other heads, the quality token's other features and the
// decoder are the original's; the projector's aspect-score columns keep their weights and
// read the new head's scores, which the same loss trains towards the same targets. The
// model must have the head already (addAspectScoreHead adds one).
Status freshAspectScoreHead(const std::string& from, const std::string& directory, int width, uint64_t seed);

}  // namespace dqa::train
