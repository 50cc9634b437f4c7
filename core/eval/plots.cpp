#include "core/eval/plots.h"

#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace dqa::eval {

void drawReliability(const std::vector<std::array<double, 3>>& bins, double ece, const std::string& path) {
  const int S = 420, m = 50;
  cv::Mat img(S, S, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::rectangle(img, {m, m}, {S - m, S - m}, {0, 0, 0});
  cv::line(img, {m, S - m}, {S - m, m}, {160, 160, 160}, 1, cv::LINE_AA);
  const double w = double(S - 2 * m) / 10;
  for (int k = 0; k < 10; ++k) {
    if (bins[size_t(k)][0] == 0) continue;
    const double acc = bins[size_t(k)][2] / bins[size_t(k)][0];
    cv::rectangle(img, cv::Point(m + int(k * w) + 2, S - m - int(acc * (S - 2 * m))),
                  cv::Point(m + int((k + 1) * w) - 2, S - m), cv::Scalar(200, 120, 40), cv::FILLED);
  }
  char t[80];
  std::snprintf(t, sizeof t, "A/B verdict reliability, ECE %.3f", ece);
  cv::putText(img, t, {m, 30}, cv::FONT_HERSHEY_SIMPLEX, 0.5, {0, 0, 0}, 1, cv::LINE_AA);
  cv::putText(img, "confidence", {S / 2 - 40, S - 15}, cv::FONT_HERSHEY_SIMPLEX, 0.45, {0, 0, 0}, 1, cv::LINE_AA);
  cv::putText(img, "accuracy", {5, m - 8}, cv::FONT_HERSHEY_SIMPLEX, 0.45, {0, 0, 0}, 1, cv::LINE_AA);
  cv::imwrite(path, img);
}

void drawBars(const std::vector<std::pair<std::string, double>>& bars, const std::string& title, const std::string& path) {
  const int W = 640, Hh = 360, m = 50;
  cv::Mat img(Hh, W, CV_8UC3, cv::Scalar(255, 255, 255));
  const double w = double(W - 2 * m) / std::max<size_t>(1, bars.size());
  for (size_t i = 0; i < bars.size(); ++i) {
    const double v = std::isnan(bars[i].second) ? 0 : bars[i].second;
    const int top = Hh - m - int(v * (Hh - 2 * m));
    cv::rectangle(img, cv::Point(m + int(i * w) + 8, top), cv::Point(m + int((i + 1) * w) - 8, Hh - m),
                  i == 0 ? cv::Scalar(40, 140, 40) : cv::Scalar(150, 150, 150), cv::FILLED);
    char t[32];
    std::snprintf(t, sizeof t, "%.1f%%", 100 * v);
    cv::putText(img, t, {m + int(i * w) + 10, top - 6}, cv::FONT_HERSHEY_SIMPLEX, 0.45, {0, 0, 0}, 1, cv::LINE_AA);
    cv::putText(img, bars[i].first, {m + int(i * w) + 10, Hh - m + 18}, cv::FONT_HERSHEY_SIMPLEX, 0.42, {0, 0, 0}, 1, cv::LINE_AA);
  }
  const int half = Hh - m - (Hh - 2 * m) / 2;
  cv::line(img, {m, half}, {W - m, half}, {120, 120, 220}, 1, cv::LINE_AA);  // chance
  cv::putText(img, title, {m, 28}, cv::FONT_HERSHEY_SIMPLEX, 0.5, {0, 0, 0}, 1, cv::LINE_AA);
  cv::imwrite(path, img);
}

}  // namespace dqa::eval
