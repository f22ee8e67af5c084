#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <mutex>

#include "event_rows.hpp"
#include "sqlite_db.hpp"
#include "tokencast/store/store.hpp"

namespace tokencast {
namespace {

// 1: sessions and events. 2: session_life (expiry and end); version 1 stores gain the table
// when opened, and an older tokencast refuses a version 2 store rather than resume a session
// that was ended. 3: event rows of kind 7 (thinking), no change to the tables: older stores
// load as they are, and an older tokencast refuses the store as too new rather than call a
// session with thinking corrupt. 4: removed_clients (peers removed with /kick, by DTLS
// certificate); older stores gain the table when opened, and an older tokencast refuses a
// version 4 store rather than resume a session and let its removed peers back in.
constexpr int kSchemaVersion = 4;

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS sessions(
  id BLOB PRIMARY KEY,
  created_at_ms INTEGER NOT NULL,
  title TEXT NOT NULL,
  model TEXT NOT NULL,
  host_key_seed BLOB NOT NULL,
  viewer_secret BLOB NOT NULL,
  participant_secret BLOB NOT NULL,
  base_url TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events(
  session BLOB NOT NULL,
  seq INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  num INTEGER NOT NULL,
  code INTEGER NOT NULL,
  text BLOB NOT NULL,
  extra TEXT NOT NULL,
  count INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  PRIMARY KEY(session, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS session_life(
  id BLOB PRIMARY KEY,
  expires_at_ms INTEGER NOT NULL DEFAULT 0,
  ended_at_ms INTEGER NOT NULL DEFAULT 0,
  end_reason TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS removed_clients(
  session BLOB NOT NULL,
  fingerprint BLOB NOT NULL,
  at_ms INTEGER NOT NULL,
  UNIQUE(session, fingerprint));
)sql";

class StoreCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.store"; }
  std::string message(int code) const override {
    switch (static_cast<StoreError>(code)) {
      case StoreError::kOpenFailed:
        return "the store could not be opened";
      case StoreError::kSchemaTooNew:
        return "the store was written by a newer tokencast";
      case StoreError::kIo:
        return "the store reported an I/O error";
      case StoreError::kNotFound:
        return "no such session in the store";
      case StoreError::kAmbiguous:
        return "the session id prefix matches several sessions";
      case StoreError::kCorrupt:
        return "a stored event is corrupt";
      case StoreError::kSequence:
        return "events do not continue the stored sequence";
      case StoreError::kDuplicate:
        return "a session with that id exists already";
    }
    return "unknown store error";
  }
};

template <size_t N>
void copy_blob(const store::Statement& st, int column, std::array<uint8_t, N>& out, bool& ok) {
  if (st.column_size(column) != N) {
    ok = false;
    return;
  }
  std::memcpy(out.data(), st.column_blob(column), N);
}

}  // namespace

const std::error_category& store_category() {
  static const StoreCategory category;
  return category;
}

std::error_code make_error_code(StoreError e) { return {static_cast<int>(e), store_category()}; }

struct EventStore::Impl {
  std::mutex mutex;
  store::Database db;
  store::Statement insert_session;
  store::Statement select_session;
  store::Statement select_events;
  store::Statement select_head;
  store::Statement insert_event;
  store::Statement update_meta;
  store::Statement list_sessions;
  store::Statement begin;
  store::Statement commit;
  store::Statement rollback;

  Expected<Seq, std::error_code> head_locked(const SessionId& id) {
    select_head.reset();
    select_head.bind_blob(1, id.bytes.data(), id.bytes.size());
    if (select_head.step() != SQLITE_ROW) return unexpected(make_error_code(StoreError::kIo));
    auto head = static_cast<Seq>(select_head.column_int(0));
    select_head.reset();
    return head;
  }
};

EventStore::EventStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventStore::~EventStore() = default;

Expected<std::unique_ptr<EventStore>, std::error_code> EventStore::open(const std::string& path) {
  // The store holds the session secrets: create it readable by its owner only.
  // Never through a symlink (ELOOP): someone else may have planted it.
  // Only a new file is opened and closed here: close(2) on any descriptor of a file drops every
  // POSIX lock this process holds on it, so closing one beside a live connection (the host opens
  // a second one to watch for `tokencast end`) would let another process believe it is the last
  // connection, checkpoint and delete the WAL that the live one still writes to.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);  // a file made just now: no connection can hold a lock on it yet
  } else if (errno != EEXIST) {
    return unexpected(std::error_code(errno, std::system_category()));
  } else if (struct stat st{}; ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    return unexpected(std::error_code(ELOOP, std::system_category()));
  }

  auto impl = std::make_unique<Impl>();
  std::string error;
  if (impl->db.open(path, error) != SQLITE_OK) {
    return unexpected(make_error_code(StoreError::kOpenFailed));
  }
  auto& db = impl->db;
  sqlite3_busy_timeout(db.handle(), 5000);
  store::Statement version(db.handle(), "PRAGMA user_version");
  if (!version.valid() || version.step() != SQLITE_ROW) {
    return unexpected(make_error_code(StoreError::kOpenFailed));  // not an SQLite database
  }
  int64_t user_version = version.column_int(0);
  version = store::Statement();
  if (user_version > kSchemaVersion) return unexpected(make_error_code(StoreError::kSchemaTooNew));
  // WAL lets readers (sessions, export) run beside the writer; FULL makes each commit durable.
  if (db.exec("PRAGMA journal_mode=WAL") != SQLITE_OK ||
      db.exec("PRAGMA synchronous=FULL") != SQLITE_OK || db.exec(kSchema) != SQLITE_OK ||
      db.exec("PRAGMA user_version=" + std::to_string(kSchemaVersion)) != SQLITE_OK) {
    return unexpected(make_error_code(StoreError::kOpenFailed));
  }
  auto* h = db.handle();
  impl->insert_session = store::Statement(
      h,
      "INSERT INTO sessions(id, created_at_ms, title, model, host_key_seed, viewer_secret, "
      "participant_secret, base_url) VALUES(?,?,?,?,?,?,?,?)");
  impl->select_session = store::Statement(
      h,
      "SELECT created_at_ms, title, model, host_key_seed, viewer_secret, participant_secret, "
      "base_url FROM sessions WHERE id = ?");
  impl->select_events =
      store::Statement(h,
                       "SELECT seq, kind, num, code, text, extra, count, at_ms FROM events "
                       "WHERE session = ? AND seq >= ? ORDER BY seq");
  impl->select_head =
      store::Statement(h, "SELECT coalesce(max(seq), 0) FROM events WHERE session = ?");
  impl->insert_event = store::Statement(
      h,
      "INSERT INTO events(session, seq, kind, num, code, text, extra, count, at_ms) "
      "VALUES(?,?,?,?,?,?,?,?,?)");
  impl->update_meta = store::Statement(h, "UPDATE sessions SET title = ?, model = ? WHERE id = ?");
  impl->list_sessions = store::Statement(
      h,
      "SELECT s.id, s.created_at_ms, s.title, s.model, "
      "(SELECT coalesce(max(seq), 0) FROM events e WHERE e.session = s.id), "
      "(SELECT count(*) FROM events e WHERE e.session = s.id AND e.kind = 1), "
      "(SELECT coalesce(max(at_ms), 0) FROM events e WHERE e.session = s.id AND e.kind IN (1, 3)) "
      "FROM sessions s ORDER BY s.created_at_ms DESC, s.id");
  impl->begin = store::Statement(h, "BEGIN IMMEDIATE");
  impl->commit = store::Statement(h, "COMMIT");
  impl->rollback = store::Statement(h, "ROLLBACK");
  for (auto* st : {&impl->insert_session, &impl->select_session, &impl->select_events,
                   &impl->select_head, &impl->insert_event, &impl->update_meta,
                   &impl->list_sessions, &impl->begin, &impl->commit, &impl->rollback}) {
    if (!st->valid()) return unexpected(make_error_code(StoreError::kOpenFailed));
  }
  return std::unique_ptr<EventStore>(new EventStore(std::move(impl)));
}

Expected<void, std::error_code> EventStore::create_session(const SessionRecord& r) {
  std::lock_guard lock(impl_->mutex);
  auto& st = impl_->insert_session;
  st.reset();
  st.bind_blob(1, r.id.bytes.data(), r.id.bytes.size());
  st.bind(2, r.created_at_ms);
  st.bind(3, r.title);
  st.bind(4, r.model);
  st.bind_blob(5, r.host_key_seed.data(), r.host_key_seed.size());
  st.bind_blob(6, r.viewer_secret.data(), r.viewer_secret.size());
  st.bind_blob(7, r.participant_secret.data(), r.participant_secret.size());
  st.bind(8, r.base_url);
  int rc = st.step();
  st.reset();
  if (rc == SQLITE_CONSTRAINT) return unexpected(make_error_code(StoreError::kDuplicate));
  if (rc != SQLITE_DONE) return unexpected(make_error_code(StoreError::kIo));
  return {};
}

Expected<SessionRecord, std::error_code> EventStore::load_session(const SessionId& id) {
  std::lock_guard lock(impl_->mutex);
  auto& st = impl_->select_session;
  st.reset();
  st.bind_blob(1, id.bytes.data(), id.bytes.size());
  int rc = st.step();
  if (rc == SQLITE_DONE) return unexpected(make_error_code(StoreError::kNotFound));
  if (rc != SQLITE_ROW) return unexpected(make_error_code(StoreError::kIo));
  SessionRecord r;
  r.id = id;
  r.created_at_ms = st.column_int(0);
  r.title = st.column_text(1);
  r.model = st.column_text(2);
  bool ok = true;
  copy_blob(st, 3, r.host_key_seed, ok);
  copy_blob(st, 4, r.viewer_secret, ok);
  copy_blob(st, 5, r.participant_secret, ok);
  r.base_url = st.column_text(6);
  st.reset();
  if (!ok) return unexpected(make_error_code(StoreError::kCorrupt));
  return r;
}

Expected<SessionId, std::error_code> EventStore::resolve_prefix(std::string_view prefix) {
  if (prefix.size() < 4 || prefix.size() > 32 ||
      prefix.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return unexpected(make_error_code(StoreError::kNotFound));
  }
  auto sessions = list_sessions();
  if (!sessions) return unexpected(sessions.error());
  std::optional<SessionId> found;
  for (const auto& s : *sessions) {
    if (s.id.hex().starts_with(prefix)) {
      if (found) return unexpected(make_error_code(StoreError::kAmbiguous));
      found = s.id;
    }
  }
  if (!found) return unexpected(make_error_code(StoreError::kNotFound));
  return *found;
}

Expected<std::vector<SessionSummary>, std::error_code> EventStore::list_sessions() {
  std::lock_guard lock(impl_->mutex);
  auto& st = impl_->list_sessions;
  st.reset();
  std::vector<SessionSummary> out;
  int rc = SQLITE_ROW;
  while ((rc = st.step()) == SQLITE_ROW) {
    SessionSummary s;
    if (st.column_size(0) != s.id.bytes.size()) continue;  // not one of ours
    std::memcpy(s.id.bytes.data(), st.column_blob(0), s.id.bytes.size());
    s.created_at_ms = st.column_int(1);
    s.title = st.column_text(2);
    s.model = st.column_text(3);
    s.head = static_cast<Seq>(st.column_int(4));
    s.turns = static_cast<uint64_t>(st.column_int(5));
    s.last_at_ms = st.column_int(6);
    out.push_back(std::move(s));
  }
  st.reset();
  if (rc != SQLITE_DONE) return unexpected(make_error_code(StoreError::kIo));
  return out;
}

Expected<std::vector<Event>, std::error_code> EventStore::load_events(const SessionId& id,
                                                                      Seq from) {
  std::lock_guard lock(impl_->mutex);
  auto& st = impl_->select_events;
  st.reset();
  st.bind_blob(1, id.bytes.data(), id.bytes.size());
  st.bind(2, static_cast<int64_t>(from));
  std::vector<Event> out;
  int rc = SQLITE_ROW;
  Seq expected = from;
  while ((rc = st.step()) == SQLITE_ROW) {
    store::EventRow row{st.column_int(0),  st.column_int(1),  st.column_int(2), st.column_int(3),
                        st.column_text(4), st.column_text(5), st.column_int(6), st.column_int(7)};
    auto event = store::from_row(row);
    // A gap means rows were lost or edited by hand: refuse rather than replay a holey log.
    if (!event || event->seq != expected) {
      st.reset();
      return unexpected(make_error_code(StoreError::kCorrupt));
    }
    ++expected;
    out.push_back(std::move(*event));
  }
  st.reset();
  if (rc != SQLITE_DONE) return unexpected(make_error_code(StoreError::kIo));
  return out;
}

Expected<Seq, std::error_code> EventStore::head(const SessionId& id) {
  std::lock_guard lock(impl_->mutex);
  return impl_->head_locked(id);
}

Expected<void, std::error_code> EventStore::append(const SessionId& id,
                                                   std::span<const Event> events) {
  if (events.empty()) return {};
  std::lock_guard lock(impl_->mutex);
  auto fail = [this](std::error_code e) {
    impl_->rollback.reset();
    impl_->rollback.step();
    impl_->rollback.reset();
    return unexpected(e);
  };
  impl_->begin.reset();
  int rc = impl_->begin.step();
  impl_->begin.reset();
  if (rc != SQLITE_DONE) return unexpected(make_error_code(StoreError::kIo));
  // The head is read inside the write transaction: the check and the inserts see the same log
  // (no other writer between them), and a commit takes one round of locks, not two (the host
  // commits once per token: the read's own implicit transaction was 4 of its 8 fcntl calls).
  auto head = impl_->head_locked(id);
  if (!head) return fail(head.error());
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].seq != *head + 1 + i) return fail(make_error_code(StoreError::kSequence));
  }
  auto& st = impl_->insert_event;
  for (const auto& event : events) {
    store::EventRow row = store::to_row(event);
    st.reset();
    st.bind_blob(1, id.bytes.data(), id.bytes.size());
    st.bind(2, row.seq);
    st.bind(3, row.kind);
    st.bind(4, row.num);
    st.bind(5, row.code);
    st.bind_blob(6, row.text.data(), row.text.size());
    st.bind(7, row.extra);
    st.bind(8, row.count);
    st.bind(9, row.at_ms);
    if (st.step() != SQLITE_DONE) {
      st.reset();
      return fail(make_error_code(StoreError::kIo));
    }
  }
  st.reset();
  impl_->commit.reset();
  rc = impl_->commit.step();
  impl_->commit.reset();
  if (rc != SQLITE_DONE) return fail(make_error_code(StoreError::kIo));
  return {};
}

Expected<void, std::error_code> EventStore::update_meta(const SessionId& id, std::string_view title,
                                                        std::string_view model) {
  std::lock_guard lock(impl_->mutex);
  auto& st = impl_->update_meta;
  st.reset();
  st.bind(1, title);
  st.bind(2, model);
  st.bind_blob(3, id.bytes.data(), id.bytes.size());
  int rc = st.step();
  st.reset();
  if (rc != SQLITE_DONE) return unexpected(make_error_code(StoreError::kIo));
  return {};
}

namespace {

// Runs one statement that changes one session's row; kNotFound when no session has that id.
Expected<void, std::error_code> run_change(store::Statement& st) {
  int rc = st.step();
  st.reset();
  if (rc != SQLITE_DONE) return unexpected(make_error_code(StoreError::kIo));
  return {};
}

}  // namespace

Expected<SessionLife, std::error_code> EventStore::session_life(const SessionId& id) {
  std::lock_guard lock(impl_->mutex);
  store::Statement st(
      impl_->db.handle(),
      "SELECT expires_at_ms, ended_at_ms, end_reason FROM session_life WHERE id = ?");
  if (!st.valid()) return unexpected(make_error_code(StoreError::kIo));
  st.bind_blob(1, id.bytes.data(), id.bytes.size());
  int rc = st.step();
  SessionLife life;
  if (rc == SQLITE_ROW) {
    life.expires_at_ms = st.column_int(0);
    life.ended_at_ms = st.column_int(1);
    life.end_reason = st.column_text(2);
  } else if (rc != SQLITE_DONE) {
    return unexpected(make_error_code(StoreError::kIo));
  }
  return life;
}

Expected<void, std::error_code> EventStore::set_expiry(const SessionId& id, int64_t expires_at_ms) {
  std::lock_guard lock(impl_->mutex);
  store::Statement st(impl_->db.handle(),
                      "INSERT INTO session_life(id, expires_at_ms) VALUES(?, ?) "
                      "ON CONFLICT(id) DO UPDATE SET expires_at_ms = excluded.expires_at_ms");
  if (!st.valid()) return unexpected(make_error_code(StoreError::kIo));
  st.bind_blob(1, id.bytes.data(), id.bytes.size());
  st.bind(2, expires_at_ms);
  return run_change(st);
}

Expected<void, std::error_code> EventStore::end_session(const SessionId& id, int64_t at_ms,
                                                        std::string_view reason) {
  std::lock_guard lock(impl_->mutex);
  store::Statement st(impl_->db.handle(),
                      "INSERT INTO session_life(id, ended_at_ms, end_reason) VALUES(?, ?, ?) "
                      "ON CONFLICT(id) DO UPDATE SET ended_at_ms = excluded.ended_at_ms, "
                      "end_reason = excluded.end_reason WHERE session_life.ended_at_ms = 0");
  if (!st.valid()) return unexpected(make_error_code(StoreError::kIo));
  st.bind_blob(1, id.bytes.data(), id.bytes.size());
  st.bind(2, at_ms);
  st.bind(3, reason);
  return run_change(st);
}

Expected<void, std::error_code> EventStore::replace_links(
    const SessionId& id, const std::array<uint8_t, 32>& viewer_secret,
    const std::array<uint8_t, 32>& participant_secret, std::string_view base_url) {
  std::lock_guard lock(impl_->mutex);
  store::Statement st(impl_->db.handle(),
                      "UPDATE sessions SET viewer_secret = ?, participant_secret = ?, base_url = ? "
                      "WHERE id = ?");
  if (!st.valid()) return unexpected(make_error_code(StoreError::kIo));
  st.bind_blob(1, viewer_secret.data(), viewer_secret.size());
  st.bind_blob(2, participant_secret.data(), participant_secret.size());
  st.bind(3, base_url);
  st.bind_blob(4, id.bytes.data(), id.bytes.size());
  if (auto changed = run_change(st); !changed) return changed;
  if (sqlite3_changes(impl_->db.handle()) == 0) {
    return unexpected(make_error_code(StoreError::kNotFound));
  }
  return {};
}

Expected<void, std::error_code> EventStore::add_removed_client(const SessionId& id,
                                                               const ClientFingerprint& fingerprint,
                                                               int64_t at_ms) {
  std::lock_guard lock(impl_->mutex);
  auto* h = impl_->db.handle();
  store::Statement known(h, "SELECT 1 FROM sessions WHERE id = ?");
  if (!known.valid()) return unexpected(make_error_code(StoreError::kIo));
  known.bind_blob(1, id.bytes.data(), id.bytes.size());
  int rc = known.step();
  if (rc == SQLITE_DONE) return unexpected(make_error_code(StoreError::kNotFound));
  if (rc != SQLITE_ROW) return unexpected(make_error_code(StoreError::kIo));
  known = store::Statement();
  // One transaction: the insert and the trim to the bound are durable together.
  store::Statement insert(h,
                          "INSERT OR IGNORE INTO removed_clients(session, fingerprint, at_ms) "
                          "VALUES(?, ?, ?)");
  store::Statement trim(h,
                        "DELETE FROM removed_clients WHERE session = ?1 AND rowid NOT IN "
                        "(SELECT rowid FROM removed_clients WHERE session = ?1 "
                        "ORDER BY rowid DESC LIMIT ?2)");
  if (!insert.valid() || !trim.valid()) return unexpected(make_error_code(StoreError::kIo));
  auto rollback = [this] {
    impl_->rollback.reset();
    impl_->rollback.step();
    impl_->rollback.reset();
    return unexpected(make_error_code(StoreError::kIo));
  };
  impl_->begin.reset();
  rc = impl_->begin.step();
  impl_->begin.reset();
  if (rc != SQLITE_DONE) return unexpected(make_error_code(StoreError::kIo));
  insert.bind_blob(1, id.bytes.data(), id.bytes.size());
  insert.bind_blob(2, fingerprint.data(), fingerprint.size());
  insert.bind(3, at_ms);
  if (insert.step() != SQLITE_DONE) return rollback();
  trim.bind_blob(1, id.bytes.data(), id.bytes.size());
  trim.bind(2, static_cast<int64_t>(kMaxRemovedClients));
  if (trim.step() != SQLITE_DONE) return rollback();
  impl_->commit.reset();
  rc = impl_->commit.step();
  impl_->commit.reset();
  if (rc != SQLITE_DONE) return rollback();
  return {};
}

Expected<std::vector<EventStore::ClientFingerprint>, std::error_code> EventStore::removed_clients(
    const SessionId& id) {
  std::lock_guard lock(impl_->mutex);
  store::Statement st(impl_->db.handle(),
                      "SELECT fingerprint FROM removed_clients WHERE session = ? ORDER BY rowid "
                      "LIMIT ?");
  if (!st.valid()) return unexpected(make_error_code(StoreError::kIo));
  st.bind_blob(1, id.bytes.data(), id.bytes.size());
  st.bind(2, static_cast<int64_t>(kMaxRemovedClients));
  std::vector<ClientFingerprint> out;
  int rc = SQLITE_ROW;
  while ((rc = st.step()) == SQLITE_ROW) {
    ClientFingerprint fingerprint{};
    bool ok = true;
    copy_blob(st, 0, fingerprint, ok);
    if (!ok) return unexpected(make_error_code(StoreError::kCorrupt));
    out.push_back(fingerprint);
  }
  if (rc != SQLITE_DONE) return unexpected(make_error_code(StoreError::kIo));
  return out;
}

}  // namespace tokencast
