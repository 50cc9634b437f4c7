#include "core/data/depictqa_json.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <map>

#include "core/data/parser.h"
#include "core/text/tokenizer.h"

namespace dqa::data {
namespace fs = std::filesystem;
namespace {

using nlohmann::json;

constexpr size_t kMaxAnswerChars = 20000;  // code points; DepictQA's longest answers are ~1,000

struct TaskType {
  const char* name;
  text::Task task;
  bool withReference;
  bool pair;
};

constexpr TaskType kTaskTypes[] = {
    {"quality_single_A", text::Task::Description, true, false},
    {"quality_single_A_noref", text::Task::Description, false, false},
    {"quality_compare", text::Task::Comparison, true, true},
    {"quality_compare_noref", text::Task::Comparison, false, true},
};

// A string field, "" when absent or null; anything else is an error.
Result<std::string> optionalString(const json& record, const char* field, const std::string& where) {
  auto it = record.find(field);
  if (it == record.end() || it->is_null()) return std::string();
  if (!it->is_string()) return makeError(where + ": \"" + field + "\" is not a string");
  return it->get<std::string>();
}

// The query and the answer: "query"/"answer", or the first human and gpt turns of "conversations".
Status readTurns(const json& record, const std::string& where, std::string& query, std::string& answer) {
  auto conv = record.find("conversations");
  if (conv != record.end()) {
    if (!conv->is_array()) return makeError(where + ": \"conversations\" is not a list");
    for (const auto& turn : *conv) {
      if (!turn.is_object() || !turn.contains("from") || !turn.contains("value") || !turn["value"].is_string())
        return makeError(where + ": a turn of \"conversations\" lacks \"from\" or a string \"value\"");
      const std::string from = turn["from"].is_string() ? turn["from"].get<std::string>() : "";
      if (from == "human" && query.empty()) query = turn["value"].get<std::string>();
      if (from == "gpt" && answer.empty() && !query.empty()) answer = turn["value"].get<std::string>();
    }
  } else {
    auto q = optionalString(record, "query", where);
    if (!q) return q.error();
    auto a = optionalString(record, "answer", where);
    if (!a) return a.error();
    query = q.value();
    answer = a.value();
  }
  if (query.empty()) return makeError(where + ": no query (a \"query\" field or a human turn in \"conversations\")");
  if (answer.empty())
    return makeError(where +
                     ": no answer to train on (an \"answer\" field or a gpt turn in \"conversations\"); "
                     "test records without answers cannot be trained on");
  return Ok{};
}

// Brief answers ("Image A") are comparisons, longer ones reasonings (DepictQA gives both
// one task type).
void classifyTask(DepictqaRecord& r) {
  const auto words = std::count(r.answer.begin(), r.answer.end(), ' ') + 1;
  if (r.prompt.task != text::Task::Description && words > 4) r.prompt.task = text::Task::Reasoning;
}

// The winner the answer states, read where the parser finds the verdict.
void setVerdict(TrainingExample& ex) {
  if (ex.prompt.task == text::Task::Description) return;
  const VerdictMention v = findVerdictMention(ex.answer);
  if (v.winner == 'A' || v.winner == 'B') {
    ex.winner = ex.winnerWithoutPreference = v.winner;
    ex.verdictMention = v.index;
  }
}

// The images a record names: required ones must be given; each must exist on disk.
Result<bool> resolveImages(const json& record, const TaskType& type, const std::string& root, const std::string& where,
                           DepictqaRecord& r) {
  auto ref = optionalString(record, "image_ref", where);
  auto a = optionalString(record, "image_A", where);
  auto b = optionalString(record, "image_B", where);
  for (const auto* f : {&ref, &a, &b})
    if (!*f) return f->error();
  if (a->empty()) return makeError(where + ": \"image_A\" is missing");
  if (type.pair && b->empty()) return makeError(where + ": " + type.name + " needs \"image_B\"");
  if (type.withReference && ref->empty()) return makeError(where + ": " + type.name + " needs \"image_ref\"");
  r.referenceGiven = !ref->empty();
  r.referenceId = fs::path(ref->empty() ? a.value() : ref.value()).stem().string();
  auto resolve = [&](const std::string& p) { return p.empty() ? p : (fs::path(root) / p).lexically_normal().string(); };
  r.a = resolve(a.value());
  r.b = type.pair ? resolve(b.value()) : "";
  r.reference = type.withReference ? resolve(ref.value()) : "";
  for (const auto* p : {&r.reference, &r.a, &r.b}) {
    std::error_code ec;
    if (!p->empty() && !fs::is_regular_file(*p, ec)) return false;
  }
  return true;
}

Result<json> parseList(const std::string& path) {
  std::ifstream in(path);
  if (!in) return makeError(path + ": cannot open the DepictQA JSON file");
  json list;
  try {
    list = json::parse(in);
  } catch (const json::parse_error& e) {
    // nlohmann's message says "at line L, column C".
    return makeError(path + ": not valid JSON: " + e.what());
  }
  if (!list.is_array()) return makeError(path + ": expected a JSON list of records (DepictQA's training JSON)");
  return list;
}

}  // namespace

const std::vector<std::string>& depictqaTaskTypes() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& t : kTaskTypes) n.push_back(t.name);
    return n;
  }();
  return names;
}

Result<DepictqaJson> readDepictqaJson(const std::string& path, const std::string& imageRoot,
                                      const DepictqaReadOptions& options) {
  auto list = parseList(path);
  if (!list) return list.error();
  DepictqaJson out;
  out.path = path;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& rec = list.value()[i];
    std::string where = path + ": record " + std::to_string(i);
    if (!rec.is_object()) return makeError(where + " is not a JSON object");
    DepictqaRecord r;
    if (auto id = rec.find("id"); id != rec.end() && !id->is_null())
      r.id = id->is_string() ? id->get<std::string>() : id->dump();
    if (!r.id.empty()) where += " (id " + r.id + ")";
    r.source = where;
    auto type = optionalString(rec, "task_type", where);
    if (!type) return type.error();
    r.taskType = type.value();
    const auto* t = std::find_if(std::begin(kTaskTypes), std::end(kTaskTypes),
                                 [&](const TaskType& k) { return r.taskType == k.name; });
    if (t == std::end(kTaskTypes))
      return makeError(where + ": unknown task_type \"" + r.taskType +
                       "\" (known: quality_single_A, "
                       "quality_single_A_noref, quality_compare, quality_compare_noref)");
    r.prompt.task = t->task;
    r.prompt.withReference = t->withReference;
    if (auto ok = readTurns(rec, where, r.prompt.question, r.answer); !ok) return ok.error();
    if (auto prompt = text::buildPrompt(r.prompt); !prompt) return makeError(where + ": " + prompt.message());
    if (auto ok = text::validateText(r.answer, "answer", kMaxAnswerChars); !ok)
      return makeError(where + ": " + ok.message());
    classifyTask(r);
    auto present = resolveImages(rec, *t, imageRoot, where, r);
    if (!present) return present.error();
    if (!present.value()) {
      if (!options.skipMissing)
        return makeError(where + ": an image is missing under the image root '" + imageRoot + "' (" +
                         (r.reference.empty() ? "" : r.reference + ", ") + r.a + (r.b.empty() ? "" : ", " + r.b) +
                         "); check --image-root, or pass --skip-missing to leave such records out");
      ++out.skippedMissing;
      continue;
    }
    out.records.push_back(std::move(r));
  }
  if (out.records.empty()) return makeError(path + ": no records to train on");
  return out;
}

void linkReferenceIds(std::vector<DepictqaJson>& files) {
  std::map<std::string, std::string> byImage;  // image path -> reference id
  for (const auto& f : files)
    for (const auto& r : f.records)
      if (r.referenceGiven)
        for (const std::string* image : {&r.a, &r.b})
          if (!image->empty()) byImage.emplace(*image, r.referenceId);
  for (auto& f : files)
    for (auto& r : f.records) {
      if (r.referenceGiven) continue;
      for (const std::string* image : {&r.a, &r.b})
        if (auto it = byImage.find(*image); it != byImage.end()) {
          r.referenceId = it->second;
          break;
        }
    }
}

Status checkAnswers(const DepictqaJson& json, const text::Tokenizer& tokenizer, int maxAnswerTokens) {
  for (const auto& r : json.records) {
    const std::vector<int32_t> ids = tokenizer.encode(r.answer);
    if (maxAnswerTokens > 0 && int(ids.size()) + 1 > maxAnswerTokens)
      return makeError(r.source + ": the answer is " + std::to_string(ids.size()) + " tokens, more than the " +
                       std::to_string(maxAnswerTokens) + " the model can hold after its prompt; shorten it or drop it");
    if (std::find(ids.begin(), ids.end(), tokenizer.unkId()) == ids.end()) continue;
    const std::vector<std::string> pieces = tokenizer.encodePieces(r.answer);
    std::string unknown;
    for (size_t k = 0; k < ids.size() && k < pieces.size(); ++k)
      if (ids[k] == tokenizer.unkId()) unknown += (unknown.empty() ? "\"" : ", \"") + pieces[k] + "\"";
    return makeError(r.source + ": the answer holds text the model's tokenizer cannot encode (" + unknown +
                     "); replace those characters, or fine-tune a model whose tokenizer covers them");
  }
  return Ok{};
}

Status applySplit(const Split& split, SplitSide side, DepictqaJson& json) {
  const auto& keep = side == SplitSide::Eval ? split.eval : split.train;
  std::vector<DepictqaRecord> kept;
  for (auto& r : json.records) {
    if (!split.eval.count(r.referenceId) && !split.train.count(r.referenceId))
      return makeError(r.source + ": reference \"" + r.referenceId + "\" is in neither side of the split (made for " +
                       split.dataset + "); make a split for these records with depictqa-train --write-split");
    if (keep.count(r.referenceId)) kept.push_back(std::move(r));
  }
  json.records = std::move(kept);
  return Ok{};
}

Dataset referenceDataset(const std::vector<DepictqaJson>& files) {
  Dataset d;
  d.name = "depictqa-json";
  for (const auto& f : files)
    for (const auto& r : f.records) {
      IqaRecord i;
      i.image = r.a;
      i.referenceId = r.referenceId;
      i.source = r.source;
      d.images.push_back(std::move(i));
    }
  return d;
}

namespace {

Result<cv::Mat> readRgb(const std::string& path, const std::string& where) {
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) return makeError(where + ": cannot decode image '" + path + "'");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

}  // namespace

Result<TrainingExample> loadDepictqaExample(const DepictqaRecord& r, int maxSide) {
  TrainingExample ex;
  ex.id = r.source;
  ex.prompt = r.prompt;
  ex.answer = r.answer;
  cv::Mat* targets[] = {&ex.reference, &ex.a, &ex.b};
  const std::string* paths[] = {&r.reference, &r.a, &r.b};
  for (int k = 0; k < 3; ++k) {
    if (paths[k]->empty()) continue;
    auto m = readRgb(*paths[k], r.source);
    if (!m) return m.error();
    *targets[k] = m.value();
  }
  for (const cv::Mat* m : {&ex.reference, &ex.b})
    if (!m->empty() && m->size() != ex.a.size())
      return makeError(r.source + ": its images differ in size (" + std::to_string(ex.a.cols) + "x" +
                       std::to_string(ex.a.rows) + " and " + std::to_string(m->cols) + "x" + std::to_string(m->rows) +
                       "); DepictQA compares images of one size");
  const int longer = std::max(ex.a.cols, ex.a.rows);
  if (maxSide > 0 && longer > maxSide) {
    const double s = double(maxSide) / longer;
    const cv::Size size(std::max(1, int(std::lround(ex.a.cols * s))), std::max(1, int(std::lround(ex.a.rows * s))));
    for (cv::Mat* m : targets)
      if (!m->empty()) cv::resize(*m, *m, size, 0, 0, cv::INTER_AREA);
  }
  setVerdict(ex);
  return ex;
}

}  // namespace dqa::data
