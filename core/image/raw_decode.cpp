#include "core/image/raw_decode.h"

#include <libraw/libraw.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <memory>

#include "core/image/load_error.h"

namespace dqa::image {
namespace {

const char* kTodo =
    "Re-copy the file from the camera or card, or export it as TIFF or "
    "PNG from the camera maker's software.";

// LibRaw reports damaged data through this callback (by default it prints to stderr).
void noteDataError(void* data, const char*, const int) { *static_cast<bool*>(data) = true; }

void setRecipe(libraw_output_params_t& p, bool halfSize) {
  p.use_camera_wb = 1;
  p.use_auto_wb = 0;
  p.output_color = 1;  // sRGB
  p.output_bps = 16;
  p.no_auto_bright = 1;
  p.highlight = 0;      // clip
  p.gamm[0] = 1 / 2.4;  // the sRGB curve: power 1/2.4 with a linear toe of slope 12.92
  p.gamm[1] = 12.92;
  p.half_size = halfSize ? 1 : 0;
}

// What LibRaw read of the capture (its own EXIF/makernote parsing): 0 and "" where the
// file does not say.
CaptureInfo captureOf(const LibRaw& raw) {
  const auto& d = raw.imgdata;
  CaptureInfo c;
  c.make = d.idata.make;
  c.model = d.idata.model;
  c.lens = d.lens.Lens;
  if (d.other.shutter > 0 && std::isfinite(d.other.shutter)) c.exposureSeconds = d.other.shutter;
  if (d.other.aperture > 0 && std::isfinite(d.other.aperture)) c.fNumber = d.other.aperture;
  if (d.other.iso_speed > 0 && d.other.iso_speed < 1e7f) c.iso = int(d.other.iso_speed + 0.5f);
  if (d.other.focal_len > 0 && std::isfinite(d.other.focal_len)) c.focalLengthMm = d.other.focal_len;
  if (d.other.timestamp > 0) {
    // LibRaw turned the file's local time into time_t with mktime; localtime undoes it.
    std::tm local{};
    const std::time_t t = d.other.timestamp;
    if (localtime_r(&t, &local)) {
      char buf[32];
      if (std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local)) c.captureTime = buf;
    }
  }
  return c;
}

std::string cameraName(const libraw_iparams_t& id) {
  std::string make(id.make), model(id.model);
  if (make.empty()) return model;
  return model.rfind(make, 0) == 0 ? model : make + " " + model;
}

// The developed 16-bit RGB bitmap as OpenCV's BGR.
Result<cv::Mat> developed(LibRaw& raw, const std::string& name) {
  int code = LIBRAW_SUCCESS;
  std::unique_ptr<libraw_processed_image_t, void (*)(libraw_processed_image_t*)> image(raw.dcraw_make_mem_image(&code),
                                                                                       LibRaw::dcraw_clear_mem);
  if (!image || code != LIBRAW_SUCCESS)
    return loadError(name, std::string("LibRaw could not produce the developed image (") + LibRaw::strerror(code) + ")",
                     kTodo);
  if (image->type != LIBRAW_IMAGE_BITMAP || image->colors != 3 || image->bits != 16 ||
      std::size_t(image->width) * image->height * 6 > image->data_size)
    return loadError(name, "LibRaw returned an unexpected image layout", kTodo);
  const cv::Mat view(image->height, image->width, CV_16UC3, image->data);
  cv::Mat out;
  cv::cvtColor(view, out, cv::COLOR_RGB2BGR);  // a copy: `image` is freed on return
  return out;
}

}  // namespace

bool isCameraRaw(const std::string& bytes) {
  auto raw = std::make_unique<LibRaw>(LIBRAW_OPTIONS_NONE);
  bool damaged = false;
  raw->set_dataerror_handler(&noteDataError, &damaged);
  return raw->open_buffer(const_cast<char*>(bytes.data()), bytes.size()) == LIBRAW_SUCCESS;
}

Result<Decoded> decodeRaw(const std::string& bytes, const std::string& name, long long maxPixels, bool halfSize) {
  auto raw = std::make_unique<LibRaw>(LIBRAW_OPTIONS_NONE);
  bool damaged = false;
  raw->set_dataerror_handler(&noteDataError, &damaged);
  int code = raw->open_buffer(const_cast<char*>(bytes.data()), bytes.size());
  if (code != LIBRAW_SUCCESS)
    return loadError(
        name, std::string("LibRaw does not recognise it as a camera RAW file (") + LibRaw::strerror(code) + ")", kTodo);
  const libraw_image_sizes_t& sizes = raw->imgdata.sizes;
  const long long width = std::max<long long>(sizes.width, sizes.raw_width);
  const long long height = std::max<long long>(sizes.height, sizes.raw_height);
  if (auto error = checkDeclaredSize(name, "camera RAW", width, height, maxPixels)) return *error;
  setRecipe(raw->imgdata.params, halfSize);
  code = raw->unpack();
  if (code == LIBRAW_SUCCESS) code = raw->dcraw_process();
  if (code != LIBRAW_SUCCESS)
    return loadError(name, std::string("its RAW data could not be developed (") + LibRaw::strerror(code) + ")", kTodo);
  if (damaged)
    return loadError(name,
                     "its RAW data is damaged or cut off (LibRaw met unreadable "
                     "sensor data)",
                     kTodo);
  auto pixels = developed(*raw, name);
  if (!pixels) return pixels.error();

  Decoded out;
  out.pixels = std::move(*pixels);
  out.sourceBits = 16;
  const libraw_iparams_t& id = raw->imgdata.idata;
  const std::string camera = cameraName(id);
  out.format = std::string(id.dng_version ? "DNG" : "camera RAW") + (camera.empty() ? "" : " (" + camera + ")");
  ColourInfo colour;
  colour.profile = "sRGB";
  colour.source = "LibRaw";
  colour.converted = true;
  colour.note =
      "developed by LibRaw from the camera's colours to sRGB (camera white "
      "balance, no auto-brightening" +
      std::string(halfSize ? ", half size)" : ")");
  out.colour = colour;
  out.capture = captureOf(*raw);
  return out;
}

}  // namespace dqa::image
