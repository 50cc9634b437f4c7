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

Result<ColourInfo> convertIccToSrgb(cv::Mat& rgb, const std::string& icc, const std::string& source) {
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
  Profile srgb(cmsCreate_sRGBProfileTHR(lcms.context));
  if (!srgb) return makeError("Little CMS could not create the sRGB profile" + lcms.why());
  Transform transform(cmsCreateTransformTHR(lcms.context, profile->get(), inFormat, srgb.get(),
                                            sixteen ? TYPE_RGB_16 : TYPE_RGB_8, INTENT_PERCEPTUAL, cmsFLAGS_NOCACHE));
  if (!transform)
    return makeError("its embedded ICC profile '" + info.profile +
                     "' cannot be used to "
                     "convert the image to sRGB" +
                     lcms.why());
  cv::Mat out(rgb.size(), rgb.type());
  run(transform.get(), input, out);
  rgb = out;
  info.converted = true;
  info.note = info.profile + " (profile from " + source + "), converted to sRGB";
  return info;
}

}  // namespace dqa::image
