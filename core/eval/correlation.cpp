#include "core/eval/correlation.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <random>

namespace dqa::eval {
namespace {

const double kNaN = std::nan("");
// Bootstrap replicates start at the full data's fit and stop at MINPACK's (scipy's
// curve_fit's) default ftol/xtol or after 50 iterations: the spread they estimate does
// not need the full fit's precision, and where the best logistic runs off the data (e.g.
// b1 -> 500 for SSIM on KADID-like data) the fit walks a flat valley in which PLCC and
// RMSE no longer change, 500 iterations per replicate: 1000 replicates of 2000 items took
// 67 s here, 7.8 s with the cap.
constexpr double kBootstrapTolerance = 1.49012e-8;
constexpr int kBootstrapIterations = 50;

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }

// Ranks 1..n, tied values sharing the mean of their ranks.
std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double shared = (double(i) + double(j)) / 2 + 1;
    for (size_t k = i; k <= j; ++k) r[order[k]] = shared;
    i = j + 1;
  }
  return r;
}

// Pairs tied within runs of equal values of a sorted sequence: sum of t(t-1)/2.
template <class Equal>
double tiedPairs(size_t n, Equal equal) {
  double ties = 0, run = 1;
  for (size_t i = 1; i <= n; ++i) {
    if (i < n && equal(i - 1, i)) {
      ++run;
    } else {
      ties += run * (run - 1) / 2;
      run = 1;
    }
  }
  return ties;
}

// Sorts v[lo, hi) and returns the number of strictly inverted pairs (i < j, v[i] > v[j]).
double countInversions(std::vector<double>& v, std::vector<double>& tmp, size_t lo, size_t hi) {
  if (hi - lo < 2) return 0;
  const size_t mid = lo + (hi - lo) / 2;
  double swaps = countInversions(v, tmp, lo, mid) + countInversions(v, tmp, mid, hi);
  size_t i = lo, j = mid, k = lo;
  while (i < mid && j < hi) {
    if (v[j] < v[i]) {
      swaps += double(mid - i);
      tmp[k++] = v[j++];
    } else {
      tmp[k++] = v[i++];
    }
  }
  while (i < mid) tmp[k++] = v[i++];
  while (j < hi) tmp[k++] = v[j++];
  std::copy(tmp.begin() + long(lo), tmp.begin() + long(hi), v.begin() + long(lo));
  return swaps;
}

// The squared error of the fit and its Jacobian products J'J and J'r.
double normalEquations(const std::vector<double>& x, const std::vector<double>& y, const Logistic4& f,
                       std::array<std::array<double, 4>, 4>* jtj, std::array<double, 4>* jtr) {
  double sse = 0;
  if (jtj) *jtj = {};
  if (jtr) *jtr = {};
  for (size_t i = 0; i < x.size(); ++i) {
    const double z = (x[i] - f.b3) / f.b4;
    const double s = 1 / (1 + std::exp(-z));
    const double r = y[i] - (f.b2 + (f.b1 - f.b2) * s);
    sse += r * r;
    if (!jtj) continue;
    const double ds = (f.b1 - f.b2) * s * (1 - s);
    const std::array<double, 4> g{s, 1 - s, -ds / f.b4, -ds * z / f.b4};
    for (int a = 0; a < 4; ++a) {
      (*jtr)[size_t(a)] += g[size_t(a)] * r;
      for (int b = 0; b < 4; ++b) (*jtj)[size_t(a)][size_t(b)] += g[size_t(a)] * g[size_t(b)];
    }
  }
  return sse;
}

// Solves A d = b (4x4) by Gaussian elimination with partial pivoting; false if singular.
bool solve4(std::array<std::array<double, 4>, 4> a, std::array<double, 4> b, std::array<double, 4>* d) {
  for (int c = 0; c < 4; ++c) {
    int p = c;
    for (int r = c + 1; r < 4; ++r)
      if (std::abs(a[size_t(r)][size_t(c)]) > std::abs(a[size_t(p)][size_t(c)])) p = r;
    if (std::abs(a[size_t(p)][size_t(c)]) < 1e-300) return false;
    std::swap(a[size_t(c)], a[size_t(p)]);
    std::swap(b[size_t(c)], b[size_t(p)]);
    for (int r = c + 1; r < 4; ++r) {
      const double m = a[size_t(r)][size_t(c)] / a[size_t(c)][size_t(c)];
      for (int k = c; k < 4; ++k) a[size_t(r)][size_t(k)] -= m * a[size_t(c)][size_t(k)];
      b[size_t(r)] -= m * b[size_t(c)];
    }
  }
  for (int r = 3; r >= 0; --r) {
    double s = b[size_t(r)];
    for (int k = r + 1; k < 4; ++k) s -= a[size_t(r)][size_t(k)] * (*d)[size_t(k)];
    (*d)[size_t(r)] = s / a[size_t(r)][size_t(r)];
  }
  return true;
}

double percentile(std::vector<double> v, double q) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double a) { return std::isnan(a); }), v.end());
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const double pos = q * double(v.size() - 1);  // linear interpolation, as numpy's default
  const size_t i = size_t(pos);
  return i + 1 < v.size() ? v[i] + (pos - double(i)) * (v[i + 1] - v[i]) : v[i];
}

}  // namespace

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) return kNaN;
  const double mx = mean(x), my = mean(y);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : kNaN;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) return kNaN;
  return pearson(ranks(x), ranks(y));
}

double kendallTauB(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  if (y.size() != n || n < 2) return kNaN;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return x[a] < x[b] || (x[a] == x[b] && y[a] < y[b]); });
  std::vector<double> ys(n), tmp(n);
  for (size_t i = 0; i < n; ++i) ys[i] = y[order[i]];
  const double tiesX = tiedPairs(n, [&](size_t a, size_t b) { return x[order[a]] == x[order[b]]; });
  const double tiesXY = tiedPairs(n, [&](size_t a, size_t b) { return x[order[a]] == x[order[b]] && ys[a] == ys[b]; });
  const double swaps = countInversions(ys, tmp, 0, n);  // ys is now sorted
  const double tiesY = tiedPairs(n, [&](size_t a, size_t b) { return ys[a] == ys[b]; });
  const double total = double(n) * double(n - 1) / 2;
  const double denominator = std::sqrt((total - tiesX) * (total - tiesY));
  if (!(denominator > 0)) return kNaN;
  return (total - tiesX - tiesY + tiesXY - 2 * swaps) / denominator;
}

double rmse(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.empty()) return kNaN;
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s / double(a.size()));
}

double Logistic4::operator()(double x) const { return b2 + (b1 - b2) / (1 + std::exp(-(x - b3) / b4)); }

Logistic4 fitLogistic4(const std::vector<double>& x, const std::vector<double>& y) {
  Logistic4 f;
  if (x.size() != y.size() || x.size() < 2) return f;
  const double mx = mean(x);
  double var = 0;
  for (double v : x) var += (v - mx) * (v - mx);
  const double sd = std::sqrt(var / double(x.size()));
  if (!(sd > 0)) return f;
  f.b1 = *std::max_element(y.begin(), y.end());
  f.b2 = *std::min_element(y.begin(), y.end());
  f.b3 = mx;
  f.b4 = pearson(x, y) < 0 ? -sd : sd;
  return fitLogistic4From(x, y, f, 1e-12, 500);
}

Logistic4 fitLogistic4From(const std::vector<double>& x, const std::vector<double>& y, Logistic4 f, double tolerance,
                           int maxIterations) {
  if (x.size() != y.size() || x.size() < 2 || f.b4 == 0) return Logistic4{};
  f.valid = true;
  f.iterations = 0;
  std::array<std::array<double, 4>, 4> jtj;
  std::array<double, 4> jtr;
  double sse = normalEquations(x, y, f, &jtj, &jtr);
  double lambda = 1e-3;
  for (int it = 0; it < maxIterations && lambda < 1e10; ++it) {
    f.iterations = it + 1;
    auto damped = jtj;
    for (int k = 0; k < 4; ++k) damped[size_t(k)][size_t(k)] *= 1 + lambda;
    std::array<double, 4> d{};
    if (!solve4(damped, jtr, &d)) {
      lambda *= 10;
      continue;
    }
    Logistic4 trial = f;
    trial.b1 += d[0];
    trial.b2 += d[1];
    trial.b3 += d[2];
    trial.b4 += d[3];
    const double trialSse = trial.b4 != 0 ? normalEquations(x, y, trial, nullptr, nullptr) : HUGE_VAL;
    if (std::isfinite(trialSse) && trialSse <= sse) {
      double step = 0;
      const double size[4] = {f.b1, f.b2, f.b3, f.b4};
      for (int k = 0; k < 4; ++k) step = std::max(step, std::abs(d[size_t(k)]) / (std::abs(size[k]) + tolerance));
      const bool settled = sse - trialSse <= tolerance * sse || step <= tolerance;
      f = trial;
      sse = normalEquations(x, y, f, &jtj, &jtr);
      lambda = std::max(lambda / 10, 1e-12);
      if (settled) break;
    } else {
      lambda *= 10;
    }
  }
  return f;
}

Correlations correlations(const std::vector<double>& x, const std::vector<double>& y, int resamples, uint64_t seed) {
  Correlations c;
  c.n = int(std::min(x.size(), y.size()));
  auto measure = [](const std::vector<double>& px, const std::vector<double>& py, const Logistic4& fit) {
    std::vector<double> mapped(px.size());
    for (size_t i = 0; i < px.size(); ++i) mapped[i] = fit.valid ? fit(px[i]) : kNaN;
    return std::array<double, 4>{spearman(px, py), pearson(mapped, py), kendallTauB(px, py), rmse(mapped, py)};
  };
  c.fit = fitLogistic4(x, y);
  const auto all = measure(x, y, c.fit);
  c.srcc = all[0];
  c.plcc = all[1];
  c.krcc = all[2];
  c.rmse = all[3];
  c.srccCi = c.plccCi = c.krccCi = c.rmseCi = {kNaN, kNaN};
  if (resamples <= 0 || c.n < 3) return c;
  c.resamples = resamples;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, size_t(c.n) - 1);
  std::array<std::vector<double>, 4> samples;
  std::vector<double> bx(size_t(c.n)), by(size_t(c.n));
  for (int r = 0; r < resamples; ++r) {
    for (size_t i = 0; i < bx.size(); ++i) {
      const size_t k = pick(rng);
      bx[i] = x[k];
      by[i] = y[k];
    }
    const Logistic4 fit =
        c.fit.valid ? fitLogistic4From(bx, by, c.fit, kBootstrapTolerance, kBootstrapIterations) : Logistic4{};
    const auto m = measure(bx, by, fit);
    for (size_t k = 0; k < 4; ++k) samples[k].push_back(m[k]);
  }
  Interval* out[4] = {&c.srccCi, &c.plccCi, &c.krccCi, &c.rmseCi};
  for (size_t k = 0; k < 4; ++k) *out[k] = {percentile(samples[k], 0.025), percentile(samples[k], 0.975)};
  return c;
}

double twoAfcAccuracy(const std::vector<double>& a, const std::vector<double>& b, const std::vector<double>& h) {
  if (a.size() != b.size() || a.size() != h.size() || a.empty()) return kNaN;
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += b[i] > a[i] ? h[i] : a[i] > b[i] ? 1 - h[i] : 0.5;
  return sum / double(a.size());
}

double jndAveragePrecision(const std::vector<double>& distance, const std::vector<double>& same) {
  if (distance.size() != same.size() || distance.empty()) return kNaN;
  std::vector<size_t> order(distance.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return distance[a] < distance[b]; });
  const double positives = std::accumulate(same.begin(), same.end(), 0.0);
  if (!(positives > 0)) return kNaN;
  // mrec/mpre as VOC: a 0 and a 1 recall around the curve, precision 0 at both ends.
  std::vector<double> rec{0}, prec{0};
  double tp = 0, fp = 0;
  for (size_t i : order) {
    tp += same[i];
    fp += 1 - same[i];
    prec.push_back(tp + fp > 0 ? tp / (tp + fp) : 0);
    rec.push_back(tp / positives);
  }
  rec.push_back(1);
  prec.push_back(0);
  for (size_t i = prec.size() - 1; i > 0; --i) prec[i - 1] = std::max(prec[i - 1], prec[i]);
  double ap = 0;
  for (size_t i = 0; i + 1 < rec.size(); ++i)
    if (rec[i + 1] != rec[i]) ap += (rec[i + 1] - rec[i]) * prec[i + 1];
  return ap;
}

}  // namespace dqa::eval
