// An encoded server -> peer message, shared (not copied) between the write queues of every
// recipient of a broadcast.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

namespace tokencast::rendezvous {

struct OutMessage {
  std::shared_ptr<uint8_t[]> data;
  uint32_t size = 0;
  // The peer whose SEND this is (its share of the recipient's queue is charged); 0: the server.
  uint64_t from = 0;

  static OutMessage allocate(size_t size) {
    return OutMessage{std::make_shared_for_overwrite<uint8_t[]>(size), static_cast<uint32_t>(size),
                      0};
  }
  static OutMessage copy_of(std::span<const uint8_t> bytes) {
    OutMessage m = allocate(bytes.size());
    if (!bytes.empty()) std::memcpy(m.data.get(), bytes.data(), bytes.size());
    return m;
  }
  std::span<uint8_t> bytes() const { return {data.get(), size}; }
};

}  // namespace tokencast::rendezvous
