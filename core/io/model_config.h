#pragma once
// config.json of a model directory (Hugging Face layout) parsed into plain structs.
#include <string>
#include <vector>

#include "core/common/result.h"

namespace dqa::io {

struct VisionConfig {
  int hiddenSize = 0;
  int intermediateSize = 0;
  int numLayers = 0;
  int numHeads = 0;
  int imageSize = 224;
  int patchSize = 14;
  int numChannels = 3;
  double layerNormEps = 1e-5;
  std::string hiddenAct = "quick_gelu";  // quick_gelu | gelu
  // Which hidden state feeds the projector: -1 = last layer (DepictQA), -2 = the one
  // before (LLaVA). Index into [embeddings, layer1, ..., layerN] counted from the end.
  int featureLayer = -1;
  bool dropClassToken = true;            // "default" strategy drops CLS, "full" keeps it
};

struct TextConfig {
  int vocabSize = 0;
  int hiddenSize = 0;
  int intermediateSize = 0;
  int numLayers = 0;
  int numHeads = 0;
  int numKvHeads = 0;
  int headDim = 0;
  int maxPositions = 2048;
  double rmsNormEps = 1e-6;
  double ropeTheta = 10000.0;
  int bosId = 1;
  int eosId = 2;
  bool tieWordEmbeddings = false;
  bool attentionBias = false;
};

enum class ProjectorKind { Linear, MlpGelu };  // DepictQA: one linear; LLaVA: linear-GELU-linear

struct ProjectorConfig {
  ProjectorKind kind = ProjectorKind::Linear;
  bool bias = true;
};

enum class Architecture { ClipVision, Llama, Llava };

// What the encoder of an image sees, three channels each (DepictQA extension; CLIP
// checkpoints see only Image). Differences are against the reference and zero without one.
enum class VisionInputFeature {
  Image,              // the normalised pixels
  Difference,         // image - reference
  AbsDifference,      // |image - reference|: error energy, which a linear patch embedding cannot form
  HighpassMagnitude,  // |image - 3x3 box blur(image)|: local noise / sharpness, no reference needed
};

struct ModelConfig {
  Architecture architecture = Architecture::Llama;
  std::string modelType;
  VisionConfig vision;    // ClipVision, Llava
  TextConfig text;        // Llama, Llava
  ProjectorConfig projector;
  int imageTokenIndex = -1;
  // DepictQA extension: the encoder of a distorted image also sees its reference
  // (early fusion, config "vision_early_fusion"), as the features listed in
  // "vision_input_features" (default: image, difference). Off for CLIP checkpoints.
  bool visionEarlyFusion = false;
  std::vector<VisionInputFeature> visionInputFeatures{VisionInputFeature::Image};
};

// "image", "difference", "abs_difference", "highpass_magnitude" -> the enum.
Result<VisionInputFeature> parseVisionInputFeature(const std::string& name);

struct LoraConfig {
  int rank = 0;
  double alpha = 0;
  std::vector<std::string> targetModules;  // e.g. q_proj, k_proj, v_proj, o_proj
  double scaling() const { return rank > 0 ? alpha / rank : 0.0; }
};

Result<ModelConfig> parseModelConfig(const std::string& jsonText);
Result<ModelConfig> loadModelConfig(const std::string& path);
Result<LoraConfig> parseLoraConfig(const std::string& jsonText);
Result<LoraConfig> loadLoraConfig(const std::string& path);

// Reads a whole (small) text file; refuses files above maxBytes.
Result<std::string> readTextFile(const std::string& path, size_t maxBytes = 16 << 20);

}  // namespace dqa::io
