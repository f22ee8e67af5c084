#include "tokencast/core/relay_fanout.hpp"

#include <algorithm>

namespace tokencast {
namespace {

bool all_zero(const RelayChainHash& hash) {
  return std::all_of(hash.begin(), hash.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace

RelayFanout::RelayFanout(const SessionId& session_id, const Ed25519PublicKey& host_key,
                         RelayFanoutOptions options)
    : session_id_(session_id),
      genesis_(relay_chain_genesis(session_id, host_key)),
      options_(options),
      forwarder_(options.ring) {
  chain_.push_back(Link{0, genesis_, std::nullopt});
}

void RelayFanout::set_base(const RelayPosition& position) {
  if (link_at(position.index) != nullptr) return;
  // A position the chain does not reach: start over from it (nothing held connects to it).
  if (forwarder_.head() != 0 && position.index != forwarder_.head()) return;
  chain_.clear();
  chain_.push_back(Link{position.index, position.chain, std::nullopt});
}

const RelayFanout::Link* RelayFanout::link_at(uint64_t index) const {
  if (chain_.empty() || index < chain_.front().index || index > chain_.back().index) {
    return nullptr;
  }
  return &chain_[static_cast<size_t>(index - chain_.front().index)];
}

std::optional<RelayChainHash> RelayFanout::chain_at(uint64_t index) const {
  const Link* link = link_at(index);
  if (link == nullptr) return std::nullopt;
  return link->chain;
}

Expected<RelayForwarder::Added, std::error_code> RelayFanout::add(std::span<const uint8_t> bytes) {
  auto frame = decode_relay_frame(bytes);
  if (!frame) return unexpected(make_error_code(frame.error()));
  const bool checkpoint = frame->kind == RelayFrame::Kind::kCheckpoint;
  if (checkpoint && forwarder_.head() == 0) {
    // The anchor a parent sends when this relay resumed from an index it holds without a ring:
    // the base of the chain, and a signed position late joiners can be anchored at.
    if (chain_.size() == 1 && chain_.front().index <= frame->index) {
      chain_.front() = Link{frame->index, *frame->chain, frame->signature};
    }
    return RelayForwarder::Added::kDuplicate;
  }
  auto added = forwarder_.add(bytes);
  if (!added) return added;
  if (*added == RelayForwarder::Added::kDuplicate) return added;
  if (checkpoint) {
    if (!chain_.empty() && chain_.back().index == frame->index &&
        chain_.back().chain == *frame->chain) {
      chain_.back().signature = frame->signature;
    }
    return added;
  }
  if (!chain_.empty() && chain_.back().index + 1 == frame->index) {
    const RelayChainHash next = relay_chain_next(chain_.back().chain, frame->index, frame->payload);
    chain_.push_back(Link{frame->index, next, frame->signature});
  } else {
    // The chain before this record is unknown (a relay that started in the middle without a
    // base): track from nothing; only positions it reaches can be served.
    chain_.clear();
  }
  trim();
  return added;
}

void RelayFanout::trim() {
  // Keep the hash of the record just before the ring's oldest one (a child resuming there),
  // and never more links than the ring holds frames.
  const uint64_t oldest = forwarder_.oldest();
  while (chain_.size() > 1 &&
         (chain_.front().index + 1 < oldest || chain_.size() > options_.ring.max_frames + 1)) {
    chain_.pop_front();
  }
}

std::optional<RelayFanout::Serving> RelayFanout::serve(const RelayHelloFrame& hello) const {
  const uint64_t last = hello.last_index;
  const bool zero = all_zero(hello.chain_hash);
  Serving out;
  out.welcome = RelayWelcomeFrame{kRelayVersion, session_id_, forwarder_.head()};
  uint64_t after = last;
  if (last == 0) {
    if (!zero && hello.chain_hash != genesis_) return std::nullopt;
  } else if (!zero) {
    const Link* link = link_at(last);
    if (link == nullptr || link->chain != hello.chain_hash) return std::nullopt;
  } else {
    // The newest signed position at or below L from which the ring continues.
    const Link* anchor = nullptr;
    for (auto it = chain_.rbegin(); it != chain_.rend(); ++it) {
      if (it->index > last || !it->signature || it->index == 0) continue;
      if (!forwarder_.since(it->index)) break;  // older ones are out of reach too
      anchor = &*it;
      break;
    }
    if (anchor == nullptr) return std::nullopt;
    RelayFrame checkpoint;
    checkpoint.kind = RelayFrame::Kind::kCheckpoint;
    checkpoint.index = anchor->index;
    checkpoint.chain = anchor->chain;
    checkpoint.signature = anchor->signature;
    out.anchor = encode_relay_frame(checkpoint);
    after = anchor->index;
  }
  auto frames = forwarder_.since(after);
  if (!frames) return std::nullopt;
  for (const auto& f : *frames) out.frames.emplace_back(f.begin(), f.end());
  return out;
}

}  // namespace tokencast
