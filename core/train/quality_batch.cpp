#include "core/train/quality_batch.h"

#include "core/data/kadid.h"
#include "core/data/labels.h"
#include "core/data/textgen.h"
#include "core/model/quality_input.h"
#include "core/model/visual_tokens.h"

namespace dqa::train {

int typeClass(const io::VisionConfig& config, int kadidType) {
  if (kadidType <= 0) return 0;
  const std::string name = data::typeInfo(kadidType).name;
  for (size_t i = 0; i < config.distortionTypes.size(); ++i)
    if (config.distortionTypes[i] == name) return int(i);
  return -1;
}

namespace {

struct ViewList {
  std::vector<at::Tensor> image, reference, other;  // [3, H, W] each (undefined: absent)
  std::vector<float> mos, aspectMos;
  std::vector<int64_t> levels, types;
};

at::Tensor pixels(const cv::Mat& m) {
  auto t = model::unitPixels(m);
  return t ? t.value() : at::Tensor();
}

void addView(ViewList& v, const at::Tensor& image, const at::Tensor& reference, const at::Tensor& other,
             const data::ImageTruth& truth, int typeClassIndex) {
  v.image.push_back(image);
  v.reference.push_back(reference);
  v.other.push_back(other);
  v.mos.push_back(float(truth.mos));
  for (int l : truth.levels) v.levels.push_back(l);
  for (double m : truth.aspectMos) v.aspectMos.push_back(float(m));
  v.types.push_back(std::max(0, typeClassIndex));
}

at::Tensor stackOrNone(const std::vector<at::Tensor>& ts) {
  for (const auto& t : ts)
    if (!t.defined()) return {};
  return at::stack(ts);
}

}  // namespace

QualityBatch buildQualityBatch(const io::VisionConfig& config, const std::vector<data::TrainingExample>& examples,
                               ViewMode mode, double referenceShare, double sameKindLevelGap) {
  ViewList v;
  std::vector<int64_t> first, second;
  std::vector<float> target;
  const int referenceEvery = referenceShare > 0 ? std::max(1, int(1.0 / referenceShare + 0.5)) : 0;
  data::ImageTruth pristine;
  pristine.present = true;
  pristine.mos = data::kReferenceMos;
  for (size_t i = 0; i < examples.size(); ++i) {
    const auto& ex = examples[i];
    const bool pair = !ex.b.empty() && ex.truthB.present;
    if (mode.withOther && !pair) continue;  // this mode shows pairs only
    const at::Tensor ref = pixels(ex.reference), a = pixels(ex.a);
    const at::Tensor useRef = mode.withReference ? ref : at::Tensor();
    if (mode.withOther) {
      const at::Tensor b = pixels(ex.b);
      first.push_back(int64_t(v.mos.size()));
      addView(v, a, useRef, b, ex.truthA, typeClass(config, ex.truthA.type));
      second.push_back(int64_t(v.mos.size()));
      addView(v, b, useRef, a, ex.truthB, typeClass(config, ex.truthB.type));
      const double gap = ex.mosA - ex.mosB;
      float t = gap >= 0.3 ? 1.f : gap <= -0.3 ? 0.f : 0.5f;
      // Too close by the score labels, but one kind at two levels: the levels decide.
      if (sameKindLevelGap > 0 && t == 0.5f)
        if (const int known = data::orderOfLevels(ex.truthA, ex.truthB, sameKindLevelGap); known != 0)
          t = known > 0 ? 1.f : 0.f;
      target.push_back(t);
    } else {
      addView(v, a, useRef, {}, ex.truthA, typeClass(config, ex.truthA.type));
    }
    if (mode.withReference && referenceEvery > 0 && i % size_t(referenceEvery) == 0)
      addView(v, ref, ref, {}, pristine, 0);  // the reference as the prompt shows it: identical to itself
  }
  QualityBatch b;
  if (v.mos.empty()) return b;
  // Views with and without an other image cannot share one input computation (the
  // references' own views have none): the input is built group by group, and the labels
  // are put in the same order.
  std::vector<size_t> order;  // input row -> view
  std::vector<at::Tensor> inputs;
  {
    std::vector<size_t> withOther, alone;
    for (size_t i = 0; i < v.image.size(); ++i) (v.other[i].defined() ? withOther : alone).push_back(i);
    for (const auto* group : {&withOther, &alone}) {
      if (group->empty()) continue;
      std::vector<at::Tensor> im, re, ot;
      for (size_t i : *group) {
        im.push_back(v.image[i]);
        re.push_back(v.reference[i]);
        ot.push_back(v.other[i]);
        order.push_back(i);
      }
      inputs.push_back(model::qualityEncoderInput(config, {at::stack(im), stackOrNone(re), stackOrNone(ot)}));
    }
  }
  b.input = inputs.size() == 1 ? inputs[0] : at::cat(inputs);  // [V, C, H, W]
  std::vector<int64_t> rowOf(order.size());
  for (size_t row = 0; row < order.size(); ++row) rowOf[order[row]] = int64_t(row);
  ViewList sorted;
  for (size_t i : order) {
    sorted.mos.push_back(v.mos[i]);
    sorted.levels.insert(sorted.levels.end(), v.levels.begin() + long(5 * i), v.levels.begin() + long(5 * i + 5));
    sorted.aspectMos.insert(sorted.aspectMos.end(), v.aspectMos.begin() + long(5 * i),
                            v.aspectMos.begin() + long(5 * i + 5));
    sorted.types.push_back(v.types[i]);
  }
  for (auto& f : first) f = rowOf[size_t(f)];
  for (auto& s : second) s = rowOf[size_t(s)];
  v.mos = std::move(sorted.mos);
  v.levels = std::move(sorted.levels);
  v.aspectMos = std::move(sorted.aspectMos);
  v.types = std::move(sorted.types);
  b.mos = at::tensor(v.mos, at::kFloat);
  b.levels = at::tensor(v.levels, at::kLong).view({-1, 5});
  b.types = at::tensor(v.types, at::kLong);
  b.aspectMos = at::tensor(v.aspectMos, at::kFloat).view({-1, 5});
  if (!first.empty()) {
    b.pairFirst = at::tensor(first, at::kLong);
    b.pairSecond = at::tensor(second, at::kLong);
    b.pairTarget = at::tensor(target, at::kFloat);
  }
  return b;
}

namespace {

// QualityLossWeights::preference: per pair and preference, the weighted score
// (model::weightedScore) of the aspect scores ranked as the labels' aspect scores rank it;
// with `preferenceOnScore`, the score the heads' verdict reads (model::preferenceWeighedScore:
// the score head's moved by what the preference changes) ranked as the labels' score moved
// the same way, and the entries where the preference changes the labels' winner weighted
// `preferenceFlipWeight` times.
at::Tensor preferenceRanking(const at::Tensor& score, const at::Tensor& aspectScores, const QualityBatch& b,
                             const QualityLossWeights& w) {
  at::Tensor weights = at::ones({10, 5});  // [preference, aspect]
  for (int64_t a = 0; a < 5; ++a) {
    weights[a][a] = data::kIntolerantWeight;
    weights[5 + a][a] = data::kTolerantWeight;
  }
  // log quality fraction of each aspect, (MOS - 1) / 3.6 as data::qualityFraction: [V, 5]
  auto logFraction = [](const at::Tensor& mosMinus3) { return ((mosMinus3 + 2.0) / 3.6).clamp(1e-3, 1.0).log(); };
  auto weighted = [&](const at::Tensor& mosMinus3) {
    return logFraction(mosMinus3).matmul(weights.t()).exp() * 3.6;  // [V, 10]
  };
  auto plain = [&](const at::Tensor& mosMinus3) {
    return logFraction(mosMinus3).sum(1, true).exp() * 3.6;  // [V, 1]
  };
  const at::Tensor labelMos = b.mos - 3.0;  // [V]
  at::Tensor predicted = weighted(aspectScores), labelled = weighted(b.aspectMos - 3.0);
  if (w.preferenceOnScore) {
    predicted = predicted - plain(aspectScores) + score.unsqueeze(1);
    labelled = labelled - plain(b.aspectMos - 3.0) + labelMos.unsqueeze(1);
  }
  const at::Tensor dp = predicted.index_select(0, b.pairFirst) - predicted.index_select(0, b.pairSecond);  // [P, 10]
  const at::Tensor dl = labelled.index_select(0, b.pairFirst) - labelled.index_select(0, b.pairSecond);
  const at::Tensor clear = dl.abs() >= w.rankGap;
  if (!clear.any().item<bool>()) return at::zeros({});
  // Every entry alike: the mean of the clear ones, computed as before the flip weight
  // existed, so that the recipe's default stages make the same weights bit for bit.
  if (w.preferenceFlipWeight == 1.0)
    return at::softplus(-dp.masked_select(clear) * dl.masked_select(clear).sign() * w.scoreScale).mean();
  const at::Tensor losses = at::softplus(-dp * dl.sign() * w.scoreScale);  // [P, 10]
  // The labels' winner without a preference (+1 A, -1 B, 0 too close) differs from the
  // one with it: [P, 1] against [P, 10].
  const at::Tensor dm = labelMos.index_select(0, b.pairFirst) - labelMos.index_select(0, b.pairSecond);
  const at::Tensor unweighted = dm.sign() * (dm.abs() >= w.rankGap).to(at::kFloat);
  const at::Tensor flipped = unweighted.unsqueeze(1) != dl.sign();
  const at::Tensor weight =
      clear.to(at::kFloat) * (1.0 + (w.preferenceFlipWeight - 1.0) * flipped.to(at::kFloat));  // [P, 10]
  return (losses * weight).sum() / weight.sum();
}

}  // namespace

QualityLosses qualityLosses(const model::QualityHeads& h, const QualityBatch& b, const QualityLossWeights& w) {
  QualityLosses out;
  const at::Tensor score = h.score.to(at::kFloat);  // [V]
  const at::Tensor regression = at::smooth_l1_loss(score, b.mos - 3.0);
  // Every ordered pair of views whose labels differ clearly: [V, V].
  const at::Tensor ds = score.unsqueeze(1) - score.unsqueeze(0);
  const at::Tensor dm = b.mos.unsqueeze(1) - b.mos.unsqueeze(0);
  const at::Tensor clear = dm.abs() >= w.rankGap;
  at::Tensor ranking = at::zeros({});
  if (clear.any().item<bool>())
    ranking = at::softplus(-ds.masked_select(clear) * dm.masked_select(clear).sign() * w.scoreScale).mean();
  at::Tensor pair = at::zeros({});
  if (b.pairFirst.defined()) {
    const at::Tensor logits = (score.index_select(0, b.pairFirst) - score.index_select(0, b.pairSecond)) * w.scoreScale;
    pair = at::binary_cross_entropy_with_logits(logits, b.pairTarget);
  }
  const at::Tensor aspects = at::cross_entropy_loss(h.aspects.to(at::kFloat).reshape({-1, 3}), b.levels.reshape({-1}));
  const at::Tensor types = at::cross_entropy_loss(h.types.to(at::kFloat), b.types);
  out.total = w.regression * regression + w.ranking * ranking + w.pair * pair + w.aspects * aspects + w.types * types;
  if (h.aspectScores.defined()) {
    const at::Tensor aspectScores = at::smooth_l1_loss(h.aspectScores.to(at::kFloat), b.aspectMos - 3.0);
    out.total = out.total + w.aspectScores * aspectScores;
    out.aspectScores = aspectScores.item<double>();
    if (w.preference > 0 && b.pairFirst.defined()) {
      const at::Tensor preference = preferenceRanking(score, h.aspectScores.to(at::kFloat), b, w);
      out.total = out.total + w.preference * preference;
      out.preference = preference.item<double>();
    }
  }
  out.regression = regression.item<double>();
  out.ranking = ranking.item<double>();
  out.pair = pair.item<double>();
  out.aspects = aspects.item<double>();
  out.types = types.item<double>();
  return out;
}

}  // namespace dqa::train
