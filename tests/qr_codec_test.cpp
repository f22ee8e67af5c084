// QR codes as a phone or `tokencast join IMAGE` would see them: rendered, then rotated,
// scaled, blurred and noisy like a photo of a screen.
#include <gtest/gtest.h>
#include <stb_image_write.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "support/photo.hpp"
#include "support/temp_dir.hpp"
#include "tokencast/qr/qr.hpp"

namespace tokencast {
namespace {

using testing::Gray;
using testing::photograph;
using testing::render;

const std::string kLink =
    "http://192.168.1.20:8787/j#AQGqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
    "qqqqqqqqqqqqqqqqqqqqqqqq";

using testing::TempDir;

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

TEST(Qr, PngHoldsALinkSoItIsOwnerOnlyAndNeverThroughASymlink) {
  TempDir dir;
  auto qr = qr_encode(kLink);
  ASSERT_TRUE(qr);
  mode_t old = ::umask(022);
  bool written = static_cast<bool>(qr_write_png(*qr, dir.file("link.png")));
  ::umask(old);
  ASSERT_TRUE(written);
  struct stat st {};
  ASSERT_EQ(::stat(dir.file("link.png").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ofstream(dir.file("victim")) << "untouched";
  std::filesystem::create_symlink(dir.file("victim"), dir.file("planted.png"));
  EXPECT_FALSE(qr_write_png(*qr, dir.file("planted.png")));
  std::ifstream victim(dir.file("victim"));
  std::string text((std::istreambuf_iterator<char>(victim)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "untouched");
}

}  // namespace
}  // namespace tokencast
