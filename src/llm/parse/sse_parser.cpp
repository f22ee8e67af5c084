#include "parse/sse_parser.hpp"

#include <limits>

#include "tokencast/llm/sse.hpp"

namespace tokencast {
namespace sse {

Field split_field(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return {line, {}};
  std::string_view value = line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return {line.substr(0, colon), value};
}

bool all_ascii_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace sse

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

class SseCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.sse"; }
  std::string message(int code) const override {
    switch (static_cast<SseError>(code)) {
      case SseError::kLineTooLong:
        return "event stream line too long";
      case SseError::kEventTooLarge:
        return "event stream event too large";
      case SseError::kTruncated:
        return "event stream ended inside an event";
    }
    return "unknown event stream error";
  }
};

uint64_t parse_retry(std::string_view digits) {
  uint64_t value = 0;
  for (char c : digits) {
    auto digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return std::numeric_limits<uint64_t>::max();
    }
    value = value * 10 + digit;
  }
  return value;
}

}  // namespace

const std::error_category& sse_category() {
  static const SseCategory category;
  return category;
}

std::error_code make_error_code(SseError e) { return {static_cast<int>(e), sse_category()}; }

SseParser::SseParser(SseOptions options) : limits_(options) {}

Expected<void, std::error_code> SseParser::feed(std::string_view bytes,
                                                std::vector<SseEvent>& out) {
  if (failed_) return unexpected(failed_);
  if (!bom_checked_) {
    // The BOM may arrive split over several chunks: hold its prefix until it is decided.
    while (!bytes.empty() && bom_seen_.size() < kBom.size() &&
           bytes.front() == kBom[bom_seen_.size()]) {
      bom_seen_ += bytes.front();
      bytes.remove_prefix(1);
    }
    if (bom_seen_.size() == kBom.size()) {
      consumed_ += kBom.size();
      bom_seen_.clear();
      bom_checked_ = true;
    } else if (bytes.empty()) {
      return {};  // nothing yet, or a prefix of the BOM: undecided
    } else {
      bom_checked_ = true;  // not a BOM: what was held is content
      std::string held;
      held.swap(bom_seen_);
      if (auto ec = take_bytes(held, out)) {
        failed_ = ec;
        return unexpected(ec);
      }
    }
  }
  if (auto ec = take_bytes(bytes, out)) {
    failed_ = ec;
    return unexpected(ec);
  }
  return {};
}

Expected<void, std::error_code> SseParser::finish(std::vector<SseEvent>& out,
                                                  bool dispatch_pending) {
  if (failed_) return unexpected(failed_);
  bool pending = !line_.empty() || !bom_seen_.empty() || event_pending_;
  if (dispatch_pending && pending) {
    if (!bom_seen_.empty()) {
      // A partial BOM is content.
      line_ += bom_seen_;
      bom_seen_.clear();
    }
    std::string line;
    line.swap(line_);
    std::error_code ec;
    if (!line.empty()) ec = process_line(line, out);
    if (!ec) dispatch(out);
    if (ec) {
      failed_ = ec;
      return unexpected(ec);
    }
  }
  failed_ = make_error_code(SseError::kTruncated);
  if (pending) return unexpected(failed_);
  return {};
}

std::error_code SseParser::take_bytes(std::string_view bytes, std::vector<SseEvent>& out) {
  if (after_cr_ && !bytes.empty()) {
    after_cr_ = false;
    if (bytes.front() == '\n') {  // the LF of a CRLF split between two chunks
      bytes.remove_prefix(1);
      ++consumed_;
    }
  }
  while (!bytes.empty()) {
    size_t end = bytes.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      if (auto ec = append_to_line(bytes)) return ec;
      consumed_ += bytes.size();
      return {};
    }
    size_t terminator = 1;
    if (bytes[end] == '\r') {
      if (end + 1 == bytes.size()) {
        after_cr_ = true;  // a LF in the next chunk belongs to this line end
      } else if (bytes[end + 1] == '\n') {
        terminator = 2;
      }
    }
    std::string_view part = bytes.substr(0, end);
    std::error_code ec;
    if (line_.empty()) {
      if (part.size() > limits_.max_line_bytes) return make_error_code(SseError::kLineTooLong);
      ec = process_line(part, out);
    } else {
      ec = append_to_line(part);
      if (!ec) ec = process_line(line_, out);
      line_.clear();
    }
    if (ec) return ec;
    consumed_ += end + terminator;
    bytes.remove_prefix(end + terminator);
  }
  return {};
}

std::error_code SseParser::append_to_line(std::string_view part) {
  if (part.size() > limits_.max_line_bytes - line_.size()) {
    return make_error_code(SseError::kLineTooLong);
  }
  line_.append(part);
  return {};
}

std::error_code SseParser::process_line(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {
    dispatch(out);
    return {};
  }
  if (line.front() == ':') return {};  // a comment
  auto [name, value] = sse::split_field(line);
  event_pending_ = true;
  size_t size = event_size();
  auto too_large = [&](size_t added) { return added > limits_.max_event_bytes - size; };
  if (name == "data" || (name == "error" && limits_.error_field_as_event)) {
    if (name == "error") type_ = "error";
    if (size > limits_.max_event_bytes || too_large(value.size() + 1)) {
      return make_error_code(SseError::kEventTooLarge);
    }
    data_.append(value);
    data_ += '\n';
  } else if (name == "event") {
    size -= type_.size();
    if (size > limits_.max_event_bytes || too_large(value.size())) {
      return make_error_code(SseError::kEventTooLarge);
    }
    type_.assign(value);
  } else if (name == "id") {
    if (value.find('\0') == std::string_view::npos) {
      size -= id_.size();
      if (size > limits_.max_event_bytes || too_large(value.size())) {
        return make_error_code(SseError::kEventTooLarge);
      }
      id_.assign(value);
    }
  } else if (name == "retry") {
    if (sse::all_ascii_digits(value)) retry_ms_ = parse_retry(value);
  }
  return {};
}

void SseParser::dispatch(std::vector<SseEvent>& out) {
  event_pending_ = false;
  last_id_ = id_;
  if (data_.empty()) {
    type_.clear();
    return;
  }
  data_.pop_back();  // the '\n' after the last data line
  SseEvent event;
  if (!type_.empty()) event.type = std::move(type_);
  event.data = std::move(data_);
  event.id = last_id_;
  out.push_back(std::move(event));
  data_.clear();
  type_.clear();
}

}  // namespace tokencast
