#include "core/eval/plots.h"

#include <algorithm>
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

void drawBars(const std::vector<std::pair<std::string, double>>& bars, const std::string& title,
              const std::string& path) {
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
    cv::putText(img, bars[i].first, {m + int(i * w) + 10, Hh - m + 18}, cv::FONT_HERSHEY_SIMPLEX, 0.42, {0, 0, 0}, 1,
                cv::LINE_AA);
  }
  const int half = Hh - m - (Hh - 2 * m) / 2;
  cv::line(img, {m, half}, {W - m, half}, {120, 120, 220}, 1, cv::LINE_AA);  // chance
  cv::putText(img, title, {m, 28}, cv::FONT_HERSHEY_SIMPLEX, 0.5, {0, 0, 0}, 1, cv::LINE_AA);
  cv::imwrite(path, img);
}

namespace {

void text(cv::Mat& img, const std::string& t, cv::Point at, double size = 0.45) {
  cv::putText(img, t, at, cv::FONT_HERSHEY_SIMPLEX, size, {0, 0, 0}, 1, cv::LINE_AA);
}

std::string number(double v) {
  char t[32];
  std::snprintf(t, sizeof t, "%.3g", v);
  return t;
}

}  // namespace

void drawScatter(const std::vector<double>& x, const std::vector<double>& y, const std::function<double(double)>& curve,
                 const std::string& xLabel, const std::string& yLabel, const std::string& title,
                 const std::string& path) {
  const int W = 560, H = 480, m = 60;
  cv::Mat img(H, W, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::rectangle(img, {m, m}, {W - m, H - m}, {0, 0, 0});
  text(img, title, {m, 30}, 0.5);
  text(img, xLabel, {W / 2 - 60, H - 15});
  text(img, yLabel, {5, m - 10});
  if (x.empty() || x.size() != y.size()) {
    cv::imwrite(path, img);
    return;
  }
  const auto [x0, x1] = std::minmax_element(x.begin(), x.end());
  const auto [y0, y1] = std::minmax_element(y.begin(), y.end());
  const double xl = *x0, xh = *x1 > *x0 ? *x1 : *x0 + 1, yl = *y0, yh = *y1 > *y0 ? *y1 : *y0 + 1;
  auto px = [&](double v) { return m + int((v - xl) / (xh - xl) * (W - 2 * m)); };
  auto py = [&](double v) { return H - m - int((std::clamp(v, yl, yh) - yl) / (yh - yl) * (H - 2 * m)); };
  for (size_t i = 0; i < x.size(); ++i)
    cv::circle(img, {px(x[i]), py(y[i])}, 2, {200, 120, 40}, cv::FILLED, cv::LINE_AA);
  if (curve) {
    cv::Point last;
    for (int k = 0; k <= 200; ++k) {
      const double v = xl + (xh - xl) * k / 200;
      const cv::Point p{px(v), py(curve(v))};
      if (k > 0) cv::line(img, last, p, {40, 40, 200}, 2, cv::LINE_AA);
      last = p;
    }
  }
  text(img, number(xl), {m, H - m + 18});
  text(img, number(xh), {W - m - 30, H - m + 18});
  text(img, number(yl), {10, H - m});
  text(img, number(yh), {10, m + 12});
  cv::imwrite(path, img);
}

void drawCorrelationBars(const std::vector<BarRow>& rows, const std::string& firstName, const std::string& secondName,
                         const std::string& title, const std::string& path) {
  const int left = 230, right = 60, top = 70, rowH = 24, W = 720;
  const int H = top + rowH * int(std::max<size_t>(1, rows.size())) + 40;
  cv::Mat img(H, W, CV_8UC3, cv::Scalar(255, 255, 255));
  text(img, title, {10, 25}, 0.5);
  cv::rectangle(img, {10, 38}, {22, 50}, {200, 120, 40}, cv::FILLED);
  text(img, firstName, {28, 50});
  cv::rectangle(img, {200, 38}, {212, 50}, {160, 160, 160}, cv::FILLED);
  text(img, secondName, {218, 50});
  const int zero = left + (W - left - right) / 2, half = (W - left - right) / 2;
  auto bar = [&](double v, int y0, int y1, cv::Scalar colour) {
    if (std::isnan(v)) return;
    const int end = zero + int(std::clamp(v, -1.0, 1.0) * half);
    cv::rectangle(img, {std::min(zero, end), y0}, {std::max(zero, end), y1}, colour, cv::FILLED);
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    const int y = top + int(i) * rowH;
    text(img, rows[i].name.substr(0, 30), {10, y + 15}, 0.42);
    bar(rows[i].first, y + 2, y + 11, {200, 120, 40});
    bar(rows[i].second, y + 12, y + 21, {160, 160, 160});
    text(img, std::isnan(rows[i].first) ? "n/a" : number(rows[i].first), {W - right + 5, y + 15}, 0.4);
  }
  cv::line(img, {zero, top - 4}, {zero, H - 36}, {0, 0, 0});
  text(img, "-1", {left - 8, H - 18});
  text(img, "0", {zero - 4, H - 18});
  text(img, "1", {W - right - 4, H - 18});
  cv::imwrite(path, img);
}

}  // namespace dqa::eval
