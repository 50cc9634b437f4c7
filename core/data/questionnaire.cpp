#include "core/data/questionnaire.h"

#include <cmath>

namespace dqa::data {

namespace {
const char* kTasks[] = {"description", "comparison", "reasoning"};

double round3(double v) { return std::round(v * 1000.0) / 1000.0; }
}  // namespace

const char* taskName(Task t) { return kTasks[static_cast<int>(t)]; }
bool taskFromName(const std::string& s, Task* out) {
  for (int i = 0; i < 3; ++i)
    if (s == kTasks[i]) {
      *out = static_cast<Task>(i);
      return true;
    }
  return false;
}

std::array<double, kNumAspects> preferenceWeights(const Preference& p) {
  std::array<double, kNumAspects> w;
  w.fill(1.0);
  w[static_cast<int>(p.aspect)] = p.weight;
  return w;
}

Questionnaire makeDescription(const ImageLabel& image, bool withReference) {
  Questionnaire q;
  q.task = Task::Description;
  q.withReference = withReference;
  q.a = image;
  return q;
}

Questionnaire makePair(Task task, const ImageLabel& a, const ImageLabel& b, bool withReference,
                       const Preference* preference) {
  Questionnaire q;
  q.task = task;
  q.withReference = withReference;
  q.a = a;
  q.b = b;
  for (int i = 0; i < kNumAspects; ++i) q.aspectCmp[i] = compareMos(a.aspectMos[i], b.aspectMos[i]);
  q.overallCmp = compareMos(a.mos, b.mos);
  q.mosGap = a.mos - b.mos;
  q.winnerWithoutPreference = winnerOf(a.mos, b.mos);
  q.winner = q.winnerWithoutPreference;
  if (preference) {
    q.hasPreference = true;
    q.preference = *preference;
    auto w = preferenceWeights(*preference);
    q.winner = winnerOf(weightedMos(a, w), weightedMos(b, w));
    q.preferenceFlipped = q.winner != q.winnerWithoutPreference;
  }
  return q;
}

nlohmann::json toJson(const ImageLabel& l) {
  using nlohmann::json;
  json ds = json::array();
  for (const auto& d : l.distortions) {
    json j = {{"type", d.distortion.type},
              {"name", typeInfo(d.distortion.type).name},
              {"aspect", aspectName(d.aspect)},
              {"level", round3(d.distortion.level)},
              {"param", d.distortion.param()},
              {"variant", variantName(d.distortion.type, d.distortion.variant)},
              {"mos", round3(d.mos)}};
    if (d.area < 1.0) {
      const cv::Rect& r = d.distortion.region;
      j["region"] = {r.x, r.y, r.width, r.height};
      j["area"] = round3(d.area);
    }
    ds.push_back(std::move(j));
  }
  json aspects = json::object();
  for (int i = 0; i < kNumAspects; ++i)
    aspects[aspectName(static_cast<Aspect>(i))] = {{"level", severityName(l.aspectLevel[i])},
                                                   {"mos", round3(l.aspectMos[i])}};
  json j = {{"distortions", ds},
            {"mos", round3(l.mos)},
            {"aspects", aspects},
            {"overall_level", severityName(l.overallLevel)},
            {"quality", qualityName(l.quality)},
            {"texture", textureName(l.texture)},
            {"gms", round3(l.gms)},
            {"psnr", round3(std::min(l.psnr, 99.0))},
            {"visibility", round3(l.visibility)},
            {"brightness_direction", l.brightnessDirection},
            {"local", l.local}};
  if (l.local) j["region"] = {l.region.x, l.region.y, l.region.width, l.region.height};
  return j;
}

nlohmann::json toJson(const Questionnaire& q) {
  using nlohmann::json;
  json j = {{"task", taskName(q.task)}, {"with_reference", q.withReference}};
  if (!q.isPair()) {
    j["image"] = toJson(q.a);
    return j;
  }
  j["A"] = toJson(q.a);
  j["B"] = toJson(q.b);
  json cmp = json::object();
  for (int i = 0; i < kNumAspects; ++i) cmp[aspectName(static_cast<Aspect>(i))] = cmpSymbol(q.aspectCmp[i]);
  j["aspect_comparison"] = cmp;
  j["overall_comparison"] = cmpSymbol(q.overallCmp);
  j["winner"] = winnerName(q.winner);
  j["mos_gap"] = round3(q.mosGap);
  j["too_close_to_call"] = q.winner == Winner::Tie;
  if (q.hasPreference) {
    j["preference"] = {{"aspect", aspectName(q.preference.aspect)},
                       {"weight", q.preference.weight},
                       {"text", q.preference.text},
                       {"winner_without_preference", winnerName(q.winnerWithoutPreference)},
                       {"flipped", q.preferenceFlipped}};
  }
  return j;
}

}  // namespace dqa::data
