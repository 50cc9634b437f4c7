#pragma once
// The standard image-quality correlation measures (as in pyiqa, VQEG): SRCC, KRCC,
// PLCC after a 4-parameter logistic fit, RMSE after the same fit, each with a seeded
// bootstrap confidence interval; and BAPPS's 2AFC accuracy and JND mAP. Pure functions
// over plain vectors (tests/unit/test_eval_correlation.cpp checks them on hand-computed
// cases and on scipy's values).
#include <cstdint>
#include <vector>

namespace dqa::eval {

// Pearson's linear correlation; NaN with fewer than 2 values or no variance.
double pearson(const std::vector<double>& x, const std::vector<double>& y);
// Spearman's rank correlation: Pearson on ranks, tied values sharing their mean rank.
double spearman(const std::vector<double>& x, const std::vector<double>& y);
// Kendall's tau-b (ties in either variable corrected, as scipy.stats.kendalltau), in
// O(n log n) by Knight's merge-sort count.
double kendallTauB(const std::vector<double>& x, const std::vector<double>& y);
double rmse(const std::vector<double>& a, const std::vector<double>& b);

// The VQEG 4-parameter logistic f(x) = b2 + (b1 - b2) / (1 + exp(-(x - b3) / b4)), fitted
// to (prediction x, human score y) by Levenberg-Marquardt on the squared error:
// analytic Jacobian, damping lambda * diag(J'J) (Marquardt's scaling), lambda divided by
// 10 after a step that lowers the error and multiplied by 10 otherwise; at most 500
// iterations; stops when an accepted step lowers the error by less than 1e-12 of it or
// moves no parameter by more than 1e-12 of its size, or when lambda exceeds 1e10. Start: b1 = max y, b2 = min y, b3 = mean x, b4 = sd x (negated when x and
// y correlate negatively), so the curve starts monotone and spanning the scores.
struct Logistic4 {
  double b1 = 0, b2 = 0, b3 = 0, b4 = 1;
  int iterations = 0;
  bool valid = false;  // false when x has no variance (nothing to fit)
  double operator()(double x) const;
};
Logistic4 fitLogistic4(const std::vector<double>& x, const std::vector<double>& y);
// The same from a given start, relative tolerance and iteration cap (bootstrap replicates
// start from the full data's fit, stop at 1.49e-8, MINPACK's default ftol/xtol, or after
// 50 iterations).
Logistic4 fitLogistic4From(const std::vector<double>& x, const std::vector<double>& y, Logistic4 start,
                           double tolerance, int maxIterations);

struct Interval {
  double low = 0, high = 0;  // NaN when not computed
};

// Everything a benchmark table row holds, for predictions x against human scores y
// oriented so that higher is better (pass -DMOS for DMOS datasets; the RMSE is then on
// the dataset's own scale all the same).
struct Correlations {
  int n = 0;
  double srcc = 0, plcc = 0, krcc = 0, rmse = 0;
  Logistic4 fit;
  Interval srccCi, plccCi, krccCi, rmseCi;  // percentile bootstrap, 95%
  int resamples = 0;
};
// `resamples` bootstrap replicates (0: no intervals), drawn with std::mt19937_64(seed):
// the same inputs and seed give the same intervals.
Correlations correlations(const std::vector<double>& x, const std::vector<double>& y, int resamples, uint64_t seed);

// BAPPS 2AFC: for each pair, the share of people who agree with the measure:
// humanPrefersB if the measure prefers B (higher score), 1 - humanPrefersB if it
// prefers A, 1/2 on a tie (as LPIPS scores it). Mean over pairs; NaN when empty.
double twoAfcAccuracy(const std::vector<double>& scoreA, const std::vector<double>& scoreB,
                      const std::vector<double>& humanPrefersB);
// BAPPS JND: average precision of detecting "same" pairs by ascending distance (LPIPS's
// score_jnd_dataset: cumulative true/false positives over pairs sorted by distance,
// ties kept in input order, then PASCAL VOC's area under the precision envelope).
double jndAveragePrecision(const std::vector<double>& distance, const std::vector<double>& shareSame);

}  // namespace dqa::eval
