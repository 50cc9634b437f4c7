#include "core/image/banded_quality.h"

#include <opencv2/quality.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace dqa::image {
namespace {

// Rows of context a band needs on each side: the SSIM Gaussian's radius (11x11).
constexpr int kSsimContext = 5;

void checkPair(const cv::Mat& reference, const cv::Mat& image) {
  CV_Assert(!reference.empty() && reference.size() == image.size() && reference.type() == image.type());
}

// Calls `visit(core rows of the image, rows of the band read with context, first core
// row inside that band)` for each band from top to bottom. False if `stop` ended it early.
template <typename Visit>
bool forEachBand(int rows, int bandRows, int context, const std::atomic<bool>* stop, Visit visit) {
  const int step = std::max(1, bandRows);
  for (int y0 = 0; y0 < rows; y0 += step) {
    if (stop && stop->load(std::memory_order_relaxed)) return false;
    const int y1 = std::min(rows, y0 + step);
    const int top = std::max(0, y0 - context), bottom = std::min(rows, y1 + context);
    visit(cv::Range(y0, y1), cv::Range(top, bottom), y0 - top);
  }
  return true;
}

const cv::Scalar kStopped = cv::Scalar::all(std::numeric_limits<double>::quiet_NaN());

}  // namespace

cv::Scalar bandedPsnr(const cv::Mat& reference, const cv::Mat& image, int bandRows, const std::atomic<bool>* stop) {
  checkPair(reference, image);
  cv::Scalar squaredError;
  const bool whole = forEachBand(reference.rows, bandRows, 0, stop, [&](cv::Range core, cv::Range, int) {
    cv::Mat difference;
    cv::subtract(image.rowRange(core), reference.rowRange(core), difference, cv::noArray(), CV_64F);
    squaredError += cv::sum(difference.mul(difference));
  });
  if (!whole) return kStopped;
  const double pixels = double(reference.total());
  cv::Scalar psnr;
  for (int c = 0; c < reference.channels(); ++c) {
    const double mse = squaredError[c] / pixels;
    psnr[c] = mse == 0.0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(255.0 * 255.0 / mse);
  }
  return psnr;
}

cv::Scalar bandedSsim(const cv::Mat& reference, const cv::Mat& image, int bandRows, const std::atomic<bool>* stop) {
  checkPair(reference, image);
  cv::Scalar sum;
  const bool whole =
      forEachBand(reference.rows, bandRows, kSsimContext, stop, [&](cv::Range core, cv::Range band, int offset) {
        const cv::Ptr<cv::quality::QualitySSIM> ssim = cv::quality::QualitySSIM::create(reference.rowRange(band));
        ssim->compute(image.rowRange(band));
        cv::Mat map;  // [band rows, cols], a channel per image channel
        ssim->getQualityMap(map);
        sum += cv::sum(map.rowRange(offset, offset + core.size()));
      });
  if (!whole) return kStopped;
  return sum / double(reference.total());
}

}  // namespace dqa::image
