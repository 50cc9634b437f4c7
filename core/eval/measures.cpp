#include "core/eval/measures.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <opencv2/imgproc.hpp>
#include <opencv2/quality.hpp>

#include "core/data/distortions.h"
#include "core/data/kadid.h"
#include "core/data/labels.h"
#include "core/data/parser.h"
#include "core/data/textgen.h"
#include "core/image/banded_quality.h"

namespace dqa::eval {
namespace {

const char* const kBrisqueModel = "/usr/share/opencv4/quality/brisque_model_live.yml";
const char* const kBrisqueRange = "/usr/share/opencv4/quality/brisque_range_live.yml";

// PSNR of identical images: 80 dB, the cap pyiqa's 1e-8 floor on the MSE of [0, 1]
// images gives (OpenCV answers infinity, which no correlation can use).
constexpr double kIdenticalPsnr = 80.0;

double channelMean(const cv::Scalar& s) { return (s[0] + s[1] + s[2]) / 3.0; }

bool isDistorted(int level) { return level != int(data::Severity::Undistorted); }

}  // namespace

double Rate::value() const { return total ? double(hit) / double(total) : std::nan(""); }

nlohmann::json rateJson(const Rate& r) {
  using nlohmann::json;
  return {{"accuracy", r.total ? json(r.value()) : json(nullptr)}, {"n", r.total}};
}

bool brisqueAvailable() {
  // Looked up once: the evaluator asks for every no-reference pair.
  static const bool available = [] {
    std::error_code ec;
    return std::filesystem::exists(kBrisqueModel, ec) && std::filesystem::exists(kBrisqueRange, ec);
  }();
  return available;
}

ClassicalChoice classicalChoice(const cv::Mat& reference, const cv::Mat& a, const cv::Mat& b) {
  ClassicalChoice c;
  auto pick = [](double va, double vb, bool higherIsBetter) {
    return (higherIsBetter ? va > vb : va < vb) ? 'A' : 'B';
  };
  try {
    if (!reference.empty()) {
      using namespace cv::quality;
      c.psnr = pick(channelMean(dqa::image::bandedPsnr(reference, a)),
                    channelMean(dqa::image::bandedPsnr(reference, b)), true);
      c.ssim = pick(channelMean(dqa::image::bandedSsim(reference, a)),
                    channelMean(dqa::image::bandedSsim(reference, b)), true);
      c.gmsd = pick(channelMean(QualityGMSD::compute(reference, a, cv::noArray())),
                    channelMean(QualityGMSD::compute(reference, b, cv::noArray())), false);
    } else if (brisqueAvailable()) {
      c.brisque = pick(cv::quality::QualityBRISQUE::compute(a, kBrisqueModel, kBrisqueRange)[0],
                       cv::quality::QualityBRISQUE::compute(b, kBrisqueModel, kBrisqueRange)[0], false);
    }
  } catch (const cv::Exception& e) { c.error = e.what(); }
  return c;
}

ClassicalScores classicalScores(const cv::Mat& reference, const cv::Mat& image) {
  const double nan = std::nan("");
  ClassicalScores c{nan, nan, nan, nan, {}};
  try {
    if (!reference.empty()) {
      using namespace cv::quality;
      c.psnr = channelMean(dqa::image::bandedPsnr(reference, image));
      if (!std::isfinite(c.psnr)) c.psnr = kIdenticalPsnr;
      c.ssim = channelMean(dqa::image::bandedSsim(reference, image));
      c.gmsd = channelMean(QualityGMSD::compute(reference, image, cv::noArray()));
    } else if (brisqueAvailable()) {
      cv::Mat bgr;
      cv::cvtColor(image, bgr, cv::COLOR_RGB2BGR);  // BRISQUE makes its grey image from BGR
      c.brisque = cv::quality::QualityBRISQUE::compute(bgr, kBrisqueModel, kBrisqueRange)[0];
    }
  } catch (const cv::Exception& e) { c.error = e.what(); }
  return c;
}

DescriptionScore scoreDescription(const data::ImageTruth& truth, const std::string& text) {
  const data::ParsedAnswer parsed = data::parseAnswer(data::Task::Description, text);
  DescriptionScore s;
  s.setExact = true;
  for (int k = 0; k < 5; ++k) {
    const int said = int(parsed.levelsA[size_t(k)]);
    s.aspectRight[size_t(k)] = isDistorted(truth.levels[size_t(k)]) == isDistorted(said);
    s.setExact = s.setExact && s.aspectRight[size_t(k)];
    if (isDistorted(truth.levels[size_t(k)])) s.levelRight.push_back(said == truth.levels[size_t(k)]);
  }
  // The dominant distortion (the one with the lowest score label): its aspect must be
  // called distorted, at least as severe as any other aspect the answer names; its kind
  // must be named with the words the texts use for it.
  if (truth.distorted && truth.type > 0) {
    const data::Severity said = parsed.levelsA[size_t(data::typeInfo(truth.type).aspect)];
    bool highest = said != data::Severity::Undistorted;
    for (int k = 0; k < 5; ++k) highest = highest && parsed.levelsA[size_t(k)] <= said;
    s.dominantAspect = highest;
    bool kind = false;
    for (const auto& noun : data::kindNouns(truth.type)) kind = kind || text.find(noun) != std::string::npos;
    s.dominantKind = kind;
  }
  return s;
}

std::array<bool, 5> headsAspectRight(const data::ImageTruth& truth, const ImageQuality& heads) {
  std::array<bool, 5> right{};
  for (int k = 0; k < 5; ++k) {
    const auto& p = heads.aspects[size_t(k)];  // undistorted, mild, severe
    right[size_t(k)] = (p[1] + p[2] > p[0]) == isDistorted(truth.levels[size_t(k)]);
  }
  return right;
}

std::optional<bool> headsDominantAspect(const data::ImageTruth& truth, const ImageQuality& heads) {
  if (!truth.distorted || truth.type <= 0) return std::nullopt;
  return heads.worstAspect() == int(data::typeInfo(truth.type).aspect);
}

ReasoningScore scoreReasoning(const data::ImageTruth& a, const data::ImageTruth& b, const std::string& text) {
  const data::ParsedAnswer parsed = data::parseAnswer(data::Task::Reasoning, text);
  ReasoningScore s;
  for (int k = 0; k < 5; ++k) {
    const int ta = a.levels[size_t(k)], tb = b.levels[size_t(k)];
    const int saidA = int(parsed.levelsA[size_t(k)]), saidB = int(parsed.levelsB[size_t(k)]);
    s.levelRight[size_t(k)] = saidA == ta;
    s.levelRight[size_t(5 + k)] = saidB == tb;
    s.repeatsComparison = s.repeatsComparison || parsed.aspectCmpCount[size_t(k)] > 1;
    s.contradictsItself = s.contradictsItself || parsed.aspectCmpContradicted[size_t(k)];
    if (parsed.aspectCmpCount[size_t(k)] > 0) {
      const auto sign = [](data::Cmp c) { return int(c) > 0 ? 1 : int(c) < 0 ? -1 : 0; };
      ++s.aspectsCompared;
      s.comparisonsRight +=
          sign(parsed.aspectCmp[size_t(k)]) == sign(data::compareMos(a.aspectMos[size_t(k)], b.aspectMos[size_t(k)]));
    }
    // A distortion only one image has, said of the other one instead.
    const bool onlyA = isDistorted(ta) && !isDistorted(tb);
    const bool onlyB = isDistorted(tb) && !isDistorted(ta);
    if (onlyA || onlyB) {
      ++s.confusionOpportunities;
      if ((onlyA && isDistorted(saidB) && !isDistorted(saidA)) || (onlyB && isDistorted(saidA) && !isDistorted(saidB)))
        ++s.confusions;
    }
  }
  if (parsed.hasWinner && parsed.winner != data::Winner::Tie) s.winner = parsed.winner == data::Winner::A ? 'A' : 'B';
  s.callsTie = parsed.hasWinner && parsed.winner == data::Winner::Tie;
  return s;
}

std::vector<int> tokensNamingAspect(int aspect, const std::string& text,
                                    const std::vector<std::pair<int, int>>& spans) {
  std::vector<int> tokens;
  for (const auto& [begin, end] : data::aspectWordRanges(aspect, text))
    for (size_t t = 0; t < spans.size(); ++t)
      if (spans[t].first < int(end) && spans[t].second > int(begin)) tokens.push_back(int(t));
  std::sort(tokens.begin(), tokens.end());
  tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  return tokens;
}

std::optional<PointingResult> pointingGame(const std::vector<float>& attention, const ImageGeometry& g,
                                           const int region[4]) {
  if (g.gridWidth <= 0 || g.patchSize <= 0 || attention.size() < size_t(g.gridWidth * g.gridHeight))
    return std::nullopt;
  // The region in the encoder's input pixels (the image may have been downscaled).
  const double scale = double(g.contentWidth) / std::max(1, g.sourceWidth);
  auto overlaps = [&](int cell) { return data::cellOverlapsRegion(cell, g.gridWidth, g.patchSize, region, scale); };
  int best = -1, cells = 0, inside = 0;
  for (int c = 0; c < g.gridWidth * g.gridHeight; ++c) {
    // Only cells over the image itself count (padding is not part of the photo).
    if ((c % g.gridWidth) * g.patchSize >= g.contentWidth || (c / g.gridWidth) * g.patchSize >= g.contentHeight)
      continue;
    ++cells;
    inside += overlaps(c);
    if (best < 0 || attention[size_t(c)] > attention[size_t(best)]) best = c;
  }
  if (best < 0) return std::nullopt;
  return PointingResult{overlaps(best), double(inside) / cells};
}

double expectedCalibrationError(const std::vector<std::pair<double, bool>>& cases,
                                std::vector<std::array<double, 3>>* bins) {
  std::vector<std::array<double, 3>> b(10, {0, 0, 0});  // count, sum confidence, sum right
  for (auto [c, ok] : cases) {
    const int k = std::min(9, std::max(0, int(c * 10)));
    b[size_t(k)][0] += 1;
    b[size_t(k)][1] += c;
    b[size_t(k)][2] += ok;
  }
  double ece = 0;
  for (const auto& x : b)
    if (x[0] > 0) ece += x[0] / double(cases.size()) * std::abs(x[1] / x[0] - x[2] / x[0]);
  if (bins) *bins = b;
  return cases.empty() ? std::nan("") : ece;
}

}  // namespace dqa::eval
