// `depictqa batch`: see batch.h and docs/cli.md.
#include "batch.h"

#include <nlohmann/json.hpp>

#include "app/common/quality_json.h"
#include "app/common/reading_json.h"
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "core/image/image_loader.h"

namespace dqa::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// One input record as read. A record that could not be read still gets a line (with
// its error) in the output so that nothing disappears silently.
struct Record {
  size_t line = 0;        // JSONL: 1-based line number; JSON: 1-based array position
  json id;                // null when the record has none
  json source;            // the record object (null when unreadable)
  std::string readError;  // why the record could not be read
};

// The resume key: the id when there is one, else the record's position in the input.
std::string recordKey(const json& id, size_t line) {
  if (!id.is_null()) return "id:" + id.dump();
  return "line:" + std::to_string(line);
}

// The shard of a record: FNV-1a of its resume key, so the split depends on the ids only
// (not on the order of the records, the machine or the build).
int shardOf(const std::string& key, int count) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ULL;
  return int(h % std::uint64_t(count));
}

std::string readWholeFile(const std::string& path, bool* ok) {
  std::ifstream f(path, std::ios::binary);
  *ok = static_cast<bool>(f);
  if (!f) return {};
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

Record recordFrom(const json& value, size_t line) {
  Record r;
  r.line = line;
  if (!value.is_object()) {
    r.readError = "record " + std::to_string(line) + " is not a JSON object";
    return r;
  }
  r.source = value;
  if (auto it = value.find("id"); it != value.end()) r.id = *it;
  return r;
}

// A JSON array of records, or JSONL (one record a line; blank lines are skipped).
Result<std::vector<Record>> readRecords(const std::string& path) {
  bool ok = false;
  std::string content = readWholeFile(path, &ok);
  if (!ok) return makeError("cannot read the input file " + path);
  if (content.rfind("\xEF\xBB\xBF", 0) == 0) content.erase(0, 3);  // UTF-8 BOM
  std::vector<Record> records;
  const size_t first = content.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && content[first] == '[') {
    json array;
    try {
      array = json::parse(content);
    } catch (const json::exception& e) {
      return makeError(path + " starts like a JSON array but does not parse: " + e.what());
    }
    for (size_t i = 0; i < array.size(); ++i) records.push_back(recordFrom(array[i], i + 1));
    return records;
  }
  std::istringstream lines(content);
  std::string text;
  for (size_t n = 1; std::getline(lines, text); ++n) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    try {
      records.push_back(recordFrom(json::parse(text), n));
    } catch (const json::exception& e) {
      Record r;
      r.line = n;
      r.readError = "line " + std::to_string(n) + " is not valid JSON: " + e.what();
      records.push_back(std::move(r));
    }
  }
  return records;
}

// What is already in the output: the keys of finished records. A half-written last line
// (the previous run was killed mid-write) is cut off so that appending starts clean.
struct Finished {
  std::set<std::string> keys;
  size_t lines = 0, retried = 0, unreadable = 0;
  bool needsNewline = false;  // the last line is complete JSON without its '\n'
};

Result<Finished> scanOutput(const std::string& path, bool retryErrors) {
  Finished done;
  std::error_code ec;
  if (path == "-" || !fs::exists(path, ec)) return done;
  bool ok = false;
  const std::string content = readWholeFile(path, &ok);
  if (!ok) return makeError("cannot read the existing output " + path + " (to resume from it)");
  const size_t lastNewline = content.rfind('\n');
  const size_t tailStart = lastNewline == std::string::npos ? 0 : lastNewline + 1;
  std::string complete = content.substr(0, tailStart);
  const std::string tail = content.substr(tailStart);
  if (tail.find_first_not_of(" \t\r") != std::string::npos) {
    const json parsed = json::parse(tail, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_object()) {
      complete += tail + "\n";
      done.needsNewline = true;
    } else {
      fs::resize_file(path, tailStart, ec);
      if (ec) return makeError("cannot cut the half-written last line off " + path + ": " + ec.message());
      std::cerr << "depictqa batch: dropped a half-written last line (" << tail.size() << " bytes) from " << path
                << "; that record is answered again\n";
    }
  }
  std::istringstream lines(complete);
  std::string text;
  while (std::getline(lines, text)) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const json line = json::parse(text, nullptr, false);
    if (line.is_discarded() || !line.is_object()) {
      ++done.unreadable;
      continue;
    }
    ++done.lines;
    const json id = line.value("id", json());
    const size_t n = line.contains("line") && line["line"].is_number_unsigned() ? line["line"].get<size_t>() : 0;
    if (id.is_null() && n == 0) continue;
    if (retryErrors && line.contains("error") && !line["error"].is_null()) {
      ++done.retried;
      continue;
    }
    done.keys.insert(recordKey(id, n));
  }
  return done;
}

// DepictQA task names (training/eval records carry task_type) and ours.
bool taskFromName(std::string name, text::Task* task) {
  if (text::parseTask(name, task)) return true;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name.find("single") != std::string::npos || name.find("detail") != std::string::npos ||
      name.find("descri") != std::string::npos) {
    *task = text::Task::Description;
    return true;
  }
  if (name.find("reason") != std::string::npos) {
    *task = text::Task::Reasoning;
    return true;
  }
  if (name.find("compare") != std::string::npos || name.find("comparison") != std::string::npos) {
    *task = text::Task::Comparison;
    return true;
  }
  return false;
}

// A record turned into a request (images still as paths).
struct Job {
  text::Task task = text::Task::Comparison;
  std::string reference, imageA, imageB;  // resolved paths; empty = not given
  std::string question;
};

Result<std::string> stringField(const json& record, const char* key) {
  auto it = record.find(key);
  if (it == record.end() || it->is_null()) return std::string();
  if (!it->is_string()) return makeError(std::string("field '") + key + "' must be a string or null");
  return it->get<std::string>();
}

Result<Job> resolveJob(const Record& r, const BatchOptions& options, const fs::path& root) {
  Job job;
  std::string fields[4];
  const char* names[4] = {"image_ref", "image_A", "image_B", "query"};
  for (int i = 0; i < 4; ++i) {
    auto v = stringField(r.source, names[i]);
    if (!v) return v.error();
    fields[i] = v.value();
  }
  auto resolve = [&](const std::string& p) -> std::string {
    if (p.empty()) return p;
    fs::path path(p);
    if (path.is_relative()) path = root / path;
    return path.lexically_normal().string();
  };
  job.reference = resolve(fields[0]);
  job.imageA = resolve(fields[1]);
  job.imageB = resolve(fields[2]);
  job.question = fields[3];
  if (job.imageA.empty()) return makeError("the record has no image_A");

  std::string taskName;
  for (const char* key : {"task", "task_type"}) {
    auto v = stringField(r.source, key);
    if (!v) return v.error();
    if (!v.value().empty()) {
      taskName = v.value();
      break;
    }
  }
  if (taskName.empty() && options.task != "auto") taskName = options.task;
  if (taskName.empty()) {
    job.task = job.imageB.empty() ? text::Task::Description : text::Task::Comparison;
  } else if (!taskFromName(taskName, &job.task)) {
    return makeError("unknown task '" + taskName + "' (description, comparison, reasoning)");
  }
  if (job.task != text::Task::Description && job.imageB.empty())
    return makeError(std::string("the ") + text::taskName(job.task) +
                     " task compares two images: the record has no image_B");
  if (job.task == text::Task::Description && !job.imageB.empty())
    return makeError(
        "the description task assesses one image, but the record has image_B too "
        "(drop image_B, or give the record a task: comparison or reasoning)");
  return job;
}

// Answers one record; never throws. `cancelled` is set when generation was interrupted:
// then the line must not be written (the record is redone on resume).
ojson answerRecord(Engine* engine, const Record& r, const BatchOptions& options, const fs::path& root,
                   const gen::SamplingParams& sampling, const std::atomic<bool>* cancel, bool* cancelled) {
  const auto t0 = Clock::now();
  ojson out;
  out["id"] = r.id;
  if (r.id.is_null()) out["line"] = r.line;
  for (const char* key : {"image_ref", "image_A", "image_B", "query"})
    if (r.source.is_object() && r.source.contains(key)) out[key] = r.source[key];
  out["task"] = nullptr;
  out["text"] = nullptr;
  out["answer"] = nullptr;
  out["confidence"] = nullptr;
  auto finish = [&](const std::string& error) {
    out["timing_ms"]["total"] = std::round(msSince(t0) * 10) / 10;
    out["error"] = error.empty() ? json() : json(error);
    return out;
  };
  if (!r.readError.empty()) return finish(r.readError);
  auto job = resolveJob(r, options, root);
  if (!job) return finish(job.message());
  out["task"] = text::taskName(job->task);

  AskRequest request;
  request.prompt.task = job->task;
  request.prompt.withReference = !job->reference.empty();
  request.prompt.shortAnswer = options.shortAnswer && job->task != text::Task::Description;
  request.prompt.question = job->question;
  request.prompt.preference = options.preference;
  request.sampling = sampling;
  const auto tLoad = Clock::now();
  for (auto [path, target, name] :
       {std::tuple{&job->reference, &request.reference, "image_ref"},
        std::tuple{&job->imageA, &request.imageA, "image_A"}, std::tuple{&job->imageB, &request.imageB, "image_B"}}) {
    if (path->empty()) continue;
    image::LoadOptions loadOptions;
    loadOptions.workingSpace = engine->info().workingSpace;
    auto img = image::loadImage(*path, loadOptions);
    if (!img) return finish(std::string(name) + ": " + img.message());
    *target = img->rgb;
  }
  const double loadMs = msSince(tLoad);

  gen::GenerationCallbacks callbacks;
  callbacks.cancel = cancel;
  auto answer = engine->ask(request, callbacks);
  if (!answer) return finish(answer.message());
  const auto& g = answer->generation;
  if (g.stop == gen::StopReason::Cancelled) {
    *cancelled = true;
    return out;
  }
  const auto& v = answer->verdict;
  out["text"] = g.text;
  if (job->task != text::Task::Description) {
    // A verdict that calls the pair too close names no winner: "answer" stays null.
    char winner = v.present ? v.winner : v.tie ? 0 : parseWinner(g.text);
    if (winner) out["answer"] = std::string("Image ") + winner;
    if (v.tie) out["too_close_to_call"] = true;
    // The confidence is the probability of the verdict letter; a verdict found only by
    // reading the text (no "Image A/B" token pair) has none.
    if (v.present && v.tokenIndex >= 0) {
      out["confidence"] = v.confidence;
      out["p_a"] = v.probabilityA;
      out["p_b"] = v.probabilityB;
    }
  }
  if (!answer->quality.empty()) out["quality"] = app::qualityJson(answer.value());
  out["reading"] = app::readingJson(job->task, g.text, answer->preferenceStated);
  out["stop"] = gen::stopReasonName(g.stop);
  out["tokens"] = g.ids.size();
  out["prompt_tokens"] = g.promptTokens;
  auto& t = out["timing_ms"];
  t["image_load"] = std::round(loadMs * 10) / 10;
  t["vision"] = std::round(g.visionMs * 10) / 10;
  t["prefill"] = std::round(g.prefillMs * 10) / 10;
  t["first_token"] = std::round(g.firstTokenMs * 10) / 10;
  t["decode"] = std::round(g.decodeMs * 10) / 10;
  return finish("");
}

std::string clockText(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

// A progress bar with ETA on stderr: redrawn in place on a terminal, one line per step
// (at most every 5 % or 10 s) when stderr is a file or pipe.
class Progress {
 public:
  Progress(size_t total, bool enabled) : total_(total), enabled_(enabled && total > 0), tty_(::isatty(2) != 0) {}
  void update(size_t done, size_t errors) {
    if (!enabled_) return;
    const double elapsed = msSince(start_) / 1000.0;
    const double pct = 100.0 * static_cast<double>(done) / static_cast<double>(total_);
    if (!tty_ && done != total_ && done != 1 && pct - lastPct_ < 5.0 && elapsed - lastPrint_ < 10.0) return;
    lastPct_ = pct;
    lastPrint_ = elapsed;
    const double perRecord = done ? elapsed / static_cast<double>(done) : NAN;
    const double eta = perRecord * static_cast<double>(total_ - done);
    const int width = 28, filled = static_cast<int>(width * done / total_);
    std::string bar = "[" + std::string(filled, '#') + std::string(width - filled, '-') + "]";
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s %zu/%zu %3.0f%%  %.2f s/record  elapsed %s  ETA %s%s", bar.c_str(), done, total_,
                  pct, done ? perRecord : 0.0, clockText(elapsed).c_str(),
                  done == total_ ? "0:00" : clockText(eta).c_str(),
                  errors ? ("  errors " + std::to_string(errors)).c_str() : "");
    if (tty_)
      std::fprintf(stderr, "\r%s\x1b[K", buf);
    else
      std::fprintf(stderr, "%s\n", buf);
    std::fflush(stderr);
    drawn_ = true;
  }
  void finish() {
    if (enabled_ && tty_ && drawn_) std::fprintf(stderr, "\n");
  }

 private:
  size_t total_;
  bool enabled_, tty_, drawn_ = false;
  Clock::time_point start_ = Clock::now();
  double lastPct_ = -100, lastPrint_ = -100;
};

}  // namespace

bool parseShard(const std::string& text, int* index, int* count, std::string* error) {
  const size_t slash = text.find('/');
  char* end = nullptr;
  const long i = slash == std::string::npos ? -1 : std::strtol(text.c_str(), &end, 10);
  const bool indexOk = slash != std::string::npos && end == text.c_str() + slash && slash > 0;
  const long n = indexOk ? std::strtol(text.c_str() + slash + 1, &end, 10) : 0;
  if (!indexOk || *end != '\0' || slash + 1 == text.size() || n < 1 || n > 1000000 || i < 0 || i >= n) {
    *error = "--shard wants I/N with 0 <= I < N (e.g. 0/4 ... 3/4 for four shards), not '" + text + "'";
    return false;
  }
  *index = int(i);
  *count = int(n);
  return true;
}

namespace {

int batchFailure(const std::string& message) {
  std::cerr << "depictqa batch: " << message << "\n";
  return 1;
}

// What the options ask for that cannot be done, or "".
std::string checkBatchOptions(const BatchOptions& options) {
  if (options.workers < 1) return "--workers must be at least 1";
  if (options.shardCount < 1 || options.shardIndex < 0 || options.shardIndex >= options.shardCount)
    return "--shard: the index must be below the count";
  text::Task t;
  if (options.task != "auto" && !taskFromName(options.task, &t))
    return "unknown --task '" + options.task + "' (auto, description, comparison, reasoning)";
  return "";
}

// The records of this shard not yet in the output, each key once (at most --limit).
struct Plan {
  std::vector<const Record*> pending;
  size_t skipped = 0, duplicates = 0, elsewhere = 0;
};

Plan planRecords(const std::vector<Record>& records, const Finished& finished, const BatchOptions& options) {
  Plan plan;
  std::set<std::string> seen;
  for (const auto& r : records) {
    const std::string key = recordKey(r.id, r.line);
    if (options.shardCount > 1 && shardOf(key, options.shardCount) != options.shardIndex) {
      ++plan.elsewhere;
      continue;
    }
    if (!seen.insert(key).second) {
      ++plan.duplicates;
      continue;
    }
    if (finished.keys.count(key)) {
      ++plan.skipped;
      continue;
    }
    plan.pending.push_back(&r);
  }
  if (options.limit > 0 && plan.pending.size() > static_cast<size_t>(options.limit))
    plan.pending.resize(static_cast<size_t>(options.limit));
  return plan;
}

void reportPlan(const Plan& plan, size_t recordCount, const Finished& finished, const BatchOptions& options) {
  if (plan.duplicates)
    std::cerr << "depictqa batch: warning: " << plan.duplicates
              << " record(s) repeat an earlier record's id and are skipped (one line per id)\n";
  if (finished.unreadable)
    std::cerr << "depictqa batch: warning: " << finished.unreadable << " line(s) of " << options.output
              << " are not JSON objects and are ignored\n";
  std::cerr << "depictqa batch: " << recordCount << " record(s) in " << options.input;
  if (options.shardCount > 1)
    std::cerr << ", " << recordCount - plan.elsewhere << " in shard " << options.shardIndex << "/"
              << options.shardCount;
  std::cerr << ", " << plan.skipped << " already in " << options.output;
  if (finished.retried) std::cerr << " (" << finished.retried << " with errors, retried)";
  std::cerr << ", " << plan.pending.size() << " to answer\n";
}

// One engine per worker, the CPU threads split between them. A worker whose engine does
// not load is dropped with a warning; none loading is an error.
Result<std::vector<std::unique_ptr<Engine>>> loadEngines(const EngineOptions& engineOptions, int workers) {
  const int totalThreads = engineOptions.threads > 0
                               ? engineOptions.threads
                               : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<std::unique_ptr<Engine>> engines;
  for (int w = 0; w < workers; ++w) {
    EngineOptions eo = engineOptions;
    eo.threads = std::max(1, totalThreads / workers);
    auto engine = Engine::load(eo);
    if (!engine) {
      if (engines.empty()) return engine.error();
      std::cerr << "depictqa batch: warning: worker " << w + 1 << " could not load the model (" << engine.message()
                << "); going on with " << engines.size() << "\n";
      break;
    }
    if (w == 0) {
      const auto& info = engine.value()->info();
      std::cerr << "depictqa batch: model " << info.directory << " (" << info.architecture << ", " << info.device
                << ", " << info.dtype << ") loaded in " << int(info.loadMs) << " ms; " << workers << " worker(s) x "
                << eo.threads << " thread(s)\n";
      if (!info.warning.empty()) std::cerr << "depictqa batch: warning: " << info.warning << "\n";
    }
    engines.push_back(std::move(engine.value()));
  }
  return engines;
}

// The output file opened for appending (stdout for "-"), its last line completed.
Result<std::FILE*> openOutput(const BatchOptions& options, const Finished& finished) {
  if (options.output == "-") return stdout;
  std::error_code ec;
  const fs::path parent = fs::path(options.output).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  std::FILE* out = std::fopen(options.output.c_str(), "ab");
  if (!out) return makeError("cannot open " + options.output + " for appending");
  if (finished.needsNewline) std::fputc('\n', out);
  return out;
}

struct Answered {
  size_t written = 0, errors = 0;
  bool writeFailed = false;
};

// The workers take the pending records in turn and append one line each.
Answered answerPending(const std::vector<std::unique_ptr<Engine>>& engines, const std::vector<const Record*>& pending,
                       const BatchOptions& options, const fs::path& root, const gen::SamplingParams& sampling,
                       std::FILE* out, std::atomic<bool>* cancel) {
  std::mutex mu;
  std::atomic<size_t> next{0};
  Answered done;
  Progress progress(pending.size(), options.progress);
  auto work = [&](Engine* engine) {
    while (!cancel->load()) {
      const size_t i = next++;
      if (i >= pending.size()) return;
      bool cancelled = false;
      const ojson line = answerRecord(engine, *pending[i], options, root, sampling, cancel, &cancelled);
      if (cancelled) return;
      const std::string text = line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
      std::lock_guard<std::mutex> lock(mu);
      // One write per line, flushed at once: a run killed between records leaves only
      // whole lines, and one killed mid-write leaves a tail that the next run cuts off.
      if (std::fwrite(text.data(), 1, text.size(), out) != text.size() || std::fflush(out) != 0) {
        done.writeFailed = true;
        cancel->store(true);
        return;
      }
      ++done.written;
      if (!line["error"].is_null()) ++done.errors;
      progress.update(done.written, done.errors);
    }
  };
  if (engines.size() == 1) {
    work(engines[0].get());
  } else {
    std::vector<std::thread> threads;
    for (auto& e : engines) threads.emplace_back(work, e.get());
    for (auto& t : threads) t.join();
  }
  progress.finish();
  return done;
}

}  // namespace

int runBatch(const BatchOptions& options, const EngineOptions& engineOptions, const gen::SamplingParams& sampling,
             std::atomic<bool>* cancel) {
  if (const std::string problem = checkBatchOptions(options); !problem.empty()) return batchFailure(problem);
  auto records = readRecords(options.input);
  if (!records) return batchFailure(records.message());
  std::error_code ec;
  const fs::path root = options.imageRoot.empty() ? fs::absolute(fs::path(options.input), ec).parent_path()
                                                  : fs::absolute(fs::path(options.imageRoot), ec);
  auto finished = scanOutput(options.output, options.retryErrors);
  if (!finished) return batchFailure(finished.message());
  const Plan plan = planRecords(records.value(), finished.value(), options);
  reportPlan(plan, records->size(), finished.value(), options);
  if (plan.pending.empty()) return 0;

  auto engines = loadEngines(engineOptions, std::min<int>(options.workers, static_cast<int>(plan.pending.size())));
  if (!engines) return batchFailure(engines.message());
  auto out = openOutput(options, finished.value());
  if (!out) return batchFailure(out.message());
  const Answered done = answerPending(engines.value(), plan.pending, options, root, sampling, out.value(), cancel);
  if (out.value() != stdout) std::fclose(out.value());
  if (done.writeFailed) return batchFailure("writing " + options.output + " failed (disk full?); rerun to resume");
  std::cerr << "depictqa batch: " << done.written << " answered (" << done.errors << " with errors), " << plan.skipped
            << " skipped as already done";
  if (done.written < plan.pending.size()) {
    std::cerr << "; interrupted with " << plan.pending.size() - done.written
              << " left: run the same command again to resume\n";
    return 130;
  }
  std::cerr << "\n";
  return 0;
}

namespace {

// Every shard's lines by record key (within a shard the last line of a key wins, as on
// resume); `order` lists the keys as first seen, `twice` the keys two shards answered.
Result<std::map<std::string, std::string>> readShardLines(const std::vector<std::string>& shards,
                                                          std::vector<std::string>* order,
                                                          std::vector<std::string>* twice) {
  std::map<std::string, std::string> lines;
  std::map<std::string, size_t> owner;
  for (size_t s = 0; s < shards.size(); ++s) {
    bool ok = false;
    const std::string content = readWholeFile(shards[s], &ok);
    if (!ok) return makeError("cannot read the shard output " + shards[s]);
    std::istringstream in(content);
    std::string text;
    for (size_t n = 1; std::getline(in, text); ++n) {
      if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
      const json line = json::parse(text, nullptr, false);
      if (line.is_discarded() || !line.is_object())
        return makeError(shards[s] + " line " + std::to_string(n) + " is not a JSON object" +
                         (in.eof() ? " (a half-written last line: rerun that shard's command to finish it)" : ""));
      const json id = line.value("id", json());
      const size_t record = line.contains("line") && line["line"].is_number_unsigned() ? line["line"].get<size_t>() : 0;
      if (id.is_null() && record == 0)
        return makeError(shards[s] + " line " + std::to_string(n) +
                         " has neither an id nor a line: not depictqa batch output");
      const std::string key = recordKey(id, record);
      auto [it, fresh] = owner.emplace(key, s);
      if (!fresh && it->second != s) {
        twice->push_back(key.substr(key.find(':') + 1) + " (" + shards[it->second] + " and " + shards[s] + ")");
        continue;
      }
      if (fresh) order->push_back(key);
      lines[key] = text;
    }
  }
  return lines;
}

std::string listed(const std::vector<std::string>& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size() && i < 10; ++i) out += (i ? ", " : "") + keys[i];
  if (keys.size() > 10) out += ", ... (" + std::to_string(keys.size() - 10) + " more)";
  return out;
}

}  // namespace

int runMerge(const MergeOptions& options) {
  auto fail = [](const std::string& m) {
    std::cerr << "depictqa batch merge: " << m << "\n";
    return 1;
  };
  if (options.shards.empty()) return fail("give the shards' output files");
  std::vector<std::string> order, twice, missing, foreign;
  auto lines = readShardLines(options.shards, &order, &twice);
  if (!lines) return fail(lines.message());
  if (!options.input.empty()) {  // the input's order, and every record of it
    auto records = readRecords(options.input);
    if (!records) return fail(records.message());
    std::set<std::string> expected;
    std::vector<std::string> inInput;
    for (const auto& r : records.value()) {
      const std::string key = recordKey(r.id, r.line);
      if (!expected.insert(key).second) continue;
      (lines->count(key) ? inInput : missing).push_back(key);
    }
    for (const auto& key : order)
      if (!expected.count(key)) foreign.push_back(key);
    order = inInput;
  }
  auto shown = [](std::vector<std::string> keys) {
    for (auto& k : keys) k = k.substr(k.find(':') + 1);
    return listed(keys);
  };
  if (!twice.empty()) std::cerr << "depictqa batch merge: answered by two shards: " << listed(twice) << "\n";
  if (!missing.empty())
    std::cerr << "depictqa batch merge: " << missing.size() << " record(s) of " << options.input
              << " have no line in any shard: " << shown(missing)
              << "\n  rerun the shard commands (they resume) and merge again\n";
  if (!foreign.empty())
    std::cerr << "depictqa batch merge: not records of " << options.input << ": " << shown(foreign) << "\n";
  if (!twice.empty() || !missing.empty() || !foreign.empty()) return fail("nothing written to " + options.output);
  const std::string staging = options.output + ".partial";
  std::ofstream out(staging, std::ios::binary | std::ios::trunc);
  for (const auto& key : order) out << lines->at(key) << "\n";
  out.close();
  std::error_code ec;
  if (!out || (fs::rename(staging, options.output, ec), ec)) return fail("cannot write " + options.output);
  std::cerr << "depictqa batch merge: " << order.size() << " line(s) from " << options.shards.size()
            << " shard(s) into " << options.output
            << (options.input.empty() ? " (no --input: missing records cannot be named)" : "") << "\n";
  return 0;
}

}  // namespace dqa::cli
