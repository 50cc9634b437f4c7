#pragma once
// The evaluator's measures, one function each: what a shard record says (data::ImageTruth)
// against what the model or a classical metric answered. Pure functions, no engine, so
// each is tested on hand-made cases (tests/unit/test_eval.cpp).
#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/data/shard_dataset.h"
#include "core/generate/engine.h"

namespace dqa::eval {

// A share of right answers.
struct Rate {
  int64_t hit = 0, total = 0;
  void add(bool ok) {
    hit += ok;
    ++total;
  }
  void add(int64_t hits, int64_t count) {  // `count` cases, `hits` of them right
    hit += hits;
    total += count;
  }
  double value() const;  // NaN when empty
};
// {"accuracy": share or null when empty, "n": cases}: how every report.json row is written.
nlohmann::json rateJson(const Rate& r);

// Which image each classical metric prefers on one pair ('A' or 'B'; 0: not computed).
// With a reference: PSNR, SSIM (higher is better), GMSD (lower); without: BRISQUE
// (lower), when OpenCV's BRISQUE model files are installed.
struct ClassicalChoice {
  char psnr = 0, ssim = 0, gmsd = 0, brisque = 0;
  std::string error;  // OpenCV's message when a metric failed
};
ClassicalChoice classicalChoice(const cv::Mat& reference, const cv::Mat& a, const cv::Mat& b);
bool brisqueAvailable();

// The classical metrics' values for one image (RGB, as ClassicalChoice): with a reference
// of the same size PSNR (dB), SSIM, GMSD (each the mean over the three channels); without
// one BRISQUE when available. NaN where not computed; `error` holds OpenCV's message.
// Identical images get PSNR 80 dB (pyiqa's cap), not infinity.
struct ClassicalScores {
  double psnr, ssim, gmsd, brisque;
  std::string error;
};
ClassicalScores classicalScores(const cv::Mat& reference, const cv::Mat& image);

// A description against the truth of the described image.
struct DescriptionScore {
  std::array<bool, 5> aspectRight{};   // distorted or not, per aspect, said as it is
  bool setExact = false;               // all five right
  std::vector<bool> levelRight;        // per truly distorted aspect: its level said right
  std::optional<bool> dominantAspect;  // the dominant distortion's aspect named, as the most severe
  std::optional<bool> dominantKind;    // its kind named ("motion blur")
};
DescriptionScore scoreDescription(const data::ImageTruth& truth, const std::string& text);

// The encoder heads' distorted-or-not per aspect against the truth.
std::array<bool, 5> headsAspectRight(const data::ImageTruth& truth, const ImageQuality& heads);
// The heads' version of DescriptionScore::dominantAspect: the dominant distortion's aspect
// is the one with the highest expected severity (ImageQuality::worstAspect). Empty where
// the truth has no dominant distortion.
std::optional<bool> headsDominantAspect(const data::ImageTruth& truth, const ImageQuality& heads);

// A reasoning about a pair.
struct ReasoningScore {
  std::array<bool, 10> levelRight{};  // A's five aspect levels, then B's
  int confusionOpportunities = 0;     // aspects distorted in exactly one image
  int confusions = 0;                 // ... said of the other image instead
  char winner = 0;                    // the verdict read from the text: 'A', 'B', 0 (none or a tie)
  bool callsTie = false;              // the verdict calls the pair too close
  bool repeatsComparison = false;     // an aspect compared in more than one sentence
  bool contradictsItself = false;     // ... and given to A in one, to B in another
  // Aspects the answer compares, and how many of them go the way the aspects' own score
  // labels do (better, worse or comparable; the last sentence's reading where several
  // compare one aspect).
  int aspectsCompared = 0, comparisonsRight = 0;
};
ReasoningScore scoreReasoning(const data::ImageTruth& a, const data::ImageTruth& b, const std::string& text);

// Pointing game: the generated tokens that name `aspect` (data::Aspect) in `text`, given
// each token's byte span (Engine::tokenSpans).
std::vector<int> tokensNamingAspect(int aspect, const std::string& text, const std::vector<std::pair<int, int>>& spans);
// `attention` [gridHeight * gridWidth]: summed over those tokens. A hit when the peak cell
// over the image (padding excluded) overlaps `region` (x, y, w, h in source pixels);
// `chance` is the share of such cells that overlap it. nullopt without cells.
struct PointingResult {
  bool hit = false;
  double chance = 0;
};
std::optional<PointingResult> pointingGame(const std::vector<float>& attention, const ImageGeometry& geometry,
                                           const int region[4]);

// Expected calibration error over 10 equal-width confidence bins of (confidence, right);
// `bins` gets (count, sum of confidence, sum right) per bin. NaN when empty.
double expectedCalibrationError(const std::vector<std::pair<double, bool>>& cases,
                                std::vector<std::array<double, 3>>* bins = nullptr);

}  // namespace dqa::eval
