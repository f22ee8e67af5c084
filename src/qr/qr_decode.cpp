#define ZX_USE_UTF8 1
#include <ReadBarcode.h>
#include <stb_image.h>
#include <sys/stat.h>

#include <memory>
#include <optional>
#include <vector>

#include "tokencast/qr/qr.hpp"

namespace tokencast {

namespace {

std::optional<std::string> read_once(const uint8_t* pixels, int width, int height,
                                     ZXing::Binarizer binarizer) {
  ZXing::DecodeHints hints;
  hints.setFormats(ZXing::BarcodeFormat::QRCode);
  hints.setTryHarder(true);  // photos: perspective, blur, uneven light
  hints.setTryRotate(true);
  hints.setBinarizer(binarizer);
  ZXing::ImageView view(pixels, width, height, ZXing::ImageFormat::Lum);
  auto result = ZXing::ReadBarcode(view, hints);
  if (!result.isValid()) return std::nullopt;
  const auto& bytes = result.bytes();
  return std::string(bytes.begin(), bytes.end());
}

// Halves the picture with a 2x2 box filter: large, noisy photos often read better smaller.
std::vector<uint8_t> halve(const uint8_t* pixels, int width, int height, int& out_w, int& out_h) {
  out_w = width / 2;
  out_h = height / 2;
  std::vector<uint8_t> out(static_cast<size_t>(out_w) * static_cast<size_t>(out_h));
  for (int y = 0; y < out_h; ++y) {
    for (int x = 0; x < out_w; ++x) {
      const uint8_t* p =
          pixels + (static_cast<ptrdiff_t>(2) * y * width) + (static_cast<ptrdiff_t>(2) * x);
      out[static_cast<size_t>(y) * out_w + x] =
          static_cast<uint8_t>((p[0] + p[1] + p[width] + p[width + 1] + 2) / 4);
    }
  }
  return out;
}

}  // namespace

Expected<std::string, std::error_code> qr_decode_gray(const uint8_t* pixels, int width,
                                                      int height) {
  if (width <= 0 || height <= 0) return unexpected(make_error_code(QrError::kImageUnreadable));
  if (width > kMaxImageSide || height > kMaxImageSide) {
    return unexpected(make_error_code(QrError::kImageTooLarge));
  }
  // Each binarizer fails on different photos; then try again at lower resolutions.
  std::vector<uint8_t> smaller;
  const uint8_t* current = pixels;
  int w = width;
  int h = height;
  for (int round = 0; round < 3 && w >= 21 && h >= 21; ++round) {
    for (auto binarizer : {ZXing::Binarizer::LocalAverage, ZXing::Binarizer::GlobalHistogram}) {
      if (auto text = read_once(current, w, h, binarizer)) return *text;
    }
    int next_w = 0;
    int next_h = 0;
    smaller = halve(current, w, h, next_w, next_h);
    current = smaller.data();
    w = next_w;
    h = next_h;
  }
  return unexpected(make_error_code(QrError::kNoQrCode));
}

Expected<std::string, std::error_code> qr_decode_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return unexpected(make_error_code(QrError::kImageUnreadable));
  }
  if (static_cast<size_t>(st.st_size) > kMaxImageBytes) {
    return unexpected(make_error_code(QrError::kImageTooLarge));
  }
  // Check the dimensions before decoding, so a small file cannot claim a huge canvas.
  int width = 0;
  int height = 0;
  int channels = 0;
  if (stbi_info(path.c_str(), &width, &height, &channels) == 0) {
    return unexpected(make_error_code(QrError::kImageUnreadable));
  }
  if (width > kMaxImageSide || height > kMaxImageSide) {
    return unexpected(make_error_code(QrError::kImageTooLarge));
  }
  std::unique_ptr<stbi_uc, decltype(&stbi_image_free)> pixels(
      stbi_load(path.c_str(), &width, &height, &channels, 1), &stbi_image_free);
  if (!pixels) return unexpected(make_error_code(QrError::kImageUnreadable));
  return qr_decode_gray(pixels.get(), width, height);
}

}  // namespace tokencast
