#include "core/image/heif_decode.h"

#include <libheif/heif.h>
#include <opencv2/imgproc.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/image/heif_canvas.h"
#include "core/image/load_error.h"
#include "core/image/nclx.h"

namespace dqa::image {
namespace {

using Context = std::unique_ptr<heif_context, void (*)(heif_context*)>;
using Handle = std::unique_ptr<heif_image_handle, void (*)(const heif_image_handle*)>;
using Image = std::unique_ptr<heif_image, void (*)(const heif_image*)>;

std::string why(const heif_error& e) {
  return std::string(" (libheif: ") + (e.message ? e.message : "no details") + ")";
}

const char* kTodo = "Re-export or re-download the file, or convert it to PNG or JPEG.";

// An H.273 code point as libheif stores it: in an enum field, which a damaged file can
// fill with a value outside the enum's range (reading it as the enum would be undefined).
template <class Enum>
int codePoint(const Enum& field) {
  static_assert(sizeof(Enum) == sizeof(std::uint32_t), "libheif's enums are 32-bit");
  std::uint32_t value = 0;
  std::memcpy(&value, &field, sizeof value);
  return value > 0xffff ? -1 : int(value);
}

// The primary image's EXIF item: a 4-byte big-endian offset to the TIFF header, then the
// TIFF structure. A block that is missing, too large or malformed leaves the settings out.
CaptureInfo readCapture(const heif_image_handle* handle) {
  heif_item_id id = 0;
  if (heif_image_handle_get_list_of_metadata_block_IDs(handle, "Exif", &id, 1) < 1) return {};
  const std::size_t size = heif_image_handle_get_metadata_size(handle, id);
  if (size < 8 || size > (std::size_t(1) << 20)) return {};
  std::vector<unsigned char> block(size);
  if (heif_image_handle_get_metadata(handle, id, block.data()).code != heif_error_Ok) return {};
  const std::size_t offset =
      std::size_t(block[0]) << 24 | std::size_t(block[1]) << 16 | std::size_t(block[2]) << 8 | block[3];
  if (offset > size - 4) return {};
  return readExifCapture(block.data() + 4 + offset, size - 4 - offset);
}

// The profile the file declares: ICC if it has one (a file may carry both), else nclx,
// else none (taken as sRGB).
void readColour(const heif_image_handle* handle, Decoded& out) {
  const std::size_t iccSize = heif_image_handle_get_raw_color_profile_size(handle);
  if (iccSize > 0) {
    std::string icc(iccSize, '\0');
    const heif_error e = heif_image_handle_get_raw_color_profile(handle, icc.data());
    out.icc = e.code == heif_error_Ok ? Result<std::string>(icc)
                                      : Result<std::string>(makeError("its ICC profile could not be read" + why(e)));
    out.iccSource = "HEIF ICC";
    return;
  }
  heif_color_profile_nclx* raw = nullptr;
  const heif_error e = heif_image_handle_get_nclx_color_profile(handle, &raw);
  if (e.code != heif_error_Ok || !raw) {
    heif_nclx_color_profile_free(raw);  // libheif may allocate it and still fail
    out.colour = assumedSrgb();
    return;
  }
  Nclx nclx;
  nclx.primaries = codePoint(raw->color_primaries);
  nclx.transfer = codePoint(raw->transfer_characteristics);
  const float xy[4][2] = {{raw->color_primary_red_x, raw->color_primary_red_y},
                          {raw->color_primary_green_x, raw->color_primary_green_y},
                          {raw->color_primary_blue_x, raw->color_primary_blue_y},
                          {raw->color_primary_white_x, raw->color_primary_white_y}};
  float* dst[4] = {nclx.red, nclx.green, nclx.blue, nclx.white};
  for (int i = 0; i < 4; ++i) dst[i][0] = xy[i][0], dst[i][1] = xy[i][1];
  heif_nclx_color_profile_free(raw);

  const NclxProfile profile = profileForNclx(nclx);
  if (!profile.icc.empty()) {
    out.icc = Result<std::string>(profile.icc);
    out.iccSource = "HEIF nclx";
    return;
  }
  ColourInfo info;
  info.profile = profile.description;
  info.source = "HEIF nclx";
  info.note = profile.isSrgb ? profile.description + ": sRGB already, no conversion needed"
                             : profile.description + ": " + profile.unsupported + ", pixels taken as sRGB";
  out.colour = info;
}

// libheif's interleaved RGB(A) plane as OpenCV's BGR(A), more than 8 bits scaled to 16.
cv::Mat toBgr(const heif_image* image, int channels, int bits) {
  int stride = 0;
  const std::uint8_t* plane = heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride);
  const int width = heif_image_get_width(image, heif_channel_interleaved);
  const int height = heif_image_get_height(image, heif_channel_interleaved);
  if (!plane || width <= 0 || height <= 0) return {};
  const int type = bits > 8 ? CV_MAKETYPE(CV_16U, channels) : CV_MAKETYPE(CV_8U, channels);
  const cv::Mat view(height, width, type, const_cast<std::uint8_t*>(plane), std::size_t(stride));
  cv::Mat scaled;
  if (bits > 8 && bits < 16)
    view.convertTo(scaled, CV_16U, 65535.0 / double((1 << bits) - 1));
  else
    scaled = view;
  cv::Mat out;
  cv::cvtColor(scaled, out, channels == 4 ? cv::COLOR_RGBA2BGRA : cv::COLOR_RGB2BGR);
  return out;
}

}  // namespace

Result<Decoded> decodeHeif(const std::string& bytes, const std::string& name, const std::string& kind,
                           long long maxPixels) {
  Context context(heif_context_alloc(), heif_context_free);
  if (!context) return loadError(name, "libheif could not start", "Try again.");
  heif_error e = heif_context_read_from_memory_without_copy(context.get(), bytes.data(), bytes.size(), nullptr);
  if (e.code != heif_error_Ok) return loadError(name, "its " + kind + " structure could not be read" + why(e), kTodo);
  heif_image_handle* rawHandle = nullptr;
  e = heif_context_get_primary_image_handle(context.get(), &rawHandle);
  Handle handle(rawHandle, heif_image_handle_release);
  if (e.code != heif_error_Ok || !handle)
    return loadError(name, "its " + kind + " file has no primary image" + why(e), kTodo);
  const int width = heif_image_handle_get_width(handle.get());
  const int height = heif_image_handle_get_height(handle.get());
  if (auto error = checkDeclaredSize(name, kind, width, height, maxPixels)) return *error;
  if (auto problem = heifCanvasProblem(Bytes(bytes), maxPixels))
    return loadError(name, *problem, "Re-export the image, or convert it to PNG or JPEG.");

  const int lumaBits = heif_image_handle_get_luma_bits_per_pixel(handle.get());
  const bool alpha = heif_image_handle_has_alpha_channel(handle.get()) != 0;
  const bool deep = lumaBits > 8;
  const heif_chroma chroma = deep ? (alpha ? heif_chroma_interleaved_RRGGBBAA_LE : heif_chroma_interleaved_RRGGBB_LE)
                                  : (alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB);
  heif_image* rawImage = nullptr;
  e = heif_decode_image(handle.get(), &rawImage, heif_colorspace_RGB, chroma, nullptr);
  Image image(rawImage, heif_image_release);
  if (e.code != heif_error_Ok || !image)
    return loadError(name,
                     "its " + kind +
                         " image data could not be decoded (it is damaged, "
                         "cut off, or uses a codec this libheif lacks)" +
                         why(e),
                     kTodo);
  // The decoded image may still not be the size the file declares (its ispe box), which
  // is what the size guard checked: a coded item's bitstream can say otherwise (the
  // canvases of grids and overlays were checked above). Such a file is damaged; nothing
  // of it goes further.
  const int decodedWidth = heif_image_get_width(image.get(), heif_channel_interleaved);
  const int decodedHeight = heif_image_get_height(image.get(), heif_channel_interleaved);
  if (decodedWidth != width || decodedHeight != height)
    return loadError(name,
                     "its " + kind + " image data decodes to " + std::to_string(decodedWidth) + "x" +
                         std::to_string(decodedHeight) + " pixels, not the " + std::to_string(width) + "x" +
                         std::to_string(height) + " its header declares: the file is damaged",
                     kTodo);
  const int bits = deep ? heif_image_get_bits_per_pixel_range(image.get(), heif_channel_interleaved) : 8;
  Decoded out;
  out.pixels = toBgr(image.get(), alpha ? 4 : 3, bits);
  if (out.pixels.empty()) return loadError(name, "libheif returned no pixels for its " + kind + " image", kTodo);
  out.sourceBits = bits;
  readColour(handle.get(), out);
  out.capture = readCapture(handle.get());
  return out;
}

}  // namespace dqa::image
