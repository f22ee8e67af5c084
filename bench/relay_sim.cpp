// relay_sim: the relay tree in one process, on simulated links (docs/BENCHMARKS.md, "Relay tree
// simulation"). The real sans-I/O pieces: the host's RelayStreamWriter cuts a token stream into
// relay records (one per pace interval, signed per its default interval), RelayTree places every
// viewer and re-parents, and every viewer runs its own RelayVerifier on every frame it gets.
// What is simulated: time (a discrete event queue), and each link: one-way latency (uniform in
// a range), the sender's upload bandwidth (messages to all its children share it, in order),
// loss (a lost message arrives one round trip plus --retransmit-ms late; ordered delivery, so
// later messages wait behind it), and 85 bytes of SCTP/DTLS/UDP/IP headers per message.
//
// Relays forward each frame as it arrives (before verifying it: every viewer verifies for
// itself). At --kill-at-s, --kill-share of the relays (viewers with children) die at once; their
// children notice after --stall-ms (the ping timeout), report to the host through the rendezvous
// (--rendezvous-ms each way), the planner moves them, and each connects to its new parent
// (--setup-ms: introduction through the rendezvous, ICE and DTLS), which sends every frame
// after the child's verified position from its ring of recent frames (RelayForwarder, 128
// frames), then live ones.
//
// Reports (one JSON line per audience size on stdout, a table on stderr): host upload per token
// (headers included), tree depth, latency token -> verified at the viewer by depth, added
// latency per hop (child's arrival - parent's arrival, and that minus the link's propagation;
// before the kill, and apart while adopted children catch up),
// the wait for a signature, verifier CPU, re-parenting time, and whether every surviving viewer
// got every record exactly once, in order.
//
//   build/bench/relay_sim [--viewers 100,1000,10000] [--seconds 3] [--rate 100] [--k 8]
//       [--host-children 32] [--max-depth 8] [--relay-share 0.5] [--latency-ms 10-40]
//       [--uplink-kbps 2000] [--host-uplink-kbps 20000] [--loss 0.01] [--retransmit-ms 30]
//       [--sign-interval-ms 50] [--kill-share 0.1] [--kill-at-s 1] [--stall-ms 500]
//       [--rendezvous-ms 20] [--setup-ms 300] [--seed 15]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tokencast/core/frame.hpp"
#include "tokencast/core/relay_stream.hpp"
#include "tokencast/core/relay_tree.hpp"

using namespace tokencast;

namespace {

constexpr double kHeaderBytes = 85;  // SCTP + DTLS + UDP + IPv4 per message (PROTOCOL.md 4.8)
constexpr int64_t kPaceUs = 16'000;

struct Args {
  std::vector<size_t> viewers{100, 1000, 10000};
  double seconds = 3;
  double rate = 100;
  size_t k = 8;
  size_t host_children = 32;
  size_t max_depth = 8;
  double relay_share = 0.5;
  double latency_lo_ms = 10, latency_hi_ms = 40;
  double uplink_kbps = 2000;
  double host_uplink_kbps = 20000;
  double loss = 0.01;
  double retransmit_ms = 30;
  int64_t sign_interval_ms = 50;
  double kill_share = 0.10;
  double kill_at_s = 1;
  double stall_ms = 500;
  double rendezvous_ms = 20;
  double setup_ms = 300;
  uint64_t seed = 15;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: relay_sim [--viewers N,N,...] [--seconds S] [--rate TOKENS_PER_S] [--k K]\n"
               "  [--host-children N] [--max-depth D] [--relay-share F] [--latency-ms LO-HI]\n"
               "  [--uplink-kbps KBPS] [--host-uplink-kbps KBPS] [--loss P] [--retransmit-ms MS]\n"
               "  [--sign-interval-ms MS] [--kill-share F] [--kill-at-s S] [--stall-ms MS]\n"
               "  [--rendezvous-ms MS] [--setup-ms MS] [--seed N]\n");
  std::exit(2);
}

double number(const char* s, double lo, double hi) {
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (end == s || *end != '\0' || !(v >= lo && v <= hi)) usage();
  return v;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help" || i + 1 >= argc) usage();
    const char* v = argv[++i];
    if (flag == "--viewers") {
      a.viewers.clear();
      std::string list = v;
      size_t pos = 0;
      while (pos <= list.size()) {
        const size_t comma = std::min(list.find(',', pos), list.size());
        a.viewers.push_back(
            static_cast<size_t>(number(list.substr(pos, comma - pos).c_str(), 1, 1e6)));
        pos = comma + 1;
      }
    } else if (flag == "--seconds") {
      a.seconds = number(v, 0.1, 600);
    } else if (flag == "--rate") {
      a.rate = number(v, 1, 100000);
    } else if (flag == "--k") {
      a.k = static_cast<size_t>(number(v, 1, 64));
    } else if (flag == "--host-children") {
      a.host_children = static_cast<size_t>(number(v, 1, 100000));
    } else if (flag == "--max-depth") {
      a.max_depth = static_cast<size_t>(number(v, 1, 64));
    } else if (flag == "--relay-share") {
      a.relay_share = number(v, 0, 1);
    } else if (flag == "--latency-ms") {
      const std::string s = v;
      const size_t dash = s.find('-');
      if (dash == std::string::npos) usage();
      a.latency_lo_ms = number(s.substr(0, dash).c_str(), 0, 10000);
      a.latency_hi_ms = number(s.substr(dash + 1).c_str(), a.latency_lo_ms, 10000);
    } else if (flag == "--uplink-kbps") {
      a.uplink_kbps = number(v, 1, 1e7);
    } else if (flag == "--host-uplink-kbps") {
      a.host_uplink_kbps = number(v, 1, 1e8);
    } else if (flag == "--loss") {
      a.loss = number(v, 0, 0.5);
    } else if (flag == "--retransmit-ms") {
      a.retransmit_ms = number(v, 0, 10000);
    } else if (flag == "--sign-interval-ms") {
      a.sign_interval_ms = static_cast<int64_t>(number(v, 0, 10000));
    } else if (flag == "--kill-share") {
      a.kill_share = number(v, 0, 1);
    } else if (flag == "--kill-at-s") {
      a.kill_at_s = number(v, 0, 600);
    } else if (flag == "--stall-ms") {
      a.stall_ms = number(v, 0, 60000);
    } else if (flag == "--rendezvous-ms") {
      a.rendezvous_ms = number(v, 0, 10000);
    } else if (flag == "--setup-ms") {
      a.setup_ms = number(v, 0, 60000);
    } else if (flag == "--seed") {
      a.seed = static_cast<uint64_t>(number(v, 0, 1e15));
    } else {
      usage();
    }
  }
  return a;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t at = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(at), v.end());
  return v[at];
}

// One relay frame as every node sees it (the bytes are shared: they are the same for all).
struct SimFrame {
  std::vector<uint8_t> bytes;
  uint64_t index = 0;
  bool checkpoint = false;
  int64_t cut_us = 0;
};

struct Token {
  int64_t at_us = 0;
  uint64_t record = 0;  // the record that carries it
};

struct Node {
  RelayNodeId parent = kRelayHost;
  double latency_us = 0;     // one-way, from its current parent
  int64_t link_last_us = 0;  // ordered delivery on the link from its parent
  uint64_t epoch = 0;        // bumped at each new parent: frames of an older link are dropped
  int64_t uplink_free_us = 0;
  std::optional<RelayVerifier> verifier;
  // The relay's ring of recent frames (core RelayForwarder: order, no duplicates, resume).
  RelayForwarder forwarder{RelayForwarderOptions{.max_frames = 128, .max_bytes = 1 << 20}};
  bool dead = false;
  bool relay = false;
  bool link_up = true;  // the link from its parent carries frames
  size_t depth0 = 0;    // depth when placed
  uint64_t last_released = 0;
  uint64_t duplicates_or_gaps = 0;
  // Per link to each child: the highest record index sent on it.
  std::unordered_map<RelayNodeId, uint64_t> sent_upto;
  std::optional<int64_t> interrupted_at_us;  // orphaned at kill: waiting for a new parent
  std::optional<int64_t> relinked_at_us;
};

enum class EvType { kToken, kCut, kCheckpoint, kDeliver, kKill, kDetect, kRelink };
struct Ev {
  int64_t at_us;
  uint64_t order;  // FIFO among equal times
  EvType type;
  RelayNodeId node = 0;
  uint32_t frame = 0;
  uint64_t epoch = 0;
  bool operator>(const Ev& o) const { return at_us != o.at_us ? at_us > o.at_us : order > o.order; }
};

struct Result {
  size_t viewers = 0;
  size_t relays = 0;
  size_t height = 0;
  double mean_depth = 0;
  uint64_t tokens = 0, records = 0, signed_frames = 0;
  double host_bytes = 0;
  size_t host_children = 0;
  std::map<size_t, std::vector<double>> latency_by_depth_ms;
  std::vector<double> hop_ms, hop_added_ms, sign_wait_ms;
  std::vector<double> hop_added_after_kill_ms;  // while adopted children catch up
  double verify_cpu_us = 0;
  uint64_t accepts = 0, signatures_verified = 0;
  size_t killed = 0, orphans = 0, dropped = 0;
  std::vector<double> reparent_ms, recovered_ms;
  uint64_t incomplete = 0, order_errors = 0, verifier_errors = 0, forwarder_errors = 0;
  uint64_t ring_misses = 0;
};

class Sim {
 public:
  Sim(const Args& a, size_t viewers) : a_(a), rng_(a.seed + viewers), n_(viewers) {}

  Result run() {
    std::array<uint8_t, kEd25519SeedSize> seed{};
    seed.fill(0x15);
    const SigningKey key = SigningKey::from_seed(seed);
    session_.bytes.fill(0x42);
    RelayWriterOptions wo;
    wo.sign_interval_ms = a_.sign_interval_ms;
    writer_.emplace(session_, key, wo);
    host_key_ = key.public_key();
    tree_.emplace(RelayTreeOptions{a_.host_children, a_.k, a_.max_depth, n_ + 1});

    nodes_.resize(n_ + 1);
    nodes_[0].relay = true;
    std::uniform_real_distribution<double> lat(a_.latency_lo_ms * 1000, a_.latency_hi_ms * 1000);
    std::bernoulli_distribution relay(a_.relay_share);
    for (RelayNodeId id = 1; id <= n_; ++id) {
      Node& n = nodes_[id];
      n.relay = relay(rng_);
      auto placed = tree_->join(id, n.relay ? a_.k : 0);
      if (!placed) {
        std::fprintf(stderr, "relay_sim: viewer %llu found no slot (raise --k or --max-depth)\n",
                     static_cast<unsigned long long>(id));
        std::exit(1);
      }
      n.parent = placed->parent;
      n.depth0 = placed->depth;
      n.latency_us = lat(rng_);
      n.verifier.emplace(session_, host_key_);
    }
    Result r;
    r.viewers = n_;
    r.height = tree_->height();
    double depth_sum = 0;
    for (RelayNodeId id = 1; id <= n_; ++id) {
      depth_sum += static_cast<double>(*tree_->depth(id));
      if (!tree_->children(id).empty()) ++r.relays;
    }
    r.mean_depth = depth_sum / static_cast<double>(n_);
    r.host_children = tree_->children(kRelayHost).size();

    // The token stream.
    const int64_t end_us = static_cast<int64_t>(a_.seconds * 1e6);
    const double gap_us = 1e6 / a_.rate;
    for (double t = 0; t < static_cast<double>(end_us); t += gap_us) {
      push({static_cast<int64_t>(t), 0, EvType::kToken});
    }
    if (a_.kill_share > 0) push({static_cast<int64_t>(a_.kill_at_s * 1e6), 0, EvType::kKill});

    while (!q_.empty()) {
      Ev e = q_.top();
      q_.pop();
      now_ = e.at_us;
      handle(e, r);
    }
    finish(r);
    return r;
  }

 private:
  void push(Ev e) {
    e.order = order_++;
    q_.push(e);
  }

  void handle(const Ev& e, Result& r) {
    switch (e.type) {
      case EvType::kToken: {
        std::uniform_int_distribution<int> len(3, 7);
        std::string t(static_cast<size_t>(len(rng_)), 'a');
        pending_text_ += t;
        pending_tokens_.push_back(Token{now_, 0});
        ++r.tokens;
        // Pacing: a record at once after an idle pace interval, else at the interval's end.
        if (!cut_scheduled_) {
          const int64_t at = std::max(now_, last_cut_us_ + kPaceUs);
          push({at, 0, EvType::kCut});
          cut_scheduled_ = true;
        }
        break;
      }
      case EvType::kCut: {
        cut_scheduled_ = false;
        last_cut_us_ = now_;
        const auto payload = encode_frame(Frame{DeltaFrame{pending_text_}});
        if (!payload) {
          std::fprintf(stderr, "relay_sim: encode_frame: %s at %lld us, %zu bytes, %llu tokens\n",
                       payload.error().message().c_str(), static_cast<long long>(now_),
                       pending_text_.size(), static_cast<unsigned long long>(r.tokens));
          std::abort();
        }
        pending_text_.clear();
        auto bytes = writer_->append(*payload, now_ / 1000);
        if (!bytes) {
          std::fprintf(stderr, "relay_sim: append: %s (%zu bytes)\n",
                       bytes.error().message().c_str(), payload->size());
          std::abort();
        }
        ++r.records;
        if ((*bytes)[0] == kRelaySignedRecordType) ++r.signed_frames;
        for (auto& t : pending_tokens_) {
          t.record = writer_->head().index;
          tokens_.push_back(t);
        }
        pending_tokens_.clear();
        emit(std::move(*bytes), false, r);
        if (auto due = writer_->checkpoint_due_at()) {
          push({std::max(now_, *due * 1000), 0, EvType::kCheckpoint});
        }
        break;
      }
      case EvType::kCheckpoint: {
        auto due = writer_->checkpoint_due_at();
        if (!due || *due * 1000 > now_) break;  // signed inline meanwhile, or a later record's
        if (auto cp = writer_->checkpoint()) {
          ++r.signed_frames;
          emit(std::move(*cp), true, r);
        }
        break;
      }
      case EvType::kDeliver:
        deliver(e, r);
        break;
      case EvType::kKill:
        kill(r);
        break;
      case EvType::kDetect:
        detect(r);
        break;
      case EvType::kRelink:
        relink(e.node, r);
        break;
    }
  }

  void emit(std::vector<uint8_t> bytes, bool checkpoint, Result& r) {
    SimFrame f;
    f.index = writer_->head().index;
    f.checkpoint = checkpoint;
    f.cut_us = now_;
    f.bytes = std::move(bytes);
    frames_.push_back(std::move(f));
    arrive_at_.emplace_back(n_ + 1, -1);
    const uint32_t id = static_cast<uint32_t>(frames_.size() - 1);
    arrive_at_[id][0] = now_;
    record_frame(id);
    if (!nodes_[0].forwarder.add(frames_[id].bytes)) std::abort();
    for (RelayNodeId c : tree_->children(kRelayHost)) {
      if (nodes_[c].link_up) send(kRelayHost, c, id, r);
    }
  }

  // The sender's uplink serializes its messages; the link adds latency and, for a lost message,
  // a round trip plus the retransmission delay; delivery on a link stays in order.
  void send(RelayNodeId from, RelayNodeId to, uint32_t frame, Result& r) {
    Node& s = nodes_[from];
    Node& c = nodes_[to];
    const SimFrame& f = frames_[frame];
    auto& upto = s.sent_upto[to];
    if (!f.checkpoint) {
      if (f.index <= upto) return;
      upto = f.index;
    } else if (f.index != upto) {
      return;  // a checkpoint for records this link did not carry
    }
    const double wire = static_cast<double>(f.bytes.size()) + kHeaderBytes;
    if (from == kRelayHost) r.host_bytes += wire;
    const double kbps = from == kRelayHost ? a_.host_uplink_kbps : a_.uplink_kbps;
    const int64_t start = std::max(now_, s.uplink_free_us);
    s.uplink_free_us = start + static_cast<int64_t>(wire * 8 / kbps * 1000);
    double at = static_cast<double>(s.uplink_free_us) + c.latency_us;
    if (std::bernoulli_distribution(a_.loss)(rng_))
      at += 2 * c.latency_us + a_.retransmit_ms * 1000;
    c.link_last_us = std::max(c.link_last_us, static_cast<int64_t>(at));
    push({c.link_last_us, 0, EvType::kDeliver, to, frame, c.epoch});
  }

  void deliver(const Ev& e, Result& r) {
    Node& n = nodes_[e.node];
    if (n.dead || e.epoch != n.epoch || !n.verifier || n.verifier->failed()) return;
    const SimFrame& f = frames_[e.frame];
    arrive_at_[e.frame][e.node] = now_;
    const RelayNodeId p = n.parent;
    if (p != kRelayHost && arrive_at_[e.frame][p] >= 0 && !n.relinked_at_us) {
      const double hop = static_cast<double>(now_ - arrive_at_[e.frame][p]) / 1000;
      if (now_ < kill_us_) {
        r.hop_ms.push_back(hop);
        r.hop_added_ms.push_back(hop - n.latency_us / 1000);
      } else {
        r.hop_added_after_kill_ms.push_back(hop - n.latency_us / 1000);
      }
    }
    // Forward first (relays do not wait for their own verification), then verify. A frame the
    // relay holds already (its new parent resending after a move) is not forwarded again.
    auto added = n.forwarder.add(f.bytes);
    if (!added) ++r.forwarder_errors;
    if (added && *added == RelayForwarder::Added::kForward) {
      for (RelayNodeId c : tree_->children(e.node)) {
        if (nodes_[c].link_up) send(e.node, c, e.frame, r);
      }
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto out = n.verifier->accept(f.bytes);
    r.verify_cpu_us +=
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    ++r.accepts;
    if (!out) {
      ++r.verifier_errors;
      return;
    }
    if (f.checkpoint || f.bytes[0] == kRelaySignedRecordType) ++r.signatures_verified;
    for (const auto& rec : *out) {
      if (rec.index != n.last_released + 1) ++n.duplicates_or_gaps;
      n.last_released = rec.index;
      released_.push_back({e.node, rec.index, now_});
    }
    if (!out->empty() && n.interrupted_at_us && n.relinked_at_us) {
      // Caught up: released what the host had cut when the new link came up.
      if (n.last_released >= catch_up_target_[e.node]) {
        r.recovered_ms.push_back(static_cast<double>(now_ - *n.interrupted_at_us) / 1000);
        n.interrupted_at_us.reset();
      }
    }
  }

  void kill(Result& r) {
    std::vector<RelayNodeId> relays;
    for (RelayNodeId id = 1; id <= n_; ++id) {
      if (!tree_->children(id).empty()) relays.push_back(id);
    }
    std::shuffle(relays.begin(), relays.end(), rng_);
    relays.resize(
        static_cast<size_t>(std::llround(a_.kill_share * static_cast<double>(relays.size()))));
    for (RelayNodeId id : relays) {
      nodes_[id].dead = true;
      killed_.push_back(id);
    }
    r.killed = killed_.size();
    kill_us_ = now_;
    // Children notice after the ping timeout and report through the rendezvous.
    push(
        {now_ + static_cast<int64_t>((a_.stall_ms + a_.rendezvous_ms) * 1000), 0, EvType::kDetect});
  }

  // The host learns of every dead relay at once (the reports of their children) and re-plans.
  void detect(Result& r) {
    std::unordered_map<RelayNodeId, RelayNodeId> before;
    for (RelayNodeId id = 1; id <= n_; ++id) {
      if (tree_->contains(id)) {
        before[id] = *tree_->parent(id);
        // Each child reported its verified position with its report.
        (void)tree_->progress(id, nodes_[id].verifier->verified().index);
      }
    }
    for (RelayNodeId dead : killed_) {
      if (!tree_->contains(dead)) continue;  // in a subtree dropped by an earlier leave
      auto gone = tree_->leave(dead);
      if (!gone) std::abort();
      r.dropped += gone->dropped.size();
    }
    if (!tree_->consistent()) {
      std::fprintf(stderr, "relay_sim: the tree broke an invariant\n");
      std::abort();
    }
    for (RelayNodeId id = 1; id <= n_; ++id) {
      Node& n = nodes_[id];
      if (n.dead) continue;
      if (!tree_->contains(id)) {  // dropped: it left the tree
        n.dead = true;
        continue;
      }
      if (before[id] == *tree_->parent(id)) continue;
      ++r.orphans;
      n.interrupted_at_us = kill_us_;
      n.link_up = false;
      n.epoch++;  // frames still in flight from the dead parent are dropped
      // The host introduces child and new parent through the rendezvous; they connect.
      push({now_ + static_cast<int64_t>((a_.rendezvous_ms + a_.setup_ms) * 1000), 0,
            EvType::kRelink, id});
    }
  }

  void relink(RelayNodeId id, Result& r) {
    Node& n = nodes_[id];
    n.parent = *tree_->parent(id);
    n.relinked_at_us = now_;
    n.link_up = true;
    n.link_last_us = now_;
    std::uniform_real_distribution<double> lat(a_.latency_lo_ms * 1000, a_.latency_hi_ms * 1000);
    n.latency_us = lat(rng_);
    r.reparent_ms.push_back(static_cast<double>(now_ - kill_us_) / 1000);
    // A fresh verifier from the child's own verified position; unverified records it held are
    // dropped and come again from the new parent.
    const RelayPosition from = n.verifier->verified();
    n.verifier.emplace(session_, host_key_, from);
    catch_up_target_[id] = writer_->head().index;
    Node& p = nodes_[n.parent];
    p.sent_upto[id] = from.index;
    auto need = p.forwarder.since(from.index);
    if (!need) {  // the new parent's ring does not reach back far enough: the host's does
      ++r.ring_misses;
      need = nodes_[0].forwarder.since(from.index);
      if (!need) std::abort();
    }
    for (auto bytes : *need) {
      auto frame = decode_relay_frame(bytes);
      if (!frame) std::abort();
      send(n.parent, id,
           (frame->kind == RelayFrame::Kind::kCheckpoint ? checkpoint_frame_
                                                         : record_frame_)[frame->index],
           r);
    }
  }

  void finish(Result& r) {
    // Latency token -> verified at each viewer, by depth, before the kill (the steady tree).
    std::vector<std::vector<int64_t>> token_at(writer_->head().index + 1);
    for (const auto& t : tokens_) token_at[t.record].push_back(t.at_us);
    for (const auto& rel : released_) {
      if (rel.at_us >= kill_us_) continue;
      for (int64_t at : token_at[rel.index]) {
        r.latency_by_depth_ms[nodes_[rel.node].depth0].push_back(
            static_cast<double>(rel.at_us - at) / 1000);
      }
    }
    for (RelayNodeId id = 1; id <= n_; ++id) {
      const Node& n = nodes_[id];
      if (n.dead) continue;
      if (n.last_released != writer_->head().index) ++r.incomplete;
      r.order_errors += n.duplicates_or_gaps;
    }
    // The wait for a signature: release - arrival of each record at each viewer (before the kill).
    for (const auto& rel : released_) {
      if (rel.at_us >= kill_us_) continue;
      const uint32_t f = record_frame_[rel.index];
      const int64_t arrived = arrive_at_[f][rel.node];
      if (arrived >= 0) r.sign_wait_ms.push_back(static_cast<double>(rel.at_us - arrived) / 1000);
    }
  }

  void record_frame(uint32_t id) {
    auto& map = frames_[id].checkpoint ? checkpoint_frame_ : record_frame_;
    if (map.size() <= frames_[id].index) map.resize(frames_[id].index + 1, 0);
    map[frames_[id].index] = id;
  }

  struct Released {
    RelayNodeId node;
    uint64_t index;
    int64_t at_us;
  };

  const Args& a_;
  std::mt19937_64 rng_;
  size_t n_;
  SessionId session_;
  Ed25519PublicKey host_key_{};
  std::optional<RelayStreamWriter> writer_;
  std::optional<RelayTree> tree_;
  std::vector<Node> nodes_;
  std::priority_queue<Ev, std::vector<Ev>, std::greater<>> q_;
  uint64_t order_ = 0;
  int64_t now_ = 0;
  std::string pending_text_;
  std::vector<Token> pending_tokens_, tokens_;
  bool cut_scheduled_ = false;
  int64_t last_cut_us_ = -kPaceUs;
  std::vector<SimFrame> frames_;
  std::vector<std::vector<int64_t>> arrive_at_;
  std::vector<Released> released_;
  std::vector<RelayNodeId> killed_;
  int64_t kill_us_ = INT64_MAX;
  std::unordered_map<RelayNodeId, uint64_t> catch_up_target_;
  std::vector<uint32_t> record_frame_, checkpoint_frame_;  // relay index -> frame id
};

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  std::fprintf(stderr, "%8s %6s %6s %6s %10s %10s %9s %9s %9s %9s %9s %10s %8s %9s %9s %9s %s\n",
               "viewers", "relays", "depth", "mean", "host B/tok", "sig B/tok", "hop p50",
               "hop p99", "add p99", "wait p99", "deep p99", "verify us", "killed", "repar p99",
               "repar max", "recov p99", "complete");
  for (size_t viewers : a.viewers) {
    Sim sim(a, viewers);
    Result r = sim.run();
    const double per_token = r.host_bytes / static_cast<double>(r.tokens);
    const double sig_per_token =
        64.0 * static_cast<double>(r.signed_frames) / static_cast<double>(r.tokens);
    const size_t deepest =
        r.latency_by_depth_ms.empty() ? 0 : r.latency_by_depth_ms.rbegin()->first;
    std::string by_depth;
    for (auto& [d, v] : r.latency_by_depth_ms) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "%s\"%zu\":{\"p50\":%.1f,\"p99\":%.1f}",
                    by_depth.empty() ? "" : ",", d, percentile(v, 0.5), percentile(v, 0.99));
      by_depth += buf;
    }
    const double deep_p99 = deepest ? percentile(r.latency_by_depth_ms[deepest], 0.99) : 0;
    const double verify_us =
        r.verify_cpu_us / static_cast<double>(std::max<uint64_t>(r.accepts, 1));
    const bool complete = r.incomplete == 0 && r.order_errors == 0 && r.verifier_errors == 0 &&
                          r.forwarder_errors == 0;
    std::printf(
        "{\"bench\":\"relay_sim\",\"viewers\":%zu,\"relays\":%zu,\"host_children\":%zu,"
        "\"height\":%zu,\"mean_depth\":%.2f,\"tokens\":%llu,\"records\":%llu,\"signed_frames\":%"
        "llu,"
        "\"host_upload_bytes_per_token\":%.1f,\"signature_bytes_per_token\":%.1f,"
        "\"hop_ms\":{\"p50\":%.1f,\"p99\":%.1f},\"hop_added_ms\":{\"p50\":%.2f,\"p99\":%.1f},"
        "\"hop_added_after_kill_ms\":{\"p50\":%.2f,\"p99\":%.1f},"
        "\"signature_wait_ms\":{\"p50\":%.1f,\"p99\":%.1f},\"latency_by_depth_ms\":{%s},"
        "\"verify_us_per_frame\":%.1f,\"signatures_verified\":%llu,\"killed_relays\":%zu,"
        "\"moved\":%zu,\"dropped\":%zu,\"reparent_ms\":{\"p50\":%.0f,\"p99\":%.0f,\"max\":%.0f},"
        "\"recovered_ms\":{\"p50\":%.0f,\"p99\":%.0f,\"max\":%.0f},\"incomplete\":%llu,"
        "\"order_errors\":%llu,\"verifier_errors\":%llu,\"forwarder_errors\":%llu,"
        "\"ring_misses\":%llu}\n",
        r.viewers, r.relays, r.host_children, r.height, r.mean_depth,
        static_cast<unsigned long long>(r.tokens), static_cast<unsigned long long>(r.records),
        static_cast<unsigned long long>(r.signed_frames), per_token, sig_per_token,
        percentile(r.hop_ms, 0.5), percentile(r.hop_ms, 0.99), percentile(r.hop_added_ms, 0.5),
        percentile(r.hop_added_ms, 0.99), percentile(r.hop_added_after_kill_ms, 0.5),
        percentile(r.hop_added_after_kill_ms, 0.99), percentile(r.sign_wait_ms, 0.5),
        percentile(r.sign_wait_ms, 0.99), by_depth.c_str(), verify_us,
        static_cast<unsigned long long>(r.signatures_verified), r.killed, r.orphans, r.dropped,
        percentile(r.reparent_ms, 0.5), percentile(r.reparent_ms, 0.99),
        r.reparent_ms.empty() ? 0 : *std::max_element(r.reparent_ms.begin(), r.reparent_ms.end()),
        percentile(r.recovered_ms, 0.5), percentile(r.recovered_ms, 0.99),
        r.recovered_ms.empty() ? 0
                               : *std::max_element(r.recovered_ms.begin(), r.recovered_ms.end()),
        static_cast<unsigned long long>(r.incomplete),
        static_cast<unsigned long long>(r.order_errors),
        static_cast<unsigned long long>(r.verifier_errors),
        static_cast<unsigned long long>(r.forwarder_errors),
        static_cast<unsigned long long>(r.ring_misses));
    std::fflush(stdout);
    std::fprintf(
        stderr,
        "%8zu %6zu %6zu %6.2f %10.1f %10.1f %9.1f %9.1f %9.1f %9.1f %9.1f %10.1f %8zu "
        "%9.0f %9.0f %9.0f %s\n",
        r.viewers, r.relays, r.height, r.mean_depth, per_token, sig_per_token,
        percentile(r.hop_ms, 0.5), percentile(r.hop_ms, 0.99), percentile(r.hop_added_ms, 0.99),
        percentile(r.sign_wait_ms, 0.99), deep_p99, verify_us, r.killed,
        percentile(r.reparent_ms, 0.99),
        r.reparent_ms.empty() ? 0 : *std::max_element(r.reparent_ms.begin(), r.reparent_ms.end()),
        percentile(r.recovered_ms, 0.99), complete ? "yes" : "NO");
    if (!complete) return 1;
  }
  return 0;
}
