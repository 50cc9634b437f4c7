#pragma once
// config.json of a model directory (Hugging Face layout) parsed into plain structs.
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/common/working_space.h"

namespace dqa::io {

// What a vision_config describes: a CLIP ViT (the paper's encoder, and every converted
// checkpoint), or DepictQA desktop's own convolutional quality encoder
// (model_type "depictqa_quality_encoder", core/model/quality_encoder.h).
enum class VisionKind { Clip, QualityConv };

// The quality encoder's input channels: the image and how it differs from its reference
// and, in comparisons, from the other image (zeros where that image is absent).
enum class QualityInput {
  Image,           // pixels in [0,1], minus 0.5 (3 channels)
  RefDiff,         // image - reference (3)
  RefAbsDiff,      // |image - reference|: error energy (3)
  RefGms,          // 1 - gradient-magnitude similarity to the reference at 1, 1/2, 1/4 scale (3)
  Highpass,        // |image - 3x3 box blur(image)|: grain and sharpness without a reference (3)
  OtherDiff,       // image - the other image of a comparison (3)
  OtherAbsDiff,    // |image - other| (3)
  OtherGms,        // 1 - gradient-magnitude similarity to the other image, three scales (3)
  Flags,           // 1 where a reference / other image is given, else 0 (2)
  RefGradRatio,    // (m - m_ref) / (m + m_ref + 0.02) of gradient magnitudes, three scales: which way
                   // structure changed (blur < 0 < noise, halos), which the symmetric GMS cannot say (3)
  OtherGradRatio,  // the same against the other image (3)
  OtherHighpass,   // |other - 3x3 box blur(other)| (3)
  Mscn,            // BRISQUE's natural-scene statistics of the luma: the mean-subtracted contrast-normalised
                   // value (7x7 Gaussian window) at scales 1 and 1/2, and at scale 1 its products with the
                   // right and the lower neighbour (4); they hold across distortion types
  OtherMscn,       // the same of the other image (4)
  RefSsim,         // 1 - SSIM of the luma against the reference (7x7 box window) at 1, 1/2, 1/4 scale: the
                   // local structure and contrast SSIM compares, which the gradient features do not (3)
};
int qualityInputChannels(QualityInput input);
Result<QualityInput> parseQualityInput(const std::string& name);

struct VisionConfig {
  VisionKind kind = VisionKind::Clip;
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
  bool dropClassToken = true;  // "default" strategy drops CLS, "full" keeps it

  // QualityConv only. Space-to-depth by 4, then stages at 1/4, 1/8 and 1/16 of the
  // image, then the token width at 1/16 (hiddenSize = stageWidths[3]); patchSize is the
  // stride (16), imageSize the patch size it was trained on.
  std::vector<int> stageWidths;
  std::vector<int> stageBlocks;  // residual blocks per stage (4 entries)
  std::vector<QualityInput> qualityInputs;
  std::vector<float> inputScales;            // per input feature (defaults from the feature)
  int maxTokenGrid = 8;                      // the decoder sees at most this many tokens per side
  int headWidth = 128;                       // the heads' shared hidden layer
  std::vector<std::string> distortionTypes;  // the type head's classes; [0] is "none"
  // A fourth head: each aspect's own score (its MOS - 3), from which a stated preference
  // re-weighs the comparison exactly as the data engine's labels do (config
  // "aspect_scores": true).
  bool aspectScores = false;
  // Where that head reads from ("aspect_score_width"): 0, a linear layer on the heads'
  // shared layer (every model before 2026-12-07); N, its own GELU layer of width N on the
  // pooled map, so it can be refitted alone without touching what the other heads and
  // the quality token read.
  int aspectScoreWidth = 0;
  // P(A better than B) = sigmoid(pairScale * (score_A - score_B)); fitted on validation
  // pairs after training so that the probability is calibrated.
  double pairScale = 3.0;
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
  VisionConfig vision;  // ClipVision, Llava
  TextConfig text;      // Llama, Llava
  ProjectorConfig projector;
  int imageTokenIndex = -1;
  // DepictQA extension: the encoder of a distorted image also sees its reference
  // (early fusion, config "vision_early_fusion"), as the features listed in
  // "vision_input_features" (default: image, difference). Off for CLIP checkpoints.
  bool visionEarlyFusion = false;
  std::vector<VisionInputFeature> visionInputFeatures{VisionInputFeature::Image};
  // "working_colour_space": the colour space images are converted to before the model
  // sees them (the one it was trained in); sRGB when absent.
  WorkingSpace workingSpace = WorkingSpace::Srgb;
  // "verdict_temperature": the A/B verdict's calibration (gen::temperedLetterProbabilities;
  // depictqa-eval --fit-verdict-temperature writes it); 1 when absent.
  // "verdict_temperature_no_reference": the same for comparisons without a reference,
  // which a model gets right less often than those with one, so one temperature
  // calibrates neither (docs/model.md, "Confidence"); absent: verdict_temperature.
  double verdictTemperature = 1.0;
  double verdictTemperatureNoReference = 0;  // 0: not given
  double verdictTemperatureFor(bool withReference) const {
    return !withReference && verdictTemperatureNoReference > 0 ? verdictTemperatureNoReference : verdictTemperature;
  }
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
// The working space <modelDirectory>/config.json names, read without loading the model
// (so images can be loaded, and their errors shown, before a slow model load). sRGB when
// the config cannot be read: loading the model then reports why.
WorkingSpace workingSpaceOfModel(const std::string& modelDirectory);
Result<LoraConfig> parseLoraConfig(const std::string& jsonText);
Result<LoraConfig> loadLoraConfig(const std::string& path);

// Reads a whole (small) text file; refuses files above maxBytes.
Result<std::string> readTextFile(const std::string& path, size_t maxBytes = 16 << 20);

}  // namespace dqa::io
