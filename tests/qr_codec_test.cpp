// QR codes as a phone or `tokencast join IMAGE` would see them: rendered, then rotated,
// scaled, blurred and noisy like a photo of a screen.
#include <gtest/gtest.h>
#include <stb_image_write.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "tokencast/qr.hpp"

namespace tokencast {
namespace {

const std::string kLink =
    "http://192.168.1.20:8787/j#AQGqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
    "qqqqqqqqqqqqqqqqqqqqqqqq";

struct Gray {
  int w = 0;
  int h = 0;
  std::vector<uint8_t> px;
  uint8_t at(int x, int y) const {
    if (x < 0 || y < 0 || x >= w || y >= h) return 255;
    return px[static_cast<size_t>(y * w + x)];
  }
};

Gray render(const QrMatrix& qr, int scale) {
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
Gray photograph(const Gray& src, double degrees, double zoom, unsigned seed) {
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

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/tokencast-qr-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TEST(Qr, PngRoundTrip) {
  TempDir dir;
  auto qr = qr_encode(kLink);
  ASSERT_TRUE(qr);
  ASSERT_TRUE(qr_write_png(*qr, dir.file("link.png")));
  auto text = qr_decode_file(dir.file("link.png"));
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_EQ(*text, kLink);
}

TEST(Qr, DecodesPhotoLikeVariants) {
  TempDir dir;
  auto qr = qr_encode(kLink);
  ASSERT_TRUE(qr);
  Gray clean = render(*qr, 6);
  struct Variant {
    double degrees;
    double zoom;
  };
  const Variant variants[] = {{90, 1.0}, {17, 0.8}, {-33, 1.7}, {180, 0.6}, {7, 2.3}};
  unsigned seed = 1;
  for (const auto& v : variants) {
    Gray photo = photograph(clean, v.degrees, v.zoom, seed++);
    std::string path = dir.file("photo" + std::to_string(seed) + ".jpg");
    ASSERT_NE(stbi_write_jpg(path.c_str(), photo.w, photo.h, 1, photo.px.data(), 70), 0);
    auto text = qr_decode_file(path);
    ASSERT_TRUE(text) << "rotated " << v.degrees << " zoom " << v.zoom << ": "
                      << text.error().message();
    EXPECT_EQ(*text, kLink);
  }
}

TEST(Qr, TerminalRenderingUsesHalfBlocksAndDecodes) {
  auto qr = qr_encode(kLink);
  ASSERT_TRUE(qr);
  std::string plain = qr_to_terminal(*qr, false);
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  EXPECT_NE(plain.find("\xE2\x96\x80"), std::string::npos);
  std::string colored = qr_to_terminal(*qr, true);
  EXPECT_NE(colored.find("\x1b[97;40m"), std::string::npos);
  // Read the half blocks back as pixels (light = block) and decode them like a screenshot.
  int lines = 0;
  for (char c : plain) lines += c == '\n';
  int side = qr->size + 4;
  EXPECT_EQ(lines, (side + 1) / 2);
  Gray screen;
  const int scale = 4;
  screen.w = screen.h = side * scale;
  screen.px.assign(static_cast<size_t>(screen.w * screen.h), 0);
  int row = 0;
  int col = 0;
  for (size_t i = 0; i < plain.size();) {
    bool top = false;
    bool bottom = false;
    if (plain[i] == '\n') {
      row += 2;
      col = 0;
      ++i;
      continue;
    }
    if (plain[i] == ' ') {
      ++i;
    } else {
      std::string glyph = plain.substr(i, 3);
      top = glyph == "\xE2\x96\x88" || glyph == "\xE2\x96\x80";
      bottom = glyph == "\xE2\x96\x88" || glyph == "\xE2\x96\x84";
      i += 3;
    }
    for (int dy = 0; dy < 2 * scale; ++dy) {
      bool light = dy < scale ? top : bottom;
      int y = row * scale + dy;
      if (y >= screen.h) break;
      for (int dx = 0; dx < scale; ++dx) {
        screen.px[static_cast<size_t>(y * screen.w + col * scale + dx)] = light ? 255 : 0;
      }
    }
    ++col;
  }
  auto text = qr_decode_gray(screen.px.data(), screen.w, screen.h);
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_EQ(*text, kLink);
}

TEST(Qr, SvgHasOnePathOfDarkModules) {
  auto qr = qr_encode("hello");
  ASSERT_TRUE(qr);
  std::string svg = qr_to_svg(*qr);
  EXPECT_TRUE(svg.starts_with("<?xml"));
  EXPECT_NE(svg.find("<path fill=\"#000\" d=\"M"), std::string::npos);
}

TEST(Qr, ErrorsAreSpecific) {
  TempDir dir;
  EXPECT_EQ(qr_encode(std::string(4000, 'x')).error(), QrError::kTooLong);
  EXPECT_EQ(qr_decode_file(dir.file("missing.png")).error(), QrError::kImageUnreadable);
  std::ofstream(dir.file("text.png")) << "not a picture";
  EXPECT_EQ(qr_decode_file(dir.file("text.png")).error(), QrError::kImageUnreadable);
  std::vector<uint8_t> white(100 * 100, 255);
  EXPECT_EQ(qr_decode_gray(white.data(), 100, 100).error(), QrError::kNoQrCode);
  ASSERT_NE(stbi_write_png(dir.file("white.png").c_str(), 100, 100, 1, white.data(), 100), 0);
  EXPECT_EQ(qr_decode_file(dir.file("white.png")).error(), QrError::kNoQrCode);
  // A tiny file that claims a huge canvas is refused before decoding.
  std::vector<uint8_t> wide(20000, 255);
  ASSERT_NE(stbi_write_png(dir.file("wide.png").c_str(), 20000, 1, 1, wide.data(), 20000), 0);
  EXPECT_EQ(qr_decode_file(dir.file("wide.png")).error(), QrError::kImageTooLarge);
}

}  // namespace
}  // namespace tokencast
