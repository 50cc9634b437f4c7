// CSIQ (Larson & Chandler 2010). Its scores ship only as csiq.DMOS.xlsx; export the
// sheet "all_by_image" once to <root>/csiq.DMOS.csv (the one-line command is in
// docs/datasets.md). Columns used: image, dst_type, dst_lev, dmos; title rows above the
// header are passed over.
// Images: <root>/dst_imgs/<folder>/<image>.<TAG>.<level>.png (folders awgn, jpeg,
// jpeg2000, fnoise, blur, contrast; tags in varying case, e.g. 1600.AWGN.1.png,
// 1600.jpeg2000.1.png), references <root>/src_imgs/<image>.png. DMOS 0..1, lower is better.
#include <map>

#include "core/data/datasets/readers.h"
#include "core/data/datasets/table.h"

namespace dqa::data::datasets {
namespace {

// The sheet's dst_type -> the folder (and, in any case, the tag in the file name).
const std::map<std::string, std::string>& csiqFolders() {
  static const std::map<std::string, std::string> m = {
      {"noise", "awgn"},        {"awgn", "awgn"},     {"jpeg", "jpeg"}, {"jpeg 2000", "jpeg2000"},
      {"jpeg2000", "jpeg2000"}, {"fnoise", "fnoise"}, {"blur", "blur"}, {"contrast", "contrast"}};
  return m;
}

}  // namespace

Result<Dataset> readCsiq(const std::string& root, const ReadOptions& options) {
  const std::string index = joinPath(root, "csiq.DMOS.csv");
  auto csv = readCsv(index, {"image", "dst_type", "dst_lev", "dmos"});
  if (!csv) return csv.error();
  auto sources = FolderIndex::open(joinPath(root, "src_imgs"));
  if (!sources) return sources.error();
  std::map<std::string, FolderIndex> folders;
  Dataset d;
  d.scoreName = "DMOS";
  d.higherIsBetter = false;
  d.scaleLow = 0;
  d.scaleHigh = 1;
  const auto& h = csv->header;
  const int cImage = h.find("image"), cType = h.find("dst_type"), cLevel = h.find("dst_lev"), cScore = h.find("dmos");
  for (const CsvRow& row : csv->rows) {
    auto image = csv->field(row, cImage);
    auto type = csv->field(row, cType);
    auto levelText = csv->field(row, cLevel);
    auto scoreText = csv->field(row, cScore);
    if (auto e = firstError(image, type, levelText, scoreText)) return *e;
    auto score = parseNumber(*scoreText, index, row.line, "the DMOS");
    auto level = parseNumber(*levelText, index, row.line, "the level");
    if (auto e = firstError(score, level)) return *e;
    const auto folder = csiqFolders().find(lower(*type));
    if (folder == csiqFolders().end())
      return at(index, row.line,
                "unknown dst_type \"" + *type + "\" (CSIQ has noise, jpeg, jpeg 2000, fnoise, blur, contrast)");
    if (!folders.count(folder->second)) {
      auto f = FolderIndex::open(joinPath(joinPath(root, "dst_imgs"), folder->second));
      if (!f) return at(index, row.line, f.message());
      folders.emplace(folder->second, std::move(f.value()));
    }
    const FolderIndex& dir = folders.at(folder->second);
    const std::string name = *image + "." + folder->second + "." + std::to_string(int(*level)) + ".png";
    IqaRecord r;
    r.image = dir.find(name);
    if (r.image.empty()) r.image = joinPath(dir.directory(), name);
    r.reference = sources->find(*image + ".png");
    if (r.reference.empty()) r.reference = joinPath(sources->directory(), *image + ".png");
    r.score = *score;
    r.distortion = folder->second;
    r.level = int(*level);
    r.referenceId = *image;
    r.source = index + ":" + std::to_string(row.line);
    if (auto s = addRecord(d, std::move(r), options); !s) return s.error();
  }
  return d;
}

}  // namespace dqa::data::datasets
