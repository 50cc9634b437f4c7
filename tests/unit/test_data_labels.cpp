// Labels from KADID-10k's opinion scores: the embedded table equals the shared CSV, the
// interpolation between levels, the combination rule, thresholds, questionnaires.
#include <QtTest/QtTest>

#include <fstream>
#include <map>
#include <sstream>

#include "core/data/labels.h"
#include "core/data/questionnaire.h"
#include "test_support.h"

using namespace dqa::data;

namespace {
std::vector<std::vector<std::string>> readCsv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, ',')) cells.push_back(c);
    if (!cells.empty()) rows.push_back(cells);
  }
  return rows;
}
DistortionLabel dl(int type, double level, double area = 1.0) {
  DistortionLabel d;
  d.distortion = Distortion{type, level, 0, {}};
  d.mos = mosAtLevel(type, level);
  d.area = area;
  d.aspect = typeInfo(type).aspect;
  return d;
}
}  // namespace

class TestDataLabels : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void embeddedTableMatchesSharedCsv() {
    auto rows = readCsv(dqa::test::sharedDir() + "/data/kadid10k/type_level_mos.csv");
    QCOMPARE(rows.size(), size_t(125));
    for (const auto& r : rows) {
      int type = std::stoi(r[0]), level = std::stoi(r[2]);
      const KadidRow& k = kadidRow(type, level);
      QCOMPARE(k.type, type);
      QCOMPARE(k.level, level);
      QCOMPARE(k.param, std::stod(r[3]));
      QCOMPARE(k.mos, std::stod(r[5]));
      QCOMPARE(k.sdAcrossRefs, std::stod(r[6]));
      // Names agree up to the CSV's parenthesised notes.
      QVERIFY2(r[1].rfind(std::string(typeInfo(type).name).substr(0, 10), 0) == 0, r[1].c_str());
    }
  }

  void perImageScoresAverageToTheTable() {
    auto rows = readCsv(dqa::test::sharedDir() + "/data/kadid10k/per_image_mos.csv");
    QCOMPARE(rows.size(), size_t(10125));
    std::map<std::pair<int, int>, std::pair<double, int>> acc;
    for (const auto& r : rows) {
      auto& a = acc[{std::stoi(r[2]), std::stoi(r[3])}];
      a.first += std::stod(r[4]);
      a.second++;
    }
    for (auto& [k, v] : acc) QVERIFY(std::fabs(v.first / v.second - kadidRow(k.first, k.second).mos) < 0.01);
  }

  void labelsAtPublishedLevelsAreTheTable() {
    for (int t = 1; t <= kNumTypes; ++t)
      for (int l = 1; l <= 5; ++l) {
        QCOMPARE(mosAtLevel(t, l), kadidRow(t, l).mos);
        QVERIFY(std::fabs(paramAtLevel(t, l) - kadidRow(t, l).param) <=
                1e-9 * std::max(1.0, std::fabs(kadidRow(t, l).param)));
        ImageLabel label = labelImage({Distortion{t, double(l), 0, {}}}, {64, 64}, cv::Mat(), cv::Mat());
        QCOMPARE(label.mos, std::max(kMinMos, std::min(kReferenceMos, kadidRow(t, l).mos)));
        QCOMPARE(label.aspectMos[static_cast<int>(typeInfo(t).aspect)], label.mos);
      }
  }

  void interpolationLiesBetweenLevels() {
    for (int t = 1; t <= kNumTypes; ++t)
      for (int l = 1; l < 5; ++l) {
        double lo = std::min(kadidRow(t, l).mos, kadidRow(t, l + 1).mos);
        double hi = std::max(kadidRow(t, l).mos, kadidRow(t, l + 1).mos);
        double m = mosAtLevel(t, l + 0.5);
        QVERIFY(m >= lo - 1e-12 && m <= hi + 1e-12);
        double plo = std::min(kadidRow(t, l).param, kadidRow(t, l + 1).param);
        double phi = std::max(kadidRow(t, l).param, kadidRow(t, l + 1).param);
        double p = paramAtLevel(t, l + 0.5);
        QVERIFY(p >= plo - 1e-12 && p <= phi + 1e-12);
      }
    // Geometric for noise variance: level 4.5 of type 11 is sqrt(0.005 * 0.01).
    QVERIFY(std::fabs(paramAtLevel(11, 4.5) - std::sqrt(0.005 * 0.01)) < 1e-12);
    // Below level 1 the label runs to the undistorted MOS.
    QCOMPARE(mosAtLevel(10, 0.0), kReferenceMos);
    QVERIFY(mosAtLevel(10, 0.5) < kReferenceMos && mosAtLevel(10, 0.5) > kadidRow(10, 1).mos);
  }

  void combinationRule() {
    auto a = dl(1, 3), b = dl(11, 3);
    double single = combineMos({a});
    QCOMPARE(single, a.mos);
    double both = combineMos({a, b});
    QVERIFY(both < std::min(a.mos, b.mos));
    QVERIFY(both >= kMinMos);
    // Fractions multiply: order does not matter.
    QCOMPARE(both, combineMos({b, a}));
    QVERIFY(std::fabs(qualityFraction(both) - qualityFraction(a.mos) * qualityFraction(b.mos)) < 1e-12);
    // Two of the worst never go below 1.
    QVERIFY(combineMos({dl(2, 5), dl(24, 5), dl(10, 5)}) >= kMinMos);
    // Local: a quarter of the image costs half the drop.
    auto local = dl(11, 5, 0.25);
    double dropGlobal = kReferenceMos - dl(11, 5).mos, dropLocal = kReferenceMos - combineMos({local});
    QVERIFY(std::fabs(dropLocal - 0.5 * dropGlobal) < 1e-9);
    // Preference weights: weight 1 everywhere equals the plain rule.
    std::array<double, kNumAspects> ones;
    ones.fill(1.0);
    QVERIFY(std::fabs(combineMos({a, b}, ones) - both) < 1e-9);
  }

  void thresholds() {
    QCOMPARE(severityOf(4.6), Severity::Undistorted);
    QCOMPARE(severityOf(4.5), Severity::Undistorted);
    QCOMPARE(severityOf(4.49), Severity::Mild);
    QCOMPARE(severityOf(2.5), Severity::Mild);
    QCOMPARE(severityOf(2.49), Severity::Severe);
    QCOMPARE(qualityOf(4.6), Quality::Excellent);
    QCOMPARE(qualityOf(3.0), Quality::Fair);
    QCOMPARE(qualityOf(1.2), Quality::Bad);
    QCOMPARE(compareMos(3.0, 2.8), Cmp::Similar);
    QCOMPARE(compareMos(3.0, 2.5), Cmp::Better);
    QCOMPARE(compareMos(2.0, 3.5), Cmp::MuchWorse);
    QCOMPARE(winnerOf(3.0, 2.85), Winner::Tie);
    // Undistorted images are always too close to call.
    QCOMPARE(winnerOf(kReferenceMos, dqa::data::thresholds().undistortedMin), Winner::Tie);
  }

  void textureFollowsTheRules() {
    // Only a colour change: texture identifiable whatever GMS says.
    cv::Mat ref(64, 64, CV_8UC3, cv::Scalar(100, 120, 140)), other(64, 64, CV_8UC3, cv::Scalar(0, 0, 0));
    cv::randu(ref, 0, 255);
    ImageLabel colourOnly = labelImage({Distortion{7, 4, 0, {}}}, {64, 64}, ref, other);
    QCOMPARE(colourOnly.texture, Texture::Identifiable);
    // Severe blur with structure wiped out: damaged.
    ImageLabel blurred = labelImage({Distortion{1, 5, 0, {}}}, {64, 64}, ref, other);
    QCOMPARE(blurred.level(Aspect::Blurriness), Severity::Severe);
    QCOMPARE(blurred.texture, Texture::Damaged);
    QVERIFY(gradientSimilarity(ref, ref) > 0.999);
  }

  void pairsAndPreferences() {
    ImageLabel noisy = labelImage({Distortion{11, 4, 0, {}}}, {64, 64}, cv::Mat(), cv::Mat());    // MOS 2.71
    ImageLabel blurry = labelImage({Distortion{1, 3.3, 0, {}}}, {64, 64}, cv::Mat(), cv::Mat());  // MOS ~2.6
    Questionnaire q = makePair(Task::Comparison, noisy, blurry, true);
    QCOMPARE(q.winner, Winner::Tie);  // gap < 0.3: too close to call
    QCOMPARE(q.aspectCmp[static_cast<int>(Aspect::Noise)], Cmp::MuchWorse);
    QCOMPARE(q.aspectCmp[static_cast<int>(Aspect::Blurriness)], Cmp::MuchBetter);
    Preference p{Aspect::Noise, 3.0, "I can't tolerate any noise."};
    Questionnaire qp = makePair(Task::Comparison, noisy, blurry, true, &p);
    QCOMPARE(qp.winner, Winner::B);  // noise now weighs three times: the blurry one wins
    QVERIFY(qp.preferenceFlipped);
    Preference sharp{Aspect::Blurriness, 3.0, "Sharpness matters most to me."};
    QCOMPARE(makePair(Task::Comparison, noisy, blurry, true, &sharp).winner, Winner::A);
    auto j = toJson(qp);
    QCOMPARE(j["winner"].get<std::string>(), std::string("B"));
    QCOMPARE(j["preference"]["flipped"].get<bool>(), true);
  }

  // A distortion the content hides (visibility 0: the image looks pristine) stays hidden
  // when a preference is stated; the preference verdict used to drop the visibility, so
  // that a preference about an aspect neither image shows "flipped" the verdict.
  void preferenceKeepsWhatTheContentHides() {
    ImageLabel visible = labelImage({Distortion{11, 2, 0, {}}}, {64, 64}, cv::Mat(), cv::Mat());  // mild noise
    ImageLabel hidden = labelImage({Distortion{7, 4, 0, {}}}, {64, 64}, cv::Mat(), cv::Mat());    // strong colour
    hidden.visibility = 0.0;
    hidden.mos = kReferenceMos;  // as labelImage computes it for a visibility of 0
    const std::array<double, kNumAspects> plain{1, 1, 1, 1, 1};
    QVERIFY(std::abs(weightedMos(visible, plain) - visible.mos) < 1e-9);
    QCOMPARE(weightedMos(hidden, plain), kReferenceMos);
    Questionnaire q = makePair(Task::Comparison, visible, hidden, true);
    QCOMPARE(q.winner, Winner::B);
    Preference tolerantOfBlur{Aspect::Blurriness, 0.3, "I don't mind some blur."};
    Questionnaire qp = makePair(Task::Comparison, visible, hidden, true, &tolerantOfBlur);
    QCOMPARE(qp.winner, Winner::B);  // the old verdict: A, "flipped" by a preference about blur
    QVERIFY(!qp.preferenceFlipped);
  }
};

QTEST_APPLESS_MAIN(TestDataLabels)
#include "test_data_labels.moc"
