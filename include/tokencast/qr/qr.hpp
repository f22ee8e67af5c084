// QR codes for invite links: encode for the terminal, PNG and SVG; decode from a picture
// (a PNG or JPEG, including a photo of a screen) for `tokencast join IMAGE`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tokencast/core/expected.hpp"

namespace tokencast {

enum class QrError {
  kTooLong = 1,      // the text does not fit in a QR code
  kEncodeFailed,     // the encoder failed for another reason
  kWriteFailed,      // the output file could not be written
  kImageUnreadable,  // the file is missing, not a PNG/JPEG, or corrupt
  kImageTooLarge,    // over kMaxImageBytes or kMaxImageSide
  kNoQrCode,         // no readable QR code in the picture
};
const std::error_category& qr_category();
std::error_code make_error_code(QrError e);

// Pictures are external input: bounded before they are decoded.
inline constexpr size_t kMaxImageBytes = 32u << 20;
inline constexpr int kMaxImageSide = 12000;

// Dark (true) or light modules, row by row, without the quiet zone.
struct QrMatrix {
  int size = 0;
  std::vector<uint8_t> modules;
  bool dark(int x, int y) const { return modules[static_cast<size_t>(y * size + x)] != 0; }
};

// Byte mode, error correction level M (readable from a screen at an angle).
Expected<QrMatrix, std::error_code> qr_encode(std::string_view text);

// UTF-8 half blocks, two module rows per text line, with a 2-module quiet zone drawn light.
// `ansi_colors` sets black-on-white explicitly (a TTY); without it, light modules are drawn
// as blocks, which reads correctly on the usual light-on-dark terminal.
std::string qr_to_terminal(const QrMatrix& qr, bool ansi_colors);
std::string qr_to_svg(const QrMatrix& qr);
// A grayscale PNG with `scale` pixels per module and a 4-module quiet zone.
Expected<void, std::error_code> qr_write_png(const QrMatrix& qr, const std::string& path,
                                             int scale = 8);

// Decodes the first QR code in a PNG or JPEG file; returns its text.
Expected<std::string, std::error_code> qr_decode_file(const std::string& path);
// Decodes the first QR code in an 8-bit grayscale image, rows of `width` bytes.
Expected<std::string, std::error_code> qr_decode_gray(const uint8_t* pixels, int width, int height);

}  // namespace tokencast

template <>
struct std::is_error_code_enum<tokencast::QrError> : std::true_type {};
