// The converted directory: written into a hidden sibling of the output, checked as the
// Engine will see it, then renamed into place, so that a failure at any point leaves no
// half-written model where the app would find one.
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "core/convert/convert_plan.h"
#include "core/io/model_dir.h"

namespace dqa::convert::plan {

bool isWithin(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin(), o = outer.begin();
  for (; o != outer.end(); ++o, ++i)
    if (i == inner.end() || *i != *o) return false;
  return true;
}

fs::path normalizedDirectory(const std::string& p) {
  fs::path out = fs::absolute(fs::path(p)).lexically_normal();
  if (!out.has_filename()) out = out.parent_path();  // "out/" -> "out"
  return out;
}

std::string humanBytes(uint64_t b) {
  char buf[32];
  if (b >= (1ull << 30))
    std::snprintf(buf, sizeof(buf), "%.2f GB", double(b) / double(1ull << 30));
  else
    std::snprintf(buf, sizeof(buf), "%.1f MB", double(b) / double(1ull << 20));
  return buf;
}

namespace {

// Removes the temporary directory unless the conversion got to the end.
struct TempDirGuard {
  fs::path dir;
  bool keep = false;
  ~TempDirGuard() {
    std::error_code ec;
    if (!keep && !dir.empty()) fs::remove_all(dir, ec);
  }
};

Status writeText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) return makeError("cannot write '" + path.string() + "' (disk full?)");
  return Ok{};
}

// One safetensors file, streamed tensor by tensor; progress by tenths for the big one.
Status writeTensors(const fs::path& file, const std::vector<Planned>& tensors, bool progress, ConvertReport& report,
                    const ConvertLog& log) {
  std::vector<io::TensorSpec> specs;
  uint64_t total = 0;
  for (const auto& p : tensors) {
    auto d = ioDtype(p.dtype);
    if (!d) return makeError(p.name + ": " + d.message());
    specs.push_back({p.name, d.value(), p.shape});
    uint64_t n = c10::elementSize(p.dtype);
    for (int64_t s : p.shape) n *= static_cast<uint64_t>(s);
    total += n;
  }
  if (progress && log)
    log("writing " + std::to_string(tensors.size()) + " tensors (" + humanBytes(total) + ") to " + file.string());
  at::Tensor current;  // alive until the writer asks for the next one
  uint64_t written = 0;
  int lastDecile = 0;
  auto produce = [&](size_t i) -> Result<io::TensorBytes> {
    auto t = tensors[i].make();
    if (!t) return t.error();
    current = t.value();
    if (current.scalar_type() != tensors[i].dtype || current.sizes().vec() != tensors[i].shape)
      return makeError("internal: " + tensors[i].name + " came out as " + c10::toString(current.scalar_type()) + " " +
                       shapeStr(current.sizes().vec()));
    written += static_cast<uint64_t>(current.nbytes());
    const int decile = total ? static_cast<int>(10 * written / total) : 10;
    if (progress && log && decile > lastDecile && decile < 10) {
      lastDecile = decile;
      log("  " + std::to_string(decile * 10) + "% (" + humanBytes(written) + ")");
    }
    return io::TensorBytes{current.data_ptr(), static_cast<size_t>(current.nbytes())};
  };
  auto ok = io::writeSafetensorsStreamed(file.string(), specs, produce, {{"format", "pt"}});
  if (!ok) return ok;
  report.tensorsWritten += static_cast<int64_t>(tensors.size());
  report.bytesWritten += total;
  return Ok{};
}

Status writeFiles(const fs::path& dir, const OutputPlan& plan, ConvertReport& report, const ConvertLog& log) {
  auto ok = writeTensors(dir / "model.safetensors", plan.model, true, report, log);
  if (!ok) return ok;
  std::error_code ec;
  if (!plan.adapter.empty()) {
    fs::create_directory(dir / "adapter", ec);
    ok = writeTensors(dir / "adapter" / "adapter_model.safetensors", plan.adapter, false, report, log);
    if (!ok) return ok;
    ok = writeText(dir / "adapter" / "adapter_config.json", plan.adapterConfig.dump(2) + "\n");
    if (!ok) return ok;
  }
  ok = writeText(dir / "config.json", plan.config.dump(2) + "\n");
  if (!ok) return ok;
  fs::copy_file(plan.tokenizerPath, dir / "tokenizer.model", fs::copy_options::overwrite_existing, ec);
  if (ec) return makeError("cannot copy the tokenizer '" + plan.tokenizerPath + "': " + ec.message());
  // A read-only source (a package, a shared fixture) must not make the copy read-only.
  fs::permissions(dir / "tokenizer.model",
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read, ec);
  return Ok{};
}

// What the Engine will see: the files it discovers, the config it parses, the header.
Status checkAsTheEngineSeesIt(const fs::path& dir, const OutputPlan& plan) {
  auto found = io::discoverModelFiles(dir.string());
  if (!found) return makeError("the converted directory does not look like a model: " + found.message());
  if (found->adapterDirectory.empty() != plan.adapter.empty())
    return makeError("internal: the converted adapter directory is not where the loader looks");
  auto file = io::SafetensorsFile::open((dir / "model.safetensors").string());
  if (!file) return makeError("the written model.safetensors does not read back: " + file.message());
  if (file.value()->tensors().size() != plan.model.size())
    return makeError("internal: model.safetensors holds " + std::to_string(file.value()->tensors().size()) +
                     " tensors, planned " + std::to_string(plan.model.size()));
  return Ok{};
}

// An existing (empty, or --force) output is moved aside first and removed only once the
// new one is there.
Status moveIntoPlace(TempDirGuard& tmp, const fs::path& out) {
  std::error_code ec;
  fs::path old;
  if (fs::exists(out, ec)) {
    old = out.parent_path() / ("." + out.filename().string() + ".replaced-" + std::to_string(::getpid()));
    fs::remove_all(old, ec);
    fs::rename(out, old, ec);
    if (ec) return makeError("cannot move the old '" + out.string() + "' aside: " + ec.message());
  }
  fs::rename(tmp.dir, out, ec);
  if (ec) {
    std::error_code ignore;
    if (!old.empty()) fs::rename(old, out, ignore);
    return makeError("cannot rename '" + tmp.dir.string() + "' to '" + out.string() + "': " + ec.message());
  }
  tmp.keep = true;
  if (!old.empty()) fs::remove_all(old, ec);
  return Ok{};
}

}  // namespace

Status writeModelDirectory(const fs::path& out, const OutputPlan& plan, ConvertReport& report, const ConvertLog& log) {
  std::error_code ec;
  fs::create_directories(out.parent_path(), ec);
  if (ec) return makeError("cannot create '" + out.parent_path().string() + "': " + ec.message());
  TempDirGuard tmp;
  tmp.dir = out.parent_path() / ("." + out.filename().string() + ".partial-" + std::to_string(::getpid()));
  fs::remove_all(tmp.dir, ec);
  if (!fs::create_directory(tmp.dir, ec))
    return makeError("cannot create '" + tmp.dir.string() + "': " + (ec ? ec.message() : "exists"));
  auto ok = writeFiles(tmp.dir, plan, report, log);
  if (!ok) return ok;
  ok = checkAsTheEngineSeesIt(tmp.dir, plan);
  if (!ok) return ok;
  return moveIntoPlace(tmp, out);
}

}  // namespace dqa::convert::plan
