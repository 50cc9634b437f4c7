#include "core/image/icc.h"

#include <lcms2.h>
#include <opencv2/core/utility.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace dqa::image {
namespace {

// One lcms2 context per conversion: its error handler keeps the first message, so the
// error can say what lcms2 disliked, and nothing is printed to stderr.
struct Lcms {
  std::string firstError;
  cmsContext context = nullptr;
  Lcms() {
    context = cmsCreateContext(nullptr, this);
    if (context) cmsSetLogErrorHandlerTHR(context, &Lcms::log);
  }
  ~Lcms() {
    if (context) cmsDeleteContext(context);
  }
  Lcms(const Lcms&) = delete;
  Lcms& operator=(const Lcms&) = delete;
  static void log(cmsContext context, cmsUInt32Number, const char* text) {
    auto* self = static_cast<Lcms*>(cmsGetContextUserData(context));
    if (self && self->firstError.empty() && text) self->firstError = text;
  }
  std::string why() const { return firstError.empty() ? "" : " (lcms2: " + firstError + ")"; }
};

struct ProfileCloser {
  void operator()(void* p) const { cmsCloseProfile(p); }
};
struct TransformDeleter {
  void operator()(void* t) const { cmsDeleteTransform(t); }
};
using Profile = std::unique_ptr<void, ProfileCloser>;
using Transform = std::unique_ptr<void, TransformDeleter>;

Result<Profile> openProfile(Lcms& lcms, const std::string& icc) {
  if (!lcms.context) return makeError("Little CMS could not start");
  if (icc.size() < 128) {
    return makeError("its embedded ICC profile is " + std::to_string(icc.size()) +
                     " bytes, shorter than the 128-byte ICC header: it is damaged");
  }
  Profile profile(cmsOpenProfileFromMemTHR(lcms.context, icc.data(), static_cast<cmsUInt32Number>(icc.size())));
  if (!profile) return makeError("its embedded ICC profile is not a valid profile" + lcms.why());
  return profile;
}

std::string describe(void* profile) {
  char text[256] = {};
  cmsGetProfileInfoASCII(profile, cmsInfoDescription, "en", "US", text, sizeof text);
  const std::string description(text);
  return description.empty() ? "an unnamed ICC profile" : description;
}

// The header's data colour space (bytes 16-19), read from the bytes: lcms2 returns it
// as an enum, and a damaged profile holds values outside that enum's range.
std::uint32_t colourSpaceOf(const std::string& icc) {
  std::uint32_t v = 0;
  for (int i = 16; i < 20; ++i) v = v << 8 | static_cast<unsigned char>(icc[std::size_t(i)]);
  return v;
}

const char* colourSpaceName(std::uint32_t space) {
  switch (space) {
    case cmsSigCmykData:
      return "CMYK";
    case cmsSigLabData:
      return "Lab";
    case cmsSigXYZData:
      return "XYZ";
    case cmsSigYCbCrData:
      return "YCbCr";
    default:
      return "a non-RGB colour space";
  }
}

// Rows in parallel: a transform made with cmsFLAGS_NOCACHE may be shared by threads.
void run(void* transform, const cv::Mat& in, cv::Mat& out) {
  cv::parallel_for_(cv::Range(0, in.rows), [&](const cv::Range& rows) {
    for (int y = rows.start; y < rows.end; ++y)
      cmsDoTransform(transform, in.ptr(y), out.ptr(y), static_cast<cmsUInt32Number>(in.cols));
  });
}

// The working space as an lcms2 profile: sRGB is lcms2's own; Display P3 and Adobe RGB
// (1998) from their published primaries and D65 white with the sRGB curve and gamma
// 563/256 respectively.
Profile workingProfile(Lcms& lcms, WorkingSpace space) {
  if (space == WorkingSpace::Srgb) return Profile(cmsCreate_sRGBProfileTHR(lcms.context));
  const cmsCIExyY d65{0.3127, 0.3290, 1.0};
  const cmsCIExyYTRIPLE p3{{0.680, 0.320, 1}, {0.265, 0.690, 1}, {0.150, 0.060, 1}};
  const cmsCIExyYTRIPLE adobe{{0.64, 0.33, 1}, {0.21, 0.71, 1}, {0.15, 0.06, 1}};
  const double srgbCurve[5] = {2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045};
  cmsToneCurve* curve = space == WorkingSpace::DisplayP3 ? cmsBuildParametricToneCurve(lcms.context, 4, srgbCurve)
                                                         : cmsBuildGamma(lcms.context, 563.0 / 256.0);
  if (!curve) return Profile(nullptr);
  cmsToneCurve* curves[3] = {curve, curve, curve};
  Profile profile(cmsCreateRGBProfileTHR(lcms.context, &d65, space == WorkingSpace::DisplayP3 ? &p3 : &adobe, curves));
  cmsFreeToneCurve(curve);
  return profile;
}

// `input` (RGB or grey, `inFormat`) through `from` -> the working space into `rgb`.
Status transformInto(Lcms& lcms, void* from, const cv::Mat& input, cmsUInt32Number inFormat, cv::Mat& rgb,
                     WorkingSpace to, const std::string& profileName) {
  Profile target = workingProfile(lcms, to);
  if (!target) return makeError("Little CMS could not create the " + workingSpaceName(to) + " profile" + lcms.why());
  const bool sixteen = rgb.depth() == CV_16U;
  Transform transform(cmsCreateTransformTHR(lcms.context, from, inFormat, target.get(),
                                            sixteen ? TYPE_RGB_16 : TYPE_RGB_8, INTENT_PERCEPTUAL, cmsFLAGS_NOCACHE));
  if (!transform)
    return makeError("its embedded ICC profile '" + profileName + "' cannot be used to convert the image to " +
                     workingSpaceName(to) + lcms.why());
  cv::Mat out(rgb.size(), rgb.type());
  run(transform.get(), input, out);
  rgb = out;
  return Ok{};
}

bool isGrey(const cv::Mat& rgb) {
  std::vector<cv::Mat> planes;
  cv::split(rgb, planes);
  return cv::countNonZero(planes[0] != planes[1]) == 0 && cv::countNonZero(planes[0] != planes[2]) == 0;
}

}  // namespace

ColourInfo assumedSrgb() {
  ColourInfo info;
  info.source = "none";
  info.note = "no colour profile: taken as sRGB";
  return info;
}

Result<ColourInfo> convertIccToWorkingSpace(cv::Mat& rgb, const std::string& icc, const std::string& source,
                                            WorkingSpace to) {
  if (rgb.type() != CV_8UC3 && rgb.type() != CV_16UC3)
    return makeError("colour conversion needs 8- or 16-bit RGB pixels");
  Lcms lcms;
  auto profile = openProfile(lcms, icc);
  if (!profile) return profile.error();
  ColourInfo info;
  info.profile = describe(profile->get());
  info.source = source;
  const std::uint32_t space = colourSpaceOf(icc);  // openProfile checked >= 128 bytes
  const bool sixteen = rgb.depth() == CV_16U;
  if (space != cmsSigRgbData && space != cmsSigGrayData) {
    info.note = info.profile + " (profile from " + source + ") is for " + colourSpaceName(space) +
                ", not RGB: not applied, pixels taken as sRGB";
    return info;
  }
  if (space == cmsSigGrayData && !isGrey(rgb))
    return makeError("its embedded ICC profile '" + info.profile +
                     "' is for greyscale, "
                     "but the image is in colour");
  cv::Mat input = rgb;
  cmsUInt32Number inFormat = sixteen ? TYPE_RGB_16 : TYPE_RGB_8;
  if (space == cmsSigGrayData) {
    cv::extractChannel(rgb, input, 0);
    inFormat = sixteen ? TYPE_GRAY_16 : TYPE_GRAY_8;
  }
  if (auto done = transformInto(lcms, profile->get(), input, inFormat, rgb, to, info.profile); !done)
    return done.error();
  info.converted = true;
  info.space = to;
  info.note = info.profile + " (profile from " + source + "), converted to " + workingSpaceName(to);
  return info;
}

Status convertSrgbToWorkingSpace(cv::Mat& rgb, ColourInfo& info, WorkingSpace to) {
  if (to == info.space) return Ok{};
  if (rgb.type() != CV_8UC3 && rgb.type() != CV_16UC3)
    return makeError("colour conversion needs 8- or 16-bit RGB pixels");
  Lcms lcms;
  if (!lcms.context) return makeError("Little CMS could not start");
  Profile srgb(cmsCreate_sRGBProfileTHR(lcms.context));
  if (!srgb) return makeError("Little CMS could not create the sRGB profile" + lcms.why());
  const cmsUInt32Number format = rgb.depth() == CV_16U ? TYPE_RGB_16 : TYPE_RGB_8;
  if (auto done = transformInto(lcms, srgb.get(), rgb, format, rgb, to, "sRGB"); !done) return done;
  info.space = to;
  info.note += "; converted from sRGB to " + workingSpaceName(to);
  return Ok{};
}

}  // namespace dqa::image
