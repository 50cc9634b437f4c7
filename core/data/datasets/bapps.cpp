// BAPPS (Zhang et al. 2018, the LPIPS data) as shipped: 2AFC folders
// <split>/<subset>/{ref,p0,p1,judge}/NNNNNN.{png,npy} (judge: the share of people who
// found p1 closer to ref) and JND folders <subset>/{p0,p1,same}/NNNNNN.{png,npy}
// (same: the share who saw no difference). --root may be the dataset's top folder or any
// folder below it: every folder holding judge/ (2AFC) or same/ (JND) beside p0/ and p1/
// is read, in path order.
#include <algorithm>
#include <filesystem>

#include "core/data/datasets/npy.h"
#include "core/data/datasets/readers.h"
#include "core/data/datasets/table.h"

namespace dqa::data::datasets {
namespace fs = std::filesystem;
namespace {

// The folders under root (root included) that hold `marker`/, p0/ and p1/.
std::vector<fs::path> pairFolders(const std::string& root, const std::string& marker) {
  std::vector<fs::path> out;
  std::error_code ec;
  auto holds = [&](const fs::path& p) {
    return fs::is_directory(p / marker, ec) && fs::is_directory(p / "p0", ec) && fs::is_directory(p / "p1", ec);
  };
  if (holds(root)) out.push_back(root);
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_directory(ec) && holds(it->path())) out.push_back(it->path());
  std::sort(out.begin(), out.end());
  return out;
}

Status readFolder(Dataset& d, const fs::path& folder, const std::string& root, const ReadOptions& options) {
  const bool twoAfc = d.pairKind == PairKind::TwoAfc;
  const fs::path judgeDir = folder / (twoAfc ? "judge" : "same");
  std::vector<fs::path> judgements;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(judgeDir, ec))
    if (e.path().extension() == ".npy") judgements.push_back(e.path());
  std::sort(judgements.begin(), judgements.end());
  const std::string relative = fs::relative(folder, root, ec).string();
  for (const fs::path& j : judgements) {
    auto values = readNpy(j.string());
    if (!values) return values.error();
    if (values->empty()) return makeError(j.string() + ": an empty array; expected one judgement");
    const std::string name = j.stem().string() + ".png";
    PairRecord p;
    if (twoAfc) p.reference = (folder / "ref" / name).string();
    p.a = (folder / "p0" / name).string();
    p.b = (folder / "p1" / name).string();
    p.human = values->front();
    if (p.human < 0 || p.human > 1)
      return makeError(j.string() + ": judgement " + std::to_string(p.human) + " is not a share in [0, 1]");
    p.subset = folder.filename().string();
    p.referenceId = (relative == "." ? std::string() : relative + "/") + j.stem().string();
    p.source = j.string();
    if (auto s = addPair(d, std::move(p), options); !s) return s.error();
  }
  return Ok{};
}

}  // namespace

Result<Dataset> readBapps(const std::string& root, PairKind kind, const ReadOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return makeError(root + ": no such folder");
  Dataset d;
  d.pairKind = kind;
  const std::string marker = kind == PairKind::TwoAfc ? "judge" : "same";
  const auto folders = pairFolders(root, marker);
  if (folders.empty())
    return makeError(root + ": no folder with " + marker + "/, p0/ and p1/ below it (is --root BAPPS's " +
                     (kind == PairKind::TwoAfc ? "2afc" : "jnd") + " folder?)");
  for (const auto& f : folders)
    if (auto s = readFolder(d, f, root, options); !s) return s.error();
  return d;
}

}  // namespace dqa::data::datasets
