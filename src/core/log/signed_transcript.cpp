#include "tokencast/core/signed_transcript.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "crypto/primitives.hpp"
#include "tokencast/core/base64url.hpp"
#include "tokencast/core/big_endian.hpp"
#include "tokencast/core/text.hpp"

namespace tokencast {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kFormat = "tokencast-signed-transcript/1";
constexpr std::string_view kLabel = "tokencast/v1/transcript";
// Status byte of the signed body: the turn ends, then 3 for a turn still streaming.
constexpr uint8_t kStreaming = 3;
// The file's JSON is an object of arrays of objects: deeper nesting is not a transcript, and
// refusing it before parsing keeps a hostile file from costing more than its size.
constexpr int kMaxDepth = 3;

class SignedTranscriptCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.signed_transcript"; }
  std::string message(int ev) const override {
    switch (static_cast<SignedTranscriptError>(ev)) {
      case SignedTranscriptError::kTooLarge:
        return "the file is larger than a signed transcript may be";
      case SignedTranscriptError::kNotJson:
        return "the file is not JSON";
      case SignedTranscriptError::kNotTranscript:
        return "the file is not a tokencast signed transcript (version 1)";
      case SignedTranscriptError::kBadSignature:
        return "the signature does not match the transcript: it was altered, or never signed "
               "by this host key";
    }
    return "signed transcript: unknown error";
  }
};

void put_bytes(std::vector<uint8_t>& out, std::string_view bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void put_u64(std::vector<uint8_t>& out, uint64_t value) {
  uint8_t bytes[8];
  big_endian::store_u64(bytes, value);
  out.insert(out.end(), bytes, bytes + 8);
}

void put_u32(std::vector<uint8_t>& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

// A length-prefixed string; titles, names and reasons are bounded far below 2^32 by the file
// size limit, a text by nothing smaller than the u64 prefix.
void put_short_string(std::vector<uint8_t>& out, std::string_view text) {
  put_u32(out, static_cast<uint32_t>(text.size()));
  put_bytes(out, text);
}

void put_long_string(std::vector<uint8_t>& out, std::string_view text) {
  put_u64(out, text.size());
  put_bytes(out, text);
}

uint8_t status_byte(const TranscriptTurn& turn) {
  return turn.ended ? static_cast<uint8_t>(turn.end) : kStreaming;
}

// Strings go in as they are: a SignedTranscript holds valid UTF-8 (see the header), made so
// once by sign_transcript() or checked by the JSON parser.
void put_turn(std::vector<uint8_t>& out, const TranscriptTurn& turn) {
  put_u64(out, turn.turn);
  out.push_back(static_cast<uint8_t>(turn.role));
  out.push_back(status_byte(turn));
  put_u64(out, static_cast<uint64_t>(turn.started_at_ms));
  put_u64(out, static_cast<uint64_t>(turn.ended_at_ms));
  put_u64(out, turn.token_count);
  put_short_string(out, turn.author);
  put_short_string(out, turn.reason);
  put_long_string(out, turn.text);
}

int max_nesting(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > kMaxDepth) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// Strict field access: each returns nullopt when the field is missing or of another type.
std::optional<std::string> string_field(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<uint64_t> unsigned_field(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<uint64_t>();
}

std::optional<int64_t> signed_field(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (it->is_number_unsigned()) {
    uint64_t value = it->get<uint64_t>();
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(value);
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  return std::nullopt;
}

template <size_t N>
std::optional<std::array<uint8_t, N>> fixed_bytes_field(const Json& object, const char* key) {
  auto text = string_field(object, key);
  if (!text) return std::nullopt;
  auto bytes = base64url_decode(*text);
  if (!bytes || bytes->size() != N) return std::nullopt;
  std::array<uint8_t, N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

bool has_only_keys(const Json& object, std::initializer_list<std::string_view> keys) {
  if (!object.is_object() || object.size() != keys.size()) return false;
  for (auto key : keys) {
    if (!object.contains(key)) return false;
  }
  return true;
}

std::optional<TurnRole> parse_role(std::string_view name) {
  for (auto role : {TurnRole::kUser, TurnRole::kAssistant, TurnRole::kSystem}) {
    if (name == turn_role_name(role)) return role;
  }
  return std::nullopt;
}

// Sets ended/end from a status name; false for an unknown name.
bool parse_status(std::string_view name, TranscriptTurn& turn) {
  if (name == "streaming") {
    turn.ended = false;
    return true;
  }
  for (auto end : {TurnEnd::kDone, TurnEnd::kCancelled, TurnEnd::kError}) {
    if (name == turn_end_name(end)) {
      turn.ended = true;
      turn.end = end;
      return true;
    }
  }
  return false;
}

std::optional<TranscriptTurn> parse_turn(const Json& object) {
  if (!has_only_keys(object, {"turn", "role", "author", "status", "reason", "tokens",
                              "started_at_ms", "ended_at_ms", "text"})) {
    return std::nullopt;
  }
  TranscriptTurn turn;
  auto id = unsigned_field(object, "turn");
  auto role = string_field(object, "role");
  auto author = string_field(object, "author");
  auto status = string_field(object, "status");
  auto reason = string_field(object, "reason");
  auto tokens = unsigned_field(object, "tokens");
  auto started = signed_field(object, "started_at_ms");
  auto ended = signed_field(object, "ended_at_ms");
  auto text = string_field(object, "text");
  if (!id || !role || !author || !status || !reason || !tokens || !started || !ended || !text) {
    return std::nullopt;
  }
  auto parsed_role = parse_role(*role);
  if (!parsed_role || !parse_status(*status, turn)) return std::nullopt;
  turn.turn = *id;
  turn.role = *parsed_role;
  turn.author = std::move(*author);
  turn.reason = std::move(*reason);
  turn.token_count = *tokens;
  turn.started_at_ms = *started;
  turn.ended_at_ms = *ended;
  turn.text = std::move(*text);
  return turn;
}

Expected<SignedTranscript, std::error_code> parse_document(const Json& doc) {
  const auto not_transcript = unexpected(make_error_code(SignedTranscriptError::kNotTranscript));
  if (!has_only_keys(doc, {"format", "session_id", "host_public_key", "title", "model", "turns",
                           "signature"})) {
    return not_transcript;
  }
  auto format = string_field(doc, "format");
  auto session_hex = string_field(doc, "session_id");
  auto key = fixed_bytes_field<kEd25519PublicKeySize>(doc, "host_public_key");
  auto title = string_field(doc, "title");
  auto model = string_field(doc, "model");
  auto signature = fixed_bytes_field<kEd25519SignatureSize>(doc, "signature");
  const auto& turns = doc["turns"];
  if (!format || *format != kFormat || !session_hex || !key || !title || !model || !signature ||
      !turns.is_array()) {
    return not_transcript;
  }
  auto session_id = SessionId::from_hex(*session_hex);
  if (!session_id) return not_transcript;
  if (turns.size() > kMaxSignedTranscriptTurns) {
    return unexpected(make_error_code(SignedTranscriptError::kTooLarge));
  }
  SignedTranscript out;
  out.session_id = *session_id;
  out.host_public_key = *key;
  out.title = std::move(*title);
  out.model = std::move(*model);
  out.signature = *signature;
  out.turns.reserve(turns.size());
  for (const auto& item : turns) {
    auto turn = parse_turn(item);
    if (!turn) return not_transcript;
    out.turns.push_back(std::move(*turn));
  }
  return out;
}

}  // namespace

const std::error_category& signed_transcript_category() {
  static const SignedTranscriptCategory category;
  return category;
}

std::error_code make_error_code(SignedTranscriptError e) {
  return {static_cast<int>(e), signed_transcript_category()};
}

std::vector<uint8_t> signed_transcript_message(const SignedTranscript& signed_transcript) {
  std::vector<uint8_t> body;
  put_bytes(body, std::string_view(
                      reinterpret_cast<const char*>(signed_transcript.session_id.bytes.data()),
                      signed_transcript.session_id.bytes.size()));
  body.insert(body.end(), signed_transcript.host_public_key.begin(),
              signed_transcript.host_public_key.end());
  put_short_string(body, signed_transcript.title);
  put_short_string(body, signed_transcript.model);
  put_u64(body, signed_transcript.turns.size());
  for (const auto& turn : signed_transcript.turns) put_turn(body, turn);

  std::vector<uint8_t> message;
  put_bytes(message, kLabel);
  message.push_back(0x00);
  auto digest = crypto::sha256(body);
  message.insert(message.end(), digest.begin(), digest.end());
  return message;
}

SignedTranscript transcript_to_sign(const SessionId& session_id, const Transcript& transcript,
                                    const Ed25519PublicKey& host_public_key) {
  SignedTranscript out;
  out.session_id = session_id;
  out.host_public_key = host_public_key;
  out.title = to_valid_utf8(transcript.meta().title);
  out.model = to_valid_utf8(transcript.meta().model);
  out.turns = transcript.turns();
  for (auto& turn : out.turns) {
    turn.author = to_valid_utf8(turn.author);
    turn.reason = to_valid_utf8(turn.reason);
    turn.text = to_valid_utf8(turn.text);
  }
  return out;
}

SignedTranscript sign_transcript(const SessionId& session_id, const Transcript& transcript,
                                 const SigningKey& host_key) {
  SignedTranscript out = transcript_to_sign(session_id, transcript, host_key.public_key());
  out.signature = host_key.sign(signed_transcript_message(out));
  return out;
}

TranscriptSigner::TranscriptSigner(const SessionId& session_id, SigningKey host_key)
    : session_id_(session_id), host_key_(std::move(host_key)) {}

void TranscriptSigner::add_ended_turn(const TranscriptTurn& turn) {
  TranscriptTurn valid = turn;
  valid.author = to_valid_utf8(turn.author);
  valid.reason = to_valid_utf8(turn.reason);
  valid.text = to_valid_utf8(turn.text);
  put_turn(body_, valid);
  ++turns_;
}

Ed25519Signature TranscriptSigner::sign(std::string_view title, std::string_view model) const {
  std::vector<uint8_t> header;
  put_bytes(header, std::string_view(reinterpret_cast<const char*>(session_id_.bytes.data()),
                                     session_id_.bytes.size()));
  const auto& key = host_key_.public_key();
  header.insert(header.end(), key.begin(), key.end());
  put_short_string(header, to_valid_utf8(title));
  put_short_string(header, to_valid_utf8(model));
  put_u64(header, turns_);
  std::vector<uint8_t> message;
  put_bytes(message, kLabel);
  message.push_back(0x00);
  auto digest = crypto::sha256(header, body_);
  message.insert(message.end(), digest.begin(), digest.end());
  return host_key_.sign(message);
}

bool verify_signed_transcript(const SignedTranscript& signed_transcript) {
  return ed25519_verify(signed_transcript.host_public_key,
                        signed_transcript_message(signed_transcript), signed_transcript.signature);
}

std::string encode_signed_transcript(const SignedTranscript& t) {
  std::string out = "{\"format\":\"" + std::string(kFormat) + "\",\"session_id\":\"" +
                    t.session_id.hex() + "\",\"host_public_key\":\"" +
                    base64url_encode(t.host_public_key) + "\",\"title\":" + json_quote(t.title) +
                    ",\"model\":" + json_quote(t.model) + ",\"turns\":[";
  bool first = true;
  for (const auto& turn : t.turns) {
    out += first ? "\n" : ",\n";
    first = false;
    out += "{\"turn\":" + std::to_string(turn.turn) + ",\"role\":\"" + turn_role_name(turn.role) +
           "\",\"author\":" + json_quote(turn.author) + ",\"status\":\"" +
           (turn.ended ? turn_end_name(turn.end) : "streaming") +
           "\",\"reason\":" + json_quote(turn.reason) +
           ",\"tokens\":" + std::to_string(turn.token_count) +
           ",\"started_at_ms\":" + std::to_string(turn.started_at_ms) +
           ",\"ended_at_ms\":" + std::to_string(turn.ended_at_ms) +
           ",\"text\":" + json_quote(turn.text) + "}";
  }
  out += "],\n\"signature\":\"" + base64url_encode(t.signature) + "\"}\n";
  return out;
}

Expected<SignedTranscript, std::error_code> parse_signed_transcript(std::string_view file) {
  if (file.size() > kMaxSignedTranscriptBytes) {
    return unexpected(make_error_code(SignedTranscriptError::kTooLarge));
  }
  if (max_nesting(file) > kMaxDepth) {
    return unexpected(make_error_code(SignedTranscriptError::kNotTranscript));
  }
  // A key given twice would let two readers see different values (nlohmann keeps the last):
  // such a file is refused rather than read one way.
  std::vector<std::set<std::string>> keys_by_depth;
  bool duplicate_key = false;
  Json::parser_callback_t track_keys = [&](int, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      keys_by_depth.emplace_back();
    } else if (event == Json::parse_event_t::object_end && !keys_by_depth.empty()) {
      keys_by_depth.pop_back();
    } else if (event == Json::parse_event_t::key && !keys_by_depth.empty()) {
      if (!keys_by_depth.back().insert(parsed.get<std::string>()).second) duplicate_key = true;
    }
    return true;
  };
  Json doc = Json::parse(file.begin(), file.end(), track_keys, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return unexpected(make_error_code(SignedTranscriptError::kNotJson));
  if (duplicate_key) return unexpected(make_error_code(SignedTranscriptError::kNotTranscript));
  auto parsed = parse_document(doc);
  if (!parsed) return parsed;
  if (!verify_signed_transcript(*parsed)) {
    return unexpected(make_error_code(SignedTranscriptError::kBadSignature));
  }
  return parsed;
}

}  // namespace tokencast
