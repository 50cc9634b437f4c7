// Format detection: what a file is, from its signature (image_header.h).
#include <cctype>

#include "core/image/image_header.h"

namespace dqa::image {

const char* formatName(Format f) {
  switch (f) {
    case Format::Png:
      return "PNG";
    case Format::Jpeg:
      return "JPEG";
    case Format::Bmp:
      return "BMP";
    case Format::Tiff:
      return "TIFF";
    case Format::BigTiff:
      return "BigTIFF";
    case Format::WebP:
      return "WebP";
    case Format::Pbm:
      return "PBM";
    case Format::Pgm:
      return "PGM";
    case Format::Ppm:
      return "PPM";
    case Format::Pam:
      return "PAM";
    case Format::Pfm:
      return "PFM";
    case Format::SunRaster:
      return "Sun raster";
    case Format::RadianceHdr:
      return "Radiance HDR";
    case Format::Jp2:
      return "JPEG 2000";
    case Format::J2k:
      return "JPEG 2000 codestream";
    case Format::Exr:
      return "OpenEXR";
    case Format::Gif:
      return "GIF";
    case Format::Heif:
      return "HEIF/HEIC";
    case Format::Avif:
      return "AVIF";
    case Format::CameraRaw:
      return "camera RAW";
    case Format::JpegXl:
      return "JPEG XL";
    case Format::Psd:
      return "Photoshop PSD";
    case Format::Pdf:
      return "PDF";
    case Format::Dicom:
      return "DICOM";
    case Format::Unknown:
      break;
  }
  return "unknown";
}

bool isReadable(Format f) {
  switch (f) {
    case Format::Gif:
    case Format::JpegXl:
    case Format::Psd:
    case Format::Pdf:
    case Format::Dicom:
    case Format::Unknown:
      return false;
    default:
      return true;
  }
}

const char* const kReadableList =
    "PNG, JPEG, BMP, TIFF, WebP, PPM/PGM/PBM/PAM, PFM, Sun raster, Radiance HDR, "
    "JPEG 2000, OpenEXR, HEIF/HEIC, AVIF, camera RAW/DNG";

namespace {

Format detectIsoBmff(const Bytes& b) {
  // ISO base media file: size, "ftyp", major brand.
  if (!b.startsWith(4, "ftyp", 4)) return Format::Unknown;
  for (const char* brand : {"heic", "heix", "hevc", "heim", "heis", "mif1", "msf1"})
    if (b.startsWith(8, brand, 4)) return Format::Heif;
  for (const char* brand : {"avif", "avis"})
    if (b.startsWith(8, brand, 4)) return Format::Avif;
  if (b.startsWith(8, "crx ", 4)) return Format::CameraRaw;  // Canon CR3
  return Format::Unknown;
}

// Camera RAW formats with their own signature (TIFF-based ones: hasRawMarker).
bool isSignedRaw(const Bytes& b) {
  return b.startsWith(0, "IIRO", 4) || b.startsWith(0, "IIRS", 4) ||   // Olympus ORF
         b.startsWith(0, "MMOR", 4) || b.startsWith(0, "IIU\0", 4) ||  // ORF, Panasonic RW2
         b.startsWith(0, "FUJIFILMCCD-RAW", 15) ||                     // Fujifilm RAF
         b.startsWith(6, "HEAPCCDR", 8) ||                             // Canon CRW
         b.startsWith(0, "\0MRM", 4) || b.startsWith(0, "FOVb", 4);    // Minolta MRW, Sigma X3F
}

}  // namespace

bool hasRawMarker(const Bytes& b) {
  if (b.startsWith(8, "CR", 2)) return true;
  const Endian e{b, b.startsWith(0, "II", 2)};
  const std::size_t ifd = e.u32(4);
  const std::size_t count = b.has(ifd, 2) ? e.u16(ifd) : 0;
  for (std::size_t i = 0; i < count && b.has(ifd + 2 + 12 * i, 12); ++i)
    if (e.u16(ifd + 2 + 12 * i) == 50706) return true;  // DNGVersion
  return false;
}

bool hasRawExtension(const std::string& name) {
  const std::size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  for (const char* raw : {"dng", "nef", "nrw", "arw", "srf", "sr2", "cr2", "pef", "srw", "erf", "3fr", "fff", "iiq",
                          "kdc", "dcr", "mos", "mef", "rwl", "raw"})
    if (ext == raw) return true;
  return false;
}

Format detectFormat(const Bytes& b) {
  if (b.startsWith(0, "\x89PNG\r\n\x1a\n", 8)) return Format::Png;
  if (b.startsWith(0, "\xff\xd8\xff", 3)) return Format::Jpeg;
  if (b.startsWith(0, "BM", 2) && b.has(0, 26)) return Format::Bmp;
  if (isSignedRaw(b)) return Format::CameraRaw;
  if (b.startsWith(0, "II*\0", 4) || b.startsWith(0, "MM\0*", 4)) return Format::Tiff;
  if (b.startsWith(0, "II+\0", 4) || b.startsWith(0, "MM\0+", 4)) return Format::BigTiff;
  if (b.startsWith(0, "RIFF", 4) && b.startsWith(8, "WEBP", 4)) return Format::WebP;
  if (b.u8(0) == 'P' && b.has(0, 3) && isSpace(b.u8(2))) {
    switch (b.u8(1)) {
      case '1':
      case '4':
        return Format::Pbm;
      case '2':
      case '5':
        return Format::Pgm;
      case '3':
      case '6':
        return Format::Ppm;
      case '7':
        return Format::Pam;
      case 'F':
      case 'f':
        return Format::Pfm;
      default:
        break;
    }
  }
  if (b.startsWith(0, "\x59\xa6\x6a\x95", 4)) return Format::SunRaster;
  if (b.startsWith(0, "#?RADIANCE", 10) || b.startsWith(0, "#?RGBE", 6)) return Format::RadianceHdr;
  if (b.startsWith(0, "\0\0\0\x0cjP  \r\n\x87\n", 12)) return Format::Jp2;
  if (b.startsWith(0, "\xff\x4f\xff\x51", 4)) return Format::J2k;
  if (b.startsWith(0, "\x76\x2f\x31\x01", 4)) return Format::Exr;
  if (b.startsWith(0, "GIF87a", 6) || b.startsWith(0, "GIF89a", 6)) return Format::Gif;
  if (b.startsWith(0, "\xff\x0a", 2) || b.startsWith(0, "\0\0\0\x0cJXL \r\n\x87\n", 12)) return Format::JpegXl;
  if (b.startsWith(0, "8BPS", 4)) return Format::Psd;
  if (b.startsWith(0, "%PDF", 4)) return Format::Pdf;
  if (b.startsWith(128, "DICM", 4)) return Format::Dicom;
  return detectIsoBmff(b);
}

}  // namespace dqa::image
