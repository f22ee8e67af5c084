// Bytes on the data channel: what tokencast hands to a peer's data channel (the payload of every
// message) while a real answer streams, and what a late joiner receives to catch up. Driven
// through the host's own session state machine (HostSession, sans I/O: exactly the frames the
// host passes to PeerLink::send) and decoded by the client's (ClientSession), whose transcript
// must equal the answer byte for byte, or the bench fails.
//
// Live: every token is made durable and flushed to the peer before the next one, so no two
// deltas merge (the most bytes tokencast ever spends per token; a peer that falls behind gets
// merged deltas, which cost less).
//
// --rates: the same answer at a steady rate of tokens per second, in simulated time, with the
// product's pacing (16 ms) and flow control: the client acknowledges as the real ones do and
// frames go when the session lets them (at each token, pacing wake-up and ack). Counts messages
// each way and payload bytes; the wire estimate adds 85 bytes per message (SCTP DATA chunk and
// common header 28, DTLS record ~29, UDP 8, IPv4 20).
//
//   wire_bytes_bench --tokens FILE [--count 2000,8000] [--catchup 100000] [--rates 100,1000]
//
// FILE: a JSON array of the answer's tokens (bench/js/tokenize.mjs). --catchup N builds a
// session of N tokens (the answer repeated as successive turns) and measures a late joiner.
// Prints one "RESULT {json}" line per measurement.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/bench_host.hpp"
#include "support/bench_util.hpp"
#include "tokencast/core/client_session.hpp"
#include "tokencast/core/host_session.hpp"

namespace {

using namespace tokencast;

// Per-message header estimate: SCTP DATA chunk + common header (28), DTLS 1.2 record with
// AES-GCM (~29), UDP (8), IPv4 (20).
constexpr double kWireOverheadPerMessage = 28 + 29 + 8 + 20;

struct Io : HostIo {
  std::optional<TurnId> generating;
  std::optional<int64_t> wake;
  void persist(const Event&) override {}
  void frames_ready(ConnId) override {}
  void wake_at(ConnId, int64_t at) override { wake = wake ? std::min(*wake, at) : at; }
  void start_generation(TurnId turn, std::vector<ChatMessage>) override { generating = turn; }
  void cancel_generation() override { generating.reset(); }
};

// One host session and a way to deliver its frames to client sessions, counting bytes.
class Bench {
 public:
  explicit Bench(int64_t pace_ms = 0) {
    HostSessionConfig config;
    config.flow.pace_interval_ms = pace_ms;
    config.session_id.bytes.fill(0x42);
    config.model_name = "bench";
    auto created = HostSession::create(config, {}, io_, now_);
    if (!created) throw std::runtime_error("cannot create the host session");
    host_ = std::move(*created);
  }

  ConnId join(ClientSession& client) {
    ConnId conn = host_->peer_opened(PeerRole::kViewer, now_);
    auto hello = client.hello();
    host_->peer_frame(conn, hello, now_);
    return conn;
  }

  // Makes everything durable, then hands the peer every frame the host has for it.
  struct Delivered {
    size_t bytes = 0;
    size_t messages = 0;
    size_t acks = 0;  // messages back (acks)
  };
  Delivered deliver(ConnId conn, ClientSession& client) {
    host_->durable(host_->status().head);
    Delivered d;
    while (auto frame = host_->next_frame(conn, now_)) {
      d.bytes += frame->bytes.size();
      d.messages += 1;
      if (!client.receive(frame->bytes)) throw std::runtime_error("the client refused a frame");
      if (auto ack = client.take_ack(now_)) {
        host_->peer_frame(conn, *ack, now_);
        d.acks += 1;
      }
    }
    return d;
  }

  // Simulated time: what is due at `at` (a pacing wake-up, the client's ack timer) happens.
  Delivered advance_to(int64_t at, ConnId conn, ClientSession& client) {
    Delivered d;
    for (;;) {
      std::optional<int64_t> next = io_.wake;
      if (auto due = client.ack_due_ms(); due && (!next || *due < *next)) next = due;
      if (!next || *next > at) break;
      now_ = std::max(now_, *next);
      io_.wake.reset();
      if (auto ack = client.take_ack(now_)) {
        host_->peer_frame(conn, *ack, now_);
        d.acks += 1;
      }
      add(d, deliver(conn, client));
    }
    now_ = std::max(now_, at);
    return d;
  }
  static void add(Delivered& into, const Delivered& d) {
    into.bytes += d.bytes;
    into.messages += d.messages;
    into.acks += d.acks;
  }
  int64_t now() const { return now_; }

  // Starts an answer turn (after a short host prompt); its id.
  TurnId start_answer(const std::string& prompt) {
    host_->host_prompt(prompt, ++now_);
    if (!io_.generating) throw std::runtime_error("no generation started");
    return *io_.generating;
  }
  void delta(TurnId turn, const std::string& token) { host_->llm_delta(turn, token); }
  void done(TurnId turn, uint64_t tokens) {
    host_->llm_done(turn, tokens, ++now_);
    io_.generating.reset();
  }

 private:
  Io io_;
  int64_t now_ = 1'700'000'000'000;
  std::unique_ptr<HostSession> host_;
};

std::string last_answer(const ClientSession& client) {
  const auto& turns = client.transcript().turns();
  return turns.empty() ? std::string() : turns.back().text;
}

bool live(const std::vector<std::string>& tokens, size_t count) {
  Bench bench;
  ClientSession client("peer");
  ConnId conn = bench.join(client);
  bench.deliver(conn, client);  // the welcome
  TurnId turn = bench.start_answer("Explain it in depth.");
  bench.deliver(conn, client);  // the prompt turn and the answer's start
  size_t text = 0;
  Bench::Delivered total;
  std::string want;
  for (size_t i = 0; i < count; ++i) {
    bench.delta(turn, tokens[i]);
    auto d = bench.deliver(conn, client);
    total.bytes += d.bytes;
    total.messages += d.messages;
    // Time passes (no pacing here): the client's acks keep the window open.
    bench.advance_to(bench.now() + kAckDelayMs, conn, client);
    text += tokens[i].size();
    want += tokens[i];
  }
  bench.done(turn, count);
  auto end = bench.deliver(conn, client);
  if (last_answer(client) != want) {
    std::fprintf(stderr, "the peer's answer differs from the tokens streamed\n");
    return false;
  }
  bench::JsonLine result;
  result.str("measure", "live")
      .num("tokens", static_cast<double>(count))
      .num("text_bytes", static_cast<double>(text))
      .num("payload_bytes", static_cast<double>(total.bytes))
      .num("messages", static_cast<double>(total.messages))
      .num("wire_bytes_per_token", (static_cast<double>(total.bytes) +
                                    static_cast<double>(total.messages) * kWireOverheadPerMessage) /
                                       static_cast<double>(count))
      .num("turn_end_bytes", static_cast<double>(end.bytes));
  result.print_result();
  return true;
}

// The answer at `rate` tokens per second in simulated time, paced and flow-controlled.
bool live_at_rate(const std::vector<std::string>& tokens, size_t count, double rate) {
  Bench bench(16);
  ClientSession client("peer");
  ConnId conn = bench.join(client);
  bench.deliver(conn, client);
  TurnId turn = bench.start_answer("Explain it in depth.");
  bench.deliver(conn, client);
  bench.advance_to(bench.now() + 1000, conn, client);  // idle: acks settle
  const int64_t start = bench.now();
  Bench::Delivered total;
  size_t text = 0;
  std::string want;
  for (size_t i = 0; i < count; ++i) {
    const auto at = start + static_cast<int64_t>(static_cast<double>(i) * 1000.0 / rate);
    Bench::add(total, bench.advance_to(at, conn, client));
    bench.delta(turn, tokens[i]);
    Bench::add(total, bench.deliver(conn, client));
    text += tokens[i].size();
    want += tokens[i];
  }
  Bench::add(total, bench.advance_to(bench.now() + 100, conn, client));
  bench.done(turn, count);
  bench.advance_to(bench.now() + 100, conn, client);
  if (last_answer(client) != want) {
    std::fprintf(stderr, "the peer's answer differs from the tokens streamed (%zu of %zu bytes)\n",
                 last_answer(client).size(), want.size());
    return false;
  }
  const double n = static_cast<double>(count);
  const double messages = static_cast<double>(total.messages);
  bench::JsonLine result;
  result.str("measure", "live_rate")
      .num("rate", rate)
      .num("pace_ms", 16)
      .num("tokens", n)
      .num("text_bytes", static_cast<double>(text))
      .num("payload_bytes", static_cast<double>(total.bytes))
      .num("messages", messages)
      .num("acks", static_cast<double>(total.acks))
      .num("wire_overhead_per_message", kWireOverheadPerMessage)
      .num("payload_bytes_per_token", static_cast<double>(total.bytes) / n)
      .num("wire_bytes_per_token",
           (static_cast<double>(total.bytes) + messages * kWireOverheadPerMessage) / n)
      .num("ack_wire_bytes_per_token",
           static_cast<double>(total.acks) * (3 + kWireOverheadPerMessage) / n);
  result.print_result();
  return true;
}

bool catchup(const std::vector<std::string>& tokens, size_t count) {
  Bench bench;
  ClientSession watcher("watcher");  // keeps the host's frames drained while it streams
  ConnId watcher_conn = bench.join(watcher);
  size_t text = 0;
  size_t streamed = 0;
  std::string want;
  for (int round = 1; streamed < count; ++round) {
    std::string prompt = "Question " + std::to_string(round) + ", again please.";
    TurnId turn = bench.start_answer(prompt);
    text += prompt.size();
    size_t n = 0;
    for (; n < tokens.size() && streamed < count; ++n, ++streamed) {
      bench.delta(turn, tokens[n]);
      text += tokens[n].size();
    }
    bench.done(turn, n);
    bench.deliver(watcher_conn, watcher);
  }
  ClientSession late("late");
  auto start = bench::Clock::now();
  ConnId conn = bench.join(late);
  auto got = bench.deliver(conn, late);
  double ms = bench::ms_between(start, bench::Clock::now());
  if (late.transcript().turns() != watcher.transcript().turns()) {
    std::fprintf(stderr, "the late joiner's transcript differs from the live peer's\n");
    return false;
  }
  bench::JsonLine result;
  result.str("measure", "catchup")
      .num("tokens", static_cast<double>(streamed))
      .num("text_bytes", static_cast<double>(text))
      .num("payload_bytes", static_cast<double>(got.bytes))
      .num("messages", static_cast<double>(got.messages))
      .num("host_and_decode_ms", ms);
  result.print_result();
  return true;
}

int usage() {
  std::fprintf(stderr,
               "usage: wire_bytes_bench --tokens FILE [--count 2000,8000] [--catchup N]\n"
               "                        [--rates 100,1000]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string file;
  std::vector<size_t> counts{2000, 8000};
  size_t catchup_tokens = 100000;
  std::vector<double> rates{100, 1000};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return usage();
    if (arg == "--tokens") {
      file = argv[++i];
    } else if (arg == "--count") {
      counts.clear();
      std::stringstream in(argv[++i]);
      for (std::string item; std::getline(in, item, ',');) {
        long n = std::atol(item.c_str());
        if (n < 1) return usage();
        counts.push_back(static_cast<size_t>(n));
      }
    } else if (arg == "--rates") {
      rates.clear();
      std::stringstream in(argv[++i]);
      for (std::string item; std::getline(in, item, ',');) {
        double r = std::atof(item.c_str());
        if (!(r > 0) || r > 100000) return usage();
        rates.push_back(r);
      }
    } else if (arg == "--catchup") {
      catchup_tokens = static_cast<size_t>(std::max(0L, std::atol(argv[++i])));
    } else {
      return usage();
    }
  }
  if (file.empty()) return usage();
  auto loaded = tokencast::bench::load_tokens(file);
  if (!loaded) return 1;
  const std::vector<std::string>& tokens = *loaded;
  try {
    for (size_t count : counts) {
      if (count > tokens.size()) {
        std::fprintf(stderr, "%s holds only %zu tokens\n", file.c_str(), tokens.size());
        return 1;
      }
      if (!live(tokens, count)) return 1;
      for (double rate : rates) {
        if (!live_at_rate(tokens, count, rate)) return 1;
      }
    }
    if (catchup_tokens > 0 && !catchup(tokens, catchup_tokens)) return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wire_bytes_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
