// KonIQ-10k (Hosu et al. 2020) as shipped: <root>/koniq10k_scores_and_distributions.csv
// (quoted header "image_name","c1",...,"MOS","SD","MOS_zscore") and the images in
// <root>/1024x768/. No references. MOS 1..5, higher is better.
#include "core/data/datasets/readers.h"
#include "core/data/datasets/table.h"

namespace dqa::data::datasets {

Result<Dataset> readKoniq10k(const std::string& root, const ReadOptions& options) {
  const std::string index = joinPath(root, "koniq10k_scores_and_distributions.csv");
  auto csv = readCsv(index, {"image_name", "MOS"});
  if (!csv) return csv.error();
  Dataset d;
  d.scoreName = "MOS";
  d.higherIsBetter = true;
  d.scaleLow = 1;
  d.scaleHigh = 5;
  const std::string images = joinPath(root, "1024x768");
  const int cImage = csv->header.find("image_name"), cScore = csv->header.find("MOS");
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
