// Durable storage of sessions and their event logs (SQLite in WAL mode, behind this header).
// The host persists every event before any peer sees it; GroupCommitter batches the commits of
// a live stream so that durability costs one fsync per batch rather than per token.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tokencast/core/events.hpp"
#include "tokencast/core/expected.hpp"
#include "tokencast/core/session_id.hpp"

namespace tokencast {

enum class StoreError {
  kOpenFailed = 1,  // the file could not be opened or is not a tokencast store
  kSchemaTooNew,    // written by a newer tokencast
  kIo,              // SQLite reported an error while reading or writing
  kNotFound,        // no session with that id
  kAmbiguous,       // an id prefix matches more than one session
  kCorrupt,         // a stored row does not decode to a valid event
  kSequence,        // appended events do not continue the stored sequence
  kDuplicate,       // a session with that id exists already
};
const std::error_category& store_category();
std::error_code make_error_code(StoreError e);

// Everything needed to bring a session back with the same links. The secrets live only here
// (the store file is created 0600) and in the links; never in argv, logs or the rendezvous.
struct SessionRecord {
  SessionId id;
  int64_t created_at_ms = 0;
  std::string title;
  std::string model;
  std::array<uint8_t, 32> host_key_seed{};  // Ed25519 private key seed
  std::array<uint8_t, 32> viewer_secret{};
  std::array<uint8_t, 32> participant_secret{};
  std::string base_url;  // the links' base URL when the session was created
};

// A session's life beyond its log: when it expires and whether it was ended for good.
struct SessionLife {
  int64_t expires_at_ms = 0;  // 0: never
  int64_t ended_at_ms = 0;    // 0: not ended; once set, the session's links are dead for good
  std::string end_reason;     // why it ended: "ended by the host", "expired", ...
  bool ended() const { return ended_at_ms != 0; }
};

struct SessionSummary {
  SessionId id;
  int64_t created_at_ms = 0;
  std::string title;
  std::string model;
  Seq head = 0;            // last stored sequence, 0 when empty
  uint64_t turns = 0;      // turns started
  int64_t last_at_ms = 0;  // time of the last turn start or end, 0 when none
};

class EventStore {
 public:
  // Opens or creates the store at `path`; creates the schema; applies WAL and synchronous=FULL.
  static Expected<std::unique_ptr<EventStore>, std::error_code> open(const std::string& path);
  ~EventStore();
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  Expected<void, std::error_code> create_session(const SessionRecord& record);
  Expected<SessionRecord, std::error_code> load_session(const SessionId& id);
  // Finds the one session whose hex id starts with `prefix` (at least 4 hex digits).
  Expected<SessionId, std::error_code> resolve_prefix(std::string_view prefix);
  Expected<std::vector<SessionSummary>, std::error_code> list_sessions();
  // Events with seq >= from, in order. Fails with kCorrupt on a row that does not decode.
  Expected<std::vector<Event>, std::error_code> load_events(const SessionId& id, Seq from = 1);
  Expected<Seq, std::error_code> head(const SessionId& id);
  // Appends in one durable transaction. The first seq must be head + 1 and seqs contiguous.
  Expected<void, std::error_code> append(const SessionId& id, std::span<const Event> events);
  Expected<void, std::error_code> update_meta(const SessionId& id, std::string_view title,
                                              std::string_view model);

  // The session's life (defaults for a session that never had an expiry or an end).
  Expected<SessionLife, std::error_code> session_life(const SessionId& id);
  // Sets (0: clears) when the session expires.
  Expected<void, std::error_code> set_expiry(const SessionId& id, int64_t expires_at_ms);
  // Ends the session for good; a session already ended keeps its first end.
  Expected<void, std::error_code> end_session(const SessionId& id, int64_t at_ms,
                                              std::string_view reason);
  // New room secrets and base URL (`--resume ID --new-links`): the old links stop working.
  Expected<void, std::error_code> replace_links(const SessionId& id,
                                                const std::array<uint8_t, 32>& viewer_secret,
                                                const std::array<uint8_t, 32>& participant_secret,
                                                std::string_view base_url);

  // Clients the host removed (/kick), by the SHA-256 fingerprint of their DTLS certificate:
  // kept with the session so that `--resume` (with or without --new-links) still refuses them.
  // At most kMaxRemovedClients per session; beyond that the oldest is forgotten.
  static constexpr size_t kMaxRemovedClients = 1024;
  using ClientFingerprint = std::array<uint8_t, 32>;
  // Adds one (again: no change); kNotFound when no session has that id.
  Expected<void, std::error_code> add_removed_client(const SessionId& id,
                                                     const ClientFingerprint& fingerprint,
                                                     int64_t at_ms);
  // The session's removed clients, oldest first.
  Expected<std::vector<ClientFingerprint>, std::error_code> removed_clients(const SessionId& id);

 private:
  struct Impl;
  explicit EventStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Group commit: submit() hands events to a writer thread, which commits everything pending
// in one transaction as soon as the previous commit finishes. `on_durable` then reports the
// highest durable seq (on the writer thread). A failed commit reports its error and stops
// further writes: the host must not show peers anything that is not durable.
//
// `batch_interval` (0: none) trades latency for fewer commits: the writer holds the first
// pending event until that long after it was submitted, so everything submitted within the
// interval is committed in one transaction. Nothing durable is held back and nothing is shown
// before it is durable; the events only become durable (and visible) later.
class GroupCommitter {
 public:
  using DurableCallback = std::function<void(Seq durable_up_to, std::error_code error)>;

  GroupCommitter(EventStore& store, SessionId session, DurableCallback on_durable,
                 std::chrono::milliseconds batch_interval = std::chrono::milliseconds(0));
  ~GroupCommitter();  // commits what is pending, then stops the thread
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  void submit(Event event);  // never waits for I/O
  // Commits what is pending without waiting out the batch interval (does not wait for it).
  void commit_now();
  // Blocks until everything submitted so far is durable (without waiting out the batch
  // interval); returns the first error, if any.
  std::error_code flush();

  struct Stats {
    uint64_t commits = 0;
    uint64_t events = 0;
    double max_commit_ms = 0;  // longest single transaction
    double total_commit_ms = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tokencast

template <>
struct std::is_error_code_enum<tokencast::StoreError> : std::true_type {};
