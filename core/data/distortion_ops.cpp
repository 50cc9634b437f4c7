// The building blocks of the distortion types (distortion_ops.h).
#include "core/data/distortion_ops.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace dqa::data::ops {

Mat toFloat(const Mat& rgb8) {
  Mat f;
  rgb8.convertTo(f, CV_32FC3, 1.0 / 255.0);
  return f;
}

Mat toU8(const Mat& f) {
  Mat u;
  f.convertTo(u, CV_8UC3, 255.0);
  return u;
}

Mat clip01(Mat f) {
  cv::max(f, 0.0, f);
  cv::min(f, 1.0, f);
  return f;
}

int oddAtLeast(double v) {
  int k = std::max(1, static_cast<int>(std::ceil(v)));
  return (k % 2 == 0) ? k + 1 : k;
}

// ---------------------------------------------------------------- kernels (blur)

Mat filterWith(const Mat& rgb8, const Mat& kernel) {
  Mat k = kernel / cv::sum(kernel)[0];
  Mat out;
  cv::filter2D(rgb8, out, -1, k, cv::Point(-1, -1), 0, cv::BORDER_REFLECT);
  return out;
}

// Antialiased aperture kernels: coverage by 4x4 supersampling.
Mat apertureKernel(double radius, int shape, double rotation) {
  int half = static_cast<int>(std::ceil(radius));
  int size = 2 * half + 1;
  Mat k(size, size, CV_32F, cv::Scalar(0));
  const int ss = 4;
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      double acc = 0;
      for (int sy = 0; sy < ss; ++sy)
        for (int sx = 0; sx < ss; ++sx) {
          double px = x - half + (sx + 0.5) / ss - 0.5;
          double py = y - half + (sy + 0.5) / ss - 0.5;
          double r = std::hypot(px, py);
          bool inside;
          if (shape == 1) {  // regular hexagon (six-blade aperture)
            double a = std::atan2(py, px) - rotation;
            double sector = CV_PI / 3.0;
            double am = std::fmod(std::fabs(a), sector) - sector / 2;
            double apothem = radius * std::cos(CV_PI / 6.0);
            inside = r * std::cos(am) <= apothem + 1e-9;
          } else {
            inside = r <= radius;
          }
          if (!inside) continue;
          double w = 1.0;
          if (shape == 2 && radius > 0) w = 1.0 + 0.6 * (r / radius) * (r / radius);  // bright rim
          acc += w;
        }
      k.at<float>(y, x) = static_cast<float>(acc / (ss * ss));
    }
  if (cv::sum(k)[0] <= 0) k.at<float>(half, half) = 1.f;
  return k;
}

namespace {

void splat(Mat& k, double x, double y, double w) {
  int x0 = static_cast<int>(std::floor(x)), y0 = static_cast<int>(std::floor(y));
  double fx = x - x0, fy = y - y0;
  auto add = [&](int xx, int yy, double ww) {
    if (xx >= 0 && yy >= 0 && xx < k.cols && yy < k.rows) k.at<float>(yy, xx) += float(ww);
  };
  add(x0, y0, w * (1 - fx) * (1 - fy));
  add(x0 + 1, y0, w * fx * (1 - fy));
  add(x0, y0 + 1, w * (1 - fx) * fy);
  add(x0 + 1, y0 + 1, w * fx * fy);
}

}  // namespace

Mat motionKernel(double length, int variant, cv::RNG& rng) {
  double angle = rng.uniform(0.0, CV_PI);
  int half = static_cast<int>(std::ceil(length / 2.0)) + 1;
  int size = 2 * half + 1;
  Mat k(size, size, CV_32F, cv::Scalar(0));
  const int steps = std::max(8, static_cast<int>(length * 10));
  if (variant == 1) {
    // Camera shake: a smooth random path of the given length.
    std::vector<cv::Point2d> path(steps + 1);
    double dir = angle, turn = 0;
    path[0] = {0, 0};
    for (int i = 1; i <= steps; ++i) {
      turn = 0.9 * turn + rng.gaussian(0.08);
      dir += turn;
      path[i] = path[i - 1] + cv::Point2d(std::cos(dir), std::sin(dir)) * (length / steps);
    }
    cv::Point2d c(0, 0);
    for (auto& p : path) c += p;
    c *= 1.0 / path.size();
    for (auto& p : path) {
      cv::Point2d q = p - c;
      splat(k, half + std::clamp(q.x, -double(half), double(half)), half + std::clamp(q.y, -double(half), double(half)),
            1.0);
    }
  } else {
    for (int i = 0; i <= steps; ++i) {
      double t = double(i) / steps - 0.5;
      double w = (variant == 2) ? (0.25 + 1.5 * (t + 0.5)) : 1.0;  // accelerating
      splat(k, half + t * length * std::cos(angle), half + t * length * std::sin(angle), w);
    }
  }
  return k;
}

// ---------------------------------------------------------------- colour helpers

Mat gaussianChannelBlur(const Mat& ch, double sigma, bool box) {
  Mat out;
  if (box) {
    int w = oddAtLeast(std::sqrt(12.0 * sigma * sigma + 1.0));
    cv::blur(ch, out, {w, w}, {-1, -1}, cv::BORDER_REFLECT);
  } else {
    int ks = oddAtLeast(6 * sigma);
    cv::GaussianBlur(ch, out, {ks, ks}, sigma, sigma, cv::BORDER_REFLECT);
  }
  return out;
}

// Saturation scale around a per-pixel grey value: c' = g + s (c - g).
Mat scaleAroundGrey(const Mat& f, double s, int greyKind) {
  Mat out(f.size(), CV_32FC3);
  for (int y = 0; y < f.rows; ++y) {
    const cv::Vec3f* src = f.ptr<cv::Vec3f>(y);
    cv::Vec3f* dst = out.ptr<cv::Vec3f>(y);
    for (int x = 0; x < f.cols; ++x) {
      const cv::Vec3f& c = src[x];
      float g = greyKind == 0 ? std::max({c[0], c[1], c[2]})  // HSV value
                              : (c[0] + c[1] + c[2]) / 3.f;   // HSI intensity
      for (int i = 0; i < 3; ++i) dst[x][i] = g + float(s) * (c[i] - g);
    }
  }
  return clip01(out);
}

// ---------------------------------------------------------------- codecs

Mat codecRoundTrip(const Mat& rgb8, const std::string& ext, const std::vector<int>& params) {
  Mat bgr;
  cv::cvtColor(rgb8, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> buf;
  try {
    if (!cv::imencode(ext, bgr, buf, params)) return rgb8.clone();
    Mat dec = cv::imdecode(buf, cv::IMREAD_COLOR);
    if (dec.empty() || dec.size() != rgb8.size()) return rgb8.clone();
    cv::cvtColor(dec, dec, cv::COLOR_BGR2RGB);
    return dec;
  } catch (const cv::Exception&) { return rgb8.clone(); }
}

namespace {

// One level of CDF 5/3 lifting along a line (float, symmetric extension), in place:
// the first half of `v` becomes the low band, the second half the high band.
void lift53(float* v, int n, std::vector<float>& tmp) {
  if (n < 2) return;
  int ns = (n + 1) / 2, nd = n / 2;
  tmp.assign(n, 0.f);
  float* s = tmp.data();
  float* d = tmp.data() + ns;
  auto X = [&](int i) { return v[i < 0 ? -i : (i >= n ? 2 * n - 2 - i : i)]; };
  for (int i = 0; i < nd; ++i) d[i] = X(2 * i + 1) - 0.5f * (X(2 * i) + X(2 * i + 2));
  for (int i = 0; i < ns; ++i) {
    float dl = d[std::max(i - 1, 0)], dr = d[std::min(i, nd - 1)];
    s[i] = X(2 * i) + 0.25f * (dl + dr);
  }
  std::copy(tmp.begin(), tmp.end(), v);
}

void unlift53(float* v, int n, std::vector<float>& tmp) {
  if (n < 2) return;
  int ns = (n + 1) / 2, nd = n / 2;
  tmp.assign(v, v + n);
  const float* s = tmp.data();
  const float* d = tmp.data() + ns;
  std::vector<float> x(n);
  for (int i = 0; i < ns; ++i) {
    float dl = d[std::max(i - 1, 0)], dr = d[std::min(i, nd - 1)];
    x[2 * i] = s[i] - 0.25f * (dl + dr);
  }
  for (int i = 0; i < nd; ++i) {
    float right = (2 * i + 2 < n) ? x[2 * i + 2] : x[2 * i];
    x[2 * i + 1] = d[i] + 0.5f * (x[2 * i] + right);
  }
  std::copy(x.begin(), x.end(), v);
}

void dwt2(Mat& m, int levels, bool inverse) {
  std::vector<float> tmp, line;
  std::vector<std::pair<int, int>> sizes;
  int w = m.cols, h = m.rows;
  for (int l = 0; l < levels && w >= 4 && h >= 4; ++l) {
    sizes.push_back({w, h});
    w = (w + 1) / 2;
    h = (h + 1) / 2;
  }
  auto pass = [&](int W, int H, bool inv) {
    auto rows = [&]() {
      for (int y = 0; y < H; ++y) {
        float* r = m.ptr<float>(y);
        inv ? unlift53(r, W, tmp) : lift53(r, W, tmp);
      }
    };
    auto cols = [&]() {
      line.resize(H);
      for (int x = 0; x < W; ++x) {
        for (int y = 0; y < H; ++y) line[y] = m.at<float>(y, x);
        inv ? unlift53(line.data(), H, tmp) : lift53(line.data(), H, tmp);
        for (int y = 0; y < H; ++y) m.at<float>(y, x) = line[y];
      }
    };
    if (!inv) {
      rows();
      cols();
    } else {
      cols();
      rows();
    }
  };
  if (!inverse) {
    for (auto& s : sizes) pass(s.first, s.second, false);
  } else {
    for (auto it = sizes.rbegin(); it != sizes.rend(); ++it) pass(it->first, it->second, true);
  }
}

}  // namespace

// Our own JPEG2000-like codec: CDF 5/3 wavelet on YCrCb, keeping the largest detail
// coefficients that a budget of 24/ratio bits per pixel allows (about 14 bits per kept
// coefficient for value and position), the rest quantised to zero.
Mat waveletCompress(const Mat& rgb8, double ratio) {
  Mat ycc;
  cv::cvtColor(rgb8, ycc, cv::COLOR_RGB2YCrCb);
  ycc.convertTo(ycc, CV_32FC3);
  std::vector<Mat> ch;
  cv::split(ycc, ch);
  const int levels = 4;
  for (auto& c : ch) dwt2(c, levels, false);
  // Low band stays; collect magnitudes of the rest (chroma weighted down: as JPEG2000
  // encoders do, spend fewer bits on chroma).
  int lw = ch[0].cols, lh = ch[0].rows;
  for (int l = 0; l < levels && lw >= 4 && lh >= 4; ++l) {
    lw = (lw + 1) / 2;
    lh = (lh + 1) / 2;
  }
  std::vector<float> mags;
  mags.reserve(ch[0].total() * 3);
  const float chromaW[3] = {1.f, 0.5f, 0.5f};
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < ch[c].rows; ++y)
      for (int x = 0; x < ch[c].cols; ++x)
        if (x >= lw || y >= lh) mags.push_back(std::fabs(ch[c].at<float>(y, x)) * chromaW[c]);
  double budgetBits = rgb8.total() * 24.0 / std::max(ratio, 1.0);
  size_t keep = std::min(mags.size(), static_cast<size_t>(budgetBits / 14.0));
  float thr = 0.f;
  if (keep < mags.size()) {
    std::nth_element(mags.begin(), mags.begin() + (mags.size() - 1 - keep), mags.end());
    thr = mags[mags.size() - 1 - keep];
  }
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < ch[c].rows; ++y)
      for (int x = 0; x < ch[c].cols; ++x) {
        if (x < lw && y < lh) continue;
        float& v = ch[c].at<float>(y, x);
        if (std::fabs(v) * chromaW[c] <= thr) v = 0.f;
      }
    dwt2(ch[c], levels, true);
  }
  Mat merged, out;
  cv::merge(ch, merged);
  merged.convertTo(merged, CV_8UC3);
  cv::cvtColor(merged, out, cv::COLOR_YCrCb2RGB);
  return out;
}

// ---------------------------------------------------------------- noise helpers

Mat gaussianNoise(cv::Size size, int channels, double sd, cv::RNG& rng) {
  Mat n(size, CV_32FC(channels));
  rng.fill(n, cv::RNG::NORMAL, 0.0, sd);
  return n;
}

Mat correlatedNoise(cv::Size size, int channels, double sd, double sigma, cv::RNG& rng) {
  Mat n = gaussianNoise(size, channels, 1.0, rng);
  int ks = oddAtLeast(6 * sigma);
  cv::GaussianBlur(n, n, {ks, ks}, sigma, sigma, cv::BORDER_REFLECT);
  cv::Scalar mean, dev;
  cv::meanStdDev(n.reshape(1), mean, dev);
  n *= sd / std::max(dev[0], 1e-6);
  return n;
}

Mat expandToChannels(const Mat& single) {
  Mat out;
  cv::merge(std::vector<Mat>{single, single, single}, out);
  return out;
}

// ---------------------------------------------------------------- tone curves

Mat applyLut(const Mat& rgb8, const std::vector<double>& curve01) {
  Mat lut(1, 256, CV_8U);
  for (int i = 0; i < 256; ++i) lut.at<uchar>(i) = cv::saturate_cast<uchar>(std::clamp(curve01[i], 0.0, 1.0) * 255.0);
  Mat out;
  cv::LUT(rgb8, lut, out);
  return out;
}

// Applies a curve on a luminance-like channel and keeps hue: HSV V (scale RGB by
// V'/V) or Lab L.
Mat curveOnValue(const Mat& rgb8, const std::vector<double>& curve01, bool lab) {
  Mat f = toFloat(rgb8);
  if (lab) {
    Mat l;
    cv::cvtColor(f, l, cv::COLOR_RGB2Lab);
    for (int y = 0; y < l.rows; ++y) {
      cv::Vec3f* p = l.ptr<cv::Vec3f>(y);
      for (int x = 0; x < l.cols; ++x) {
        float v = std::clamp(p[x][0] / 100.f, 0.f, 1.f);
        float pos = v * 255.f;
        int i0 = std::min(254, static_cast<int>(pos));
        float fr = pos - i0;
        p[x][0] = float(100.0 * ((1 - fr) * curve01[i0] + fr * curve01[i0 + 1]));
      }
    }
    cv::cvtColor(l, f, cv::COLOR_Lab2RGB);
    return toU8(clip01(f));
  }
  for (int y = 0; y < f.rows; ++y) {
    cv::Vec3f* p = f.ptr<cv::Vec3f>(y);
    for (int x = 0; x < f.cols; ++x) {
      float v = std::max({p[x][0], p[x][1], p[x][2]});
      if (v <= 1e-4f) {
        float nv = float(curve01[0]);
        p[x] = cv::Vec3f(nv, nv, nv);
        continue;
      }
      float pos = v * 255.f;
      int i0 = std::min(254, static_cast<int>(pos));
      float fr = pos - i0;
      float nv = float((1 - fr) * curve01[i0] + fr * curve01[i0 + 1]);
      p[x] *= nv / v;
    }
  }
  return toU8(clip01(f));
}

std::vector<double> gammaCurve(double gamma) {
  std::vector<double> c(256);
  for (int i = 0; i < 256; ++i) c[i] = std::pow(i / 255.0, gamma);
  return c;
}

// Monotone cubic (Fritsch-Carlson) through the given knots, sampled at 256 points.
std::vector<double> pchipCurve(const std::vector<double>& xs, const std::vector<double>& ys) {
  size_t n = xs.size();
  std::vector<double> h(n - 1), delta(n - 1), m(n);
  for (size_t i = 0; i + 1 < n; ++i) {
    h[i] = xs[i + 1] - xs[i];
    delta[i] = (ys[i + 1] - ys[i]) / h[i];
  }
  m[0] = delta[0];
  m[n - 1] = delta[n - 2];
  for (size_t i = 1; i + 1 < n; ++i)
    m[i] = (delta[i - 1] * delta[i] <= 0) ? 0 : 2.0 / (1.0 / delta[i - 1] + 1.0 / delta[i]);
  std::vector<double> c(256);
  for (int k = 0; k < 256; ++k) {
    double x = k / 255.0;
    size_t i = 0;
    while (i + 2 < n && x > xs[i + 1]) ++i;
    double t = (x - xs[i]) / h[i];
    double t2 = t * t, t3 = t2 * t;
    c[k] = (2 * t3 - 3 * t2 + 1) * ys[i] + (t3 - 2 * t2 + t) * h[i] * m[i] + (-2 * t3 + 3 * t2) * ys[i + 1] +
           (t3 - t2) * h[i] * m[i + 1];
  }
  return c;
}

// ---------------------------------------------------------------- colour quantisation

Palette kmeansPalette(const Mat& f, int k, cv::RNG& rng) {
  const int n = static_cast<int>(f.total());
  const int samples = std::min(n, 2048);
  std::vector<cv::Vec3f> pts(samples);
  const cv::Vec3f* data = f.ptr<cv::Vec3f>(0);  // continuous (freshly converted)
  for (int i = 0; i < samples; ++i) pts[i] = data[rng.uniform(0, n)];
  k = std::max(1, std::min(k, samples));
  Palette pal;
  // Farthest-point-ish init (k-means++ with our RNG).
  pal.colors.push_back(pts[rng.uniform(0, samples)]);
  std::vector<float> dist(samples, 1e9f);
  while (static_cast<int>(pal.colors.size()) < k) {
    const cv::Vec3f& last = pal.colors.back();
    double total = 0;
    for (int i = 0; i < samples; ++i) {
      cv::Vec3f d = pts[i] - last;
      dist[i] = std::min(dist[i], d.dot(d));
      total += dist[i];
    }
    double r = rng.uniform(0.0, 1.0) * total;
    int pick = samples - 1;
    for (int i = 0; i < samples; ++i) {
      r -= dist[i];
      if (r <= 0) {
        pick = i;
        break;
      }
    }
    pal.colors.push_back(pts[pick]);
  }
  std::vector<int> assign(samples);
  for (int iter = 0; iter < 6; ++iter) {
    std::vector<cv::Vec3f> sum(k, cv::Vec3f(0, 0, 0));
    std::vector<int> cnt(k, 0);
    for (int i = 0; i < samples; ++i) {
      int best = 0;
      float bd = 1e9f;
      for (int c = 0; c < k; ++c) {
        cv::Vec3f d = pts[i] - pal.colors[c];
        float dd = d.dot(d);
        if (dd < bd) {
          bd = dd;
          best = c;
        }
      }
      sum[best] += pts[i];
      cnt[best]++;
    }
    for (int c = 0; c < k; ++c)
      if (cnt[c]) pal.colors[c] = sum[c] * (1.f / cnt[c]);
  }
  return pal;
}

Mat mapToPalette(const Mat& f, const Palette& pal, double ditherAmp) {
  static const float bayer[4][4] = {{0, 8, 2, 10}, {12, 4, 14, 6}, {3, 11, 1, 9}, {15, 7, 13, 5}};
  Mat out(f.size(), CV_32FC3);
  const int k = static_cast<int>(pal.colors.size());
  for (int y = 0; y < f.rows; ++y) {
    const cv::Vec3f* s = f.ptr<cv::Vec3f>(y);
    cv::Vec3f* d = out.ptr<cv::Vec3f>(y);
    for (int x = 0; x < f.cols; ++x) {
      cv::Vec3f v = s[x];
      if (ditherAmp > 0) {
        float t = float(ditherAmp * ((bayer[y & 3][x & 3] + 0.5) / 16.0 - 0.5));
        v += cv::Vec3f(t, t, t);
      }
      int best = 0;
      float bd = 1e9f;
      for (int c = 0; c < k; ++c) {
        cv::Vec3f dd = v - pal.colors[c];
        float q = dd.dot(dd);
        if (q < bd) {
          bd = q;
          best = c;
        }
      }
      d[x] = pal.colors[best];
    }
  }
  return out;
}

}  // namespace dqa::data::ops
