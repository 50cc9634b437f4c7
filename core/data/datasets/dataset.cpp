#include "core/data/datasets/dataset.h"

#include "core/data/datasets/readers.h"

namespace dqa::data {

const std::vector<std::string>& datasetNames() {
  static const std::vector<std::string> names = {"kadid10k",   "tid2013",   "tid2008",  "csiq", "live", "pipal",
                                                 "bapps-2afc", "bapps-jnd", "koniq10k", "spaq", "csv"};
  return names;
}

Result<Dataset> readDataset(const std::string& name, const std::string& root, const ReadOptions& options) {
  using namespace datasets;
  Result<Dataset> d = makeError("");
  if (name == "kadid10k")
    d = readKadid10k(root, options);
  else if (name == "tid2013")
    d = readTid(root, 2013, options);
  else if (name == "tid2008")
    d = readTid(root, 2008, options);
  else if (name == "csiq")
    d = readCsiq(root, options);
  else if (name == "live")
    d = readLive(root, options);
  else if (name == "pipal")
    d = readPipal(root, options);
  else if (name == "bapps-2afc")
    d = readBapps(root, PairKind::TwoAfc, options);
  else if (name == "bapps-jnd")
    d = readBapps(root, PairKind::Jnd, options);
  else if (name == "koniq10k")
    d = readKoniq10k(root, options);
  else if (name == "spaq")
    d = readSpaq(root, options);
  else if (name == "csv")
    d = readGenericCsv(root, options);
  else {
    std::string known;
    for (const auto& n : datasetNames()) known += (known.empty() ? "" : ", ") + n;
    return makeError("unknown dataset \"" + name + "\"; known: " + known);
  }
  if (!d) return d;
  d->name = name;
  d->root = root;
  if (d->images.empty() && d->pairs.empty())
    return makeError(
        root + ": the " + name + " index lists no images" +
        (d->skippedMissing ? " on disk (" + std::to_string(d->skippedMissing) + " rows skipped as missing)" : ""));
  return d;
}

}  // namespace dqa::data
