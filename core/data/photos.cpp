#include "core/data/photos.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <filesystem>

#include "core/data/distortions.h"
#include "core/data/kadid.h"

namespace dqa::data {

namespace fs = std::filesystem;

const char* splitName(Split s) {
  switch (s) {
    case Split::Train:
      return "train";
    case Split::Val:
      return "val";
    default:
      return "val_types";
  }
}

std::uint64_t averageHash(const cv::Mat& rgb) {
  if (rgb.empty()) return 0;
  cv::Mat grey, small;
  cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
  cv::resize(grey, small, {8, 8}, 0, 0, cv::INTER_AREA);
  double mean = cv::mean(small)[0];
  std::uint64_t h = 0;
  for (int i = 0; i < 64; ++i)
    if (small.at<uchar>(i / 8, i % 8) > mean) h |= (1ULL << i);
  return h;
}

bool isValidationGroup(std::uint64_t groupHash, const SplitConfig& c) {
  std::uint64_t h = mixSeed(c.seed, groupHash);
  return (h % 100000) < static_cast<std::uint64_t>(c.valFraction * 100000.0);
}

std::vector<int> typesForSplit(Split s, const SplitConfig& c) {
  std::vector<int> out;
  for (int t = 1; t <= kNumTypes; ++t) {
    bool held = std::find(c.heldOutTypes.begin(), c.heldOutTypes.end(), t) != c.heldOutTypes.end();
    if ((s == Split::ValTypes) == held) out.push_back(t);
  }
  return out;
}

Result<std::vector<Photo>> loadPhotos(const std::string& dir, const SplitConfig& split,
                                      const PhotoLoadOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return makeError("photo directory '" + dir + "' does not exist; fetch photos with scripts/fetch_photos.sh " + dir +
                     " (or pass --synthetic to use generated images)");
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string ext = it->path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    if (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".tif" || ext == ".tiff" ||
        ext == ".webp" || ext == ".ppm")
      files.push_back(it->path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<Photo> photos;
  for (const auto& f : files) {
    if (options.maxPhotos > 0 && static_cast<int>(photos.size()) >= options.maxPhotos) break;
    cv::Mat bgr;
    try {
      bgr = cv::imread(f, cv::IMREAD_COLOR);
    } catch (const cv::Exception&) { continue; }
    if (bgr.empty() || bgr.depth() != CV_8U || bgr.rows < options.minSide || bgr.cols < options.minSide) continue;
    Photo p;
    p.path = f;
    p.id = fs::relative(f, dir, ec).string();
    if (ec) p.id = f;
    cv::cvtColor(bgr, p.rgb, cv::COLOR_BGR2RGB);
    p.groupHash = averageHash(p.rgb);
    p.validation = isValidationGroup(p.groupHash, split);
    photos.push_back(std::move(p));
  }
  if (photos.empty())
    return makeError("no usable images (>= " + std::to_string(options.minSide) + " px) under '" + dir +
                     "'; run scripts/fetch_photos.sh " + dir);
  return photos;
}

cv::Mat syntheticImage(int width, int height, std::uint64_t seed) {
  cv::RNG rng(mixSeed(seed, 42));
  cv::Mat img(height, width, CV_8UC3);
  // Background: a smooth two-colour gradient.
  cv::Vec3f c0(rng.uniform(20, 235), rng.uniform(20, 235), rng.uniform(20, 235));
  cv::Vec3f c1(rng.uniform(20, 235), rng.uniform(20, 235), rng.uniform(20, 235));
  double ang = rng.uniform(0.0, CV_PI);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      double t = ((x * std::cos(ang) + y * std::sin(ang)) / (width + height)) + 0.5;
      t = std::clamp(t, 0.0, 1.0);
      cv::Vec3f c = c0 * float(1 - t) + c1 * float(t);
      img.at<cv::Vec3b>(y, x) =
          cv::Vec3b(cv::saturate_cast<uchar>(c[0]), cv::saturate_cast<uchar>(c[1]), cv::saturate_cast<uchar>(c[2]));
    }
  // A checkerboard region, a noise texture region, shapes, and text.
  int cs = rng.uniform(4, 12);
  cv::Rect board(rng.uniform(0, width / 2), rng.uniform(0, height / 2), width / 3, height / 3);
  board &= cv::Rect(0, 0, width, height);
  for (int y = board.y; y < board.y + board.height; ++y)
    for (int x = board.x; x < board.x + board.width; ++x)
      if (((x / cs) + (y / cs)) % 2)
        img.at<cv::Vec3b>(y, x) = cv::Vec3b(230, 230, 230);
      else
        img.at<cv::Vec3b>(y, x) = cv::Vec3b(30, 30, 30);
  cv::Rect tex(rng.uniform(width / 3, width / 2), rng.uniform(height / 3, height / 2), width / 3, height / 3);
  tex &= cv::Rect(0, 0, width, height);
  if (!tex.empty()) {
    cv::Mat n(tex.size(), CV_8UC3);
    rng.fill(n, cv::RNG::UNIFORM, 0, 256);
    cv::GaussianBlur(n, n, {3, 3}, 0.8);
    cv::addWeighted(img(tex), 0.4, n, 0.6, 0, img(tex));
  }
  for (int i = 0; i < 6; ++i) {
    cv::Scalar col(rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, 256));
    cv::Point c(rng.uniform(0, width), rng.uniform(0, height));
    if (i % 2)
      cv::circle(img, c, rng.uniform(4, std::max(5, width / 6)), col, cv::FILLED, cv::LINE_AA);
    else
      cv::line(img, c, {rng.uniform(0, width), rng.uniform(0, height)}, col, rng.uniform(1, 4), cv::LINE_AA);
  }
  const char* words[] = {"DepictQA", "quality", "KADID", "texture", "photo"};
  cv::putText(img, words[rng.uniform(0, 5)], {rng.uniform(0, std::max(1, width / 2)), rng.uniform(height / 4, height)},
              cv::FONT_HERSHEY_SIMPLEX, std::max(0.4, width / 300.0), cv::Scalar(250, 250, 250), 2, cv::LINE_AA);
  return img;
}

std::vector<Photo> syntheticPhotos(int count, int width, int height, const SplitConfig& split, std::uint64_t seed) {
  std::vector<Photo> out;
  for (int i = 0; i < count; ++i) {
    Photo p;
    p.id = "synthetic/" + std::to_string(i) + ".png";
    p.path = p.id;
    p.rgb = syntheticImage(width, height, mixSeed(seed, i));
    p.groupHash = mixSeed(seed ^ 0xabcdef, i);  // every synthetic image is its own group
    p.validation = isValidationGroup(p.groupHash, split);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace dqa::data
