#pragma once
// What was loaded for each image, as JSON (`depictqa --json`): file, size, format, bit
// depth, the colour handling and the camera settings the file states.
#include <nlohmann/json.hpp>

#include <string>

#include "core/image/image_loader.h"

namespace dqa::app {

inline nlohmann::ordered_json captureJson(const image::CaptureInfo& c) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!c.make.empty()) j["make"] = c.make;
  if (!c.model.empty()) j["model"] = c.model;
  if (!c.lens.empty()) j["lens"] = c.lens;
  if (c.exposureSeconds > 0) j["exposure_s"] = c.exposureSeconds;
  if (c.fNumber > 0) j["f_number"] = c.fNumber;
  if (c.iso > 0) j["iso"] = c.iso;
  if (c.focalLengthMm > 0) j["focal_length_mm"] = c.focalLengthMm;
  if (!c.captureTime.empty()) j["capture_time"] = c.captureTime;
  return j;
}

inline nlohmann::ordered_json loadedImageJson(const std::string& path, const image::LoadedImage& img) {
  nlohmann::ordered_json j;
  j["path"] = path;
  j["width"] = img.width();
  j["height"] = img.height();
  j["format"] = img.format;
  j["bit_depth"] = img.bitDepth;
  j["colour"] = img.colour.note;
  j["colour_space"] = workingSpaceName(img.colour.space);  // the model's working space
  if (!img.capture.empty()) j["capture"] = captureJson(img.capture);
  return j;
}

}  // namespace dqa::app
