#include "core/train/dataset.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace dqa::train {
namespace fs = std::filesystem;

Result<ShardDataset> ShardDataset::open(const std::string& directory) {
  ShardDataset ds;
  ds.directory_ = directory;
  std::error_code ec;
  if (!fs::is_directory(directory, ec))
    return makeError("training data directory '" + directory + "' does not exist; run depictqa-datagen first");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(directory, ec))
    if (e.path().extension() == ".jsonl") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    std::string line;
    int lineNo = 0;
    while (std::getline(in, line)) {
      ++lineNo;
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        return makeError(f + ":" + std::to_string(lineNo) + ": not a JSON record");
      j["_jsonl"] = f;
      ds.records_.push_back(std::move(j));
    }
  }
  if (ds.records_.empty()) return makeError("no records in '" + directory + "'");
  return ds;
}

namespace {

Result<cv::Mat> readPatch(const std::string& binPath, const nlohmann::json& loc) {
  const int64_t offset = loc.at("offset").get<int64_t>();
  const int w = loc.at("width").get<int>(), h = loc.at("height").get<int>();
  if (w <= 0 || h <= 0 || w > 8192 || h > 8192) return makeError(binPath + ": bad patch size");
  cv::Mat m(h, w, CV_8UC3);
  std::ifstream in(binPath, std::ios::binary);
  in.seekg(offset);
  in.read(reinterpret_cast<char*>(m.data), std::streamsize(size_t(w) * h * 3));
  if (!in) return makeError(binPath + ": truncated shard (offset " + std::to_string(offset) + ")");
  return m;
}

double mosOf(const nlohmann::json& q, const char* key) {
  auto it = q.find(key);
  if (it == q.end() || !it->is_object() || !it->contains("mos")) return -1;
  return (*it)["mos"].get<double>();
}

}  // namespace

Result<TrainingExample> ShardDataset::get(size_t index) const {
  try {
    const auto& r = records_.at(index);
    TrainingExample ex;
    ex.id = r.value("id", "");
    text::Task task;
    if (!text::parseTask(r.at("task").get<std::string>(), &task)) return makeError("unknown task in record " + ex.id);
    ex.prompt.task = task;
    ex.prompt.withReference = r.at("with_reference").get<bool>();
    ex.prompt.question = r.at("question").get<std::string>();
    ex.prompt.preference = r.value("preference", "");
    ex.prompt.shortAnswer = r.value("short_answer", false);
    ex.answer = r.at("answer").get<std::string>();
    const std::string jsonl = r.at("_jsonl").get<std::string>();
    const std::string bin = jsonl.substr(0, jsonl.size() - 6) + ".bin";
    const auto& images = r.at("images");
    for (auto [role, target] : {std::pair{"reference", &ex.reference}, std::pair{"A", &ex.a}, std::pair{"B", &ex.b}}) {
      if (!images.contains(role)) continue;
      auto m = readPatch(bin, images.at(role));
      if (!m) return m.error();
      *target = m.value();
    }
    const auto& q = r.at("questionnaire");
    if (task == text::Task::Description) {
      ex.mosA = mosOf(q, "image");
    } else {
      ex.mosA = mosOf(q, "A");
      ex.mosB = mosOf(q, "B");
      const std::string w = q.value("winner", "tie");
      ex.winner = w == "A" ? 'A' : w == "B" ? 'B' : 0;
    }
    return ex;
  } catch (const nlohmann::json::exception& e) {
    return makeError("malformed training record " + std::to_string(index) + ": " + e.what());
  }
}

}  // namespace dqa::train
