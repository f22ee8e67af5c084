#include "random_id.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace tokencast::rendezvous {

namespace {

// Ids are drawn in batches to save system calls; each thread has its own batch.
struct Pool {
  std::array<uint64_t, 32> ids{};
  size_t next = ids.size();

  void refill() {
    auto* p = reinterpret_cast<unsigned char*>(ids.data());
    size_t want = sizeof(ids);
    while (want > 0) {
      ssize_t got = getrandom(p, want, 0);
      if (got < 0) {
        if (errno == EINTR) continue;
        std::abort();  // no CSPRNG: refuse to hand out guessable ids
      }
      p += got;
      want -= static_cast<size_t>(got);
    }
    next = 0;
  }
};

}  // namespace

uint64_t random_peer_id() {
  thread_local Pool pool;
  for (;;) {
    if (pool.next == pool.ids.size()) pool.refill();
    uint64_t id = pool.ids[pool.next];
    pool.ids[pool.next++] = 0;
    if (id != 0) return id;
  }
}

}  // namespace tokencast::rendezvous
