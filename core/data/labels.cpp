#include "core/data/labels.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace dqa::data {

namespace {
const char* kSeverity[] = {"undistorted", "mild", "severe"};
const char* kTexture[] = {"identifiable", "barely identifiable", "damaged"};
const char* kQuality[] = {"bad", "poor", "fair", "good", "excellent"};
const char* kCmp[] = {"<<", "<", "\xE2\x89\x88", ">", ">>"};
const char* kWinner[] = {"A", "B", "tie"};

template <class E, size_t N>
bool fromNames(const std::string& s, const char* (&names)[N], E* out, int offset = 0) {
  for (size_t i = 0; i < N; ++i)
    if (s == names[i]) {
      *out = static_cast<E>(static_cast<int>(i) + offset);
      return true;
    }
  return false;
}
}  // namespace

const char* severityName(Severity s) { return kSeverity[static_cast<int>(s)]; }
const char* textureName(Texture t) { return kTexture[static_cast<int>(t)]; }
const char* qualityName(Quality q) { return kQuality[static_cast<int>(q)]; }
const char* cmpSymbol(Cmp c) { return kCmp[static_cast<int>(c) + 2]; }
const char* winnerName(Winner w) { return kWinner[static_cast<int>(w)]; }
bool severityFromName(const std::string& s, Severity* out) { return fromNames(s, kSeverity, out); }

const Thresholds& thresholds() {
  static const Thresholds t;
  return t;
}

double qualityFraction(double mos) { return std::clamp((mos - kMinMos) / (kReferenceMos - kMinMos), 0.0, 1.0); }
double mosFromFraction(double q) { return kMinMos + std::clamp(q, 0.0, 1.0) * (kReferenceMos - kMinMos); }

namespace {
double effectiveFraction(const DistortionLabel& d) {
  double q = qualityFraction(d.mos);
  if (d.area < 1.0) q = 1.0 - (1.0 - q) * std::pow(std::max(d.area, 0.0), thresholds().localExponent);
  return q;
}
}  // namespace

double combineMos(const std::vector<DistortionLabel>& ds) {
  double q = 1.0;
  for (const auto& d : ds) q *= effectiveFraction(d);
  return mosFromFraction(q);
}

double combineMos(const std::vector<DistortionLabel>& ds, const std::array<double, kNumAspects>& w) {
  double logq = 0.0;
  for (const auto& d : ds) logq += w[static_cast<int>(d.aspect)] * std::log(std::max(effectiveFraction(d), 1e-6));
  return mosFromFraction(std::exp(logq));
}

double weightedMos(const ImageLabel& label, const std::array<double, kNumAspects>& w) {
  return kReferenceMos - label.visibility * (kReferenceMos - combineMos(label.distortions, w));
}

Severity severityOf(double mos) {
  if (mos >= thresholds().undistortedMin) return Severity::Undistorted;
  if (mos < thresholds().severeBelow) return Severity::Severe;
  return Severity::Mild;
}

Quality qualityOf(double mos) {
  const auto& t = thresholds();
  if (mos >= t.excellentMin) return Quality::Excellent;
  if (mos >= t.goodMin) return Quality::Good;
  if (mos >= t.fairMin) return Quality::Fair;
  if (mos >= t.poorMin) return Quality::Poor;
  return Quality::Bad;
}

Cmp compareMos(double a, double b) {
  double d = a - b;
  const auto& t = thresholds();
  if (std::fabs(d) < t.tieGap) return Cmp::Similar;
  if (d >= t.strongGap) return Cmp::MuchBetter;
  if (d <= -t.strongGap) return Cmp::MuchWorse;
  return d > 0 ? Cmp::Better : Cmp::Worse;
}

Winner winnerOf(double a, double b) {
  Cmp c = compareMos(a, b);
  if (c == Cmp::Similar) return Winner::Tie;
  return static_cast<int>(c) > 0 ? Winner::A : Winner::B;
}

double gradientSimilarity(const cv::Mat& reference, const cv::Mat& distorted) {
  if (reference.empty() || reference.size() != distorted.size()) return 1.0;
  cv::Mat g1, g2;
  cv::cvtColor(reference, g1, cv::COLOR_RGB2GRAY);
  cv::cvtColor(distorted, g2, cv::COLOR_RGB2GRAY);
  static const cv::Mat kx = (cv::Mat_<float>(3, 3) << 1, 0, -1, 1, 0, -1, 1, 0, -1) / 3.0f;
  static const cv::Mat ky = kx.t();
  auto mag = [&](const cv::Mat& g) {
    cv::Mat gx, gy, m;
    cv::filter2D(g, gx, CV_32F, kx, {-1, -1}, 0, cv::BORDER_REFLECT);
    cv::filter2D(g, gy, CV_32F, ky, {-1, -1}, 0, cv::BORDER_REFLECT);
    cv::magnitude(gx, gy, m);
    return m;
  };
  cv::Mat m1 = mag(g1), m2 = mag(g2);
  const float c = 170.f;  // GMSD's constant for 0..255 images
  double num = 0, den = 0;
  for (int y = 0; y < m1.rows; ++y) {
    const float* a = m1.ptr<float>(y);
    const float* b = m2.ptr<float>(y);
    for (int x = 0; x < m1.cols; ++x) {
      float gms = (2 * a[x] * b[x] + c) / (a[x] * a[x] + b[x] * b[x] + c);
      float w = std::max(a[x], b[x]) + 1.0f;  // where either image has structure
      num += w * gms;
      den += w;
    }
  }
  return den > 0 ? num / den : 1.0;
}

double psnrOf(const cv::Mat& reference, const cv::Mat& distorted) {
  if (reference.empty() || reference.size() != distorted.size() || reference.type() != distorted.type()) return 99.0;
  double mse =
      cv::norm(reference, distorted, cv::NORM_L2SQR) / static_cast<double>(reference.total() * reference.channels());
  return mse <= 1e-10 ? 99.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

ImageLabel labelImage(const std::vector<Distortion>& ds, cv::Size imageSize, const cv::Mat& reference,
                      const cv::Mat& distorted) {
  ImageLabel label;
  const double area = std::max(1, imageSize.area());
  std::array<std::vector<DistortionLabel>, kNumAspects> perAspect;
  for (const auto& d : ds) {
    DistortionLabel dl;
    dl.distortion = d;
    dl.mos = d.mos();
    dl.aspect = typeInfo(d.type).aspect;
    cv::Rect r = d.region & cv::Rect(0, 0, imageSize.width, imageSize.height);
    if (!d.region.empty() && !r.empty() && r.area() < area) {
      dl.area = r.area() / area;
      label.local = true;
      label.region = label.region.empty() ? r : (label.region | r);
    }
    perAspect[static_cast<int>(dl.aspect)].push_back(dl);
    label.distortions.push_back(dl);
  }
  // Direction of the brightness change (for "too bright" / "too dark"): from the
  // brightness-aspect distortion with the lowest MOS; contrast changes have none.
  double worst = 1e9;
  for (const auto& dl : label.distortions) {
    if (dl.aspect != Aspect::Brightness || dl.mos >= worst) continue;
    worst = dl.mos;
    double p = dl.distortion.param();
    int t = dl.distortion.type;
    label.brightnessDirection = (t == 16 || (t == 18 && p > 0)) ? +1 : (t == 17 || (t == 18 && p < 0)) ? -1 : 0;
  }
  const auto& t = thresholds();
  if (!reference.empty() && !distorted.empty() && !ds.empty()) {
    label.psnr = psnrOf(reference, distorted);
    label.visibility = std::clamp((t.invisiblePsnr - label.psnr) / (t.invisiblePsnr - t.visiblePsnr), 0.0, 1.0);
  }
  auto visible = [&](double mos) { return kReferenceMos - label.visibility * (kReferenceMos - mos); };
  label.mos = visible(combineMos(label.distortions));
  for (int a = 0; a < kNumAspects; ++a) {
    label.aspectMos[a] = visible(combineMos(perAspect[a]));
    label.aspectLevel[a] = severityOf(label.aspectMos[a]);
  }
  label.overallLevel = severityOf(label.mos);
  label.quality = qualityOf(label.mos);

  // Texture: measured detail loss, checked against the labels. Brightness and colour
  // changes do not destroy texture (they can lower GMS through contrast alone), so
  // without any distorted structural aspect (noise, artifacts, blurriness) the texture
  // is identifiable. A severe structural aspect means at least "barely identifiable".
  label.gms = gradientSimilarity(reference, distorted);
  Severity structural =
      std::max({label.level(Aspect::Noise), label.level(Aspect::Artifacts), label.level(Aspect::Blurriness)});
  Texture measured = label.gms >= t.textureIdentifiableMin ? Texture::Identifiable
                     : label.gms >= t.textureBarelyMin     ? Texture::BarelyIdentifiable
                                                           : Texture::Damaged;
  if (reference.empty() || distorted.empty()) {
    measured = structural == Severity::Severe ? Texture::BarelyIdentifiable : Texture::Identifiable;
  }
  if (structural == Severity::Undistorted) measured = Texture::Identifiable;
  if (structural == Severity::Severe && measured == Texture::Identifiable) measured = Texture::BarelyIdentifiable;
  label.texture = measured;
  return label;
}

}  // namespace dqa::data
