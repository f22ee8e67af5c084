// Test helper: a QR code rendered to pixels, and "photographed" like a phone would: rotated,
// scaled, unevenly lit, noisy and blurred.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "tokencast/qr/qr.hpp"

namespace tokencast::testing {

struct Gray {
  int w = 0;
  int h = 0;
  std::vector<uint8_t> px;
  uint8_t at(int x, int y) const {
    if (x < 0 || y < 0 || x >= w || y >= h) return 255;
    return px[static_cast<size_t>(y * w + x)];
  }
};

inline Gray render(const QrMatrix& qr, int scale) {
  Gray g;
  g.w = g.h = (qr.size + 8) * scale;
  g.px.assign(static_cast<size_t>(g.w * g.h), 255);
  for (int y = 0; y < g.h; ++y) {
    for (int x = 0; x < g.w; ++x) {
      int mx = x / scale - 4;
      int my = y / scale - 4;
      if (mx >= 0 && my >= 0 && mx < qr.size && my < qr.size && qr.dark(mx, my)) {
        g.px[static_cast<size_t>(y * g.w + x)] = 0;
      }
    }
  }
  return g;
}

// Rotates by `degrees` and scales by `zoom` around the centre onto a larger grey canvas,
// with bilinear sampling, then adds blur, a lighting gradient and noise: a phone's photo.
inline Gray photograph(const Gray& src, double degrees, double zoom, unsigned seed) {
  Gray out;
  out.w = out.h = static_cast<int>(src.w * zoom * 1.6);
  out.px.resize(static_cast<size_t>(out.w * out.h));
  double a = degrees * M_PI / 180.0;
  double cx = out.w / 2.0;
  double cy = out.h / 2.0;
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 18.0);
  for (int y = 0; y < out.h; ++y) {
    for (int x = 0; x < out.w; ++x) {
      double dx = (x - cx) / zoom;
      double dy = (y - cy) / zoom;
      double sx = std::cos(a) * dx + std::sin(a) * dy + src.w / 2.0;
      double sy = -std::sin(a) * dx + std::cos(a) * dy + src.h / 2.0;
      int x0 = static_cast<int>(std::floor(sx));
      int y0 = static_cast<int>(std::floor(sy));
      double fx = sx - x0;
      double fy = sy - y0;
      double v = (1 - fx) * (1 - fy) * src.at(x0, y0) + fx * (1 - fy) * src.at(x0 + 1, y0) +
                 (1 - fx) * fy * src.at(x0, y0 + 1) + fx * fy * src.at(x0 + 1, y0 + 1);
      v = 40 + v * 0.7 + 30.0 * x / out.w;  // a screen is never pure black and white
      v += noise(rng);
      out.px[static_cast<size_t>(y * out.w + x)] = static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
    }
  }
  // 3x3 box blur: focus is never perfect.
  Gray blurred = out;
  for (int y = 1; y < out.h - 1; ++y) {
    for (int x = 1; x < out.w - 1; ++x) {
      int sum = 0;
      for (int j = -1; j <= 1; ++j) {
        for (int i = -1; i <= 1; ++i) sum += out.at(x + i, y + j);
      }
      blurred.px[static_cast<size_t>(y * out.w + x)] = static_cast<uint8_t>(sum / 9);
    }
  }
  return blurred;
}

}  // namespace tokencast::testing
