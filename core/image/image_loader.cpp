#include "core/image/image_loader.h"

#include "core/image/decoded.h"
#include "core/image/embedded_profile.h"
#include "core/image/heif_decode.h"
#include "core/image/image_header.h"
#include "core/image/load_error.h"
#include "core/image/raw_decode.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <optional>
#include <vector>

namespace dqa::image {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// Messages: always name the file, say what is wrong and what to do.

Error fail(const std::string& name, const std::string& what, const std::string& todo) {
  return loadError(name, what, todo);
}

std::optional<Error> checkHeader(const std::string& name, Format format, const Header& h, const LoadOptions& options) {
  const std::string kind = formatName(format);
  if (h.width < 0 || h.height < 0) {
    const std::string what = !h.damage.empty() ? h.damage
                                               : "its " + kind +
                                                     " header is "
                                                     "damaged or cut off (the image size could not be read)";
    return fail(name, what, "Re-export or re-download the file.");
  }
  if (auto error = checkDeclaredSize(name, kind, h.width, h.height, options.maxPixels)) return error;
  if (!h.damage.empty()) return fail(name, h.damage, "Re-export or re-download the file.");
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// From whatever OpenCV decoded (BGR order, 1-4 channels, various depths) to the
// canonical RGB 8/16-bit form.

Result<cv::Mat> toIntegerDepth(const cv::Mat& raw, const std::string& name) {
  switch (raw.depth()) {
    case CV_8U:
    case CV_16U:
      return raw;
    case CV_32F:
    case CV_64F: {
      // HDR sources: keep the displayable range [0,1] at 16-bit precision.
      cv::Mat clipped;
      cv::min(cv::max(raw, 0.0), 1.0, clipped);
      cv::Mat out;
      clipped.convertTo(out, CV_16U, 65535.0);
      return out;
    }
    default:
      return fail(name, "it uses a sample type this program does not handle (" + cv::typeToString(raw.type()) + ")",
                  "Convert it to an 8- or 16-bit PNG.");
  }
}

cv::Mat compositeOverBlack(const cv::Mat& colour, const cv::Mat& alpha) {
  // Over black, compositing is premultiplication: c * a / max.
  const double maxValue = colour.depth() == CV_16U ? 65535.0 : 255.0;
  cv::Mat alphaPerChannel;
  cv::merge(std::vector<cv::Mat>(colour.channels(), alpha), alphaPerChannel);
  cv::Mat out;
  cv::multiply(colour, alphaPerChannel, out, 1.0 / maxValue);
  return out;
}

Result<cv::Mat> toRgb(const cv::Mat& raw, const std::string& name) {
  cv::Mat out;
  switch (raw.channels()) {
    case 1:
      cv::cvtColor(raw, out, cv::COLOR_GRAY2RGB);
      return out;
    case 2: {  // grey + alpha
      std::vector<cv::Mat> planes;
      cv::split(raw, planes);
      cv::cvtColor(compositeOverBlack(planes[0], planes[1]), out, cv::COLOR_GRAY2RGB);
      return out;
    }
    case 3:
      cv::cvtColor(raw, out, cv::COLOR_BGR2RGB);
      return out;
    case 4: {  // BGRA
      std::vector<cv::Mat> planes;
      cv::split(raw, planes);
      cv::Mat bgr;
      cv::merge(std::vector<cv::Mat>(planes.begin(), planes.begin() + 3), bgr);
      cv::cvtColor(compositeOverBlack(bgr, planes[3]), out, cv::COLOR_BGR2RGB);
      return out;
    }
    default:
      return fail(name, "it has " + std::to_string(raw.channels()) + " channels",
                  "Convert it to an RGB or greyscale PNG.");
  }
}

// EXIF orientation n: how the stored pixels must be transformed for display.
cv::Mat applyOrientation(const cv::Mat& img, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2:
      cv::flip(img, out, 1);
      return out;  // mirror left-right
    case 3:
      cv::rotate(img, out, cv::ROTATE_180);
      return out;
    case 4:
      cv::flip(img, out, 0);
      return out;  // mirror top-bottom
    case 5:
      cv::transpose(img, out);
      return out;
    case 6:
      cv::rotate(img, out, cv::ROTATE_90_CLOCKWISE);
      return out;
    case 7:
      cv::transpose(img, out);
      cv::flip(out, out, -1);
      return out;
    case 8:
      cv::rotate(img, out, cv::ROTATE_90_COUNTERCLOCKWISE);
      return out;
    default:
      return img;
  }
}

// The profile the header parsers found, in the form the colour step takes.
void takeProfile(const Header& h, Decoded& d) {
  if (h.pngIccp) {
    d.icc = iccFromPngChunk(*h.pngIccp);
    d.iccSource = "PNG iCCP";
  } else if (!h.jpegIcc.empty()) {
    d.icc = iccFromJpegSegments(h.jpegIcc);
    d.iccSource = "JPEG APP2";
  } else if (h.icc) {
    d.icc = Result<std::string>(*h.icc);
    d.iccSource = h.iccSource;
  }
}

// The file's profile applied (to the working space), or none found (taken as sRGB). A
// broken profile fails the load unless options.brokenProfile says to take the pixels as sRGB.
Result<ColourInfo> applyProfile(const std::string& name, const Decoded& d, cv::Mat& rgb, const LoadOptions& options) {
  if (d.colour) return *d.colour;
  if (!d.icc) return assumedSrgb();
  Result<ColourInfo> info = *d.icc ? convertIccToWorkingSpace(rgb, d.icc->value(), d.iccSource, options.workingSpace)
                                   : Result<ColourInfo>(d.icc->error());
  if (info) return info;
  if (options.brokenProfile == BrokenProfile::AssumeSrgb) {
    ColourInfo fallback = assumedSrgb();
    fallback.source = d.iccSource;
    fallback.note = "the colour profile (" + d.iccSource +
                    ") is broken, so the pixels are "
                    "taken as sRGB: " +
                    info.message();
    return fallback;
  }
  return fail(name, info.message(),
              "Re-save the image with a valid colour profile (or "
              "without one, to have it read as sRGB).");
}

// Then pixels still in sRGB (no profile, sRGB nclx, RAW developed to sRGB) go on to the
// working space when it is not sRGB.
Result<ColourInfo> manageColour(const std::string& name, const Decoded& d, cv::Mat& rgb, const LoadOptions& options) {
  auto info = applyProfile(name, d, rgb, options);
  if (!info) return info;
  if (auto converted = convertSrgbToWorkingSpace(rgb, *info, options.workingSpace); !converted)
    return fail(name, converted.message(), "Check that Little CMS (liblcms2) is installed correctly.");
  return info;
}

Result<Decoded> decodeWithOpenCv(const Bytes& b, const std::string& name, Format format, const LoadOptions& options) {
  const Header header = inspect(format, b);
  if (auto error = checkHeader(name, format, header, options)) return *error;
  // IMREAD_UNCHANGED keeps 16-bit depth and alpha; it also means OpenCV applies no EXIF
  // orientation, so we apply the one we parsed (JPEG, PNG) exactly once. TIFF needs
  // nothing: OpenCV's TIFF decoder honours the file's Orientation tag itself.
  const cv::Mat buffer(1, static_cast<int>(b.size()), CV_8UC1, const_cast<std::uint8_t*>(b.data()));
  Decoded d;
  d.pixels = cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
  if (d.pixels.empty()) {
    return fail(name,
                "the " + std::string(formatName(format)) +
                    " data could not be decoded "
                    "(it is damaged or uses a variant of the format that OpenCV does not support)",
                "Re-export it as PNG or JPEG.");
  }
  d.orientation = header.orientation;
  takeProfile(header, d);
  if (header.exifSize > 0 && b.has(header.exifOffset, header.exifSize))
    d.capture = readExifCapture(b.data() + header.exifOffset, header.exifSize);
  return d;
}

Result<Decoded> decodeAny(const std::string& bytes, const std::string& name, Format format,
                          const LoadOptions& options) {
  switch (format) {
    case Format::Heif:
    case Format::Avif:
      return decodeHeif(bytes, name, formatName(format), options.maxPixels);
    case Format::CameraRaw:
      return decodeRaw(bytes, name, options.maxPixels, options.rawHalfSize);
    default:
      return decodeWithOpenCv(Bytes(bytes), name, format, options);
  }
}

// From a decoder's output to the canonical image: 8/16-bit RGB, the working space, upright.
Result<LoadedImage> canonical(Decoded&& d, const std::string& name, const std::string& kind,
                              const LoadOptions& options) {
  auto integer = toIntegerDepth(d.pixels, name);
  if (!integer) return integer.error();
  auto rgb = toRgb(*integer, name);
  if (!rgb) return rgb.error();
  auto colour = manageColour(name, d, *rgb, options);
  if (!colour) return colour.error();

  LoadedImage image;
  image.rgb = applyOrientation(*rgb, d.orientation);
  image.path = name;
  image.format = d.format.empty() ? kind : d.format;
  image.sourceChannels = d.pixels.channels();
  image.bitDepth = image.rgb.depth() == CV_16U ? 16 : 8;
  image.sourceBits = d.sourceBits ? d.sourceBits : image.bitDepth;
  image.exifOrientation = d.orientation;
  image.colour = std::move(*colour);
  image.capture = std::move(d.capture);
  return image;
}

Result<LoadedImage> decodeChecked(const std::string& bytes, const std::string& name, const LoadOptions& options) {
  const Bytes b(bytes);
  if (b.size() == 0)
    return fail(name, "the file is empty (0 bytes)",
                "Choose another file; this one may "
                "have been cut off while copying or downloading.");
  // OpenCV takes the buffer's length as an int.
  const long long byteLimit = std::min<long long>(options.maxFileBytes, INT_MAX);
  if (b.size() > static_cast<std::uint64_t>(byteLimit)) {
    return fail(
        name,
        "it is " + std::to_string(b.size()) + " bytes, more than the limit of " + std::to_string(byteLimit) + " bytes",
        "Downscale or recompress the image first.");
  }
  Format format = detectFormat(b);
  // A TIFF named like a RAW that LibRaw does not take (a scan named .raw) stays a TIFF.
  if (format == Format::Tiff && (hasRawMarker(b) || (hasRawExtension(name) && isCameraRaw(bytes))))
    format = Format::CameraRaw;
  if (format == Format::Unknown) {
    return fail(name,
                "it is not an image in a format this program reads (its first bytes "
                "match none of " +
                    std::string(kReadableList) + ")",
                "Check that you chose the right file, or convert it to PNG or JPEG.");
  }
  const std::string kind = formatName(format);
  if (!isReadable(format)) {
    return fail(name, "it is a " + kind + " file, which this program cannot read", "Convert it to PNG or JPEG first.");
  }
  auto decoded = decodeAny(bytes, name, format, options);
  if (!decoded && format == Format::Tiff && hasRawExtension(name)) {
    return fail(name,
                "it is named like a camera RAW file, but LibRaw does not recognise "
                "it and it cannot be read as a TIFF either (it is damaged or cut off)",
                "Copy the file from the camera or card again.");
  }
  if (!decoded) return decoded.error();
  auto image = canonical(std::move(*decoded), name, kind, options);
  if (image && format == Format::CameraRaw) image->halfSizeRaw = options.rawHalfSize;
  return image;
}

}  // namespace

Result<LoadedImage> decodeImage(const std::string& bytes, const std::string& nameForMessages,
                                const LoadOptions& options) {
  // OpenCV and the allocator may throw; nothing may escape the core's boundary.
  try {
    return decodeChecked(bytes, nameForMessages, options);
  } catch (const cv::Exception& e) {
    return fail(nameForMessages, "OpenCV failed while decoding it (" + e.err + ")",
                "Re-export the image as PNG or JPEG.");
  } catch (const std::bad_alloc&) {
    return fail(nameForMessages, "there is not enough memory to decode it",
                "Close other programs or downscale the image first.");
  } catch (const std::exception& e) {
    return fail(nameForMessages, std::string("decoding failed (") + e.what() + ")",
                "Re-export the image as PNG or JPEG.");
  }
}

Result<LoadedImage> loadImage(const std::string& path, const LoadOptions& options) {
  if (path.empty()) return makeError("Cannot load image: no file name was given.");
  try {
    // u8path: the string is UTF-8 on every platform (matters on Windows).
    const fs::path file = fs::u8path(path);
    std::error_code ec;
    const fs::file_status status = fs::status(file, ec);
    if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
      return fail(path, "it could not be accessed (" + ec.message() + ")",
                  "Check that you have permission to read it and its folder.");
    }
    if (!fs::exists(status)) {
      return fail(path, "the file does not exist",
                  "Check the path and the spelling, or "
                  "choose the file again.");
    }
    if (fs::is_directory(status)) {
      return fail(path, "it is a folder, not a file", "Choose an image file inside it.");
    }
    if (!fs::is_regular_file(status)) { return fail(path, "it is not a regular file", "Choose an image file."); }
    const std::uintmax_t size = fs::file_size(file, ec);
    if (ec) return fail(path, "its size could not be read (" + ec.message() + ")", "Check that you may read it.");
    if (size > static_cast<std::uintmax_t>(options.maxFileBytes)) {
      return fail(path,
                  "the file is " + std::to_string(size) +
                      " bytes, more than the "
                      "limit of " +
                      std::to_string(options.maxFileBytes) + " bytes",
                  "Downscale or recompress the image first.");
    }
    errno = 0;
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      const std::string reason = errno ? std::strerror(errno) : "unknown reason";
      return fail(path, "the file could not be opened (" + reason + ")", "Check that you have permission to read it.");
    }
    std::string bytes(static_cast<std::size_t>(size), '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(size));
    bytes.resize(static_cast<std::size_t>(in.gcount()));  // the file may have shrunk
    return decodeImage(bytes, path, options);
  } catch (const std::bad_alloc&) {
    return fail(path, "there is not enough memory to read it", "Close other programs.");
  } catch (const std::exception& e) {
    return fail(path, std::string("reading it failed (") + e.what() + ")", "Check the file and try again.");
  }
}

}  // namespace dqa::image
