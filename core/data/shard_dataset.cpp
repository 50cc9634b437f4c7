#include "core/data/shard_dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "core/data/kadid.h"
#include "core/data/labels.h"
#include "core/data/parser.h"

namespace dqa::data {
namespace fs = std::filesystem;

Result<ShardDataset> ShardDataset::open(const std::string& directory) {
  ShardDataset ds;
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

}  // namespace

int verdictMentionIndex(const std::string& answer, char winner) {
  // The verdict sentence's first mention carries the judgement ("Overall, Image B is
  // better."), later ones follow from it. A sentence that names the loser first ("In
  // conclusion, Image A is worse than Image B.") is supervised too, with the letter it
  // writes: its opening words ("In conclusion,", "In the end,") announce the loser.
  // Supervising only winner-first sentences taught the decoder that the letter after
  // "Image" is the winner's, everywhere ("Image B is better than Image B").
  const VerdictMention m = findVerdictMention(answer);
  return m.index >= 0 && m.winner == winner ? m.index : -1;
}

namespace {

ImageTruth truthOf(const nlohmann::json& q) {
  ImageTruth t;
  t.present = true;
  t.mos = q.at("mos").get<double>();
  for (int a = 0; a < kNumAspects; ++a) {
    const auto& aspect = q.at("aspects").at(aspectName(Aspect(a)));
    Severity level = Severity::Undistorted;
    if (!severityFromName(aspect.at("level").get<std::string>(), &level))
      throw std::invalid_argument("unknown level \"" + aspect.at("level").get<std::string>() + "\"");
    t.levels[size_t(a)] = int(level);
    t.aspectMos[size_t(a)] = aspect.at("mos").get<double>();
  }
  t.distorted = q.value("overall_level", "undistorted") != "undistorted";
  t.local = q.value("local", false);
  // The local distortion's aspect; the dominant distortion: the one with the lowest score.
  double lowest = 1e9;
  for (const auto& d : q.at("distortions")) {
    Aspect aspect;
    if (d.contains("region") && aspectFromName(d.at("aspect").get<std::string>(), &aspect)) t.localAspect = int(aspect);
    if (t.distorted && d.at("mos").get<double>() < lowest) {
      lowest = d.at("mos").get<double>();
      t.type = d.at("type").get<int>();
    }
  }
  if (q.contains("region") && q.at("region").is_array() && q.at("region").size() == 4)
    for (int i = 0; i < 4; ++i) t.region[i] = q.at("region")[size_t(i)].get<int>();
  if (const auto& ds = q.at("distortions"); ds.size() == 1) {
    t.soleLevel = ds[0].value("level", -1.0);
    t.soleType = ds[0].value("type", 0);
    t.soleVariant = ds[0].value("variant", "");
  }
  return t;
}

char winnerLetter(const std::string& w) { return w == "A" ? 'A' : w == "B" ? 'B' : 0; }

}  // namespace

int orderOfLevels(const ImageTruth& a, const ImageTruth& b, double minLevelGap) {
  if (!a.present || !b.present || a.local || b.local || a.soleLevel < 0 || b.soleLevel < 0) return 0;
  if (a.soleType != b.soleType || a.soleVariant != b.soleVariant) return 0;
  if (std::abs(a.soleLevel - b.soleLevel) < std::max(minLevelGap, 1e-9)) return 0;
  // KADID's level is not a strength for every type: contrast change and mean shift turn
  // at level 3 (the unchanged image), colour shift rises by 0.01 from level 4 to 5. The
  // order is the type means', known only where they move one way all along between the
  // two levels (mosAtLevel is linear between whole levels).
  const double lo = std::min(a.soleLevel, b.soleLevel), hi = std::max(a.soleLevel, b.soleLevel);
  std::vector<double> mos{mosAtLevel(a.soleType, lo)};
  for (int knot = int(std::floor(lo)) + 1; knot < hi; ++knot) mos.push_back(mosAtLevel(a.soleType, knot));
  mos.push_back(mosAtLevel(a.soleType, hi));
  const double kClearMos = 0.05;
  const double total = mos.back() - mos.front();
  if (std::abs(total) < kClearMos) return 0;
  for (size_t i = 1; i < mos.size(); ++i)
    if ((mos[i] - mos[i - 1]) * total <= 0) return 0;
  const bool aIsLower = a.soleLevel < b.soleLevel;
  return (total < 0) == aIsLower ? 1 : -1;  // the means fall with the level: the lower level is the better
}

Result<TrainingExample> exampleFromRecord(const nlohmann::json& r, cv::Mat reference, cv::Mat a, cv::Mat b) {
  try {
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
    ex.reference = std::move(reference);
    ex.a = std::move(a);
    ex.b = std::move(b);
    const auto& q = r.at("questionnaire");
    if (task == text::Task::Description) {
      ex.truthA = truthOf(q.at("image"));
      ex.mosA = ex.truthA.mos;
    } else {
      ex.truthA = truthOf(q.at("A"));
      ex.truthB = truthOf(q.at("B"));
      ex.mosA = ex.truthA.mos;
      ex.mosB = ex.truthB.mos;
      ex.winner = winnerLetter(q.value("winner", "tie"));
      ex.tooCloseToCall = q.value("too_close_to_call", false);
      ex.hasPreference = q.contains("preference");
      ex.winnerWithoutPreference = ex.winner;
      if (q.contains("preference")) {
        const auto& p = q.at("preference");
        ex.winnerWithoutPreference = winnerLetter(p.value("winner_without_preference", "tie"));
        ex.preferenceFlipped = p.value("flipped", false);
      }
      if (ex.winner) ex.verdictMention = verdictMentionIndex(ex.answer, ex.winner);
    }
    return ex;
  } catch (const nlohmann::json::exception& e) {
    return makeError("malformed training record " + r.value("id", std::string("?")) + ": " + e.what());
  } catch (const std::invalid_argument& e) {
    return makeError("malformed training record " + r.value("id", std::string("?")) + ": " + e.what());
  }
}

Result<TrainingExample> ShardDataset::get(size_t index) const {
  if (index >= records_.size()) return makeError("record " + std::to_string(index) + " is out of range");
  try {
    const auto& r = records_[index];
    const std::string jsonl = r.at("_jsonl").get<std::string>();
    const std::string bin = jsonl.substr(0, jsonl.size() - 6) + ".bin";
    const auto& images = r.at("images");
    cv::Mat pixels[3];
    const char* roles[3] = {"reference", "A", "B"};
    for (int i = 0; i < 3; ++i) {
      if (!images.contains(roles[i])) continue;
      auto m = readPatch(bin, images.at(roles[i]));
      if (!m) return m.error();
      pixels[i] = m.value();
    }
    return exampleFromRecord(r, pixels[0], pixels[1], pixels[2]);
  } catch (const nlohmann::json::exception& e) {
    return makeError("malformed training record " + std::to_string(index) + ": " + e.what());
  }
}

}  // namespace dqa::data
