#include "signal/content_coding.hpp"

#include <optional>

namespace tokencast::rendezvous {

namespace {

bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ); true when above 0.
std::optional<bool> parse_qvalue_positive(std::string_view q) {
  if (q.empty() || q.size() > 5 || (q[0] != '0' && q[0] != '1')) return std::nullopt;
  if (q.size() > 1 && q[1] != '.') return std::nullopt;
  bool positive = q[0] == '1';
  for (size_t i = 2; i < q.size(); ++i) {
    if (q[i] < '0' || q[i] > '9') return std::nullopt;
    if (q[0] == '1' && q[i] != '0') return std::nullopt;
    if (q[i] != '0') positive = true;
  }
  return positive;
}

// One list element: coding [ OWS ";" OWS "q=" qvalue ]. nullopt when malformed.
struct Element {
  std::string_view coding;
  bool positive = true;
};
std::optional<Element> parse_element(std::string_view element) {
  Element out;
  size_t semi = element.find(';');
  out.coding = trim_ows(element.substr(0, semi));
  if (out.coding.empty()) return std::nullopt;
  for (char c : out.coding) {
    if (!is_tchar(c)) return std::nullopt;
  }
  if (semi == std::string_view::npos) return out;
  std::string_view weight = trim_ows(element.substr(semi + 1));
  if (weight.size() < 2 || (weight[0] != 'q' && weight[0] != 'Q') || weight[1] != '=') {
    return std::nullopt;
  }
  auto positive = parse_qvalue_positive(weight.substr(2));
  if (!positive) return std::nullopt;
  out.positive = *positive;
  return out;
}

// What the list says about one coding: unlisted, refused (q=0) or allowed. A refusal anywhere
// wins over an allowance elsewhere (a list that says both is read the cautious way).
enum class Listed { kNo, kRefused, kAllowed };
void note(Listed& state, bool positive) {
  if (!positive) {
    state = Listed::kRefused;
  } else if (state == Listed::kNo) {
    state = Listed::kAllowed;
  }
}

}  // namespace

std::string_view coding_token(ContentCoding coding) {
  switch (coding) {
    case ContentCoding::kBrotli:
      return "br";
    case ContentCoding::kGzip:
      return "gzip";
    case ContentCoding::kIdentity:
      break;
  }
  return "";
}

AcceptedCodings parse_accept_encoding(std::string_view header) {
  if (header.size() > kMaxAcceptEncoding) return {};
  Listed brotli = Listed::kNo, gzip = Listed::kNo, any = Listed::kNo;
  while (true) {
    size_t comma = header.find(',');
    std::string_view element = trim_ows(header.substr(0, comma));
    if (!element.empty()) {  // the list grammar allows empty elements
      auto parsed = parse_element(element);
      if (!parsed) return {};
      if (iequals(parsed->coding, "br")) {
        note(brotli, parsed->positive);
      } else if (iequals(parsed->coding, "gzip") || iequals(parsed->coding, "x-gzip")) {
        note(gzip, parsed->positive);
      } else if (parsed->coding == "*") {
        note(any, parsed->positive);
      }
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  auto allowed = [&](Listed state) {
    return state == Listed::kAllowed || (state == Listed::kNo && any == Listed::kAllowed);
  };
  return AcceptedCodings{allowed(brotli), allowed(gzip)};
}

ContentCoding choose_coding(AcceptedCodings accepted, bool have_brotli, bool have_gzip) {
  if (accepted.brotli && have_brotli) return ContentCoding::kBrotli;
  if (accepted.gzip && have_gzip) return ContentCoding::kGzip;
  return ContentCoding::kIdentity;
}

bool if_none_match_matches(std::string_view header, std::string_view etag) {
  header = trim_ows(header);
  if (header == "*") return true;
  bool match = false;
  while (true) {
    size_t comma = header.find(',');
    std::string_view tag = trim_ows(header.substr(0, comma));
    if (!tag.empty()) {
      if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
      // entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc excludes DQUOTE (and so commas
      // cannot occur inside the tags we issue).
      if (tag.size() < 2 || tag.front() != '"' || tag.back() != '"' ||
          tag.substr(1, tag.size() - 2).find('"') != std::string_view::npos) {
        return false;
      }
      if (tag == etag) match = true;
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return match;
}

}  // namespace tokencast::rendezvous
