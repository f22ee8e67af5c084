// base64url and invite links: round trips, every malformed class with its error, the
// rendezvous URL helper, and tests/vectors/links.json (also run by the TypeScript client).
// Regenerate the file with
//   TOKENCAST_WRITE_VECTORS=1 build-*/tests/core_invite_test --gtest_filter='LinkVectors.*'
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/hex.hpp"
#include "support/vector_file.hpp"
#include "tokencast/core/base64url.hpp"
#include "tokencast/core/invite.hpp"
#include "tokencast/core/key_schedule.hpp"
#include "tokencast/core/signing.hpp"

namespace {

using namespace tokencast;
using Bytes = std::vector<uint8_t>;
using Json = nlohmann::ordered_json;
using tokencast::testing::hex;

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

template <size_t N>
std::array<uint8_t, N> seq(uint8_t start) {
  std::array<uint8_t, N> a{};
  for (size_t i = 0; i < N; ++i) a[i] = static_cast<uint8_t>(start + i);
  return a;
}

// --------------------------------------------------------------------------------------------
// base64url

TEST(Base64Url, Rfc4648Strings) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, enc] : cases) {
    EXPECT_EQ(base64url_encode(bytes_of(plain)), enc);
    auto dec = base64url_decode(enc);
    ASSERT_TRUE(dec.has_value()) << enc;
    EXPECT_EQ(*dec, bytes_of(plain));
  }
}

TEST(Base64Url, UrlAlphabet) {
  EXPECT_EQ(base64url_encode(Bytes{0xfb, 0xff, 0xbf}), "-_-_");
  EXPECT_EQ(*base64url_decode("-_-_"), (Bytes{0xfb, 0xff, 0xbf}));
}

TEST(Base64Url, RejectsEverythingNonCanonical) {
  const std::pair<const char*, Base64UrlError> cases[] = {
      {"Zg==", Base64UrlError::kInvalidCharacter},    // padding
      {"Zm9v+A", Base64UrlError::kInvalidCharacter},  // standard alphabet
      {"Zm9v/A", Base64UrlError::kInvalidCharacter},
      {" Zg", Base64UrlError::kInvalidCharacter},  // whitespace
      {"Zg\n", Base64UrlError::kInvalidCharacter},
      {"Zm 9v", Base64UrlError::kInvalidCharacter},
      {"Z", Base64UrlError::kInvalidLength},
      {"Zm9vY", Base64UrlError::kInvalidLength},
      {"Zh", Base64UrlError::kNonCanonical},  // 'h' leaves bits set
      {"Zm9", Base64UrlError::kNonCanonical},
  };
  for (const auto& [text, err] : cases) {
    auto r = base64url_decode(text);
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_EQ(r.error(), err) << text;
  }
  EXPECT_FALSE(base64url_decode(std::string("Zg\0", 3)).has_value());
}

TEST(Base64Url, RandomRoundTripsAndUniqueness) {
  std::mt19937 rng(7);
  for (size_t n = 0; n < 200; ++n) {
    Bytes b(n);
    for (auto& v : b) v = static_cast<uint8_t>(rng());
    const std::string e = base64url_encode(b);
    EXPECT_EQ(e.size(), (n * 4 + 2) / 3);
    auto d = base64url_decode(e);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, b);
    // Changing the last character to any other one either fails or decodes to other bytes:
    // one spelling per byte string.
    if (!e.empty()) {
      for (char c : std::string("AQgh-_09")) {
        if (c == e.back()) continue;
        std::string other = e;
        other.back() = c;
        auto od = base64url_decode(other);
        if (od) EXPECT_NE(*od, b);
      }
    }
  }
}

TEST(Base64Url, ErrorCategory) {
  const std::error_code ec = Base64UrlError::kNonCanonical;
  EXPECT_EQ(ec.category().name(), std::string("tokencast.base64url"));
  EXPECT_EQ(base64url_error_name(Base64UrlError::kInvalidLength), "invalid_length");
}

// --------------------------------------------------------------------------------------------
// Invite links

struct LinkInputs {
  Ed25519PublicKey host_key = SigningKey::from_seed(seq<32>(0x40)).public_key();
  RoomSecret viewer{seq<32>(0x00)};
  RoomSecret participant{seq<32>(0x20)};
};

std::string payload_for(uint8_t version, uint8_t role, const RoomSecret& s,
                        const Ed25519PublicKey& pk) {
  Bytes p{version, role};
  p.insert(p.end(), s.bytes().begin(), s.bytes().end());
  p.insert(p.end(), pk.begin(), pk.end());
  return base64url_encode(p);
}

TEST(InviteLink, RoundTrip) {
  const LinkInputs in;
  for (LinkRole role : {LinkRole::kViewer, LinkRole::kParticipant}) {
    const RoomSecret& s = role == LinkRole::kViewer ? in.viewer : in.participant;
    auto link = format_invite_link("https://rv.example.net:8443/", role, s, in.host_key);
    ASSERT_TRUE(link.has_value());
    EXPECT_EQ(link->substr(0, 31), "https://rv.example.net:8443/j#A");
    EXPECT_EQ(link->size(), std::string("https://rv.example.net:8443/j#").size() + 88);
    auto parsed = parse_invite_link(*link);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->base_url, "https://rv.example.net:8443");
    EXPECT_EQ(parsed->role, role);
    EXPECT_TRUE(parsed->secret == s);
    EXPECT_EQ(parsed->host_key, in.host_key);
    EXPECT_EQ(invite_room_locator(*parsed), derive_room_locator(s, role, in.host_key));
  }
}

TEST(InviteLink, GeneratedSecretsRoundTrip) {
  const auto pk = SigningKey::generate(system_random()).public_key();
  for (int i = 0; i < 50; ++i) {
    const RoomSecret s = generate_room_secret(system_random());
    auto link = format_invite_link("http://10.0.0.2:8080", LinkRole::kParticipant, s, pk);
    ASSERT_TRUE(link.has_value());
    auto parsed = parse_invite_link(*link);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_TRUE(parsed->secret == s);
  }
}

TEST(InviteLink, NormalizesSchemeAndHostCase) {
  const LinkInputs in;
  const std::string payload = payload_for(1, 0, in.viewer, in.host_key);
  auto parsed = parse_invite_link("HTTPS://RV.Example.NET/Base/j#" + payload);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->base_url, "https://rv.example.net/Base");  // the path keeps its case
}

TEST(InviteLink, FlippedRoleByteLeadsElsewhere) {
  // A viewer who edits the role byte gets a well-formed link whose room does not exist:
  // the role is an input of the key schedule and the participant room has another secret.
  const LinkInputs in;
  auto flipped = parse_invite_link("https://h/j#" + payload_for(1, 1, in.viewer, in.host_key));
  ASSERT_TRUE(flipped.has_value());
  EXPECT_NE(invite_room_locator(*flipped),
            derive_room_locator(in.viewer, LinkRole::kViewer, in.host_key));
  EXPECT_NE(invite_room_locator(*flipped),
            derive_room_locator(in.participant, LinkRole::kParticipant, in.host_key));
}

TEST(InviteLink, WebSocketUrl) {
  EXPECT_EQ(*rendezvous_websocket_url("https://rv.example.net:8443"),
            "wss://rv.example.net:8443/ws");
  EXPECT_EQ(*rendezvous_websocket_url("http://192.168.1.20:8080/"), "ws://192.168.1.20:8080/ws");
  EXPECT_EQ(*rendezvous_websocket_url("http://h/prefix"), "ws://h/prefix/ws");
  EXPECT_EQ(*rendezvous_websocket_url("HTTP://[::1]:9"), "ws://[::1]:9/ws");
  EXPECT_EQ(rendezvous_websocket_url("ftp://h").error(), InviteError::kBadScheme);
}

TEST(InviteLink, AlternatesFormatAndOrder) {
  const LinkInputs in;
  const RoomSecret& secret = in.viewer;
  const Ed25519PublicKey& key = in.host_key;
  auto link = format_invite_link("https://A.example/", LinkRole::kViewer, secret, key,
                                 {"https://B.example/", "https://c.example:8443"});
  ASSERT_TRUE(link.has_value());
  EXPECT_TRUE(
      link->starts_with("https://a.example/j?r=https://b.example&r=https://c.example:8443#"))
      << redact_invite_link(*link);
  auto parsed = parse_invite_link(*link);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(invite_rendezvous_bases(*parsed),
            (std::vector<std::string>{"https://a.example", "https://b.example",
                                      "https://c.example:8443"}));
  // An alternate per item costs its length plus 3 characters ("?r=" or "&r=").
  auto bare = format_invite_link("https://a.example", LinkRole::kViewer, secret, key);
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(link->size(), bare->size() + (3 + 17) + (3 + 22));

  const auto fails = [&](std::vector<std::string> alts) {
    auto l = format_invite_link("https://a.example", LinkRole::kViewer, secret, key, alts);
    return l ? std::string("ok") : std::string(invite_error_name(l.error()));
  };
  EXPECT_EQ(fails({"http://b.example"}), "bad_alternate");
  EXPECT_EQ(fails({"https://b.example/x&y"}), "bad_alternate");
  EXPECT_EQ(fails({"https://b.example/" + std::string(190, 'x')}), "bad_alternate");
  EXPECT_EQ(fails({"https://A.example"}), "duplicate_alternate");
  EXPECT_EQ(fails({"https://b.example", "https://b.example/"}), "duplicate_alternate");
  EXPECT_EQ(fails({"https://b.e", "https://c.e", "https://d.e", "https://f.e", "https://g.e"}),
            "too_many_alternates");
  EXPECT_EQ(fails({"https://b.e", "https://c.e", "https://d.e", "https://f.e"}), "ok");
}

TEST(InviteLink, Redaction) {
  EXPECT_EQ(redact_invite_link("https://h/j#AAAA"), "https://h/j#<redacted>");
  EXPECT_EQ(redact_invite_link("https://h/j"), "https://h/j");
  EXPECT_EQ(redact_invite_link("#x"), "#<redacted>");
}

TEST(InviteLink, ErrorCategoryMessagesNeverEchoInput) {
  for (int e = 1; e <= static_cast<int>(InviteError::kUnknownRole); ++e) {
    const std::error_code ec = static_cast<InviteError>(e);
    EXPECT_EQ(ec.category().name(), std::string("tokencast.invite"));
    EXPECT_FALSE(ec.message().empty());
    EXPECT_NE(invite_error_name(static_cast<InviteError>(e)), "unknown");
  }
}

// --------------------------------------------------------------------------------------------
// links.json

struct InvalidCase {
  std::string name;
  std::string link;
  InviteError error;
};

std::vector<InvalidCase> invalid_cases(const LinkInputs& in) {
  const std::string p = payload_for(1, 0, in.viewer, in.host_key);
  auto with_char = [&](size_t pos, char c) {
    std::string q = p;
    q[pos] = c;
    return q;
  };
  std::vector<InvalidCase> v = {
      {"no fragment", "https://rv.example.net/j", InviteError::kNoFragment},
      {"empty fragment", "https://rv.example.net/j#", InviteError::kNoFragment},
      {"wrong last segment", "https://rv.example.net/x#" + p, InviteError::kWrongPath},
      {"no path", "https://rv.example.net#" + p, InviteError::kWrongPath},
      {"segment ends in j", "https://rv.example.net/xj#" + p, InviteError::kWrongPath},
      {"j not last", "https://rv.example.net/j/x#" + p, InviteError::kWrongPath},
      {"root path", "https://rv.example.net/#" + p, InviteError::kBadPath},
      {"trailing slash after j", "https://rv.example.net/j/#" + p, InviteError::kBadPath},
      {"empty segment", "https://rv.example.net/a//j#" + p, InviteError::kBadPath},
      {"space in path", "https://rv.example.net/a b/j#" + p, InviteError::kBadPath},
      {"bad percent escape", "https://rv.example.net/%zz/j#" + p, InviteError::kBadPath},
      {"ftp scheme", "ftp://rv.example.net/j#" + p, InviteError::kBadScheme},
      {"no scheme", "rv.example.net/j#" + p, InviteError::kBadScheme},
      {"javascript scheme", "javascript://rv.example.net/j#" + p, InviteError::kBadScheme},
      {"leading space", " https://rv.example.net/j#" + p, InviteError::kBadScheme},
      {"userinfo", "https://user@rv.example.net/j#" + p, InviteError::kUserinfo},
      {"empty host", "https:///j#" + p, InviteError::kBadHost},
      {"space in host", "https://rv example/j#" + p, InviteError::kBadHost},
      {"empty label", "https://rv..example/j#" + p, InviteError::kBadHost},
      {"trailing dot", "https://rv.example./j#" + p, InviteError::kBadHost},
      {"percent in host", "https://rv%2eexample/j#" + p, InviteError::kBadHost},
      {"bad IPv6 literal", "https://[fe80::zz]/j#" + p, InviteError::kBadHost},
      {"unclosed IPv6 literal", "https://[fe80::1/j#" + p, InviteError::kBadHost},
      {"port 0", "https://rv.example.net:0/j#" + p, InviteError::kBadPort},
      {"port 65536", "https://rv.example.net:65536/j#" + p, InviteError::kBadPort},
      {"empty port", "https://rv.example.net:/j#" + p, InviteError::kBadPort},
      {"leading zero port", "https://rv.example.net:08443/j#" + p, InviteError::kBadPort},
      {"non-digit port", "https://rv.example.net:84a3/j#" + p, InviteError::kBadPort},
      {"query", "https://rv.example.net/j?x=1#" + p, InviteError::kQuery},
      {"87 characters", "https://rv.example.net/j#" + p.substr(0, 87), InviteError::kWrongLength},
      {"89 characters", "https://rv.example.net/j#" + p + "A", InviteError::kWrongLength},
      {"trailing newline", "https://rv.example.net/j#" + p + "\n", InviteError::kWrongLength},
      {"padding appended", "https://rv.example.net/j#" + p + "==", InviteError::kWrongLength},
      {"padding inside", "https://rv.example.net/j#" + with_char(87, '='),
       InviteError::kBadBase64url},
      {"plus", "https://rv.example.net/j#" + with_char(10, '+'), InviteError::kBadBase64url},
      {"slash", "https://rv.example.net/j#" + with_char(10, '/'), InviteError::kBadBase64url},
      {"space inside", "https://rv.example.net/j#" + with_char(40, ' '),
       InviteError::kBadBase64url},
      {"version 0", "https://rv.example.net/j#" + payload_for(0, 0, in.viewer, in.host_key),
       InviteError::kUnknownVersion},
      {"version 2", "https://rv.example.net/j#" + payload_for(2, 0, in.viewer, in.host_key),
       InviteError::kUnknownVersion},
      {"role 2", "https://rv.example.net/j#" + payload_for(1, 2, in.viewer, in.host_key),
       InviteError::kUnknownRole},
      {"role 255", "https://rv.example.net/j#" + payload_for(1, 255, in.viewer, in.host_key),
       InviteError::kUnknownRole},
      {"too long", "https://rv.example.net/" + std::string(2000, 'a') + "/j#" + p,
       InviteError::kTooLong},
      // Alternate rendezvous ("?r="), checked after the payload.
      {"query other than r=", "https://rv.example.net/j?R=https://rv2.example.net#" + p,
       InviteError::kQuery},
      {"r without =", "https://rv.example.net/j?r#" + p, InviteError::kQuery},
      {"bad payload with alternates",
       "https://rv.example.net/j?r=https://rv2.example.net#" + p.substr(0, 87),
       InviteError::kWrongLength},
      {"bad role with alternates",
       "https://rv.example.net/j?r=https://rv2.example.net#" +
           payload_for(1, 2, in.viewer, in.host_key),
       InviteError::kUnknownRole},
      {"empty alternate", "https://rv.example.net/j?r=#" + p, InviteError::kBadAlternate},
      {"alternate not lower-case", "https://rv.example.net/j?r=https://RV2.example.net#" + p,
       InviteError::kBadAlternate},
      {"alternate with trailing slash", "https://rv.example.net/j?r=https://rv2.example.net/#" + p,
       InviteError::kBadAlternate},
      {"alternate of another scheme", "https://rv.example.net/j?r=http://rv2.example.net#" + p,
       InviteError::kBadAlternate},
      {"alternate without scheme", "https://rv.example.net/j?r=rv2.example.net#" + p,
       InviteError::kBadAlternate},
      {"alternate with userinfo", "https://rv.example.net/j?r=https://u@rv2.example.net#" + p,
       InviteError::kBadAlternate},
      {"alternate with a query", "https://rv.example.net/j?r=https://rv2.example.net/a?b#" + p,
       InviteError::kBadAlternate},
      {"alternate with bad port", "https://rv.example.net/j?r=https://rv2.example.net:0#" + p,
       InviteError::kBadAlternate},
      {"second item without r=", "https://rv.example.net/j?r=https://rv2.example.net&x=1#" + p,
       InviteError::kBadAlternate},
      {"empty item after &", "https://rv.example.net/j?r=https://rv2.example.net&#" + p,
       InviteError::kBadAlternate},
      {"alternate over 200 characters",
       "https://rv.example.net/j?r=https://rv2.example.net/" + std::string(180, 'a') + "#" + p,
       InviteError::kBadAlternate},
      {"five alternates",
       "https://rv.example.net/j?r=https://a.example&r=https://b.example&r=https://c.example&r="
       "https://d.example&r=https://e.example#" +
           p,
       InviteError::kTooManyAlternates},
      {"alternate equal to the base", "https://rv.example.net/j?r=https://rv.example.net#" + p,
       InviteError::kDuplicateAlternate},
      {"alternate repeated",
       "https://rv.example.net/j?r=https://rv2.example.net&r=https://rv2.example.net#" + p,
       InviteError::kDuplicateAlternate},
  };
  return v;
}

Json build_link_vectors() {
  const LinkInputs in;
  Json root;
  root["format"] = "tokencast invite link vectors, protocol v1";
  root["about"] =
      "Invite links <base-url>/j#<payload>, payload = unpadded base64url of version(1)=1 | "
      "role(1) | secret(32) | host_public_key(32). 'valid' entries parse to the listed fields; "
      "when 'canonical' is true, formatting those fields with base_url gives the link back. "
      "'invalid' entries fail with the named error (checks in the order of "
      "docs/PROTOCOL.md (section 1)). Room locators are derived as in crypto.json. A link may "
      "carry alternate rendezvous base URLs as '?r=<url>&r=<url>' before the '#' ('alternates', "
      "absent when there are none).";

  Json valid = Json::array();
  auto add_valid = [&](const char* name, const std::string& link, bool canonical) {
    auto parsed = parse_invite_link(link);
    EXPECT_TRUE(parsed.has_value()) << name;
    if (!parsed) return;
    Bytes payload{1, static_cast<uint8_t>(parsed->role)};
    payload.insert(payload.end(), parsed->secret.bytes().begin(), parsed->secret.bytes().end());
    payload.insert(payload.end(), parsed->host_key.begin(), parsed->host_key.end());
    Json v;
    v["name"] = name;
    v["link"] = link;
    v["canonical"] = canonical;
    v["base_url"] = parsed->base_url;
    v["role"] = static_cast<int>(parsed->role);
    v["role_name"] = link_role_name(parsed->role);
    v["secret_hex"] = hex(parsed->secret.bytes());
    v["host_public_key_hex"] = hex(parsed->host_key);
    v["payload_hex"] = hex(payload);
    v["rendezvous_websocket_url"] = *rendezvous_websocket_url(parsed->base_url);
    v["room_locator_b64url"] = room_locator_text(invite_room_locator(*parsed));
    if (!parsed->alternates.empty()) v["alternates"] = parsed->alternates;
    valid.push_back(v);
  };
  const auto fmt = [&](const char* base, LinkRole role) {
    return *format_invite_link(base, role, role == LinkRole::kViewer ? in.viewer : in.participant,
                               in.host_key);
  };
  add_valid("viewer, https with port", fmt("https://rv.example.net:8443", LinkRole::kViewer), true);
  add_valid("participant, https with port",
            fmt("https://rv.example.net:8443", LinkRole::kParticipant), true);
  add_valid("viewer, LAN http with base path",
            fmt("http://192.168.1.20:8080/tokencast", LinkRole::kViewer), true);
  add_valid("participant, IPv6 literal", fmt("http://[fe80::1]:9000", LinkRole::kParticipant),
            true);
  add_valid("upper-case scheme and host (normalized)",
            "HTTPS://RV.Example.NET/j#" + payload_for(1, 0, in.viewer, in.host_key), false);
  const auto fmt_alt = [&](const char* base, LinkRole role, std::vector<std::string> alts) {
    return *format_invite_link(base, role, role == LinkRole::kViewer ? in.viewer : in.participant,
                               in.host_key, alts);
  };
  add_valid("viewer, two alternate rendezvous",
            fmt_alt("https://rv1.example.net:8443", LinkRole::kViewer,
                    {"https://rv2.example.net:8443", "https://rv3.example.net:8443"}),
            true);
  add_valid("participant, LAN http alternate with base path",
            fmt_alt("http://192.168.1.20:8080/tokencast", LinkRole::kParticipant,
                    {"http://192.168.1.21:8080/tokencast"}),
            true);
  add_valid("four alternates (the most), IPv6 and path",
            fmt_alt("https://a.example", LinkRole::kViewer,
                    {"https://b.example", "https://[2001:db8::2]:8443", "https://c.example/rv",
                     "https://d.example:9443"}),
            true);
  add_valid("upper-case base with an alternate (normalized)",
            "HTTPS://RV1.Example.NET/j?r=https://rv2.example.net#" +
                payload_for(1, 0, in.viewer, in.host_key),
            false);
  root["valid"] = valid;

  Json invalid = Json::array();
  for (const auto& c : invalid_cases(in)) {
    invalid.push_back({{"name", c.name}, {"link", c.link}, {"error", invite_error_name(c.error)}});
  }
  root["invalid"] = invalid;

  Json bases = Json::array();
  for (const char* b :
       {"https://rv.example.net", "https://rv.example.net/", "http://H:80/a/b/", "http://[::1]:9",
        "https://h/a?b", "https://h/a#b", "https://u@h", "wss://h"}) {
    auto n = normalize_base_url(b);
    Json e;
    e["input"] = b;
    if (n) {
      e["normalized"] = *n;
      e["rendezvous_websocket_url"] = *rendezvous_websocket_url(b);
    } else {
      e["error"] = invite_error_name(n.error());
    }
    bases.push_back(e);
  }
  root["base_urls"] = bases;

  Json b64 = Json::array();
  for (const char* t :
       {"", "Zg", "Zm8", "Zm9v", "-_-_", "Zg==", "Zm9v+A", "Zm9v/A", " Zg", "Z", "Zh", "Zm9"}) {
    auto d = base64url_decode(t);
    Json e;
    e["text"] = t;
    if (d) {
      e["bytes_hex"] = hex(*d);
    } else {
      e["error"] = base64url_error_name(d.error());
    }
    b64.push_back(e);
  }
  root["base64url"] = b64;
  return root;
}

std::string vectors_path() { return std::string(TOKENCAST_VECTORS_DIR) + "/links.json"; }

TEST(LinkVectors, FileIsCurrent) {
  tokencast::testing::expect_vector_file_current(vectors_path(),
                                                 build_link_vectors().dump(2) + "\n");
}

TEST(LinkVectors, ValidLinks) {
  std::ifstream f(vectors_path());
  const Json v = Json::parse(f);
  ASSERT_GE(v["valid"].size(), 4u);
  for (const auto& e : v["valid"]) {
    auto parsed = parse_invite_link(e["link"].get<std::string>());
    ASSERT_TRUE(parsed.has_value()) << e["name"];
    EXPECT_EQ(parsed->base_url, e["base_url"]);
    EXPECT_EQ(static_cast<int>(parsed->role), e["role"]);
    EXPECT_EQ(hex(parsed->secret.bytes()), e["secret_hex"]);
    EXPECT_EQ(hex(parsed->host_key), e["host_public_key_hex"]);
    EXPECT_EQ(*rendezvous_websocket_url(parsed->base_url), e["rendezvous_websocket_url"]);
    EXPECT_EQ(room_locator_text(invite_room_locator(*parsed)), e["room_locator_b64url"]);
    const std::vector<std::string> alternates =
        e.contains("alternates") ? e["alternates"].get<std::vector<std::string>>()
                                 : std::vector<std::string>{};
    EXPECT_EQ(parsed->alternates, alternates) << e["name"];
    if (e["canonical"].get<bool>()) {
      EXPECT_EQ(*format_invite_link(parsed->base_url, parsed->role, parsed->secret,
                                    parsed->host_key, parsed->alternates),
                e["link"]);
    }
  }
}

TEST(LinkVectors, InvalidLinks) {
  std::ifstream f(vectors_path());
  const Json v = Json::parse(f);
  // Every error class has at least one vector.
  std::set<std::string> seen;
  for (const auto& e : v["invalid"]) {
    auto parsed = parse_invite_link(e["link"].get<std::string>());
    ASSERT_FALSE(parsed.has_value()) << e["name"];
    EXPECT_EQ(invite_error_name(parsed.error()), e["error"]) << e["name"];
    seen.insert(e["error"].get<std::string>());
  }
  for (int i = 1; i <= static_cast<int>(InviteError::kDuplicateAlternate); ++i) {
    EXPECT_TRUE(seen.count(std::string(invite_error_name(static_cast<InviteError>(i)))))
        << invite_error_name(static_cast<InviteError>(i));
  }
}

TEST(LinkVectors, BaseUrlsAndBase64url) {
  std::ifstream f(vectors_path());
  const Json v = Json::parse(f);
  for (const auto& e : v["base_urls"]) {
    auto n = normalize_base_url(e["input"].get<std::string>());
    if (e.contains("normalized")) {
      ASSERT_TRUE(n.has_value()) << e["input"];
      EXPECT_EQ(*n, e["normalized"]);
    } else {
      ASSERT_FALSE(n.has_value()) << e["input"];
      EXPECT_EQ(invite_error_name(n.error()), e["error"]);
    }
  }
  for (const auto& e : v["base64url"]) {
    auto d = base64url_decode(e["text"].get<std::string>());
    if (e.contains("bytes_hex")) {
      ASSERT_TRUE(d.has_value()) << e["text"];
      EXPECT_EQ(hex(*d), e["bytes_hex"]);
    } else {
      ASSERT_FALSE(d.has_value()) << e["text"];
      EXPECT_EQ(base64url_error_name(d.error()), e["error"]);
    }
  }
}

}  // namespace
