#pragma once
// The images of one prompt turned into the decoder's visual tokens, whatever the encoder:
//  - CLIP (the paper's, converted checkpoints): DepictQA's preprocessing (downscale when
//    large, black padding, CLIP normalisation), early-fusion channels where configured.
//  - the quality encoder (the bundled model): native resolution in [0,1], replicated
//    padding to a multiple of 16, each image seen against its reference and, in a
//    comparison, against the other image; large images are encoded in overlapping tiles
//    (bounded memory) and their token grid average-pooled to at most maxTokenGrid cells
//    per side instead of being downscaled. Each image's tokens start with a quality token
//    that carries the heads' judgement (and, in a comparison, how it compares with the
//    other image); the spatial tokens follow row by row.
// Several items of equal size go through at once ([N, ...]): the tiles of a whole image.
#include <ATen/ATen.h>

#include <array>
#include <map>
#include <opencv2/core.hpp>
#include <vector>

#include "core/common/result.h"
#include "core/image/preprocess.h"
#include "core/model/quality_encoder.h"
#include "core/model/quality_input.h"
#include "core/text/prompt.h"

namespace dqa::model {

class MultimodalModel;
class FeatureMapCache;

// How one image was placed in front of the encoder, and what came out.
struct EncodedImage {
  text::ImageRole role = text::ImageRole::Single;
  at::Tensor tokens;  // [N, tokens, textHidden]
  int gridHeight = 0, gridWidth = 0;
  bool hasClassToken = false;               // the first token is not a grid cell (CLS kept / quality token)
  int cellSize = 0;                         // pixels of the content per grid cell (patch size x pooling)
  int contentWidth = 0, contentHeight = 0;  // the image after any downscaling (CLIP only)
  int paddedWidth = 0, paddedHeight = 0;    // gridWidth * cellSize, gridHeight * cellSize
  double scale = 1.0;                       // content size / source size
  // Quality encoder only: the heads on the whole image (mean opinion score - 3, aspect
  // severity logits [N, 5, 3], type logits [N, T]), float32 on the CPU.
  bool hasHeads = false;
  at::Tensor score, aspects, types;
  at::Tensor aspectScores;  // [N, 5] (models with aspect scores; else undefined)
  // [N] preferenceWeighedScore with the options' aspect weights (models with aspect
  // scores, when the options state a preference; else undefined)
  at::Tensor preferenceScore;
};

struct EncodeOptions {
  int clipMaxSide = 0;   // CLIP: longest side after downscaling (0: 3 x image_size)
  int maxTokenGrid = 0;  // quality encoder: tokens per side at most (0: the config's)
  int tileSide = 1024;   // quality encoder: tile core size for large images (multiple of 16)
  int tileMargin = 128;  // context around each tile (the receptive field, multiple of 16)
  // A stated preference as aspect weights (data::preferenceWeights: 3 for "can't
  // tolerate", 0.3 for "don't mind", 1 elsewhere); models with aspect scores weigh their
  // comparison with it, as the data engine's labels do.
  std::array<double, 5> aspectWeights{1, 1, 1, 1, 1};
  // Quality encoder: where given, the feature maps of single images are taken from it
  // when it holds those of the same pixels, and kept there (feature_map_cache.h).
  FeatureMapCache* featureMapCache = nullptr;
};

// RGB CV_8UC3 / CV_16UC3 -> [3, H, W] float in [0,1].
Result<at::Tensor> unitPixels(const cv::Mat& rgb);

// `images`: for each role the prompt uses, N images (RGB CV_8UC3 / CV_16UC3) of one size
// per role (the quality encoder also needs the reference, A and B at one size: it
// compares them pixel by pixel). Returns one entry per role. Errors name the role and
// what to do; torch failures throw c10::Error, caught by the caller at its boundary.
using RoleImages = std::map<text::ImageRole, std::vector<cv::Mat>>;
Result<std::map<text::ImageRole, EncodedImage>> encodeImages(const MultimodalModel& model, const RoleImages& images,
                                                             const EncodeOptions& options = {});

// Visual tokens an image of cols x rows pixels becomes (for fitting a prompt into the
// context window before encoding anything).
int64_t visualTokenCount(const io::ModelConfig& config, int cols, int rows, const EncodeOptions& options);

// The quality encoder's feature map of a view, computed in overlapping tiles when the
// image is larger than one tile: [N, D, ceil(H/16), ceil(W/16)] (input padded by
// replication to multiples of 16).
at::Tensor qualityFeatureMap(const QualityEncoder& encoder, const QualityView& view, const EncodeOptions& options);
// The same for several views of images of one size (A against B and B against A), tile by
// tile together: their per-image input work is shared and the encoder runs on them as
// one batch. One map per view, in order.
std::vector<at::Tensor> qualityFeatureMaps(const QualityEncoder& encoder, const std::vector<QualityView>& views,
                                           const EncodeOptions& options);

// [N, D, h, w] -> [N, D, ceil(h/k), ceil(w/k)] with k the smallest factor that brings
// both sides to at most maxGrid (average over the cells each token covers). `factor`
// (optional) receives k.
at::Tensor poolTokenGrid(const at::Tensor& map, int maxGrid, int* factor = nullptr);

// What the quality token is made of: the heads' hidden layer and outputs, and how the
// image compares with `other` (score difference, per-aspect expected-severity
// difference, a flag; with aspect scores also the difference of the aspect-combined
// score, plain and weighted by the preference, and whether one was stated; zeros
// without an other image): [N, qualityTokenFeatureCount]. With aspect scores and a stated
// preference the score difference is that of preferenceWeighedScore. `pairSign` orients the
// differences: +1 gives self − other, −1 other − self. The engine passes +1 for A and −1
// for B, so both images' tokens carry "A minus B" and a decoder that averages over all
// visual tokens (as attention does before it has learned where to look) still sees which
// image is better; with self − other on both, the two would cancel.
at::Tensor qualityTokenFeatures(const QualityHeads& self, const QualityHeads* other,
                                const std::array<double, 5>& aspectWeights = {1, 1, 1, 1, 1}, double pairSign = 1.0);
int64_t qualityTokenFeatureCount(const io::VisionConfig& config);

// The score (MOS - 3) an image would have if its aspects counted with these weights:
// each aspect's quality fraction (its score head) raised to its weight, multiplied, as
// data::combineMos does with a preference. [N]; needs aspect scores.
at::Tensor weightedScore(const QualityHeads& heads, const std::array<double, 5>& aspectWeights);

// The score head's value moved by what a stated preference changes: score +
// weightedScore(weights) - weightedScore(all 1). The overall level stays the score head's
// (trained on human scores, calibrated by pair_scale); the aspect scores only say how a
// preference shifts it. Without aspect scores, or with every weight 1: the score. [N]
at::Tensor preferenceWeighedScore(const QualityHeads& heads, const std::array<double, 5>& aspectWeights);
bool statesPreference(const std::array<double, 5>& aspectWeights);  // some weight is not 1

}  // namespace dqa::model
