// PIPAL (Jinjin et al. 2020), training part as shipped: <root>/Train_Label/*.txt with
// "A0001_00_00.bmp,1496.6406" lines (name, Elo score; higher is better), distorted images
// under <root>/Train_Dis/ (directly or in its Distortion_1..4 folders), references
// <root>/Train_Ref/A0001.bmp. Names are <ref>_<type>_<index>.bmp.
#include <algorithm>
#include <filesystem>
#include <map>

#include "core/data/datasets/readers.h"
#include "core/data/datasets/table.h"

namespace dqa::data::datasets {
namespace fs = std::filesystem;
namespace {

// Every file under `dir` (any depth) by its lower-cased name.
Result<std::map<std::string, std::string>> indexTree(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return makeError(dir + ": no such folder (is --root PIPAL's folder as unpacked?)");
  std::map<std::string, std::string> files;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file(ec)) files.emplace(lower(it->path().filename().string()), it->path().string());
  if (ec) return makeError(dir + ": cannot list: " + ec.message());
  return files;
}

}  // namespace

Result<Dataset> readPipal(const std::string& root, const ReadOptions& options) {
  const std::string labels = joinPath(root, "Train_Label");
  std::error_code ec;
  if (!fs::is_directory(labels, ec))
    return makeError(labels + ": no such folder (is --root PIPAL's folder as unpacked?)");
  std::vector<std::string> labelFiles;
  for (const auto& e : fs::directory_iterator(labels, ec))
    if (e.path().extension() == ".txt") labelFiles.push_back(e.path().string());
  std::sort(labelFiles.begin(), labelFiles.end());
  if (labelFiles.empty()) return makeError(labels + ": no .txt label files");
  auto distorted = indexTree(joinPath(root, "Train_Dis"));
  if (!distorted) return distorted.error();
  auto refs = FolderIndex::open(joinPath(root, "Train_Ref"));
  if (!refs) return refs.error();
  Dataset d;
  d.scoreName = "ELO";
  d.higherIsBetter = true;
  d.scaleLow = 900;
  d.scaleHigh = 1900;
  for (const std::string& file : labelFiles) {
    auto lines = readLines(file);
    if (!lines) return lines.error();
    for (const Line& l : lines.value()) {
      const auto f = splitCsv(l.text);
      if (f.size() != 2) return at(file, l.number, "expected \"name.bmp,score\"");
      auto score = parseNumber(f[1], file, l.number, "the score");
      if (!score) return score.error();
      const std::string s = stem(f[0]);
      const size_t u1 = s.find('_'), u2 = s.find('_', u1 == std::string::npos ? u1 : u1 + 1);
      if (u1 == std::string::npos || u2 == std::string::npos)
        return at(file, l.number, "\"" + f[0] + "\" is not a PIPAL name (<ref>_<type>_<index>.bmp)");
      IqaRecord r;
      const auto found = distorted->find(lower(f[0]));
      r.image = found != distorted->end() ? found->second : joinPath(joinPath(root, "Train_Dis"), f[0]);
      r.reference = refs->find(s.substr(0, u1) + ".bmp");
      if (r.reference.empty()) r.reference = joinPath(refs->directory(), s.substr(0, u1) + ".bmp");
      r.score = *score;
      r.distortion = "type " + s.substr(u1 + 1, u2 - u1 - 1);
      r.referenceId = s.substr(0, u1);
      r.source = file + ":" + std::to_string(l.number);
      if (auto st = addRecord(d, std::move(r), options); !st) return st.error();
    }
  }
  return d;
}

}  // namespace dqa::data::datasets
