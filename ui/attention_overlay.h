#pragma once
// Turns one image's attention grid (a float per visual token) into a coloured,
// translucent picture placed exactly over the pixels the model saw. Pure functions:
// no model types beyond the torch-free ImageGeometry, no widgets.
#include <QColor>
#include <QImage>
#include <QRect>
#include <QRectF>

#include <vector>

#include "core/generate/engine.h"

namespace dqa::ui {

enum class Colormap { Viridis, Magma };
enum class Upsampling { Nearest, Smooth };  // nearest: the honest patch grid

// 256 entries of a perceptually uniform map (OpenCV's tables of matplotlib's maps).
const std::vector<QRgb>& colormapTable(Colormap map);

struct OverlayOptions {
  Colormap colormap = Colormap::Viridis;
  Upsampling upsampling = Upsampling::Nearest;
  double opacity = 0.6;  // 0..1
};

struct AttentionOverlay {
  QImage image;                      // ARGB32 premultiplied, at the encoder's content resolution
  QRect target;                      // where it is stretched to, in the full image's pixel coordinates
  float minValue = 0, maxValue = 0;  // the range the colours span
  bool valid() const { return !image.isNull(); }
};

// `grid` is gridHeight*gridWidth values (row-major) from AttentionMaps::gridOverTokens.
// `region` is the part of the full image that was cropped and sent to the model (the
// whole image when no region was used). The geometry says how that crop was downscaled
// into the encoder's canvas and where the padding (bottom/right) is; cells lying in the
// padding are cut away, so every coloured pixel covers pixels the model really saw.
AttentionOverlay makeAttentionOverlay(const std::vector<float>& grid, const dqa::ImageGeometry& geometry,
                                      const QRect& region, const OverlayOptions& options);

// The full-image pixel rectangle covered by grid cell (column, row); empty when the
// cell lies wholly in the padding.
QRectF gridCellInImage(const dqa::ImageGeometry& geometry, const QRect& region, int column, int row);

}  // namespace dqa::ui
