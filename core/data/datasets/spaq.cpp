// SPAQ (Fang et al. 2020). Its scores ship as "MOS and Image attribute scores.xlsx"
// (Image name, MOS, Brightness, Colorfulness, Contrast, Noisiness, Sharpness); export it
// once to <root>/"MOS and Image attribute scores.csv" (docs/datasets.md has the
// one-liner). Images in <root>/TestImage/. No references. MOS 0..100, higher is better.
#include "core/data/datasets/readers.h"
#include "core/data/datasets/table.h"

namespace dqa::data::datasets {

Result<Dataset> readSpaq(const std::string& root, const ReadOptions& options) {
  const std::string index = joinPath(root, "MOS and Image attribute scores.csv");
  auto csv = readCsv(index, {"Image name", "MOS"});
  if (!csv) return csv.error();
  Dataset d;
  d.scoreName = "MOS";
  d.higherIsBetter = true;
  d.scaleLow = 0;
  d.scaleHigh = 100;
  const std::string images = joinPath(root, "TestImage");
  const int cImage = csv->header.find("Image name"), cScore = csv->header.find("MOS");
  for (const CsvRow& row : csv->rows) {
    auto name = csv->field(row, cImage);
    auto scoreText = csv->field(row, cScore);
    if (auto e = firstError(name, scoreText)) return *e;
    auto score = parseNumber(*scoreText, index, row.line, "the MOS");
    if (!score) return score.error();
    IqaRecord r;
    r.image = joinPath(images, *name);
    r.score = *score;
    r.referenceId = stem(*name);
    r.source = index + ":" + std::to_string(row.line);
    if (auto s = addRecord(d, std::move(r), options); !s) return s.error();
  }
  return d;
}

}  // namespace dqa::data::datasets
