#include "core/data/shards.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <filesystem>

namespace dqa::data {

namespace fs = std::filesystem;

nlohmann::json sampleRecord(const Sample& s, const std::string& split) {
  const Questionnaire& q = s.questionnaire;
  char id[64];
  std::snprintf(id, sizeof id, "%s-%09llu", split.c_str(), static_cast<unsigned long long>(s.index));
  return {{"id", id},
          {"index", s.index},
          {"split", split},
          {"task", taskName(q.task)},
          {"with_reference", q.withReference},
          {"photo", s.photoId},
          {"crop", {s.crop.x, s.crop.y, s.crop.width, s.crop.height}},
          {"question", s.text.question},
          {"preference", s.text.preference},
          {"short_answer", s.text.shortAnswer},
          {"prompt_question", s.text.promptQuestion},
          {"answer", s.text.answer},
          {"questionnaire", toJson(q)}};
}

ShardWriter::ShardWriter(std::string directory, int samplesPerShard, bool writePng)
    : dir_(std::move(directory)), perShard_(std::max(1, samplesPerShard)), png_(writePng) {}

ShardWriter::~ShardWriter() { close(); }

Status ShardWriter::open() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return makeError("cannot create '" + dir_ + "': " + ec.message());
  if (png_) fs::create_directories(dir_ + "/png", ec);
  return Ok{};
}

Status ShardWriter::startShard() {
  if (bin_.is_open()) bin_.close();
  if (jsonl_.is_open()) jsonl_.close();
  ++shard_;
  char name[32];
  std::snprintf(name, sizeof name, "shard-%05d", shard_);
  bin_.open(dir_ + "/" + name + ".bin", std::ios::binary | std::ios::trunc);
  jsonl_.open(dir_ + "/" + name + ".jsonl", std::ios::trunc);
  if (!bin_ || !jsonl_) return makeError("cannot write shard files in '" + dir_ + "' (disk full or no permission?)");
  inShard_ = 0;
  offset_ = 0;
  return Ok{};
}

Status ShardWriter::write(const Sample& s, const std::string& split) {
  if (shard_ < 0 || inShard_ >= perShard_) {
    Status st = startShard();
    if (!st) return st;
  }
  nlohmann::json rec = sampleRecord(s, split);
  nlohmann::json images = nlohmann::json::object();
  char shardName[32];
  std::snprintf(shardName, sizeof shardName, "shard-%05d.bin", shard_);
  auto put = [&](const char* role, const cv::Mat& m) {
    if (m.empty()) return;
    cv::Mat c = m.isContinuous() ? m : m.clone();
    const std::size_t n = c.total() * c.elemSize();
    bin_.write(reinterpret_cast<const char*>(c.data), static_cast<std::streamsize>(n));
    images[role] = {{"shard", shardName}, {"offset", offset_}, {"width", c.cols}, {"height", c.rows}};
    offset_ += static_cast<std::int64_t>(n);
    bytes_ += static_cast<std::int64_t>(n);
    if (png_) {
      cv::Mat bgr;
      cv::cvtColor(c, bgr, cv::COLOR_RGB2BGR);
      std::string path = dir_ + "/png/" + rec["id"].get<std::string>() + "_" + role + ".png";
      cv::imwrite(path, bgr);
      images[role]["png"] = "png/" + rec["id"].get<std::string>() + "_" + role + ".png";
    }
  };
  put("reference", s.reference);
  put("A", s.a);
  put("B", s.b);
  rec["images"] = images;
  jsonl_ << rec.dump() << '\n';
  if (!bin_ || !jsonl_) return makeError("writing shard in '" + dir_ + "' failed (disk full?)");
  ++inShard_;
  ++written_;
  return Ok{};
}

Status ShardWriter::close() {
  if (bin_.is_open()) bin_.close();
  if (jsonl_.is_open()) jsonl_.close();
  return Ok{};
}

Result<cv::Mat> readShardImage(const std::string& binPath, const nlohmann::json& loc) {
  try {
    int w = loc.at("width").get<int>(), h = loc.at("height").get<int>();
    std::int64_t off = loc.at("offset").get<std::int64_t>();
    std::ifstream in(binPath, std::ios::binary);
    if (!in) return makeError("cannot open shard '" + binPath + "'");
    cv::Mat m(h, w, CV_8UC3);
    in.seekg(off);
    in.read(reinterpret_cast<char*>(m.data), static_cast<std::streamsize>(m.total() * 3));
    if (!in) return makeError("shard '" + binPath + "' is shorter than its index says");
    return m;
  } catch (const std::exception& e) { return makeError(std::string("bad image location in record: ") + e.what()); }
}

}  // namespace dqa::data
