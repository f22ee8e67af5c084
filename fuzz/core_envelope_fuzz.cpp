// libFuzzer target: sealed envelopes and the handshake messages inside them.
// Random bytes almost never authenticate, so the first input byte picks a mode; some modes
// seal the rest of the input with the right keys first, which puts the fuzzer behind the AEAD
// where the message parsers, the SDP fingerprint extraction and the state machines live.
//   0: raw envelope to the host, the joiner and the envelope layer
//   1: rest sealed as a joiner -> host offer (new join id, counter 0)
//   2: rest sealed as a host -> joiner message for a joiner awaiting its answer
//   3: rest sealed as a joiner -> host message for a pending join (after a genuine offer)
//   4: rest parsed directly as a handshake plaintext and as an SDP
// Never crashes; aborts only when an invariant breaks (see below).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

// Fuzz targets see only include/; these two internal headers depend on public ones only.
#include "join/sdp_fingerprint.hpp"
#include "tokencast/core/envelope.hpp"
#include "tokencast/core/handshake.hpp"
#include "tokencast/core/handshake_messages.hpp"
#include "tokencast/core/invite.hpp"

using namespace tokencast;
namespace hw = handshake_wire;

namespace {

template <size_t N>
std::array<uint8_t, N> seq(uint8_t start) {
  std::array<uint8_t, N> a{};
  for (size_t i = 0; i < N; ++i) a[i] = static_cast<uint8_t>(start + i);
  return a;
}

constexpr int64_t kNow = 1767225600000;

const char* kOfferSdp =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
    "a=fingerprint:sha-256 "
    "D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:"
    "E6:0F\r\na=setup:actpass\r\na=mid:0\r\n";
const char* kAnswerSdp =
    "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
    "a=fingerprint:sha-256 "
    "7B:41:9C:05:EE:10:83:6A:D9:42:F1:0B:37:C8:5A:AE:61:24:0D:B3:9F:72:C6:18:E5:4D:2A:90:BB:07:"
    "33:F4\r\na=setup:active\r\na=mid:0\r\n";

struct Fixture {
  SigningKey host_key = SigningKey::from_seed(seq<32>(0x40));
  RoomSecret viewer{seq<32>(0x00)};
  RoomSecret participant{seq<32>(0x20)};
  InviteLink link;
  RoomKeys viewer_keys{viewer, LinkRole::kViewer, host_key.public_key()};
  Fixture() {
    link.base_url = "https://rv.example.net";
    link.role = LinkRole::kViewer;
    link.secret = viewer;
    link.host_key = host_key.public_key();
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

HostHandshake make_host() {
  const Fixture& f = fixture();
  auto h = HostHandshake::create(f.host_key, f.viewer, f.participant);
  if (!h) std::abort();
  return std::move(*h);
}

JoinerHandshake make_joiner(const JoinId& id) {
  auto j = JoinerHandshake::start(fixture().link, "fuzz", kOfferSdp, kNow, id);
  if (!j) std::abort();
  return std::move(*j);
}

std::vector<uint8_t> seal(Direction d, const JoinId& id, uint64_t counter,
                          std::span<const uint8_t> plaintext) {
  const RoomKeys& k = fixture().viewer_keys;
  auto e = seal_envelope(k.seal_key(d, id), k.locator(), {d, id, counter}, plaintext);
  return e ? std::move(*e) : std::vector<uint8_t>{};
}

// What the host does with an accepted offer must keep working whatever the offer held.
void exercise_host_event(HostHandshake& host, const Expected<HostEvent, HandshakeError>& ev) {
  if (!ev || !std::holds_alternative<JoinOffer>(ev->body)) return;
  const auto& offer = std::get<JoinOffer>(ev->body);
  if (offer.sdp.empty()) std::abort();  // validated non-empty
  auto answer = host.seal_answer(ev->join_id, kAnswerSdp, 12345);
  if (!answer) std::abort();  // a pending, in-window offer can always be answered
  (void)host.seal_candidate(ev->join_id, IceCandidate{"0", 0, "candidate:1 1 udp 1 h 1 typ host"});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0] % 5;
  const std::span<const uint8_t> rest(data + 1, size - 1);
  const JoinId join = seq<16>(0x60);

  switch (mode) {
    case 0: {
      HostHandshake host = make_host();
      exercise_host_event(host, host.receive(rest, kNow));
      JoinerHandshake joiner = make_joiner(join);
      (void)joiner.receive(rest);
      (void)peek_envelope_header(rest);
      EnvelopeOpener opener(fixture().viewer_keys, Direction::kJoinerToHost, join);
      (void)opener.open(rest);
      break;
    }
    case 1: {
      HostHandshake host = make_host();
      const auto env = seal(Direction::kJoinerToHost, join, 0, rest);
      if (env.empty()) break;
      exercise_host_event(host, host.receive(env, kNow));
      break;
    }
    case 2: {
      JoinerHandshake joiner = make_joiner(join);
      const auto env = seal(Direction::kHostToJoiner, join, 7, rest);
      if (env.empty()) break;
      auto ev = joiner.receive(env);
      // Nobody but the host can produce a valid signature: an answer or rejection built from
      // fuzz input must never be accepted.
      if (ev && (std::holds_alternative<VerifiedAnswer>(*ev) ||
                 std::holds_alternative<HostRejection>(*ev))) {
        std::abort();
      }
      break;
    }
    case 3: {
      HostHandshake host = make_host();
      JoinerHandshake joiner = make_joiner(join);
      if (!host.receive(joiner.offer_envelope(), kNow)) std::abort();
      const auto env = seal(Direction::kJoinerToHost, join, 1, rest);
      if (env.empty()) break;
      (void)host.receive(env, kNow);
      (void)host.receive(env, kNow);  // the replay must be refused quietly
      break;
    }
    case 4: {
      (void)extract_sdp_fingerprint(
          std::string_view(reinterpret_cast<const char*>(rest.data()), rest.size()));
      auto msg = hw::decode(rest);
      if (msg) {
        // Canonical: what decodes re-encodes to exactly the same bytes.
        auto again = hw::encode(*msg);
        if (!again || !std::equal(again->begin(), again->end(), rest.begin(), rest.end())) {
          std::abort();
        }
      }
      break;
    }
  }
  return 0;
}
