#include "ui/image_data.h"

#include <QBuffer>
#include <QFileInfo>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include <opencv2/imgproc.hpp>
#include <opencv2/quality.hpp>

#include "core/image/banded_quality.h"
#include "core/image/image_loader.h"
#include "ui/display_colour.h"

namespace dqa::ui {

QString paneRoleName(PaneRole role) {
  switch (role) {
    case PaneRole::Reference:
      return QStringLiteral("Reference");
    case PaneRole::A:
      return QStringLiteral("Image A");
    case PaneRole::B:
      return QStringLiteral("Image B");
  }
  return {};
}

QString paneRoleKey(PaneRole role) {
  switch (role) {
    case PaneRole::Reference:
      return QStringLiteral("reference");
    case PaneRole::A:
      return QStringLiteral("a");
    case PaneRole::B:
      return QStringLiteral("b");
  }
  return {};
}

std::optional<PaneRole> paneRoleFromKey(const QString& key) {
  for (PaneRole role : kRoles)
    if (key == paneRoleKey(role)) return role;
  return std::nullopt;
}

QString PaneImage::summary() const {
  if (empty()) return QStringLiteral("nothing loaded");
  const QString name = QFileInfo(path).fileName().isEmpty() ? path : QFileInfo(path).fileName();
  QString channels = sourceChannels == 1   ? QStringLiteral("grey")
                     : sourceChannels == 4 ? QStringLiteral("RGBA→RGB")
                                           : QStringLiteral("RGB");
  QString text = QStringLiteral("%1 — %2×%3, %4, %5-bit %6")
                     .arg(name)
                     .arg(width())
                     .arg(height())
                     .arg(format.isEmpty() ? QStringLiteral("?") : format)
                     .arg(bitDepth)
                     .arg(channels);
  if (fileBytes >= 0) text += QStringLiteral(", %1 KiB").arg((fileBytes + 1023) / 1024);
  if (!colour.isEmpty()) text += QStringLiteral(" · ") + colour;
  if (!capture.empty()) text += QStringLiteral(" · ") + QString::fromStdString(capture.summary());
  if (developing) text += QStringLiteral(" · half-size preview, developing the full RAW…");
  return text;
}

QImage toQImage(const cv::Mat& rgb) {
  if (rgb.empty()) return {};
  cv::Mat eight;
  if (rgb.depth() == CV_16U)
    rgb.convertTo(eight, CV_8U, 1.0 / 257.0);
  else
    eight = rgb;
  if (eight.channels() == 1) cv::cvtColor(eight, eight, cv::COLOR_GRAY2RGB);
  QImage view(eight.data, eight.cols, eight.rows, static_cast<int>(eight.step), QImage::Format_RGB888);
  return view.copy();  // detach from the Mat's buffer
}

std::array<std::vector<int>, 3> histogramOf(const cv::Mat& rgb) {
  std::array<std::vector<int>, 3> bins;
  for (auto& b : bins) b.assign(256, 0);
  if (rgb.empty() || rgb.channels() != 3) return bins;
  // 16-bit data in 256 equal bins of 256 values each (the top byte), not through the
  // rounded 8-bit preview, whose first and last bins are half as wide as the others.
  const bool deep = rgb.depth() == CV_16U;
  for (int y = 0; y < rgb.rows; ++y) {
    if (deep) {
      const auto* line = rgb.ptr<std::uint16_t>(y);
      for (int x = 0; x < rgb.cols; ++x)
        for (int c = 0; c < 3; ++c) ++bins[size_t(c)][line[3 * x + c] >> 8];
    } else {
      const auto* line = rgb.ptr<std::uint8_t>(y);
      for (int x = 0; x < rgb.cols; ++x)
        for (int c = 0; c < 3; ++c) ++bins[size_t(c)][line[3 * x + c]];
    }
  }
  return bins;
}

namespace {

LoadOutcome finish(dqa::image::LoadedImage&& loaded, const QString& path, qint64 bytes) {
  PaneImage image;
  image.rgb = std::move(loaded.rgb);
  image.space = loaded.colour.space;
  image.preview = toQImage(image.rgb);
  image.preview.setColorSpace(qtColourSpace(image.space));  // toDisplay converts from it
  image.path = path;
  image.format = QString::fromStdString(loaded.format);
  image.bitDepth = loaded.bitDepth;
  image.sourceChannels = loaded.sourceChannels;
  image.colour = QString::fromStdString(loaded.colour.note);
  image.fileBytes = bytes;
  image.histogram = histogramOf(image.rgb);
  image.developing = loaded.halfSizeRaw;
  image.capture = loaded.capture;
  LoadOutcome out;
  out.image = std::move(image);
  return out;
}

}  // namespace

LoadOutcome loadPaneImage(const QString& path, bool rawPreview, dqa::WorkingSpace space) {
  dqa::image::LoadOptions options;
  options.rawHalfSize = rawPreview;
  options.workingSpace = space;
  auto loaded = dqa::image::loadImage(path.toStdString(), options);
  if (!loaded) return {std::nullopt, QString::fromStdString(loaded.message())};
  return finish(std::move(loaded.value()), path, QFileInfo(path).size());
}

LoadOutcome decodePaneImage(const QByteArray& bytes, const QString& nameForMessages, dqa::WorkingSpace space) {
  dqa::image::LoadOptions options;
  options.workingSpace = space;
  auto loaded = dqa::image::decodeImage(bytes.toStdString(), nameForMessages.toStdString(), options);
  if (!loaded) return {std::nullopt, QString::fromStdString(loaded.message())};
  LoadOutcome out = finish(std::move(loaded.value()), nameForMessages, bytes.size());
  if (out.image) out.image->encoded = bytes;
  return out;
}

LoadOutcome paneImageFromQImage(const QImage& image, const QString& nameForMessages, dqa::WorkingSpace space) {
  if (image.isNull()) return {std::nullopt, QStringLiteral("%1 holds no image.").arg(nameForMessages)};
  // Go through PNG bytes so that pasted images take the same path as files.
  QByteArray png;
  QBuffer buffer(&png);
  buffer.open(QIODevice::WriteOnly);
  image.convertToFormat(QImage::Format_RGB888).save(&buffer, "PNG");
  auto out = decodePaneImage(png, nameForMessages, space);
  if (out.image) out.image->fileBytes = -1;
  return out;
}

QImage differenceImage(const PaneImage& image, const PaneImage& reference) {
  if (image.empty() || reference.empty()) return image.preview;
  cv::Mat a(image.preview.height(), image.preview.width(), CV_8UC3, const_cast<uchar*>(image.preview.constBits()),
            size_t(image.preview.bytesPerLine()));
  cv::Mat r(reference.preview.height(), reference.preview.width(), CV_8UC3,
            const_cast<uchar*>(reference.preview.constBits()), size_t(reference.preview.bytesPerLine()));
  cv::Mat aSized;
  if (a.size() != r.size())
    cv::resize(a, aSized, r.size(), 0, 0, cv::INTER_AREA);
  else
    aSized = a;
  cv::Mat diff;
  cv::absdiff(aSized, r, diff);
  // Stretch so the largest difference is bright; a floor of 16 keeps noise-free pairs dark.
  double maxValue = 0;
  cv::minMaxLoc(diff.reshape(1), nullptr, &maxValue);
  diff.convertTo(diff, CV_8U, 255.0 / std::max(16.0, maxValue));
  return toQImage(diff);
}

QRect regionInPixels(const QRectF& normalised, int width, int height) {
  const int x = std::clamp(int(std::lround(normalised.x() * width)), 0, std::max(0, width - 1));
  const int y = std::clamp(int(std::lround(normalised.y() * height)), 0, std::max(0, height - 1));
  const int w = std::clamp(int(std::lround(normalised.width() * width)), 1, width - x);
  const int h = std::clamp(int(std::lround(normalised.height() * height)), 1, height - y);
  return {x, y, w, h};
}

QRectF defaultRegion(const PaneImage* reference, const PaneImage* a, const PaneImage* b, int side) {
  const PaneImage* base = a && !a->empty() ? a : (b && !b->empty() ? b : reference);
  if (!base || base->empty()) return QRectF(0, 0, 1, 1);
  const int width = base->width(), height = base->height();
  side = std::clamp(side, 8, std::min(width, height));
  if (side >= std::min(width, height) && width == height) return QRectF(0, 0, 1, 1);

  auto grey = [&](const PaneImage& image) {
    cv::Mat rgb(image.preview.height(), image.preview.width(), CV_8UC3, const_cast<uchar*>(image.preview.constBits()),
                size_t(image.preview.bytesPerLine()));
    cv::Mat g;
    cv::cvtColor(rgb, g, cv::COLOR_RGB2GRAY);
    if (g.size() != cv::Size(width, height)) cv::resize(g, g, cv::Size(width, height), 0, 0, cv::INTER_AREA);
    g.convertTo(g, CV_32F);
    return g;
  };
  // Score map: change against the reference when there is one, else local detail
  // (absolute Laplacian). Box-filtering it gives every window's mean in one pass.
  cv::Mat score;
  if (reference && !reference->empty() && base != reference) {
    const cv::Mat r = grey(*reference);
    score = cv::Mat::zeros(r.size(), CV_32F);
    for (const PaneImage* p : {a, b})
      if (p && !p->empty()) score += cv::abs(grey(*p) - r);
  } else {
    cv::Laplacian(grey(*base), score, CV_32F, 3);
    score = cv::abs(score);
  }
  cv::Mat integral;
  cv::integral(score, integral, CV_64F);
  double best = -1;
  cv::Point bestAt(0, 0);
  const int step = std::max(1, side / 8);
  for (int y = 0; y + side <= height; y += step)
    for (int x = 0; x + side <= width; x += step) {
      const double sum = integral.at<double>(y + side, x + side) - integral.at<double>(y, x + side) -
                         integral.at<double>(y + side, x) + integral.at<double>(y, x);
      if (sum > best) best = sum, bestAt = {x, y};
    }
  return QRectF(double(bestAt.x) / width, double(bestAt.y) / height, double(side) / width, double(side) / height);
}

QualityMetrics computeMetrics(const cv::Mat& image, const cv::Mat& reference, const std::atomic<bool>* stop) {
  QualityMetrics m;
  if (image.empty() || reference.empty()) {
    m.note = QStringLiteral("no reference");
    return m;
  }
  if (image.size() != reference.size()) {
    m.note = QStringLiteral("sizes differ");
    return m;
  }
  if (stop && stop->load()) {
    m.stopped = true;
    return m;
  }
  // On the 8-bit scale (0..255, so that PSNR's peak and SSIM's constants apply) but in
  // float: 16-bit data is not rounded to 8 bits, so two developments that differ by less
  // than an 8-bit step still differ here.
  cv::Mat a, r;
  image.convertTo(a, CV_32F, image.depth() == CV_16U ? 1.0 / 257.0 : 1.0);
  reference.convertTo(r, CV_32F, reference.depth() == CV_16U ? 1.0 / 257.0 : 1.0);
  try {
    // Per-channel values as OpenCV defines them, reported as their mean over R, G, B;
    // in bands, so that a 24 MP pair does not take OpenCV's ~9 GB for SSIM.
    const cv::Scalar psnr = dqa::image::bandedPsnr(r, a, 256, stop);
    m.psnr = (psnr[0] + psnr[1] + psnr[2]) / 3.0;
    const cv::Scalar ssim = dqa::image::bandedSsim(r, a, 256, stop);
    m.ssim = (ssim[0] + ssim[1] + ssim[2]) / 3.0;
    if (stop && stop->load()) {
      m.stopped = true;
      return m;
    }
    cv::Mat ga, gr;
    cv::cvtColor(a, ga, cv::COLOR_RGB2GRAY);
    cv::cvtColor(r, gr, cv::COLOR_RGB2GRAY);
    m.gmsd = cv::quality::QualityGMSD::compute(gr, ga, cv::noArray())[0];
    m.valid = true;
  } catch (const cv::Exception& e) { m.note = QString::fromStdString(e.what()); }
  return m;
}

}  // namespace dqa::ui
