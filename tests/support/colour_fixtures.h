#pragma once
// Colour-managed test fixtures made with Little CMS: Display P3, Adobe RGB and grey
// profiles, embedded into PNG (iCCP) and JPEG (APP2) bytes by hand, and the reference
// transform to sRGB the loader must match. Header-only; needs lcms2 and QtCore (zlib).
#include <QByteArray>

#include <lcms2.h>
#include <opencv2/core.hpp>

#include <memory>
#include <string>
#include <vector>

#include "image_bytes.h"

namespace dqa::test {

using LcmsProfile = std::unique_ptr<void, int (*)(cmsHPROFILE)>;

inline std::string saveProfile(cmsHPROFILE profile, const std::string& description) {
  std::unique_ptr<cmsMLU, void (*)(cmsMLU*)> text(cmsMLUalloc(nullptr, 1), cmsMLUfree);
  cmsMLUsetASCII(text.get(), "en", "US", description.c_str());
  cmsWriteTag(profile, cmsSigProfileDescriptionTag, text.get());
  cmsUInt32Number size = 0;
  cmsSaveProfileToMem(profile, nullptr, &size);
  std::string bytes(size, '\0');
  cmsSaveProfileToMem(profile, bytes.data(), &size);
  cmsCloseProfile(profile);
  return bytes;
}

// An RGB matrix/shaper profile with D65 white and the given primaries and curve.
inline std::string rgbProfile(const cmsCIExyYTRIPLE& primaries, cmsToneCurve* curve, const std::string& description) {
  const cmsCIExyY d65{0.3127, 0.3290, 1.0};
  cmsToneCurve* curves[3] = {curve, curve, curve};
  cmsHPROFILE p = cmsCreateRGBProfile(&d65, &primaries, curves);
  cmsFreeToneCurve(curve);
  return saveProfile(p, description);
}

inline std::string displayP3Profile() {
  const double srgb[5] = {2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045};
  return rgbProfile({{0.680, 0.320, 1}, {0.265, 0.690, 1}, {0.150, 0.060, 1}},
                    cmsBuildParametricToneCurve(nullptr, 4, srgb), "Display P3 (test)");
}

inline std::string adobeRgbProfile() {
  return rgbProfile({{0.64, 0.33, 1}, {0.21, 0.71, 1}, {0.15, 0.06, 1}}, cmsBuildGamma(nullptr, 2.19921875),
                    "Adobe RGB (1998) (test)");
}

// lcms2's sRGB profile as bytes (the source of a conversion from sRGB in a test).
inline std::string srgbProfile() { return saveProfile(cmsCreate_sRGBProfile(), "sRGB (lcms2)"); }

inline std::string greyProfile() {
  const cmsCIExyY d65{0.3127, 0.3290, 1.0};
  cmsToneCurve* curve = cmsBuildGamma(nullptr, 1.8);
  cmsHPROFILE p = cmsCreateGrayProfile(&d65, curve);
  cmsFreeToneCurve(curve);
  return saveProfile(p, "Grey gamma 1.8 (test)");
}

// lcms2's own conversion of RGB (8 or 16 bit) or single-channel grey pixels from `icc`
// to `toIcc` (sRGB when empty), perceptual intent: what the loader must reproduce.
inline cv::Mat referenceToSrgb(const cv::Mat& in, const std::string& icc, const std::string& toIcc = "") {
  LcmsProfile from(cmsOpenProfileFromMem(icc.data(), cmsUInt32Number(icc.size())), cmsCloseProfile);
  LcmsProfile srgb(
      toIcc.empty() ? cmsCreate_sRGBProfile() : cmsOpenProfileFromMem(toIcc.data(), cmsUInt32Number(toIcc.size())),
      cmsCloseProfile);
  const bool sixteen = in.depth() == CV_16U;
  const bool grey = in.channels() == 1;
  const cmsUInt32Number inFormat = grey ? (sixteen ? TYPE_GRAY_16 : TYPE_GRAY_8) : (sixteen ? TYPE_RGB_16 : TYPE_RGB_8);
  cmsHTRANSFORM t =
      cmsCreateTransform(from.get(), inFormat, srgb.get(), sixteen ? TYPE_RGB_16 : TYPE_RGB_8, INTENT_PERCEPTUAL, 0);
  cv::Mat out(in.size(), sixteen ? CV_16UC3 : CV_8UC3);
  for (int y = 0; y < in.rows; ++y) cmsDoTransform(t, in.ptr(y), out.ptr(y), cmsUInt32Number(in.cols));
  cmsDeleteTransform(t);
  return out;
}

// A PNG with an iCCP chunk right after IHDR (8-byte signature + 25-byte IHDR chunk).
inline std::string withPngIccp(const std::string& png, const std::string& icc,
                               const std::string& name = "test profile") {
  const QByteArray z = qCompress(QByteArray(icc.data(), qsizetype(icc.size())));
  const std::string zlibStream(z.constData() + 4, std::size_t(z.size() - 4));  // drop Qt's length
  const std::string chunk = pngChunk("iCCP", name + std::string(2, '\0') + zlibStream);
  return png.substr(0, 33) + chunk + png.substr(33);
}

}  // namespace dqa::test
