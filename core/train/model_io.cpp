#include "core/train/model_io.h"

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/io/model_config.h"
#include "core/io/safetensors.h"

namespace dqa::train {
namespace fs = std::filesystem;

Status writeModelDirectory(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                           const std::string& configPath, const nlohmann::json& visionChanges,
                           const std::string& tokenizerPath, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return makeError("cannot create '" + dir + "': " + ec.message());
  std::vector<io::TensorToWrite> out;
  std::vector<at::Tensor> keep;  // the float32 copies `out` points into
  for (const auto& [name, t] : tensors) {
    keep.push_back(t.detach().to(at::kFloat).contiguous());
    out.push_back(
        {name, io::DType::F32, keep.back().sizes().vec(), keep.back().data_ptr(), size_t(keep.back().nbytes())});
  }
  if (auto ok = io::writeSafetensors(dir + "/model.safetensors", out, {{"format", "pt"}}); !ok) return ok;
  auto text = io::readTextFile(configPath);
  if (!text) return text.error();
  auto config = nlohmann::json::parse(text.value(), nullptr, false);
  if (config.is_discarded()) return makeError(configPath + " is not valid JSON");
  for (auto it = visionChanges.begin(); it != visionChanges.end(); ++it) config["vision_config"][it.key()] = it.value();
  std::ofstream configOut(dir + "/config.json");
  configOut << config.dump(2) << "\n";
  if (!configOut) return makeError("cannot write '" + dir + "/config.json'");
  if (!tokenizerPath.empty() && fs::absolute(tokenizerPath) != fs::absolute(dir + "/tokenizer.model"))
    fs::copy_file(tokenizerPath, dir + "/tokenizer.model", fs::copy_options::overwrite_existing, ec);
  if (ec) return makeError("cannot copy the tokenizer into '" + dir + "': " + ec.message());
  return Ok{};
}

Status saveModelDirectory(model::MultimodalModel& model, const std::string& dir, const std::string& tokenizerPath,
                          const nlohmann::json& visionChanges) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (auto& [name, t] : model.namedParameters()) tensors.emplace_back(name, *t);
  return writeModelDirectory(tensors, model.files().configPath, visionChanges, tokenizerPath, dir);
}

Status replaceDirectory(const std::string& staging, const std::string& directory) {
  std::error_code ec;
  const std::string old = directory + ".old";
  fs::remove_all(old, ec);
  if (fs::exists(directory)) fs::rename(directory, old, ec);
  if (ec) return makeError("cannot move '" + directory + "' aside: " + ec.message());
  fs::rename(staging, directory, ec);
  if (ec) return makeError("cannot move '" + staging + "' to '" + directory + "': " + ec.message());
  fs::remove_all(old, ec);
  return Ok{};
}

void drawCurves(const std::string& path, const std::string& title, const std::vector<std::pair<int, double>>& train,
                const std::vector<std::pair<int, double>>& validation) {
  if (train.empty()) return;
  const int W = 800, Hh = 450, m = 50;
  cv::Mat img(Hh, W, CV_8UC3, cv::Scalar(255, 255, 255));
  double lo = 1e9, hi = -1e9;
  int maxStep = 1;
  for (const auto* c : {&train, &validation})
    for (const auto& [s, v] : *c) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      maxStep = std::max(maxStep, s);
    }
  if (hi <= lo) hi = lo + 1;
  auto pt = [&](int s, double v) {
    return cv::Point(m + int(double(W - 2 * m) * s / maxStep), Hh - m - int(double(Hh - 2 * m) * (v - lo) / (hi - lo)));
  };
  cv::rectangle(img, {m, m}, {W - m, Hh - m}, cv::Scalar(0, 0, 0));
  auto draw = [&](const std::vector<std::pair<int, double>>& c, cv::Scalar color) {
    for (size_t i = 1; i < c.size(); ++i)
      cv::line(img, pt(c[i - 1].first, c[i - 1].second), pt(c[i].first, c[i].second), color, 2, cv::LINE_AA);
  };
  draw(train, cv::Scalar(200, 90, 30));
  draw(validation, cv::Scalar(30, 30, 220));
  cv::putText(img, title, {m, 30}, cv::FONT_HERSHEY_SIMPLEX, 0.55, {0, 0, 0}, 1, cv::LINE_AA);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", hi);
  cv::putText(img, buf, {5, m + 5}, cv::FONT_HERSHEY_SIMPLEX, 0.4, {0, 0, 0});
  std::snprintf(buf, sizeof buf, "%.3f", lo);
  cv::putText(img, buf, {5, Hh - m}, cv::FONT_HERSHEY_SIMPLEX, 0.4, {0, 0, 0});
  std::snprintf(buf, sizeof buf, "step %d", maxStep);
  cv::putText(img, buf, {W - m - 60, Hh - m + 20}, cv::FONT_HERSHEY_SIMPLEX, 0.4, {0, 0, 0});
  cv::imwrite(path, img);
}

}  // namespace dqa::train
