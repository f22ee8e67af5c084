// What the host spends signing the transcript after each ended turn (protocol version 4, the
// signature frame): the whole session driven through HostSession (sans I/O) with a signing key,
// each answer's deltas made durable as they come, timing every durable() call that signs. The
// format hashes the whole transcript per signature (the turn count comes first, so nothing
// carries over), so the cost grows with the transcript; this measures how much.
//
//   transcript_sign_bench [--turns 120] [--answer-bytes 4000] [--delta-bytes 5]
//
// Each prompt is a user turn (signed when it ends) and each answer an assistant turn (signed
// again). Prints one "RESULT {json}" line: the transcript size at the end, the number of
// signatures, the time for the last one and for all of them.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tokencast/core/host_session.hpp"

namespace {

using namespace tokencast;

struct NullIo : HostIo {
  std::vector<TurnId> generations;
  void persist(const Event&) override {}
  void frames_ready(ConnId) override {}
  void wake_at(ConnId, int64_t) override {}
  void start_generation(TurnId turn, std::vector<ChatMessage>) override {
    generations.push_back(turn);
  }
  void cancel_generation() override {}
};

size_t arg(int argc, char** argv, std::string_view name, size_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (name == argv[i]) return std::strtoull(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t turns = arg(argc, argv, "--turns", 120);
  const size_t answer_bytes = arg(argc, argv, "--answer-bytes", 4000);
  const size_t delta_bytes = std::max<size_t>(1, arg(argc, argv, "--delta-bytes", 5));

  NullIo io;
  HostSessionConfig config;
  std::array<uint8_t, kEd25519SeedSize> seed{};
  seed.fill(1);
  config.signing_key = SigningKey::from_seed(seed);
  config.flow.pace_interval_ms = 0;
  auto created = HostSession::create(config, {}, io, 0);
  if (!created) return 1;
  HostSession& s = **created;

  using Clock = std::chrono::steady_clock;
  double total_ms = 0;
  double last_ms = 0;
  size_t signatures = 0;
  // Times a durable() call; counts it when it produced a new signature.
  auto commit = [&] {
    const Seq before = s.latest_signature() ? s.latest_signature()->seq : 0;
    const auto t0 = Clock::now();
    s.durable(s.log().head());
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (s.latest_signature() && s.latest_signature()->seq != before) {
      ++signatures;
      total_ms += ms;
      last_ms = ms;
    }
  };
  const std::string delta(delta_bytes, 'x');
  size_t text_bytes = 0;
  for (size_t t = 0; t < turns; ++t) {
    s.host_prompt("question number " + std::to_string(t) + ": what comes next?", 0);
    commit();  // the user turn ended: signed
    const TurnId answer = io.generations.back();
    for (size_t b = 0; b < answer_bytes; b += delta_bytes) {
      s.llm_delta(answer, delta);
      commit();  // a delta: nothing to sign
    }
    text_bytes += answer_bytes;
    s.llm_done(answer, answer_bytes / delta_bytes, 0);
    commit();  // the answer ended: signed
  }
  std::printf(
      "RESULT {\"bench\":\"transcript_sign\",\"turns\":%zu,\"answer_text_bytes\":%zu,"
      "\"signatures\":%zu,\"last_signature_ms\":%.3f,\"all_signatures_ms\":%.1f,"
      "\"mean_signature_ms\":%.3f}\n",
      turns * 2, text_bytes, signatures, last_ms, total_ms,
      signatures ? total_ms / static_cast<double>(signatures) : 0.0);
  return signatures == turns * 2 ? 0 : 1;
}
