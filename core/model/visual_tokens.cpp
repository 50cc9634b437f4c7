#include "core/model/visual_tokens.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "core/model/feature_map_cache.h"
#include "core/model/multimodal.h"
#include "core/model/vision_input.h"

namespace dqa::model {
namespace {

using text::ImageRole;

const char* roleLabel(ImageRole r) {
  return r == ImageRole::Reference ? "reference image" : r == ImageRole::B ? "image B" : "image A";
}

int clipMaxSide(const io::ModelConfig& cfg, const EncodeOptions& o) {
  return o.clipMaxSide > 0 ? o.clipMaxSide : std::max(3 * cfg.vision.imageSize, image::PreprocessOptions{}.minSide);
}

// ---------------------------------------------------------------- CLIP (DepictQA's path)
Result<std::map<ImageRole, EncodedImage>> encodeClip(const MultimodalModel& model, const RoleImages& images,
                                                     const EncodeOptions& o) {
  const auto& cfg = model.config();
  image::PreprocessOptions pre;
  pre.patchSize = cfg.vision.patchSize;
  pre.maxSide = clipMaxSide(cfg, o);
  std::map<ImageRole, at::Tensor> pixels;  // role -> [N, 3, H, W] normalised
  std::map<ImageRole, EncodedImage> out;
  for (const auto& [role, mats] : images) {
    std::vector<at::Tensor> rows;
    EncodedImage e;
    e.role = role;
    for (size_t i = 0; i < mats.size(); ++i) {
      auto p = image::preprocess(mats[i], pre);
      if (!p) return makeError(std::string(roleLabel(role)) + ": " + p.message());
      at::Tensor t = pixelTensor(p.value());  // [3, H, W]
      if (!rows.empty() && t.sizes() != rows.front().sizes())
        return makeError("the images of a batch must all have the same size (" + std::string(roleLabel(role)) +
                         ", item " + std::to_string(i) + ")");
      if (rows.empty()) {
        e.gridHeight = p->gridHeight();
        e.gridWidth = p->gridWidth();
        e.cellSize = pre.patchSize;
        e.contentWidth = p->contentWidth;
        e.contentHeight = p->contentHeight;
        e.paddedWidth = p->width;
        e.paddedHeight = p->height;
        e.scale = p->scale;
        e.hasClassToken = !cfg.vision.dropClassToken;
      }
      rows.push_back(t);
    }
    pixels[role] = at::stack(rows);
    out[role] = e;
  }
  for (auto& [role, e] : out) {
    // With early fusion the encoder also sees how the image differs from the reference.
    at::Tensor reference;
    auto ref = pixels.find(ImageRole::Reference);
    if (role != ImageRole::Reference && ref != pixels.end()) reference = ref->second;
    e.tokens = model.imageEmbeddings(encoderInput(cfg, pixels.at(role), reference));  // [N, tokens, hidden]
  }
  return out;
}

// ---------------------------------------------------------------- quality encoder
struct QualityRun {
  EncodedImage encoded;
  at::Tensor map;  // [N, D, h, w]
  QualityHeads heads;
};

}  // namespace

Result<at::Tensor> unitPixels(const cv::Mat& rgb) {
  if (rgb.empty()) return makeError("the image is empty");
  if (rgb.type() != CV_8UC3 && rgb.type() != CV_16UC3)
    return makeError("expected 3-channel RGB with 8 or 16 bits per channel, got " + cv::typeToString(rgb.type()));
  cv::Mat unit;
  rgb.convertTo(unit, CV_32F, rgb.depth() == CV_16U ? 1.0 / 65535.0 : 1.0 / 255.0);
  at::Tensor hwc = at::from_blob(unit.data, {unit.rows, unit.cols, 3}, {int64_t(unit.step1()), 3, 1}, at::kFloat);
  return hwc.permute({2, 0, 1}).contiguous();  // [3, H, W] (a copy: `unit` dies here)
}

at::Tensor poolTokenGrid(const at::Tensor& map, int maxGrid, int* factor) {
  const int64_t h = map.size(2), w = map.size(3);
  const int64_t k = std::max<int64_t>(1, (std::max(h, w) + maxGrid - 1) / std::max(1, maxGrid));
  if (factor) *factor = int(k);
  if (k == 1) return map;
  return at::avg_pool2d(map, {k, k}, {k, k}, {0, 0}, /*ceil_mode=*/true, /*count_include_pad=*/false);
}

namespace {

// Each view's input for one crop, computed with one cache, encoded as one batch and split
// back: {[N_k, D, h, w]} per view (the views may hold different batch sizes N_k).
std::vector<at::Tensor> encodeViews(const QualityEncoder& encoder, const std::vector<QualityView>& views) {
  QualityInputCache cache;
  const at::Tensor& x = views[0].image;  // [N, 3, H, W]
  int64_t total = 0;
  for (const auto& v : views) total += v.image.size(0);
  at::Tensor inputs =
      at::empty({total, qualityEncoderInputChannels(encoder.config()), x.size(2), x.size(3)}, x.options());
  int64_t first = 0;
  for (const auto& v : views) {
    writeQualityEncoderInput(encoder.config(), v, &cache, inputs.narrow(0, first, v.image.size(0)));
    first += v.image.size(0);
  }
  const at::Tensor maps = encoder.featureMap(inputs);  // [sum N_k, D, H/16, W/16]
  std::vector<at::Tensor> out;
  first = 0;
  for (const auto& v : views) {
    out.push_back(maps.narrow(0, first, v.image.size(0)));
    first += v.image.size(0);
  }
  return out;
}

}  // namespace

at::Tensor qualityFeatureMap(const QualityEncoder& encoder, const QualityView& view, const EncodeOptions& o) {
  return qualityFeatureMaps(encoder, {view}, o)[0];
}

std::vector<at::Tensor> qualityFeatureMaps(const QualityEncoder& encoder, const std::vector<QualityView>& views,
                                           const EncodeOptions& o) {
  constexpr int S = QualityEncoder::kStride;
  // One padded copy per image, however many views hold it (A is B's other image, the
  // reference is in every view): the input cache then recognises it across views.
  std::map<const c10::TensorImpl*, at::Tensor> paddedCopies;
  auto padded = [&](const at::Tensor& t) {
    if (!t.defined()) return t;
    auto [it, added] = paddedCopies.try_emplace(t.unsafeGetTensorImpl());
    if (added) it->second = padReplicate(t, S);
    return it->second;
  };
  std::vector<QualityView> whole;
  for (const auto& v : views) whole.push_back({padded(v.image), padded(v.reference), padded(v.other)});
  const int64_t H = whole[0].image.size(2), W = whole[0].image.size(3);
  const int64_t side = std::max<int64_t>(S, o.tileSide / S * S), margin = std::max<int64_t>(0, o.tileMargin / S * S);
  if (H <= side + 2 * margin && W <= side + 2 * margin) return encodeViews(encoder, whole);  // {[N, D, H/16, W/16]}
  // Overlapping tiles: each computes its core with `margin` pixels of context, so the
  // result matches the whole-image computation away from the image borders.
  std::vector<at::Tensor> out(views.size());
  for (int64_t y = 0; y < H; y += side) {
    for (int64_t x = 0; x < W; x += side) {
      const int64_t y0 = std::max<int64_t>(0, y - margin), x0 = std::max<int64_t>(0, x - margin);
      const int64_t y1 = std::min(H, y + side + margin), x1 = std::min(W, x + side + margin);
      auto crop = [&](const at::Tensor& t) {
        return t.defined() ? t.narrow(2, y0, y1 - y0).narrow(3, x0, x1 - x0) : t;
      };
      std::vector<QualityView> crops;
      for (const auto& v : whole) crops.push_back({crop(v.image), crop(v.reference), crop(v.other)});
      const std::vector<at::Tensor> maps = encodeViews(encoder, crops);
      const int64_t coreH = std::min(side, H - y) / S, coreW = std::min(side, W - x) / S;
      for (size_t k = 0; k < maps.size(); ++k) {
        const at::Tensor& f = maps[k];  // [N, D, (y1-y0)/16, (x1-x0)/16]
        if (!out[k].defined()) out[k] = at::empty({f.size(0), f.size(1), H / S, W / S}, f.options());
        out[k]
            .narrow(2, y / S, coreH)
            .narrow(3, x / S, coreW)
            .copy_(f.narrow(2, (y - y0) / S, coreH).narrow(3, (x - x0) / S, coreW));
      }
    }
  }
  return out;
}

int64_t qualityTokenFeatureCount(const io::VisionConfig& c) {
  return int64_t(c.headWidth) + 1 + 15 + int64_t(c.distortionTypes.size()) + 7 + (c.aspectScores ? 5 + 3 : 0);
}

at::Tensor weightedScore(const QualityHeads& h, const std::array<double, 5>& w) {
  // Quality fraction of each aspect, (MOS - 1) / 3.6 as data::qualityFraction.
  const at::Tensor fraction = ((h.aspectScores + 2.0) / 3.6).clamp(1e-3, 1.0);  // [N, 5]
  // Made as double, then cast: at::tensor cannot fill a bfloat16 tensor, and under CPU
  // autocast (depictqa-train --bf16) the aspect scores are bfloat16.
  const at::Tensor weights =
      at::tensor(std::vector<double>(w.begin(), w.end()), at::kDouble).to(fraction.options());  // [5]
  return (fraction.log() * weights).sum(1).exp() * 3.6 - 2.0;                                   // [N]
}

bool statesPreference(const std::array<double, 5>& w) {
  return std::any_of(w.begin(), w.end(), [](double x) { return x != 1.0; });
}

at::Tensor preferenceWeighedScore(const QualityHeads& h, const std::array<double, 5>& w) {
  if (!h.aspectScores.defined() || !statesPreference(w)) return h.score;
  return h.score + weightedScore(h, w) - weightedScore(h, {1, 1, 1, 1, 1});  // [N]
}

at::Tensor qualityTokenFeatures(const QualityHeads& self, const QualityHeads* other,
                                const std::array<double, 5>& aspectWeights, double pairSign) {
  const at::Tensor aspects = self.aspects.softmax(-1);  // [N, 5, 3]
  const int64_t N = self.score.size(0);
  const bool scores = self.aspectScores.defined();
  const bool preference = statesPreference(aspectWeights);
  at::Tensor pair;
  if (other) {
    // Expected severity (0 undistorted .. 2 severe) per aspect, self minus other.
    const at::Tensor levels = at::arange(3, aspects.options());
    const at::Tensor mine = (aspects * levels).sum(-1),
                     theirs = (other->aspects.softmax(-1) * levels).sum(-1);  // [N, 5]
    // The differences are what a verdict needs: amplified so that they are not a few
    // percent of the token next to the 128-wide hidden layer (rms ~2), which kept the
    // decoder's verdict at chance for hundreds of steps.
    constexpr double kPairGain = 8.0;
    const double g = kPairGain * pairSign;
    // The score difference is the feature the decoder's verdict learned to follow (stages
    // 2-4 saw no other); with a stated preference it carries the preference-weighed
    // difference, so the verdict weighs the preference as the heads do instead of waiting
    // for the decoder to learn the extra features below (on flipped validation pairs the
    // written verdict followed the preference 52.9% of the time with the plain difference
    // here, 73.5% with this; docs/model.md, "Preferences").
    // (preferenceWeighedScore is the score itself without aspect scores or a preference.)
    const at::Tensor scoreDifference =
        preferenceWeighedScore(self, aspectWeights) - preferenceWeighedScore(*other, aspectWeights);  // [N]
    std::vector<at::Tensor> parts{(g * scoreDifference).unsqueeze(1), g * (mine - theirs),
                                  at::ones({N, 1}, aspects.options())};
    if (scores) {
      const std::array<double, 5> plain{1, 1, 1, 1, 1};
      parts.push_back((g * (weightedScore(self, plain) - weightedScore(*other, plain))).unsqueeze(1));
      parts.push_back((g * (weightedScore(self, aspectWeights) - weightedScore(*other, aspectWeights))).unsqueeze(1));
      parts.push_back(at::full({N, 1}, preference ? 1.0 : 0.0, aspects.options()));
    }
    pair = at::cat(parts, 1);
  } else {
    pair = at::zeros({N, scores ? 10 : 7}, aspects.options());
  }
  std::vector<at::Tensor> all{self.hidden, self.score.unsqueeze(1), aspects.flatten(1), self.types.softmax(-1)};
  if (scores) all.push_back(self.aspectScores);
  all.push_back(pair);
  return at::cat(all, 1);
}

int64_t visualTokenCount(const io::ModelConfig& cfg, int cols, int rows, const EncodeOptions& o) {
  if (cfg.vision.kind == io::VisionKind::QualityConv) {
    constexpr int S = QualityEncoder::kStride;
    const int64_t h = (rows + S - 1) / S, w = (cols + S - 1) / S;
    const int maxGrid = o.maxTokenGrid > 0 ? o.maxTokenGrid : cfg.vision.maxTokenGrid;
    const int64_t k = std::max<int64_t>(1, (std::max(h, w) + maxGrid - 1) / maxGrid);
    return ((h + k - 1) / k) * ((w + k - 1) / k) + 1;
  }
  image::PreprocessOptions pre;
  pre.patchSize = cfg.vision.patchSize;
  pre.maxSide = clipMaxSide(cfg, o);
  const cv::Size grid = image::patchGrid(cols, rows, pre);
  return int64_t(grid.width) * grid.height + (cfg.vision.dropClassToken ? 0 : 1);
}

namespace {

// The cache keys of the views encodeQuality makes, in role order (the reference seen
// against itself, A against B and B against A); empty unless every role holds one
// image (the engine's questions; batches of tiles are not cached).
std::vector<FeatureMapKey> viewKeys(const RoleImages& images, const EncodeOptions& o) {
  std::map<ImageRole, uint64_t> hash;
  for (const auto& [role, mats] : images) {
    if (mats.size() != 1) return {};
    hash[role] = pixelHash(mats[0]);
  }
  auto of = [&](ImageRole r) {
    const auto it = hash.find(r);
    return it == hash.end() ? uint64_t(0) : it->second;
  };
  std::vector<FeatureMapKey> keys;
  for (const auto& [role, h] : hash)
    keys.push_back({h, of(ImageRole::Reference),
                    role == ImageRole::A   ? of(ImageRole::B)
                    : role == ImageRole::B ? of(ImageRole::A)
                                           : 0,
                    o.tileSide, o.tileMargin});
  return keys;
}

// Each role's feature map ([N, D, h, w], in role order): from o.featureMapCache where it
// holds them, the rest encoded in one pass over the tiles (and kept there).
Result<std::vector<at::Tensor>> qualityMaps(const MultimodalModel& model, const RoleImages& images,
                                            const EncodeOptions& o) {
  const std::vector<FeatureMapKey> keys = o.featureMapCache ? viewKeys(images, o) : std::vector<FeatureMapKey>{};
  std::vector<at::Tensor> maps(images.size());
  bool allCached = !keys.empty();
  for (size_t k = 0; k < keys.size(); ++k) {
    maps[k] = o.featureMapCache->find(keys[k]);
    allCached = allCached && maps[k].defined();
  }
  if (allCached) return maps;
  std::map<ImageRole, at::Tensor> pixels;  // role -> [N, 3, H, W] in [0,1]
  for (const auto& [role, mats] : images) {
    std::vector<at::Tensor> rows;
    for (size_t i = 0; i < mats.size(); ++i) {
      auto t = unitPixels(mats[i]);
      if (!t) return makeError(std::string(roleLabel(role)) + ": " + t.message());
      if (!rows.empty() && t->sizes() != rows.front().sizes())
        return makeError("the images of a batch must all have the same size (" + std::string(roleLabel(role)) +
                         ", item " + std::to_string(i) + ")");
      rows.push_back(t.value());
    }
    if (rows.empty()) return makeError(std::string("no ") + roleLabel(role) + " was given");
    pixels[role] = at::stack(rows).to(model.device());
  }
  // The quality encoder compares pixel by pixel: every image must have the same size.
  const auto& first = *pixels.begin();
  for (const auto& [role, t] : pixels)
    if (t.size(2) != first.second.size(2) || t.size(3) != first.second.size(3))
      return makeError(std::string("the ") + roleLabel(role) + " is " + std::to_string(t.size(3)) + "x" +
                       std::to_string(t.size(2)) + " pixels but the " + roleLabel(first.first) + " is " +
                       std::to_string(first.second.size(3)) + "x" + std::to_string(first.second.size(2)) +
                       "; this model compares images pixel by pixel, so they must have the same size "
                       "(crop or resize them to match first)");
  auto find = [&](ImageRole r) {
    auto it = pixels.find(r);
    return it == pixels.end() ? at::Tensor() : it->second;
  };
  const at::Tensor reference = find(ImageRole::Reference);
  std::vector<QualityView> missing;
  std::vector<size_t> where;
  size_t k = 0;
  for (const auto& [role, x] : pixels) {
    if (!maps[k].defined()) {
      QualityView view;
      view.image = x;
      view.reference = reference;  // the reference's own view: identical to itself
      if (role == ImageRole::A) view.other = find(ImageRole::B);
      if (role == ImageRole::B) view.other = find(ImageRole::A);
      missing.push_back(view);
      where.push_back(k);
    }
    ++k;
  }
  // All views together: A, B and the reference share their per-image input work.
  const std::vector<at::Tensor> fresh = qualityFeatureMaps(model.qualityEncoder(), missing, o);
  for (size_t j = 0; j < fresh.size(); ++j) {
    maps[where[j]] = fresh[j];
    if (!keys.empty()) o.featureMapCache->store(keys[where[j]], fresh[j]);
  }
  return maps;
}

Result<std::map<ImageRole, EncodedImage>> encodeQuality(const MultimodalModel& model, const RoleImages& images,
                                                        const EncodeOptions& o) {
  const auto& cfg = model.config();
  const QualityEncoder& encoder = model.qualityEncoder();
  auto maps = qualityMaps(model, images, o);
  if (!maps) return maps.error();
  std::map<ImageRole, QualityRun> runs;
  size_t k = 0;
  for (const auto& entry : images) {
    QualityRun& r = runs[entry.first];
    r.map = maps.value()[k++];  // [N, D, h, w]
    r.heads = encoder.heads(QualityEncoder::pool(r.map));
  }
  std::map<ImageRole, EncodedImage> out;
  const int maxGrid = o.maxTokenGrid > 0 ? o.maxTokenGrid : cfg.vision.maxTokenGrid;
  for (auto& [role, r] : runs) {
    const QualityHeads* other = nullptr;
    if (role == ImageRole::A && runs.count(ImageRole::B)) other = &runs.at(ImageRole::B).heads;
    if (role == ImageRole::B && runs.count(ImageRole::A)) other = &runs.at(ImageRole::A).heads;
    int k = 1;
    const at::Tensor grid = poolTokenGrid(r.map, maxGrid, &k);  // [N, D, gh, gw]
    const double pairSign = role == ImageRole::B ? -1.0 : 1.0;  // both sides say "A minus B"
    const at::Tensor quality =
        model.projector().qualityToken(qualityTokenFeatures(r.heads, other, o.aspectWeights, pairSign));  // [N, hidden]
    // Every spatial token also carries the quality token: the verdict needs no learned
    // route to one position, and the tokens stay where they are for the attention maps.
    const at::Tensor spatial =
        model.projector()(grid.flatten(2).transpose(1, 2)) + quality.unsqueeze(1);  // [N, gh*gw, hidden]
    EncodedImage e;
    e.role = role;
    e.tokens = at::cat({quality.unsqueeze(1), spatial}, 1);  // [N, 1 + gh*gw, hidden]
    e.gridHeight = int(grid.size(2));
    e.gridWidth = int(grid.size(3));
    e.hasClassToken = true;
    e.cellSize = QualityEncoder::kStride * k;
    e.contentWidth = images.at(role).front().cols;
    e.contentHeight = images.at(role).front().rows;
    e.paddedWidth = e.gridWidth * e.cellSize;
    e.paddedHeight = e.gridHeight * e.cellSize;
    e.hasHeads = true;
    e.score = r.heads.score.detach().to(at::kFloat).cpu();
    e.aspects = r.heads.aspects.detach().to(at::kFloat).cpu();
    e.types = r.heads.types.detach().to(at::kFloat).cpu();
    if (r.heads.aspectScores.defined()) {
      e.aspectScores = r.heads.aspectScores.detach().to(at::kFloat).cpu();
      if (statesPreference(o.aspectWeights))
        e.preferenceScore = preferenceWeighedScore(r.heads, o.aspectWeights).detach().to(at::kFloat).cpu();
    }
    out[role] = e;
  }
  return out;
}

}  // namespace

Result<std::map<ImageRole, EncodedImage>> encodeImages(const MultimodalModel& model, const RoleImages& images,
                                                       const EncodeOptions& options) {
  if (!model.hasVision() || !model.hasProjector())
    return makeError("this model has no vision encoder and projector; it cannot look at images");
  if (images.empty()) return std::map<ImageRole, EncodedImage>{};
  if (model.hasQualityEncoder()) return encodeQuality(model, images, options);
  return encodeClip(model, images, options);
}

}  // namespace dqa::model
