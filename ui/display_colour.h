#pragma once
// The colour space the screen shows pixels in, so that the panes can show each image as
// it looks (the loader has already converted every file to the model's working space,
// sRGB unless its config.json names another).
#include <QColorSpace>
#include <QImage>
#include <QString>

#include "core/common/working_space.h"

namespace dqa::ui {

struct DisplayColour {
  QColorSpace space;    // invalid: the display is taken as sRGB and nothing is converted
  QString description;  // for the status bar: "Display: <profile> (from <source>)…"
};

// In order: the ICC profile file named by $DEPICTQA_DISPLAY_PROFILE; the profile the X11
// session publishes on the root window (_ICC_PROFILE, set by colord, GNOME and KDE);
// else sRGB. A profile Qt cannot use (not an RGB matrix/shaper or table profile,
// damaged) is reported and sRGB used. Call from the GUI thread.
DisplayColour detectDisplayColour();

// `icc` as the display's profile; `source` says where it came from.
DisplayColour displayColourFromIcc(const QByteArray& icc, const QString& source);

// An image as the display must be sent it: a copy converted from the image's colour space
// (QImage::colorSpace(); sRGB when it has none) to the display's (sRGB when invalid), or
// the image itself when the two are the same.
QImage toDisplay(const QImage& image, const QColorSpace& display);

// The model's working space as Qt names it (for a preview's QImage::setColorSpace).
QColorSpace qtColourSpace(dqa::WorkingSpace space);

}  // namespace dqa::ui
