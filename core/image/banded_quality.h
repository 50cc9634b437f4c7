#pragma once
// PSNR and SSIM exactly as OpenCV's quality module defines them (per channel, over the
// whole image), computed in horizontal bands. OpenCV's QualitySSIM keeps about a dozen
// full-size maps per call: ~9 GB for a 24 MP RGB pair, and the window computes A and B
// at once. Bands of `bandRows` rows (with the 11x11 Gaussian's 5 rows of context above
// and below, so the sums are the whole image's) bound that to tens of MB.
// Both throw cv::Exception on mismatched inputs, as OpenCV's functions do. Where `stop`
// is given and becomes true (from another thread), they return NaN per channel at the
// next band, so that a computation nobody waits for any more frees the CPU at once.
#include <opencv2/core.hpp>

#include <atomic>

namespace dqa::image {

// Per-channel PSNR with peak 255 (OpenCV's QualityPSNR): infinity where identical.
cv::Scalar bandedPsnr(const cv::Mat& reference, const cv::Mat& image, int bandRows = 256,
                      const std::atomic<bool>* stop = nullptr);

// Per-channel mean SSIM (OpenCV's QualitySSIM: Gaussian 11x11, sigma 1.5, C1 6.5025,
// C2 58.5225, for values on the 0..255 scale).
cv::Scalar bandedSsim(const cv::Mat& reference, const cv::Mat& image, int bandRows = 256,
                      const std::atomic<bool>* stop = nullptr);

}  // namespace dqa::image
