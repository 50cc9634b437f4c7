#include "core/model/quality_encoder.h"

#include <algorithm>

namespace dqa::model {
namespace {

constexpr int64_t kAspects = 5, kLevels = 3;

std::string stageName(size_t stage) { return "stages." + std::to_string(stage) + "."; }

// Every weight of the encoder by name and shape; load() and weightShapes() walk the
// same list, so a saved model and a loaded one cannot disagree.
struct Layout {
  struct Entry {
    std::string name;
    std::vector<int64_t> shape;
  };
  std::vector<Entry> entries;
  void conv(const std::string& name, int64_t out, int64_t in, int64_t k) {
    entries.push_back({name + ".weight", {out, in, k, k}});
    entries.push_back({name + ".bias", {out}});
  }
  void linear(const std::string& name, int64_t out, int64_t in) {
    entries.push_back({name + ".weight", {out, in}});
    entries.push_back({name + ".bias", {out}});
  }
};

Layout layoutOf(const io::VisionConfig& c) {
  Layout l;
  const auto& w = c.stageWidths;
  l.conv("stem", w[0], 16 * int64_t(c.numChannels), 1);
  for (size_t s = 0; s < 4; ++s) {
    if (s > 0) l.conv(stageName(s) + "transition", w[s], w[s - 1], s < 3 ? 3 : 1);
    for (int b = 0; b < c.stageBlocks[s]; ++b) {
      const std::string p = stageName(s) + "blocks." + std::to_string(b) + ".";
      l.conv(p + "first", w[s], w[s], 3);
      l.conv(p + "second", w[s], w[s], 3);
    }
  }
  l.linear("heads.hidden", c.headWidth, 2 * int64_t(w[3]));
  l.linear("heads.score", 1, c.headWidth);
  l.linear("heads.aspects", kAspects * kLevels, c.headWidth);
  l.linear("heads.types", int64_t(c.distortionTypes.size()), c.headWidth);
  if (c.aspectScores && c.aspectScoreWidth > 0) {
    l.linear("heads.aspect_scores_hidden", c.aspectScoreWidth, 2 * int64_t(w[3]));
    l.linear("heads.aspect_scores", kAspects, c.aspectScoreWidth);
  } else if (c.aspectScores) {
    l.linear("heads.aspect_scores", kAspects, c.headWidth);
  }
  return l;
}

}  // namespace

at::Tensor Conv2d::operator()(const at::Tensor& x) const {
  const int64_t k = weight.size(2);
  return at::conv2d(x, weight, bias, {stride, stride}, {k / 2, k / 2});
}

double QualityHeads::mos(int64_t i) const { return std::clamp(score[i].item<double>() + 3.0, 1.0, 5.0); }

Result<QualityEncoder> QualityEncoder::load(const LoadContext& ctx, const io::VisionConfig& c,
                                            const std::string& prefix) {
  if (c.kind != io::VisionKind::QualityConv || c.stageWidths.size() != 4 || c.stageBlocks.size() != 4)
    return makeError("the vision config does not describe a quality encoder");
  std::map<std::string, at::Tensor> w;
  for (const auto& e : layoutOf(c).entries) {
    auto t = ctx.store->get(prefix + e.name, ctx.dtype, ctx.device, e.shape);
    if (!t) return t.error();  // names the first missing or misshapen tensor and its file
    w[e.name] = t.value();
  }
  auto conv = [&](const std::string& name, int stride) {
    return Conv2d{w[name + ".weight"], w[name + ".bias"], stride};
  };
  auto linear = [&](const std::string& name) {
    Linear l;
    l.weight = w[name + ".weight"];
    l.bias = w[name + ".bias"];
    return l;
  };
  QualityEncoder e;
  e.config_ = c;
  e.stem_ = conv("stem", 1);
  e.stages_.resize(4);
  for (size_t s = 0; s < 4; ++s) {
    if (s > 0) e.transitions_.push_back(conv(stageName(s) + "transition", s < 3 ? 2 : 1));
    for (int b = 0; b < c.stageBlocks[s]; ++b) {
      const std::string p = stageName(s) + "blocks." + std::to_string(b) + ".";
      e.stages_[s].push_back({conv(p + "first", 1), conv(p + "second", 1)});
    }
  }
  e.headHidden_ = linear("heads.hidden");
  e.headScore_ = linear("heads.score");
  e.headAspects_ = linear("heads.aspects");
  e.headTypes_ = linear("heads.types");
  if (c.aspectScores) e.headAspectScores_ = linear("heads.aspect_scores");
  if (c.aspectScores && c.aspectScoreWidth > 0) e.headAspectScoresHidden_ = linear("heads.aspect_scores_hidden");
  return e;
}

at::Tensor QualityEncoder::featureMap(const at::Tensor& input) const {
  // The stem is a 1x1 convolution after a 4x4 space-to-depth, whose channel c*16 + i*4 + j
  // is pixel (i, j) of channel c: the same as a 4x4 stride-4 convolution with the weight
  // seen as [w0, C, 4, 4], which reads the input once instead of copying it first (the
  // stem was a quarter of a 24 MP verdict map).
  const at::Tensor kernel = stem_.weight.view({stem_.weight.size(0), input.size(1), 4, 4});  // [w0, C, 4, 4]
  at::Tensor x =
      at::gelu(at::conv2d(input.to(stem_.weight.scalar_type()), kernel, stem_.bias, {4, 4}));  // [N, w0, H/4, W/4]
  for (size_t s = 0; s < stages_.size(); ++s) {
    if (s > 0) x = at::gelu(transitions_[s - 1](x));  // [N, w1, H/8, ..] [N, w2, H/16, ..] [N, w3, H/16, ..]
    for (const auto& b : stages_[s]) x = x + b.second(at::gelu(b.first(x)));
  }
  return x;  // [N, w3, H/16, W/16]
}

at::Tensor QualityEncoder::pool(const at::Tensor& map) {
  const at::Tensor flat = map.flatten(2);  // [N, D, n]
  const int64_t k = std::max<int64_t>(1, flat.size(2) / 4);
  const at::Tensor top = std::get<0>(flat.topk(k, 2)).mean(2);
  return at::cat({flat.mean(2), top}, 1);  // [N, 2D]
}

QualityHeads QualityEncoder::heads(const at::Tensor& pooled) const {
  QualityHeads h;
  h.hidden = at::gelu(headHidden_(pooled.to(headHidden_.weight.scalar_type())));  // [N, headWidth]
  h.score = headScore_(h.hidden).squeeze(1);                                      // [N]
  h.aspects = headAspects_(h.hidden).view({-1, kAspects, kLevels});               // [N, 5, 3]
  h.types = headTypes_(h.hidden);                                                 // [N, T]
  if (headAspectScoresHidden_.weight.defined())
    h.aspectScores = headAspectScores_(at::gelu(headAspectScoresHidden_(pooled.to(h.hidden.scalar_type()))));  // [N, 5]
  else if (headAspectScores_.weight.defined())
    h.aspectScores = headAspectScores_(h.hidden);  // [N, 5]
  return h;
}

NamedParameters QualityEncoder::namedParameters(const std::string& prefix) {
  NamedParameters out;
  auto conv = [&](const std::string& name, Conv2d& c) {
    out.emplace_back(prefix + name + ".weight", &c.weight);
    out.emplace_back(prefix + name + ".bias", &c.bias);
  };
  conv("stem", stem_);
  for (size_t s = 0; s < stages_.size(); ++s) {
    if (s > 0) conv(stageName(s) + "transition", transitions_[s - 1]);
    for (size_t b = 0; b < stages_[s].size(); ++b) {
      const std::string p = stageName(s) + "blocks." + std::to_string(b) + ".";
      conv(p + "first", stages_[s][b].first);
      conv(p + "second", stages_[s][b].second);
    }
  }
  appendLinear(out, prefix + "heads.hidden", headHidden_);
  appendLinear(out, prefix + "heads.score", headScore_);
  appendLinear(out, prefix + "heads.aspects", headAspects_);
  appendLinear(out, prefix + "heads.types", headTypes_);
  if (headAspectScoresHidden_.weight.defined())
    appendLinear(out, prefix + "heads.aspect_scores_hidden", headAspectScoresHidden_);
  if (headAspectScores_.weight.defined()) appendLinear(out, prefix + "heads.aspect_scores", headAspectScores_);
  return out;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> QualityEncoder::weightShapes(const io::VisionConfig& c) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (const auto& e : layoutOf(c).entries) out.emplace_back(e.name, e.shape);
  return out;
}

}  // namespace dqa::model
