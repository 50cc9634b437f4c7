#pragma once
// The evaluator's two pictures, drawn with OpenCV (no plotting library on the machines).
#include <array>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace dqa::eval {

// Reliability diagram: accuracy per confidence bin (bins as expectedCalibrationError fills them).
void drawReliability(const std::vector<std::array<double, 3>>& bins, double ece, const std::string& path);
// Bars of accuracies (0..1; NaN drawn as 0), the first one highlighted, a chance line at 50%.
void drawBars(const std::vector<std::pair<std::string, double>>& bars, const std::string& title,
              const std::string& path);
// Scatter of (x, y) with `curve` drawn over x's range (e.g. the fitted logistic); axes
// span the data.
void drawScatter(const std::vector<double>& x, const std::vector<double>& y, const std::function<double(double)>& curve,
                 const std::string& xLabel, const std::string& yLabel, const std::string& title,
                 const std::string& path);
// Horizontal bars in [-1, 1] from a zero line, one row per name, up to two values per row
// (first coloured, second grey; NaN not drawn), with a legend naming the two series.
struct BarRow {
  std::string name;
  double first = 0, second = 0;
};
void drawCorrelationBars(const std::vector<BarRow>& rows, const std::string& firstName, const std::string& secondName,
                         const std::string& title, const std::string& path);

}  // namespace dqa::eval
