#include "core/image/nclx.h"

#include <lcms2.h>

#include <memory>

namespace dqa::image {
namespace {

std::string primariesName(int code) {
  switch (code) {
    case 1:
      return "BT.709/sRGB primaries";
    case 2:
      return "unspecified primaries (taken as sRGB)";
    case 4:
      return "BT.470M primaries";
    case 5:
      return "BT.601 625-line primaries";
    case 6:
      return "BT.601 525-line primaries";
    case 7:
      return "SMPTE 240M primaries";
    case 9:
      return "BT.2020 primaries";
    case 11:
      return "DCI-P3 primaries";
    case 12:
      return "Display P3 primaries";
    case 22:
      return "EBU 3213 primaries";
    default:
      return "primaries " + std::to_string(code);
  }
}

// The transfer function as an lcms2 parametric curve (type 4: Y = (aX+b)^g for X >= d,
// Y = cX below; type 1: Y = X^g). False: not a curve lcms2 can express (PQ, HLG...).
bool transferCurve(int code, std::string& name, int& type, double params[5]) {
  const double srgb[5] = {2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045};
  const double bt709[5] = {1 / 0.45, 1 / 1.099, 0.099 / 1.099, 1 / 4.5, 0.081};
  auto set = [&](const char* n, int t, const double* p) {
    name = n;
    type = t;
    for (int i = 0; i < 5; ++i) params[i] = t == 1 && i > 0 ? 0 : p[i];
    return true;
  };
  const double g22[1] = {2.2}, g28[1] = {2.8}, linear[1] = {1.0};
  switch (code) {
    case 2:
    case 13:
      return set(code == 2 ? "unspecified transfer (taken as sRGB)" : "sRGB transfer", 4, srgb);
    case 1:
    case 6:
    case 14:
    case 15:
      return set("BT.709 transfer", 4, bt709);
    case 4:
      return set("gamma 2.2", 1, g22);
    case 5:
      return set("gamma 2.8", 1, g28);
    case 8:
      return set("linear transfer", 1, linear);
    case 16:
      name = "PQ (HDR) transfer";
      return false;
    case 18:
      name = "HLG (HDR) transfer";
      return false;
    default:
      name = "transfer " + std::to_string(code);
      return false;
  }
}

bool known(const float xy[2]) { return xy[0] > 0 && xy[1] > 0 && xy[0] < 1 && xy[1] < 1; }

std::string saveProfile(const Nclx& n, int type, const double params[5], const std::string& description) {
  const bool custom = n.primaries != 2 && known(n.red) && known(n.green) && known(n.blue) && known(n.white);
  // Unspecified or unknown chromaticities: BT.709 with D65.
  const cmsCIExyY white{custom ? n.white[0] : 0.3127, custom ? n.white[1] : 0.3290, 1.0};
  const cmsCIExyYTRIPLE primaries{{custom ? n.red[0] : 0.64, custom ? n.red[1] : 0.33, 1.0},
                                  {custom ? n.green[0] : 0.30, custom ? n.green[1] : 0.60, 1.0},
                                  {custom ? n.blue[0] : 0.15, custom ? n.blue[1] : 0.06, 1.0}};
  std::unique_ptr<cmsToneCurve, void (*)(cmsToneCurve*)> curve(cmsBuildParametricToneCurve(nullptr, type, params),
                                                               cmsFreeToneCurve);
  if (!curve) return {};
  cmsToneCurve* curves[3] = {curve.get(), curve.get(), curve.get()};
  std::unique_ptr<void, int (*)(cmsHPROFILE)> profile(cmsCreateRGBProfile(&white, &primaries, curves), cmsCloseProfile);
  if (!profile) return {};
  std::unique_ptr<cmsMLU, void (*)(cmsMLU*)> text(cmsMLUalloc(nullptr, 1), cmsMLUfree);
  if (text && cmsMLUsetASCII(text.get(), "en", "US", description.c_str()))
    cmsWriteTag(profile.get(), cmsSigProfileDescriptionTag, text.get());
  cmsUInt32Number size = 0;
  if (!cmsSaveProfileToMem(profile.get(), nullptr, &size) || size == 0) return {};
  std::string bytes(size, '\0');
  if (!cmsSaveProfileToMem(profile.get(), bytes.data(), &size)) return {};
  return bytes;
}

}  // namespace

NclxProfile profileForNclx(const Nclx& nclx) {
  NclxProfile out;
  std::string transferName;
  int type = 0;
  double params[5] = {};
  const bool curve = transferCurve(nclx.transfer, transferName, type, params);
  out.description = primariesName(nclx.primaries) + ", " + transferName + " (nclx)";
  if (!curve) {
    out.unsupported = "the " + transferName + " is not converted (no HDR tone mapping yet)";
    return out;
  }
  out.isSrgb = (nclx.primaries == 1 || nclx.primaries == 2) && (nclx.transfer == 13 || nclx.transfer == 2);
  if (out.isSrgb) return out;
  out.icc = saveProfile(nclx, type, params, out.description);
  if (out.icc.empty()) out.unsupported = "Little CMS could not build a profile for it";
  return out;
}

}  // namespace dqa::image
