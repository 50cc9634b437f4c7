// The IQA correlation measures (core/eval/correlation.h) on hand-computed cases, against
// brute force, and against scipy's values on a fixed 12-point set (the constants below,
// produced as the comment above them says).
#include <QtTest>

#include <cmath>
#include <random>

#include "core/eval/correlation.h"

using namespace dqa::eval;

namespace {

// The 12-point set of the scipy comparison: model scores and MOS, with ties in both.
const std::vector<double> kX = {1.2, 2.5, 2.5, 3.1, 3.3, 3.9, 4.0, 4.4, 2.0, 1.7, 3.3, 4.8};
const std::vector<double> kY = {1.5, 2.0, 2.9, 3.2, 2.9, 4.1, 3.8, 4.6, 2.2, 1.4, 3.0, 4.7};

// Kendall's tau-b by counting every pair.
double bruteTauB(const std::vector<double>& x, const std::vector<double>& y) {
  double c = 0, d = 0, tx = 0, ty = 0;
  const size_t n = x.size();
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) {
      const double sx = (x[i] > x[j]) - (x[i] < x[j]), sy = (y[i] > y[j]) - (y[i] < y[j]);
      if (sx == 0 && sy == 0) continue;
      if (sx == 0)
        ++tx;
      else if (sy == 0)
        ++ty;
      else if (sx == sy)
        ++c;
      else
        ++d;
    }
  return (c - d) / std::sqrt((c + d + tx) * (c + d + ty));
}

}  // namespace

class CorrelationTest : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void pearsonByHand() {
    QCOMPARE(pearson({1, 2, 3}, {1, 3, 2}), 0.5);  // sxy 1, sxx 2, syy 2
    QCOMPARE(pearson({1, 2, 3, 4, 5}, {5, 4, 3, 2, 1}), -1.0);
    QVERIFY(std::isnan(pearson({1, 1, 1}, {1, 2, 3})));
    QVERIFY(std::isnan(pearson({1}, {1})));
  }

  void spearmanWithTies() {
    // ranks of x: 1, 2.5, 2.5, 4; Pearson with 1..4 is 4.5 / sqrt(4.5 * 5) = sqrt(0.9).
    QVERIFY(std::abs(spearman({1, 2, 2, 3}, {1, 2, 3, 4}) - std::sqrt(0.9)) < 1e-12);
    QCOMPARE(spearman({10, 20, 30}, {1, 4, 9}), 1.0);  // monotone, not linear
  }

  void kendallByHand() {
    QVERIFY(std::abs(kendallTauB({1, 2, 3, 4}, {1, 3, 2, 4}) - 4.0 / 6) < 1e-12);  // 5 concordant, 1 discordant
    // A tie in x, a tie in y, 4 concordant: 4 / sqrt(5 * 5).
    QVERIFY(std::abs(kendallTauB({1, 2, 2, 3}, {1, 2, 3, 3}) - 0.8) < 1e-12);
  }

  void kendallMatchesBruteForce() {
    std::mt19937_64 rng(3);
    std::uniform_int_distribution<int> v(0, 20);  // many ties
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<double> x(150), y(150);
      for (size_t i = 0; i < x.size(); ++i) {
        x[i] = v(rng);
        y[i] = (trial % 2 ? x[i] : 0) + v(rng);
      }
      QVERIFY(std::abs(kendallTauB(x, y) - bruteTauB(x, y)) < 1e-12);
    }
  }

  void rmseByHand() { QVERIFY(std::abs(rmse({1, 2, 3}, {1, 2, 5}) - std::sqrt(4.0 / 3)) < 1e-12); }

  void logisticRecoversItsParameters() {
    Logistic4 truth;
    truth.b1 = 5;
    truth.b2 = 1;
    truth.b3 = 0.5;
    truth.b4 = 0.1;
    std::vector<double> x, y;
    for (int i = 0; i <= 40; ++i) {
      x.push_back(i / 40.0);
      y.push_back(truth(i / 40.0));
    }
    const Logistic4 f = fitLogistic4(x, y);
    QVERIFY(f.valid);
    QVERIFY2(std::abs(f.b1 - 5) < 1e-6 && std::abs(f.b2 - 1) < 1e-6 && std::abs(f.b3 - 0.5) < 1e-6 &&
                 std::abs(f.b4 - 0.1) < 1e-6,
             qPrintable(QString("%1 %2 %3 %4 after %5").arg(f.b1).arg(f.b2).arg(f.b3).arg(f.b4).arg(f.iterations)));
    // Decreasing data (a DMOS-like orientation) is fitted too: the start flips b4.
    std::vector<double> down;
    for (double v : y) down.push_back(6 - v);
    const Correlations c = correlations(x, down, 0, 1);
    QVERIFY(c.plcc > 1 - 1e-9);
    QVERIFY(c.rmse < 1e-6);
    QVERIFY(c.srcc < -0.999);  // the ranks fall; PLCC of the fitted values is positive
    QVERIFY(!fitLogistic4({2, 2, 2}, {1, 2, 3}).valid);
  }

  // Produced with Debian's python3-scipy 1.10.1 (numpy 1.24) on kX, kY:
  //   stats.spearmanr(x, y)[0], stats.kendalltau(x, y)[0], stats.pearsonr(x, y)[0];
  //   f = lambda x, b1, b2, b3, b4: b2 + (b1 - b2) / (1 + np.exp(-(x - b3) / b4))
  //   p, _ = curve_fit(f, x, y, p0=[y.max(), y.min(), x.mean(), x.std()], maxfev=100000)
  //   stats.pearsonr(f(x, *p), y)[0], np.sqrt(np.mean((f(x, *p) - y) ** 2))
  void matchesScipy() {
    QVERIFY(std::abs(spearman(kX, kY) - 0.942004969724113) < 1e-12);
    QVERIFY(std::abs(kendallTauB(kX, kY) - 0.821730116653506) < 1e-12);
    QVERIFY(std::abs(pearson(kX, kY) - 0.9632783785749806) < 1e-12);
    const Correlations c = correlations(kX, kY, 0, 1);
    QVERIFY2(std::abs(c.fit.b1 - 6.86363514) < 1e-4 && std::abs(c.fit.b2 - 0.50486257) < 1e-4 &&
                 std::abs(c.fit.b3 - 3.74278685) < 1e-4 && std::abs(c.fit.b4 - 1.43158706) < 1e-4,
             qPrintable(QString("%1 %2 %3 %4").arg(c.fit.b1).arg(c.fit.b2).arg(c.fit.b3).arg(c.fit.b4)));
    QVERIFY(std::abs(c.plcc - 0.966754610872359) < 1e-7);
    QVERIFY(std::abs(c.rmse - 0.27423889712149335) < 1e-7);
  }

  void bootstrapIsSeeded() {
    const Correlations a = correlations(kX, kY, 300, 42), b = correlations(kX, kY, 300, 42),
                       c = correlations(kX, kY, 300, 43);
    QCOMPARE(a.srccCi.low, b.srccCi.low);
    QCOMPARE(a.plccCi.high, b.plccCi.high);
    QVERIFY(a.srccCi.low != c.srccCi.low || a.krccCi.low != c.krccCi.low);
    QVERIFY(a.srccCi.low <= a.srcc && a.srcc <= a.srccCi.high);
    QVERIFY(a.krccCi.low <= a.krcc && a.krcc <= a.krccCi.high);
    QVERIFY(a.rmseCi.low < a.rmseCi.high);
    QVERIFY(std::isnan(correlations(kX, kY, 0, 1).srccCi.low));
  }

  void twoAfcByHand() {
    // B preferred (h 0.8 agrees), A preferred (1 - 0.8), a tie (1/2).
    QVERIFY(std::abs(twoAfcAccuracy({1, 2, 3}, {2, 1, 3}, {0.8, 0.8, 0.3}) - 0.5) < 1e-12);
    QCOMPARE(twoAfcAccuracy({0}, {1}, {1}), 1.0);
  }

  void jndByHand() {
    // Sorted by distance: same 1, 0, 1, 0. Precision 1, 1/2, 2/3, 1/2 at recall 1/2, 1/2, 1, 1;
    // the envelope gives 1/2 * 1 + 1/2 * 2/3 = 5/6.
    QVERIFY(std::abs(jndAveragePrecision({1, 2, 3, 4}, {1, 0, 1, 0}) - 5.0 / 6) < 1e-12);
    QVERIFY(std::abs(jndAveragePrecision({4, 3, 2, 1}, {0, 0, 1, 1}) - 1.0) < 1e-12);
    QVERIFY(std::abs(jndAveragePrecision({1, 2}, {0.5, 0.5}) - 0.5) < 1e-12);
  }
};

QTEST_APPLESS_MAIN(CorrelationTest)
#include "test_eval_correlation.moc"
