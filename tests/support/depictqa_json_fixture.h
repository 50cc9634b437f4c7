#pragma once
// A tiny DepictQA training JSON written into a folder, with generated PNGs: one record
// of each task type DepictQA ships (description with and without reference, brief
// comparison, reasoning), two reference images, so that a split has two sides.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace dqa::test {

// `size`-pixel PNGs under <dir>/images: ref1, a1, b1 (of ref1), ref2, a2, b2 (of ref2).
// a1 is pure red (RGB 255, 0, 0) so that a reader's channel order can be checked.
inline void writeFixtureImages(const std::string& dir, int size) {
  std::filesystem::create_directories(dir + "/images");
  cv::RNG rng(7);
  for (const char* name : {"ref1", "b1", "ref2", "a2", "b2"}) {
    cv::Mat m(size, size, CV_8UC3);
    rng.fill(m, cv::RNG::UNIFORM, 0, 256);
    cv::imwrite(dir + "/images/" + name + ".png", m);
  }
  cv::imwrite(dir + "/images/a1.png", cv::Mat(size, size, CV_8UC3, cv::Scalar(0, 0, 255)));  // BGR
}

inline nlohmann::json fixtureRecords() {
  using nlohmann::json;
  auto turns = [](const std::string& q, const std::string& a) {
    return json::array({{{"from", "human"}, {"value", q}}, {{"from", "gpt"}, {"value", a}}});
  };
  return json::array({
      {{"id", "d1"},
       {"image_ref", "images/ref1.png"},
       {"image_A", "images/a1.png"},
       {"image_B", nullptr},
       {"task_type", "quality_single_A"},
       {"conversations",
        turns("Describe the quality of Image A.", "Image A has severe noise, so its quality is poor.")}},
      {{"id", 7},
       {"image_ref", nullptr},
       {"image_A", "images/a2.png"},
       {"image_B", nullptr},
       {"task_type", "quality_single_A_noref"},
       {"query", "How is the quality of the image?"},
       {"answer", "The image is slightly blurry; its quality is fair."}},
      {{"id", "c1"},
       {"image_ref", "images/ref1.png"},
       {"image_A", "images/a1.png"},
       {"image_B", "images/b1.png"},
       {"task_type", "quality_compare"},
       {"conversations",
        turns("Which image is better? Answer the question using a single word or phrase.", "Image B")}},
      {{"id", "r2"},
       {"image_ref", "images/ref2.png"},
       {"image_A", "images/a2.png"},
       {"image_B", "images/b2.png"},
       {"task_type", "quality_compare_noref"},
       {"query", "Compare the two images and explain."},
       {"answer", "Image A shows mild blur while Image B shows severe noise. Overall, Image A is better."}},
  });
}

inline std::string writeFixtureJson(const std::string& dir, const nlohmann::json& records, const std::string& name) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << records.dump(2);
  return path;
}

}  // namespace dqa::test
