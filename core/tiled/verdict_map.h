#pragma once
// The local verdict map as a picture: each judged tile tinted with the colour of the
// side that wins it, as opaque as the tile's verdict is strong. OpenCV only, so the CLI
// writes it to a file and the GUI lays it over its panes.
#include <opencv2/core.hpp>

#include "core/tiled/whole_image.h"

namespace dqa::tiled {

// Okabe-Ito colours (safe for colour-blind viewers), RGB.
extern const cv::Vec3b kColourA;      // orange
extern const cv::Vec3b kColourB;      // blue
extern const cv::Vec3b kColourClose;  // grey

// RGBA (straight alpha) CV_8UC4 of the frame at 1/downscale of its size: A-won tiles
// orange, B-won blue, too-close grey, skipped transparent. Alpha 0.2 + 0.6 * strength.
cv::Mat verdictMapRgba(const WholeImageResult& result, int downscale);

// `background` (RGB, 8 or 16 bit, the frame's size) with the map blended over it, tile
// borders drawn, and a legend strip at the bottom. For files and reports.
cv::Mat renderVerdictMap(const cv::Mat& background, const WholeImageResult& result, int maxSide = 2048);

}  // namespace dqa::tiled
