#pragma once
// HEIC and AVIF files written here by libheif's own encoders (x265 for HEIC, aom for
// AVIF), for the HEIF suite and the window's drop test: pictures of 8 or more bits with
// an optional ICC or nclx profile and EXIF item. The caller skips when encoding fails
// (the encoder plugin is missing), saying so.
#include <libheif/heif.h>
#include <opencv2/core.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace dqa::test {

struct HeifPicture {
  cv::Mat rgb;  // CV_8UC3 or CV_16UC3 holding `bits`-bit values, RGB order
  int bits = 8;
  std::string icc;
  int nclxPrimaries = 0;  // 0: no nclx set on the image
  std::string exif;       // a TIFF structure for the image's EXIF item ("" for none)
};

inline heif_error appendBytes(heif_context*, const void* data, size_t size, void* userdata) {
  static_cast<std::string*>(userdata)->append(static_cast<const char*>(data), size);
  return heif_error{heif_error_Ok, heif_suberror_Unspecified, "ok"};
}

inline heif_image* toHeifImage(const HeifPicture& p) {
  heif_image* image = nullptr;
  const bool deep = p.bits > 8;
  heif_image_create(p.rgb.cols, p.rgb.rows, heif_colorspace_RGB,
                    deep ? heif_chroma_interleaved_RRGGBB_LE : heif_chroma_interleaved_RGB, &image);
  heif_image_add_plane(image, heif_channel_interleaved, p.rgb.cols, p.rgb.rows, p.bits);
  int stride = 0;
  std::uint8_t* plane = heif_image_get_plane(image, heif_channel_interleaved, &stride);
  const std::size_t rowBytes = p.rgb.cols * p.rgb.elemSize();
  for (int y = 0; y < p.rgb.rows; ++y) std::memcpy(plane + std::size_t(y) * stride, p.rgb.ptr(y), rowBytes);
  if (!p.icc.empty()) heif_image_set_raw_color_profile(image, "prof", p.icc.data(), p.icc.size());
  if (p.nclxPrimaries) {
    heif_color_profile_nclx* nclx = heif_nclx_color_profile_alloc();
    heif_nclx_color_profile_set_color_primaries(nclx, std::uint16_t(p.nclxPrimaries));
    nclx->transfer_characteristics = heif_transfer_characteristic_IEC_61966_2_1;
    nclx->matrix_coefficients = heif_matrix_coefficients_ITU_R_BT_601_6;
    nclx->full_range_flag = 1;
    heif_image_set_nclx_color_profile(image, nclx);
    heif_nclx_color_profile_free(nclx);
  }
  return image;
}

// The file's bytes; the last picture is the primary image. Empty when encoding failed.
inline std::string encodeHeif(heif_compression_format format, const std::vector<HeifPicture>& pictures) {
  heif_context* context = heif_context_alloc();
  heif_encoder* encoder = nullptr;
  std::string out;
  if (heif_context_get_encoder_for_format(context, format, &encoder).code == heif_error_Ok) {
    heif_encoder_set_lossy_quality(encoder, 95);
    // 4:2:0, the layout of cameras' and phones' files.
    heif_encoder_set_parameter_string(encoder, "chroma", "420");
    // libheif leaves the nclx box out by default (a macOS workaround); we want it written.
    heif_encoding_options* options = heif_encoding_options_alloc();
    options->macOS_compatibility_workaround_no_nclx_profile = 0;
    bool ok = true;
    for (const HeifPicture& p : pictures) {
      heif_image* image = toHeifImage(p);
      heif_image_handle* handle = nullptr;
      ok = ok && heif_context_encode_image(context, image, encoder, options, &handle).code == heif_error_Ok;
      if (ok) heif_context_set_primary_image(context, handle);
      if (ok && !p.exif.empty())
        ok = heif_context_add_exif_metadata(context, handle, p.exif.data(), int(p.exif.size())).code == heif_error_Ok;
      heif_image_handle_release(handle);
      heif_image_release(image);
    }
    heif_encoding_options_free(options);
    heif_writer writer{1, &appendBytes};
    if (!ok || heif_context_write(context, &writer, &out).code != heif_error_Ok) out.clear();
    heif_encoder_release(encoder);
  }
  heif_context_free(context);
  return out;
}

}  // namespace dqa::test
