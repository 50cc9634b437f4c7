#include "core/tiled/verdict_map.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>

namespace dqa::tiled {

const cv::Vec3b kColourA{230, 159, 0};
const cv::Vec3b kColourB{0, 114, 178};
const cv::Vec3b kColourClose{150, 150, 150};

namespace {

cv::Vec3b colourOf(char winner) { return winner == 'A' ? kColourA : winner == 'B' ? kColourB : kColourClose; }

}  // namespace

cv::Mat verdictMapRgba(const WholeImageResult& result, int downscale) {
  downscale = std::max(1, downscale);
  const int w = std::max(1, result.grid.imageWidth / downscale), h = std::max(1, result.grid.imageHeight / downscale);
  cv::Mat map(h, w, CV_8UC4, cv::Scalar(0, 0, 0, 0));
  // Later tiles overwrite earlier ones where the last column/row overlaps its neighbour,
  // as WholeImageResult::tileAt picks them.
  for (const auto& t : result.tiles) {
    if (t.winner == 0) continue;
    const cv::Vec3b c = colourOf(t.winner);
    const auto alpha = static_cast<uchar>(std::clamp(255.0 * (0.2 + 0.6 * t.strength), 0.0, 255.0));
    cv::Rect r(t.tile.rect.x / downscale, t.tile.rect.y / downscale, std::max(1, t.tile.rect.width / downscale),
               std::max(1, t.tile.rect.height / downscale));
    r &= cv::Rect(0, 0, w, h);
    map(r).setTo(cv::Scalar(c[0], c[1], c[2], alpha));
  }
  return map;
}

cv::Mat renderVerdictMap(const cv::Mat& background, const WholeImageResult& result, int maxSide) {
  const int longest = std::max(result.grid.imageWidth, result.grid.imageHeight);
  const double scale = std::min(1.0, double(maxSide) / std::max(1, longest));
  cv::Mat base;
  if (background.depth() == CV_16U)
    background.convertTo(base, CV_8U, 1.0 / 257.0);
  else
    base = background;
  cv::Mat canvas;
  cv::resize(base, canvas, cv::Size(), scale, scale, cv::INTER_AREA);
  if (canvas.channels() == 1) cv::cvtColor(canvas, canvas, cv::COLOR_GRAY2RGB);
  for (const auto& t : result.tiles) {
    cv::Rect r(cvRound(t.tile.rect.x * scale), cvRound(t.tile.rect.y * scale),
               std::max(1, cvRound(t.tile.rect.width * scale)), std::max(1, cvRound(t.tile.rect.height * scale)));
    r &= cv::Rect(0, 0, canvas.cols, canvas.rows);
    if (t.winner == 0 || r.empty()) continue;
    const cv::Vec3b c = colourOf(t.winner);
    const double alpha = 0.2 + 0.6 * t.strength;
    cv::Mat roi = canvas(r);
    cv::Mat tint(roi.size(), roi.type(), cv::Scalar(c[0], c[1], c[2]));
    cv::addWeighted(roi, 1 - alpha, tint, alpha, 0, roi);
    if (r.width >= 6) cv::rectangle(canvas, r, cv::Scalar(255, 255, 255), 1);
  }
  // Legend.
  const int band = 28;
  cv::Mat out(canvas.rows + band, canvas.cols, CV_8UC3, cv::Scalar(32, 32, 32));
  canvas.copyTo(out(cv::Rect(0, 0, canvas.cols, canvas.rows)));
  int x = 8;
  for (auto [label, colour] :
       {std::pair{"A better", kColourA}, std::pair{"B better", kColourB}, std::pair{"too close", kColourClose}}) {
    cv::rectangle(out, cv::Rect(x, canvas.rows + 8, 14, 14), cv::Scalar(colour[0], colour[1], colour[2]), cv::FILLED);
    cv::putText(out, label, cv::Point(x + 20, canvas.rows + 20), cv::FONT_HERSHEY_SIMPLEX, 0.45,
                cv::Scalar(235, 235, 235), 1, cv::LINE_AA);
    x += 110;
  }
  return out;
}

}  // namespace dqa::tiled
