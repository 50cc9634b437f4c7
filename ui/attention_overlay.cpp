#include "ui/attention_overlay.h"

#include <algorithm>

#include <opencv2/imgproc.hpp>

namespace dqa::ui {

const std::vector<QRgb>& colormapTable(Colormap map) {
  static const auto build = [](int cvMap) {
    cv::Mat ramp(1, 256, CV_8UC1);
    for (int i = 0; i < 256; ++i) ramp.at<uchar>(0, i) = uchar(i);
    cv::Mat bgr;
    cv::applyColorMap(ramp, bgr, cvMap);
    std::vector<QRgb> table(256);
    for (int i = 0; i < 256; ++i) {
      const cv::Vec3b c = bgr.at<cv::Vec3b>(0, i);
      table[size_t(i)] = qRgb(c[2], c[1], c[0]);
    }
    return table;
  };
  static const std::vector<QRgb> viridis = build(cv::COLORMAP_VIRIDIS);
  static const std::vector<QRgb> magma = build(cv::COLORMAP_MAGMA);
  return map == Colormap::Magma ? magma : viridis;
}

QRectF gridCellInImage(const dqa::ImageGeometry& g, const QRect& region, int column, int row) {
  if (g.contentWidth <= 0 || g.contentHeight <= 0 || g.patchSize <= 0) return {};
  // Canvas pixels -> source pixels of the crop -> full image pixels.
  const double sx = double(g.sourceWidth) / g.contentWidth;
  const double sy = double(g.sourceHeight) / g.contentHeight;
  const double x0 = column * g.patchSize, y0 = row * g.patchSize;
  const double x1 = std::min<double>(x0 + g.patchSize, g.contentWidth);
  const double y1 = std::min<double>(y0 + g.patchSize, g.contentHeight);
  if (x1 <= x0 || y1 <= y0) return {};
  return QRectF(region.x() + x0 * sx, region.y() + y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy);
}

AttentionOverlay makeAttentionOverlay(const std::vector<float>& grid, const dqa::ImageGeometry& g, const QRect& region,
                                      const OverlayOptions& options) {
  AttentionOverlay out;
  const int cells = g.gridWidth * g.gridHeight;
  if (cells <= 0 || int(grid.size()) != cells || g.contentWidth <= 0 || g.contentHeight <= 0 || g.paddedWidth <= 0 ||
      g.paddedHeight <= 0 || region.isEmpty())
    return out;

  cv::Mat values(g.gridHeight, g.gridWidth, CV_32F, const_cast<float*>(grid.data()));
  // Colour range from the cells that cover content only: padding cells are not shown,
  // so they must not set the scale either.
  const int visibleColumns = (g.contentWidth + g.patchSize - 1) / std::max(1, g.patchSize);
  const int visibleRows = (g.contentHeight + g.patchSize - 1) / std::max(1, g.patchSize);
  cv::Mat visible =
      values(cv::Rect(0, 0, std::clamp(visibleColumns, 1, g.gridWidth), std::clamp(visibleRows, 1, g.gridHeight)));
  double lo = 0, hi = 0;
  cv::minMaxLoc(visible, &lo, &hi);
  out.minValue = float(lo);
  out.maxValue = float(hi);

  // Upsample the grid to the encoder's padded canvas (each cell = patchSize pixels),
  // then keep the content part: that is exactly the picture the model was shown.
  // Encoders that see images at native resolution give canvases of many megapixels:
  // the overlay is drawn at most 1024 pixels on its longer side (a grid cell is never
  // smaller than a few screen pixels there) and stretched by the painter.
  cv::Mat canvas;
  const double shrink = std::min(1.0, 1024.0 / std::max(g.gridWidth * g.patchSize, g.gridHeight * g.patchSize));
  const cv::Size padded(std::max(1, int(g.gridWidth * g.patchSize * shrink + 0.5)),
                        std::max(1, int(g.gridHeight * g.patchSize * shrink + 0.5)));
  cv::resize(values, canvas, padded, 0, 0,
             options.upsampling == Upsampling::Nearest ? cv::INTER_NEAREST : cv::INTER_CUBIC);
  cv::Mat content = canvas(cv::Rect(0, 0, std::clamp(int(g.contentWidth * shrink + 0.5), 1, padded.width),
                                    std::clamp(int(g.contentHeight * shrink + 0.5), 1, padded.height)));
  // Kept at the canvas' content resolution (the model never saw more detail than
  // that); the painter stretches it over the crop's full-resolution rectangle.
  cv::Mat source = content;
  const double span = hi - lo > 1e-12 ? hi - lo : 1.0;
  const auto& table = colormapTable(options.colormap);
  const int alpha = std::clamp(int(options.opacity * 255.0 + 0.5), 0, 255);
  QImage image(source.cols, source.rows, QImage::Format_ARGB32_Premultiplied);
  for (int y = 0; y < source.rows; ++y) {
    const float* in = source.ptr<float>(y);
    auto* line = reinterpret_cast<QRgb*>(image.scanLine(y));
    for (int x = 0; x < source.cols; ++x) {
      const int index = std::clamp(int((in[x] - lo) / span * 255.0 + 0.5), 0, 255);
      const QRgb c = table[size_t(index)];
      line[x] = qRgba(qRed(c) * alpha / 255, qGreen(c) * alpha / 255, qBlue(c) * alpha / 255, alpha);
    }
  }
  out.image = std::move(image);
  out.target = region;
  return out;
}

}  // namespace dqa::ui
