#pragma once
// What the window knows about one loaded image, and the pixel work done on it for
// display (8-bit preview, histogram, difference view, default region, metrics).
// Plain OpenCV + QImage; no model types.
#include <QImage>
#include <QRect>
#include <QRectF>
#include <QString>

#include <array>
#include <atomic>
#include <optional>
#include <vector>

#include <opencv2/core.hpp>

#include "core/common/working_space.h"
#include "core/image/capture_info.h"

namespace dqa::ui {

enum class PaneRole { Reference = 0, A = 1, B = 2 };
constexpr int kPaneCount = 3;
constexpr PaneRole kRoles[] = {PaneRole::Reference, PaneRole::A, PaneRole::B};
QString paneRoleName(PaneRole role);  // "Reference", "Image A", "Image B"
QString paneRoleKey(PaneRole role);   // "reference", "a", "b" (settings, file names)
std::optional<PaneRole> paneRoleFromKey(const QString& key);

struct PaneImage {
  cv::Mat rgb;     // as the core decoded it: CV_8UC3 / CV_16UC3, RGB
  QImage preview;  // 8-bit RGB for painting
  QString path;    // file path, or a description ("pasted image")
  QString format;  // "PNG", "JPEG", ...
  int bitDepth = 8;
  int sourceChannels = 3;
  qint64 fileBytes = -1;
  QString colour;                                     // the loader's colour note: the profile found and whether the
                                                      // pixels were converted to the working space, or "taken as sRGB"
  dqa::WorkingSpace space = dqa::WorkingSpace::Srgb;  // the colour space `rgb` and `preview` are in
  QByteArray encoded;  // the bytes a pasted or dropped image was decoded from (empty for a file),
                       // kept to decode it again when another model's working space is chosen
  std::array<std::vector<int>, 3> histogram;  // 256 bins per channel (R, G, B)
  dqa::image::CaptureInfo capture;            // camera settings the file states (EXIF, LibRaw)
  bool developing = false;                    // a camera RAW at half size, shown while its full development runs

  bool empty() const { return rgb.empty(); }
  int width() const { return rgb.cols; }
  int height() const { return rgb.rows; }
  QString summary() const;  // "photo.png — 640×480, PNG, 8-bit RGB · <colour note>"
};

// Decodes with the core's loader (EXIF orientation, 16-bit, alpha, size limits) and
// prepares the preview and histogram. The error text is what the window shows.
struct LoadOutcome {
  std::optional<PaneImage> image;
  QString error;
};
// With rawPreview a camera RAW is developed at half size (~5x faster) and marked
// `developing`: the window shows it at once and develops the full image in the background.
// `space` is the model's working space (ModelInfo::workingSpace): every image is converted to it.
LoadOutcome loadPaneImage(const QString& path, bool rawPreview = false,
                          dqa::WorkingSpace space = dqa::WorkingSpace::Srgb);
LoadOutcome decodePaneImage(const QByteArray& bytes, const QString& nameForMessages,
                            dqa::WorkingSpace space = dqa::WorkingSpace::Srgb);
LoadOutcome paneImageFromQImage(const QImage& image, const QString& nameForMessages,
                                dqa::WorkingSpace space = dqa::WorkingSpace::Srgb);

QImage toQImage(const cv::Mat& rgb);  // any depth RGB -> 8-bit QImage (deep copy)

// 256 bins per channel (R, G, B) of CV_8UC3 or CV_16UC3 data; 16-bit values fall in bin
// value / 256.
std::array<std::vector<int>, 3> histogramOf(const cv::Mat& rgb);

// |image - reference| per pixel, amplified so that faint differences show; images of
// different sizes are compared after resizing `image` to the reference size.
QImage differenceImage(const PaneImage& image, const PaneImage& reference);

// A region of interest as a fraction of the image (so it applies to every pane even
// when sizes differ) and its pixel rectangle on a given image.
QRect regionInPixels(const QRectF& normalised, int width, int height);
// The most changed (vs the reference) or, without a reference, the most detailed
// square window of side `side` pixels (measured on the first available image).
QRectF defaultRegion(const PaneImage* reference, const PaneImage* a, const PaneImage* b, int side);

struct QualityMetrics {
  bool valid = false;
  bool stopped = false;  // `stop` ended the computation: nothing was measured
  QString note;          // why not valid ("sizes differ", "no reference")
  double psnr = 0, ssim = 0, gmsd = 0;
};
// PSNR (dB, higher better), SSIM (mean over channels, higher better) and GMSD (lower
// better) of `image` against `reference`, with OpenCV's quality module, on the decoded
// data at its own depth (16-bit data is not rounded to 8 bits first). Where `stop` is
// given and becomes true, it returns soon after, marked `stopped`.
QualityMetrics computeMetrics(const cv::Mat& image, const cv::Mat& reference, const std::atomic<bool>* stop = nullptr);

}  // namespace dqa::ui
