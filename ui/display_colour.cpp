#include "ui/display_colour.h"

#include <QFile>
#include <QFileInfo>
#include <QGuiApplication>

#include <cstring>
#include <memory>

#if QT_CONFIG(xcb) && defined(DEPICTQA_HAVE_XCB)
#define DEPICTQA_READS_X11_PROFILE 1
#include <xcb/xcb.h>
#endif

namespace dqa::ui {
namespace {

constexpr qint64 kMaxProfileBytes = 16 << 20;  // real display profiles are a few KB

// The _ICC_PROFILE property of the first screen's root window ("ICC Profiles in X
// Specification" 0.4), or nothing when the session is not X11 or sets none.
QByteArray x11IccProfile() {
#ifdef DEPICTQA_READS_X11_PROFILE
  auto* x11 = qGuiApp ? qGuiApp->nativeInterface<QNativeInterface::QX11Application>() : nullptr;
  if (!x11 || !x11->connection()) return {};
  xcb_connection_t* c = x11->connection();
  xcb_screen_t* screen = xcb_setup_roots_iterator(xcb_get_setup(c)).data;
  if (!screen) return {};
  const char* name = "_ICC_PROFILE";
  std::unique_ptr<xcb_intern_atom_reply_t, decltype(&std::free)> atom(
      xcb_intern_atom_reply(c, xcb_intern_atom(c, 1, std::uint16_t(std::strlen(name)), name), nullptr), &std::free);
  if (!atom || atom->atom == XCB_ATOM_NONE) return {};
  std::unique_ptr<xcb_get_property_reply_t, decltype(&std::free)> property(
      xcb_get_property_reply(c,
                             xcb_get_property(c, 0, screen->root, atom->atom, XCB_GET_PROPERTY_TYPE_ANY, 0,
                                              std::uint32_t(kMaxProfileBytes / 4)),
                             nullptr),
      &std::free);
  if (!property || property->format != 8) return {};
  const int length = xcb_get_property_value_length(property.get());
  if (length <= 0) return {};
  return QByteArray(static_cast<const char*>(xcb_get_property_value(property.get())), length);
#else
  return {};
#endif
}

DisplayColour srgbDisplay(const QString& why) {
  return {QColorSpace(), QStringLiteral("Display: taken as sRGB (%1); images shown as decoded").arg(why)};
}

}  // namespace

DisplayColour displayColourFromIcc(const QByteArray& icc, const QString& source) {
  const QColorSpace space = QColorSpace::fromIccProfile(icc);
  if (!space.isValid()) return srgbDisplay(QStringLiteral("the profile from %1 is not one Qt can use").arg(source));
  const QString name = space.description().isEmpty() ? QStringLiteral("unnamed profile") : space.description();
  if (space == QColorSpace(QColorSpace::SRgb))
    return {QColorSpace(), QStringLiteral("Display: %1 (from %2), sRGB: images shown as decoded").arg(name, source)};
  return {space, QStringLiteral("Display: %1 (from %2); images converted from sRGB to it").arg(name, source)};
}

DisplayColour detectDisplayColour() {
  const QString path = qEnvironmentVariable("DEPICTQA_DISPLAY_PROFILE");
  if (!path.isEmpty()) {
    QFile file(path);
    if (QFileInfo(path).size() > kMaxProfileBytes || !file.open(QIODevice::ReadOnly))
      return srgbDisplay(QStringLiteral("cannot read %1, named by DEPICTQA_DISPLAY_PROFILE").arg(path));
    return displayColourFromIcc(file.readAll(), QFileInfo(path).fileName());
  }
  const QByteArray x11 = x11IccProfile();
  if (!x11.isEmpty()) return displayColourFromIcc(x11, QStringLiteral("the X11 session"));
  return srgbDisplay(QStringLiteral("the session publishes no display profile"));
}

QImage toDisplay(const QImage& image, const QColorSpace& display) {
  if (image.isNull()) return image;
  const QColorSpace from = image.colorSpace().isValid() ? image.colorSpace() : QColorSpace(QColorSpace::SRgb);
  const QColorSpace to = display.isValid() ? display : QColorSpace(QColorSpace::SRgb);
  if (from == to) return image;
  QImage copy = image;
  copy.setColorSpace(from);
  return copy.convertedToColorSpace(to);
}

QColorSpace qtColourSpace(dqa::WorkingSpace space) {
  switch (space) {
    case dqa::WorkingSpace::DisplayP3:
      return QColorSpace(QColorSpace::DisplayP3);
    case dqa::WorkingSpace::AdobeRgb:
      return QColorSpace(QColorSpace::AdobeRgb);
    case dqa::WorkingSpace::Srgb:
      break;
  }
  return QColorSpace(QColorSpace::SRgb);
}

}  // namespace dqa::ui
