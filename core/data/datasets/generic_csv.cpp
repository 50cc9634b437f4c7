// A folder of one's own images with a CSV: columns image and one of score / mos
// (higher is better) or dmos (lower is better); optional reference, distortion, level.
// Paths are relative to the CSV's folder (absolute paths are kept). --root is the
// folder holding scores.csv, or the CSV file itself.
#include <algorithm>
#include <filesystem>

#include "core/data/datasets/readers.h"
#include "core/data/datasets/table.h"

namespace dqa::data::datasets {
namespace fs = std::filesystem;

Result<Dataset> readGenericCsv(const std::string& root, const ReadOptions& options) {
  std::error_code ec;
  const std::string index = fs::is_directory(root, ec) ? joinPath(root, "scores.csv") : root;
  const std::string base = fs::path(index).parent_path().string();
  auto csv = readCsv(index, {"image"});
  if (!csv) return csv.error();
  const auto& h = csv->header;
  Dataset d;
  int cScore = h.find("score");
  if (cScore < 0) cScore = h.find("mos");
  if (cScore < 0 && (cScore = h.find("dmos")) >= 0) d.higherIsBetter = false;
  if (cScore < 0)
    return makeError(index +
                     ": the header needs a score column: score or mos (higher is better) or dmos (lower is better)");
  d.scoreName = d.higherIsBetter ? "MOS" : "DMOS";
  const int cImage = h.find("image"), cRef = h.find("reference"), cType = h.find("distortion"),
            cLevel = h.find("level");
  auto resolve = [&](const std::string& p) { return p.empty() || fs::path(p).is_absolute() ? p : joinPath(base, p); };
  double low = 0, high = 0;
  bool first = true;
  for (const CsvRow& row : csv->rows) {
    auto name = csv->field(row, cImage);
    auto scoreText = csv->field(row, cScore);
    if (auto e = firstError(name, scoreText)) return *e;
    auto score = parseNumber(*scoreText, index, row.line, "the score");
    if (!score) return score.error();
    IqaRecord r;
    r.image = resolve(*name);
    if (cRef >= 0 && size_t(cRef) < row.fields.size()) r.reference = resolve(row.fields[size_t(cRef)]);
    if (cType >= 0 && size_t(cType) < row.fields.size()) r.distortion = row.fields[size_t(cType)];
    if (cLevel >= 0 && size_t(cLevel) < row.fields.size() && !row.fields[size_t(cLevel)].empty()) {
      auto level = parseNumber(row.fields[size_t(cLevel)], index, row.line, "the level");
      if (!level) return level.error();
      r.level = int(*level);
    }
    r.score = *score;
    r.referenceId = r.reference.empty() ? *name : stem(r.reference);
    r.source = index + ":" + std::to_string(row.line);
    low = first ? *score : std::min(low, *score);
    high = first ? *score : std::max(high, *score);
    first = false;
    if (auto s = addRecord(d, std::move(r), options); !s) return s.error();
  }
  d.scaleLow = low;
  d.scaleHigh = high;
  d.notes.push_back("score scale taken from the data (no published range)");
  return d;
}

}  // namespace dqa::data::datasets
