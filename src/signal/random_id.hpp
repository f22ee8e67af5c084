// Peer ids: 64-bit values from the kernel's CSPRNG (getrandom), never 0.
#pragma once

#include <cstdint>

namespace tokencast::rendezvous {

uint64_t random_peer_id();

}  // namespace tokencast::rendezvous
