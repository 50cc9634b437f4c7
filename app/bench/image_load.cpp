// depictqa-bench-images: how long the loader takes on given files (best of N), full and
// RAW half-size; --make-fixtures DIR first writes 24 MP test files there (sRGB and
// Display P3 JPEG, 16-bit PNG with and without a P3 profile, a Bayer DNG) made as the
// unit tests make theirs; --dng-from PHOTO OUT writes a photo as a Bayer DNG (for the
// screenshots). A development tool: not installed.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "colour_fixtures.h"
#include "dng_fixture.h"
#include "core/image/image_loader.h"
#include "tiff_writer.h"

namespace {

using namespace dqa::test;

void put(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

// The mosaic (RGGB, 16-bit little-endian samples) of an RGB image's 8-bit values,
// each mapped to a sensor value by `sample`.
template <class Sample>
std::string rggbMosaic(const cv::Mat& rgb, Sample sample) {
  std::string px;
  px.reserve(rgb.total() * 2);
  for (int y = 0; y < rgb.rows; ++y)
    for (int x = 0; x < rgb.cols; ++x) px += tiffLe16(sample(rgb.at<cv::Vec3b>(y, x)[(y % 2) + (x % 2)]));
  return px;
}

std::string bayerDng(const cv::Mat& rgb) {
  // camera = linear sRGB (see test_image_raw); the 8-bit values taken as linear
  return makeDng(rgb.cols, rgb.rows, rggbMosaic(rgb, [](unsigned v) { return v * 200; }), "Bench");
}

// A photo as a camera's RAW file: its sRGB pixels linearised (the sensor's values are
// linear light) and mosaicked, so that LibRaw's development gives the photo back.
std::string photoAsDng(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  const std::string px = rggbMosaic(rgb, [](unsigned encoded) {
    const double v = encoded / 255.0;
    const double lin = v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4);
    return unsigned(std::lround(lin * 65535));
  });
  return makeDng(rgb.cols, rgb.rows, px, "Photo as DNG");
}

std::vector<std::string> makeFixtures(const std::string& dir) {
  cv::Mat rgb(4000, 6000, CV_8UC3);
  cv::randu(rgb, 0, 256);
  cv::GaussianBlur(rgb, rgb, cv::Size(0, 0), 3);
  cv::Mat deep;
  rgb.convertTo(deep, CV_16U, 257);
  const std::string p3 = displayP3Profile();
  const std::string jpeg = encode(rgb, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90});
  const std::string png = encode(deep, ".png", {cv::IMWRITE_PNG_COMPRESSION, 1});
  const std::vector<std::pair<std::string, std::string>> files = {{"srgb.jpg", jpeg},
                                                                  {"p3.jpg", withJpegIcc(jpeg, p3, 1)},
                                                                  {"deep.png", png},
                                                                  {"deep-p3.png", withPngIccp(png, p3)},
                                                                  {"bayer.dng", bayerDng(rgb)}};
  std::vector<std::string> paths;
  for (const auto& [name, bytes] : files) {
    paths.push_back(dir + "/" + name);
    put(paths.back(), bytes);
  }
  return paths;
}

// Best of `runs` loads in milliseconds; negative when the file does not load.
double bestMs(const std::string& path, bool half, int runs, std::string& what) {
  dqa::image::LoadOptions options;
  options.rawHalfSize = half;
  double best = 1e300;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto r = dqa::image::loadImage(path, options);
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    if (!r) {
      what = r.message();
      return -1;
    }
    what = std::to_string(r->width()) + "x" + std::to_string(r->height()) + " " + r->format + ", " + r->colour.note;
    best = std::min(best, took.count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--dng-from" && i + 2 < argc) {
      const cv::Mat photo = cv::imread(argv[i + 1], cv::IMREAD_COLOR);
      if (photo.empty()) {
        std::fprintf(stderr, "depictqa-bench-images: cannot read %s\n", argv[i + 1]);
        return 1;
      }
      put(argv[i + 2], photoAsDng(photo));
      return 0;
    }
    if (arg == "--make-fixtures" && i + 1 < argc) {
      const auto made = makeFixtures(argv[++i]);
      files.insert(files.end(), made.begin(), made.end());
    } else {
      files.push_back(arg);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr,
                 "usage: depictqa-bench-images [--make-fixtures DIR] [FILE...]\n"
                 "       depictqa-bench-images --dng-from PHOTO OUT.dng   (a photo as a Bayer DNG)\n");
    return 2;
  }
  for (const std::string& f : files)
    for (bool half : {false, true}) {
      std::string what;
      const double ms = bestMs(f, half, 3, what);
      if (half && what.find("half size") == std::string::npos) continue;  // not a RAW
      std::printf("%-40s %s %8.0f ms  %s\n", f.c_str(), half ? "half" : "full", ms, what.c_str());
    }
  return 0;
}
