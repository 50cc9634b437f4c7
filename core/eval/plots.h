#pragma once
// The evaluator's two pictures, drawn with OpenCV (no plotting library on the machines).
#include <array>
#include <string>
#include <utility>
#include <vector>

namespace dqa::eval {

// Reliability diagram: accuracy per confidence bin (bins as expectedCalibrationError fills them).
void drawReliability(const std::vector<std::array<double, 3>>& bins, double ece, const std::string& path);
// Bars of accuracies (0..1; NaN drawn as 0), the first one highlighted, a chance line at 50%.
void drawBars(const std::vector<std::pair<std::string, double>>& bars, const std::string& title, const std::string& path);

}  // namespace dqa::eval
