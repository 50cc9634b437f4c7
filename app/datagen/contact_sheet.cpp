#include "app/datagen/contact_sheet.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdio>

#include "core/data/distortions.h"
#include "core/data/labels.h"
#include "core/data/sampler.h"

namespace dqa::datagen {
namespace {

using namespace dqa::data;

cv::Mat tile(const cv::Mat& rgb, int size) {
  cv::Mat t;
  cv::resize(rgb, t, {size, size}, 0, 0, cv::INTER_NEAREST);
  return t;
}

void putLines(cv::Mat& canvas, cv::Point at, const std::vector<std::string>& lines, double scale = 0.85) {
  for (size_t i = 0; i < lines.size(); ++i)
    cv::putText(canvas, lines[i], at + cv::Point(0, static_cast<int>(12 + 13 * i)), cv::FONT_HERSHEY_PLAIN, scale,
                cv::Scalar(20, 20, 20), 1, cv::LINE_AA);
}

// The types that have photographic variants, in type order.
std::vector<int> photographicTypes() {
  std::vector<int> types;
  for (int t = 1; t <= kNumTypes; ++t)
    if (photographicVariantCount(t) > 0) types.push_back(t);
  return types;
}

class ContactSheet {
 public:
  ContactSheet(const std::vector<Photo>& photos, std::uint64_t seed)
      : photos_(photos), seed_(seed), rng_(seed), photographic_(photographicTypes()) {
    const int rows = kNumTypes + kExtraRows + int(photographic_.size());
    canvas_ =
        cv::Mat(kPad + rows * kRowH + 30, kLabelW + kCols * (kT + kPad) + kPad, CV_8UC3, cv::Scalar(250, 250, 250));
    cv::putText(canvas_,
                "DepictQA data engine: KADID-10k types at levels 1/3/5 + a random variant, labels from KADID MOS",
                {kPad, 20}, cv::FONT_HERSHEY_PLAIN, 0.95, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  }

  bool write(const std::string& path) {
    // The draws from rng_ keep their order: the KADID and combined rows are the same
    // pictures as before the photographic rows were added below them.
    for (int t = 1; t <= kNumTypes; ++t) typeRow(t);
    for (int r = 0; r < kExtraRows; ++r) combinedRow(r);
    for (size_t i = 0; i < photographic_.size(); ++i)
      photographicRow(kNumTypes + kExtraRows + int(i), photographic_[i]);
    return cv::imwrite(path, canvas_, {cv::IMWRITE_PNG_COMPRESSION, 9});
  }

 private:
  static constexpr int kT = 112, kPad = 20, kTextH = 72, kLabelW = 150, kCols = 5, kExtraRows = 3;
  static constexpr int kRowH = kT + kTextH + kPad;

  int rowTop(int row) const { return 30 + row * kRowH; }

  cv::Mat pickPatch(int r) {
    const Photo& p = photos_[static_cast<size_t>(r) % photos_.size()];
    const int need = kT + 32;
    const int x = p.rgb.cols > need ? rng_.uniform(0, p.rgb.cols - need) : 0;
    const int y = p.rgb.rows > need ? rng_.uniform(0, p.rgb.rows - need) : 0;
    return p.rgb(cv::Rect(x, y, std::min(need, p.rgb.cols), std::min(need, p.rgb.rows))).clone();
  }

  static cv::Mat crop(const cv::Mat& padded) {
    return padded(cv::Rect(16, 16, padded.cols - 32, padded.rows - 32)).clone();
  }

  void place(int row, int col, const cv::Mat& img, const std::vector<std::string>& lines) {
    const int x = kLabelW + kPad + col * (kT + kPad), y = rowTop(row);
    cv::Mat bgr;
    cv::cvtColor(tile(img, kT), bgr, cv::COLOR_RGB2BGR);
    bgr.copyTo(canvas_(cv::Rect(x, y, kT, kT)));
    putLines(canvas_, {x, y + kT}, lines, 0.75);
  }

  static std::vector<std::string> labelLines(const std::vector<Distortion>& ds, const cv::Mat& ref,
                                             const cv::Mat& out) {
    const ImageLabel l = labelImage(ds, ref.size(), ref, out);
    std::vector<std::string> lines;
    char buf[96];
    std::snprintf(buf, sizeof buf, "MOS %.2f %s", l.mos, qualityName(l.quality));
    lines.push_back(buf);
    std::string asp;
    for (int a = 0; a < kNumAspects; ++a)
      if (l.aspectLevel[a] != Severity::Undistorted)
        asp += std::string(asp.empty() ? "" : ",") + std::string(aspectName(static_cast<Aspect>(a))).substr(0, 4) +
               ":" + std::string(severityName(l.aspectLevel[a])).substr(0, 4);
    if (asp.size() > 20) {
      const size_t cut = asp.rfind(',', 20);
      lines.push_back(asp.substr(0, cut));
      lines.push_back(asp.substr(cut + 1));
    } else {
      lines.push_back(asp.empty() ? "undistorted" : asp);
    }
    const std::string tex = textureName(l.texture);
    lines.push_back("tex: " + (tex == "barely identifiable" ? std::string("barely ident.") : tex));
    return lines;
  }

  // One distortion on `padded`, placed with its labels under a first line.
  void placeDistorted(int row, int col, const cv::Mat& padded, const Distortion& d, std::uint64_t stream,
                      const std::string& first) {
    const cv::Mat ref = crop(padded);
    const cv::Mat out = crop(applyDistortion(padded, d, mixSeed(seed_, stream)));
    auto lines = labelLines({d}, ref, out);
    lines.insert(lines.begin(), first);
    place(row, col, out, lines);
  }

  static std::string levelLine(const Distortion& d) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "L%.0f p=%g", d.level, d.param());
    return buf;
  }

  void typeRow(int t) {
    const int row = t - 1;
    const cv::Mat padded = pickPatch(t * 7);
    const auto& info = typeInfo(t);
    putLines(canvas_, {kPad, rowTop(row) + 10},
             {std::to_string(t) + " " + info.title, std::string("aspect: ") + aspectName(info.aspect),
              std::to_string(info.numVariants) + " variants"},
             0.8);
    place(row, 0, crop(padded), {"reference", "MOS 4.60"});
    int col = 1;
    for (double lv : {1.0, 3.0, 5.0}) {
      const Distortion d{t, lv, 0, {}};
      placeDistorted(row, col, padded, d, std::uint64_t(t * 10 + col), levelLine(d));
      ++col;
    }
    const Distortion d{t, rng_.uniform(1.0, 5.0), rng_.uniform(0, info.numVariants), {}};
    char buf[64];
    std::snprintf(buf, sizeof buf, "L%.2f %s", d.level, variantName(t, d.variant).substr(0, 16).c_str());
    placeDistorted(row, col, padded, d, std::uint64_t(t * 10 + 9), buf);
  }

  void combinedRow(int r) {
    const int row = kNumTypes + r;
    putLines(canvas_, {kPad, rowTop(row) + 10},
             {r < 2 ? "combined (2-3)" : "local (region)", r < 2 ? "fractions multiply" : "drop x area^0.5"}, 0.8);
    const SamplerConfig cfg;
    for (int c = 0; c < kCols; ++c) {
      const cv::Mat padded = pickPatch(r * 11 + c * 3 + 1);
      const cv::Mat ref = crop(padded);
      std::vector<Distortion> ds = randomDistortions(rng_, cfg, r < 2 ? 2 + (c % 2) : 1, ref.size());
      if (r == 2) {
        ds[0].region = cv::Rect(16 + 10, 16 + 10, ref.cols / 2, ref.rows / 2);
        ds[0].level = std::max(ds[0].level, 3.5);
      }
      const cv::Mat out = crop(applyDistortions(padded, ds, mixSeed(seed_, std::uint64_t(999 + r * 10 + c))));
      std::vector<Distortion> labelDs = ds;
      for (auto& d : labelDs)
        if (!d.region.empty()) d.region -= cv::Point(16, 16);
      auto lines = labelLines(labelDs, ref, out);
      std::string names;
      for (auto& d : ds) names += std::string(names.empty() ? "" : "+") + std::to_string(d.type);
      lines.insert(lines.begin(), "types " + names);
      place(row, c, out, lines);
    }
  }

  void photographicRow(int row, int t) {
    const int variant = typeInfo(t).numVariants;  // the first photographic variant
    // The most detailed of four patches: fringes and halos need edges to show on.
    cv::Mat padded;
    double detail = -1;
    for (int k = 0; k < 4; ++k) {
      cv::Mat candidate = pickPatch(t * 13 + k * 29 + 5), grey, laplacian;
      cv::cvtColor(candidate, grey, cv::COLOR_RGB2GRAY);
      cv::Laplacian(grey, laplacian, CV_32F);
      cv::Scalar mean, deviation;
      cv::meanStdDev(laplacian, mean, deviation);
      if (deviation[0] > detail) detail = deviation[0], padded = candidate;
    }
    putLines(canvas_, {kPad, rowTop(row) + 10},
             {"photographic, type " + std::to_string(t), variantName(t, variant).substr(0, 20),
              ("labels: " + std::string(typeInfo(t).title)).substr(0, 20)},
             0.8);
    int col = 0;
    for (double lv : {1.0, 3.0, 5.0}) {
      const Distortion d{t, lv, variant, {}};
      placeDistorted(row, col, padded, d, std::uint64_t(5000 + t * 10 + col), levelLine(d));
      ++col;
    }
    placeDistorted(row, col, padded, Distortion{t, 3.0, 0, {}}, std::uint64_t(5000 + t * 10 + col),
                   "KADID variant, L3");
    place(row, col + 1, crop(padded), {"reference"});
  }

  const std::vector<Photo>& photos_;
  std::uint64_t seed_;
  cv::RNG rng_;
  std::vector<int> photographic_;
  cv::Mat canvas_;
};

}  // namespace

bool writeContactSheet(const std::string& path, const std::vector<Photo>& photos, std::uint64_t seed) {
  if (photos.empty()) return false;
  return ContactSheet(photos, seed).write(path);
}

}  // namespace dqa::datagen
