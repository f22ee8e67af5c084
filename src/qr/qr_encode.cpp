#include <qrencode.h>
#include <stb_image_write.h>

#include <memory>

#include "tokencast/private_file.hpp"
#include "tokencast/qr/qr.hpp"

namespace tokencast {
namespace {

class QrCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.qr"; }
  std::string message(int code) const override {
    switch (static_cast<QrError>(code)) {
      case QrError::kTooLong:
        return "the text is too long for a QR code";
      case QrError::kEncodeFailed:
        return "the QR code could not be made";
      case QrError::kWriteFailed:
        return "the QR code image could not be written";
      case QrError::kImageUnreadable:
        return "the picture is not a readable PNG or JPEG";
      case QrError::kImageTooLarge:
        return "the picture is too large";
      case QrError::kNoQrCode:
        return "no readable QR code in the picture";
    }
    return "unknown QR error";
  }
};

constexpr int kQuietZone = 4;

}  // namespace

const std::error_category& qr_category() {
  static const QrCategory category;
  return category;
}

std::error_code make_error_code(QrError e) { return {static_cast<int>(e), qr_category()}; }

Expected<QrMatrix, std::error_code> qr_encode(std::string_view text) {
  std::string copy(text);  // libqrencode wants a NUL-terminated string
  if (copy.find('\0') != std::string::npos)
    return unexpected(make_error_code(QrError::kEncodeFailed));
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString8bit(copy.c_str(), 0, QR_ECLEVEL_M), &QRcode_free);
  if (!code) {
    return unexpected(
        make_error_code(errno == ERANGE ? QrError::kTooLong : QrError::kEncodeFailed));
  }
  QrMatrix qr;
  qr.size = code->width;
  qr.modules.resize(static_cast<size_t>(qr.size) * static_cast<size_t>(qr.size));
  for (size_t i = 0; i < qr.modules.size(); ++i) qr.modules[i] = code->data[i] & 1;
  return qr;
}

std::string qr_to_terminal(const QrMatrix& qr, bool ansi_colors) {
  // Two module rows per line: the upper half block shows the top module, the lower the bottom.
  constexpr int kMargin = 2;
  const int side = qr.size + 2 * kMargin;
  auto light = [&](int x, int y) {
    x -= kMargin;
    y -= kMargin;
    bool inside = x >= 0 && y >= 0 && x < qr.size && y < qr.size;
    return !inside || !qr.dark(x, y);
  };
  std::string out;
  for (int y = 0; y < side; y += 2) {
    if (ansi_colors) out += "\x1b[97;40m";  // white foreground on black: light = foreground
    for (int x = 0; x < side; ++x) {
      bool top = light(x, y);
      bool bottom = y + 1 < side ? light(x, y + 1) : false;
      if (top && bottom) {
        out += "\xE2\x96\x88";  // full block
      } else if (top) {
        out += "\xE2\x96\x80";  // upper half
      } else if (bottom) {
        out += "\xE2\x96\x84";  // lower half
      } else {
        out += ' ';
      }
    }
    if (ansi_colors) out += "\x1b[0m";
    out += '\n';
  }
  return out;
}

std::string qr_to_svg(const QrMatrix& qr) {
  const int side = qr.size + 2 * kQuietZone;
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
      std::to_string(side) + " " + std::to_string(side) +
      "\" shape-rendering=\"crispEdges\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"#fff\"/>\n<path fill=\"#000\" d=\"";
  for (int y = 0; y < qr.size; ++y) {
    for (int x = 0; x < qr.size; ++x) {
      if (qr.dark(x, y)) {
        out += "M" + std::to_string(x + kQuietZone) + " " + std::to_string(y + kQuietZone) +
               "h1v1h-1z";
      }
    }
  }
  out += "\"/>\n</svg>\n";
  return out;
}

Expected<void, std::error_code> qr_write_png(const QrMatrix& qr, const std::string& path,
                                             int scale) {
  if (scale < 1 || scale > 64) return unexpected(make_error_code(QrError::kWriteFailed));
  const int side = (qr.size + 2 * kQuietZone) * scale;
  std::vector<uint8_t> pixels(static_cast<size_t>(side * side), 255);
  for (int y = 0; y < qr.size; ++y) {
    for (int x = 0; x < qr.size; ++x) {
      if (!qr.dark(x, y)) continue;
      for (int dy = 0; dy < scale; ++dy) {
        int row = (y + kQuietZone) * scale + dy;
        std::fill_n(pixels.begin() + static_cast<ptrdiff_t>(row) * side +
                        static_cast<ptrdiff_t>(x + kQuietZone) * scale,
                    scale, 0);
      }
    }
  }
  // The code holds a full link: encode in memory, write owner-only (never through a symlink).
  std::string png;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                               static_cast<size_t>(size));
  };
  if (stbi_write_png_to_func(append, &png, side, side, 1, pixels.data(), side) == 0 ||
      !write_private_file(path, png)) {
    return unexpected(make_error_code(QrError::kWriteFailed));
  }
  return {};
}

}  // namespace tokencast
