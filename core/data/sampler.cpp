#include "core/data/sampler.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <numeric>

namespace dqa::data {

namespace {

int pickWeighted(cv::RNG& rng, const double* w, int n) {
  double total = 0;
  for (int i = 0; i < n; ++i) total += w[i];
  double r = rng.uniform(0.0, total);
  for (int i = 0; i < n; ++i) {
    if (r < w[i]) return i;
    r -= w[i];
  }
  return n - 1;
}

std::vector<int> allowedTypes(const SamplerConfig& c) {
  if (!c.types.empty()) return c.types;
  std::vector<int> all(kNumTypes);
  std::iota(all.begin(), all.end(), 1);
  return all;
}

double randomLevel(cv::RNG& rng, const SamplerConfig& c) {
  if (rng.uniform(0.0, 1.0) < c.subLevelShare) return rng.uniform(0.3, 1.0);
  return rng.uniform(1.0, 5.0);
}

cv::Rect randomRegion(cv::RNG& rng, cv::Size patch) {
  // 20..60 % of the area, a rectangle anywhere inside.
  double frac = rng.uniform(0.2, 0.6);
  double aspect = rng.uniform(0.6, 1.6);
  int w = std::clamp(static_cast<int>(std::sqrt(frac * patch.area() * aspect)), 8, patch.width);
  int h = std::clamp(static_cast<int>(frac * patch.area() / std::max(w, 1)), 8, patch.height);
  return {rng.uniform(0, patch.width - w + 1), rng.uniform(0, patch.height - h + 1), w, h};
}

cv::Mat distort(const cv::Mat& padded, int margin, const std::vector<Distortion>& ds, std::uint64_t seed) {
  std::vector<Distortion> shifted = ds;
  for (auto& d : shifted)
    if (!d.region.empty()) d.region += cv::Point(margin, margin);
  cv::Mat out = applyDistortions(padded, shifted, seed);
  return out(cv::Rect(margin, margin, padded.cols - 2 * margin, padded.rows - 2 * margin)).clone();
}

Preference randomPreference(cv::RNG& rng, const ImageLabel& a, const ImageLabel& b) {
  // Prefer an aspect that is distorted in exactly one image: that is where a preference
  // can flip the verdict; otherwise any distorted aspect, otherwise any aspect.
  std::vector<int> oneSided, any;
  for (int i = 0; i < kNumAspects; ++i) {
    bool da = a.aspectLevel[i] != Severity::Undistorted, db = b.aspectLevel[i] != Severity::Undistorted;
    if (da != db) oneSided.push_back(i);
    if (da || db) any.push_back(i);
  }
  const auto& from = !oneSided.empty() && rng.uniform(0.0, 1.0) < 0.8 ? oneSided
                     : !any.empty()                                   ? any
                                                                      : std::vector<int>{0, 1, 2, 3, 4};
  Preference p;
  p.aspect = static_cast<Aspect>(from[rng.uniform(0, static_cast<int>(from.size()))]);
  bool intolerant = rng.uniform(0.0, 1.0) < 0.7;
  p.weight = intolerant ? kIntolerantWeight : kTolerantWeight;
  const auto& pool = preferencePool(p.aspect, intolerant);
  p.text = pool[rng.uniform(0, static_cast<int>(pool.size()))];
  return p;
}

}  // namespace

std::vector<Distortion> randomDistortions(cv::RNG& rng, const SamplerConfig& config, int count, cv::Size patch) {
  auto types = allowedTypes(config);
  std::vector<Distortion> out;
  std::vector<Aspect> used;
  for (int i = 0; i < count && !types.empty(); ++i) {
    Distortion d;
    // Different aspects where possible (a second blur on a blurred image adds little).
    for (int tries = 0; tries < 8; ++tries) {
      d.type = types[rng.uniform(0, static_cast<int>(types.size()))];
      if (std::find(used.begin(), used.end(), typeInfo(d.type).aspect) == used.end()) break;
    }
    used.push_back(typeInfo(d.type).aspect);
    d.level = randomLevel(rng, config);
    const int photographic = config.photographicVariants ? photographicVariantCount(d.type) : 0;
    d.variant = rng.uniform(0, typeInfo(d.type).numVariants + photographic);
    out.push_back(d);
  }
  if (!out.empty() && rng.uniform(0.0, 1.0) < config.localShare)
    out[rng.uniform(0, static_cast<int>(out.size()))].region = randomRegion(rng, patch);
  return out;
}

bool generateSample(const std::vector<const Photo*>& photos, const SamplerConfig& config, std::uint64_t index,
                    Sample* out) {
  if (photos.empty() || config.patchSizes.empty()) return false;
  cv::RNG rng(mixSeed(config.seed, index));
  Sample& s = *out;
  s = Sample{};
  s.index = index;
  const int m = config.margin;
  // Photo and crop: reject nearly flat crops (sky, walls) a few times.
  const Photo* photo = nullptr;
  cv::Rect padded;
  for (int attempt = 0; attempt < 12; ++attempt) {
    const Photo* p = photos[rng.uniform(0, static_cast<int>(photos.size()))];
    int size = config.patchSizes[rng.uniform(0, static_cast<int>(config.patchSizes.size()))];
    int need = size + 2 * m;
    if (p->rgb.cols < need || p->rgb.rows < need) {
      size = std::min(p->rgb.cols, p->rgb.rows) - 2 * m;
      need = size + 2 * m;
      if (size < 32) continue;
    }
    cv::Rect r(rng.uniform(0, p->rgb.cols - need + 1), rng.uniform(0, p->rgb.rows - need + 1), need, need);
    photo = p;
    padded = r;
    cv::Scalar mean, dev;
    cv::meanStdDev(p->rgb(r), mean, dev);
    if ((dev[0] + dev[1] + dev[2]) / 3.0 >= 6.0) break;
  }
  if (!photo) return false;
  s.photoId = photo->id;
  s.crop = cv::Rect(padded.x + m, padded.y + m, padded.width - 2 * m, padded.height - 2 * m);
  cv::Mat paddedImg = photo->rgb(padded);
  s.reference = photo->rgb(s.crop).clone();
  const cv::Size patch = s.reference.size();

  Task task = static_cast<Task>(pickWeighted(rng, config.taskShare.data(), 3));
  bool fr = rng.uniform(0.0, 1.0) < config.fullReferenceShare;
  std::uint64_t seedA = mixSeed(mixSeed(config.seed, index), 1);
  std::uint64_t seedB = mixSeed(mixSeed(config.seed, index), 2);

  auto drawSet = [&]() {
    int count = pickWeighted(rng, config.countWeights.data(), 4);
    return randomDistortions(rng, config, count, patch);
  };
  std::vector<Distortion> da = drawSet();
  if (task == Task::Description) {
    s.a = distort(paddedImg, m, da, seedA);
    s.questionnaire = makeDescription(labelImage(da, patch, s.reference, s.a), fr);
  } else {
    std::vector<Distortion> db;
    if (rng.uniform(0.0, 1.0) < config.sameTypePairShare) {
      // Same kind, two levels: fine-grained comparisons, many too close to call.
      if (da.empty()) da = randomDistortions(rng, config, 1, patch);
      da.resize(1);
      da[0].region = {};
      Distortion d = da[0];
      d.level = std::clamp(d.level + rng.uniform(-1.5, 1.5), 0.3, 5.0);
      db = {d};
    } else {
      db = drawSet();
    }
    if (rng.uniform(0.0, 1.0) < 0.5) std::swap(da, db);
    s.a = distort(paddedImg, m, da, seedA);
    s.b = distort(paddedImg, m, db, seedB);
    ImageLabel la = labelImage(da, patch, s.reference, s.a);
    ImageLabel lb = labelImage(db, patch, s.reference, s.b);
    if (rng.uniform(0.0, 1.0) < config.preferenceShare) {
      Preference pref = randomPreference(rng, la, lb);
      s.questionnaire = makePair(task, la, lb, fr, &pref);
    } else {
      s.questionnaire = makePair(task, la, lb, fr);
    }
  }
  s.text = generateText(s.questionnaire, mixSeed(mixSeed(config.seed, index), 3), config.text);
  return true;
}

}  // namespace dqa::data
