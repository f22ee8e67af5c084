#include "tokencast/store/store.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "support/temp_dir.hpp"
#include "support/wait.hpp"

namespace tokencast {
namespace {

using testing::TempDir;

// Run with TOKENCAST_STORE_PROBE=<path>, this binary is another process that opens the store,
// reads the head of sample_record(8)'s session, closes it (as `tokencast export` does) and exits
// with that head as its status, before any test runs.
SessionRecord sample_record(uint8_t tag);
const int kStoreProbe = [] {
  const char* path = std::getenv("TOKENCAST_STORE_PROBE");
  if (path == nullptr) return 0;
  auto store = EventStore::open(path);
  if (!store) std::_Exit(100);
  auto head = (*store)->head(sample_record(8).id);
  store->reset();
  std::_Exit(head ? static_cast<int>(*head) : 101);
}();

SessionRecord sample_record(uint8_t tag) {
  SessionRecord r;
  r.id.bytes.fill(tag);
  r.created_at_ms = 1700000000000 + tag;
  r.title = "talk";
  r.model = "llama3";
  r.host_key_seed.fill(0x11);
  r.viewer_secret.fill(0x22);
  r.participant_secret.fill(0x33);
  r.base_url = "http://192.0.2.1:8787";
  return r;
}

std::vector<Event> sample_events() {
  return {
      {1, SessionMeta{"talk", "llama3"}},
      {2, PeerJoined{7, PeerRole::kParticipant, "ada"}},
      {3, TurnStarted{1, TurnRole::kUser, "ada", 1700000000001}},
      {4, TextDelta{1, "why is the sky blue?"}},
      {5, TurnEnded{1, TurnEnd::kDone, "", 1, 1700000000002}},
      {6, TurnStarted{2, TurnRole::kAssistant, "llama3", 1700000000003}},
      {7, ThinkingDelta{2, "light \xE2\x80"}},  // reasoning, kept apart from the text
      {8, TextDelta{2, "Rayleigh \xE2\x80"}},   // a character split across deltas
      {9, TextDelta{2, "\x94 scattering"}},
      {10, TextDelta{2, ""}},
      {11, TurnEnded{2, TurnEnd::kError, "model went away", 3, 1700000000004}},
      {12, PeerLeft{7}},
  };
}

TEST(EventStore, CreatesFileReadableByOwnerOnly) {
  TempDir dir;
  auto store = EventStore::open(dir.file("s.db"));
  ASSERT_TRUE(store) << store.error().message();
  struct stat st {};
  ASSERT_EQ(::stat(dir.file("s.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST(EventStore, SessionRecordRoundTripsAndIsUnique) {
  TempDir dir;
  auto store = EventStore::open(dir.file("s.db"));
  ASSERT_TRUE(store);
  auto record = sample_record(0xab);
  ASSERT_TRUE((*store)->create_session(record));
  auto loaded = (*store)->load_session(record.id);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->title, "talk");
  EXPECT_EQ(loaded->host_key_seed, record.host_key_seed);
  EXPECT_EQ(loaded->participant_secret, record.participant_secret);
  EXPECT_EQ(loaded->base_url, record.base_url);
  auto again = (*store)->create_session(record);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), StoreError::kDuplicate);
  auto missing = (*store)->load_session(sample_record(0x01).id);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), StoreError::kNotFound);
}

TEST(EventStore, ASessionsLifeExpiresEndsOnceAndGetsNewLinks) {
  TempDir dir;
  auto store = EventStore::open(dir.file("s.db"));
  ASSERT_TRUE(store);
  auto record = sample_record(0xab);
  ASSERT_TRUE((*store)->create_session(record));
  auto fresh = (*store)->session_life(record.id);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->expires_at_ms, 0);
  EXPECT_FALSE(fresh->ended());

  ASSERT_TRUE((*store)->set_expiry(record.id, 5000));
  ASSERT_TRUE((*store)->end_session(record.id, 4000, "ended by the host"));
  ASSERT_TRUE((*store)->end_session(record.id, 4500, "expired"));  // the first end stays
  auto life = (*store)->session_life(record.id);
  ASSERT_TRUE(life);
  EXPECT_EQ(life->expires_at_ms, 5000);
  EXPECT_EQ(life->ended_at_ms, 4000);
  EXPECT_EQ(life->end_reason, "ended by the host");

  std::array<uint8_t, 32> viewer{};
  viewer.fill(0x44);
  std::array<uint8_t, 32> participant{};
  participant.fill(0x55);
  ASSERT_TRUE((*store)->replace_links(record.id, viewer, participant, "http://192.0.2.9:8787"));
  auto loaded = (*store)->load_session(record.id);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->viewer_secret, viewer);
  EXPECT_EQ(loaded->participant_secret, participant);
  EXPECT_EQ(loaded->base_url, "http://192.0.2.9:8787");
  EXPECT_EQ(loaded->host_key_seed, record.host_key_seed);  // the host's identity stays
  auto missing = (*store)->replace_links(sample_record(0x01).id, viewer, participant, "x");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), StoreError::kNotFound);
}

// A store written by a tokencast before session_life (schema 1) opens, keeps its sessions and
// gains the table; a newer schema than this build knows is refused.
TEST(EventStore, AVersionOneStoreIsUpgradedAndANewerOneRefused) {
  TempDir dir;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir.file("v1.db").c_str(), &db), SQLITE_OK);
    const char* v1 =
        "CREATE TABLE sessions(id BLOB PRIMARY KEY, created_at_ms INTEGER NOT NULL, title TEXT "
        "NOT NULL, model TEXT NOT NULL, host_key_seed BLOB NOT NULL, viewer_secret BLOB NOT NULL, "
        "participant_secret BLOB NOT NULL, base_url TEXT NOT NULL);"
        "CREATE TABLE events(session BLOB NOT NULL, seq INTEGER NOT NULL, kind INTEGER NOT NULL, "
        "num INTEGER NOT NULL, code INTEGER NOT NULL, text BLOB NOT NULL, extra TEXT NOT NULL, "
        "count INTEGER NOT NULL, at_ms INTEGER NOT NULL, PRIMARY KEY(session, seq)) WITHOUT "
        "ROWID;"
        "INSERT INTO sessions VALUES(x'abababababababababababababababab', 1, 'old', 'm', "
        "zeroblob(32), zeroblob(32), zeroblob(32), 'http://192.0.2.1:8787');"
        "PRAGMA user_version=1;";
    ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = EventStore::open(dir.file("v1.db"));
  ASSERT_TRUE(store) << store.error().message();
  auto id = sample_record(0xab).id;
  ASSERT_TRUE((*store)->load_session(id));
  ASSERT_TRUE((*store)->end_session(id, 7, "ended with tokencast end"));
  EXPECT_TRUE((*store)->session_life(id)->ended());
  store->reset();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir.file("v1.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto newer = EventStore::open(dir.file("v1.db"));
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error(), StoreError::kSchemaTooNew);
}

// Peers removed with /kick are kept with their session, across a reopen, oldest first, at
// most kMaxRemovedClients of them (the oldest is forgotten), and only for a stored session.
TEST(EventStore, RemovedClientsPersistPerSessionAndAreBounded) {
  TempDir dir;
  auto record = sample_record(0xab);
  auto other = sample_record(0xcd);
  auto fingerprint = [](uint32_t n) {
    EventStore::ClientFingerprint f{};
    f.fill(0x5a);
    std::memcpy(f.data(), &n, sizeof n);
    return f;
  };
  {
    auto store = EventStore::open(dir.file("s.db"));
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->create_session(record));
    ASSERT_TRUE((*store)->create_session(other));
    EXPECT_TRUE((*store)->removed_clients(record.id)->empty());
    ASSERT_TRUE((*store)->add_removed_client(record.id, fingerprint(1), 10));
    ASSERT_TRUE((*store)->add_removed_client(record.id, fingerprint(2), 11));
    ASSERT_TRUE((*store)->add_removed_client(record.id, fingerprint(1), 12));  // again: no change
    ASSERT_TRUE((*store)->add_removed_client(other.id, fingerprint(3), 13));
    auto missing = (*store)->add_removed_client(sample_record(0x01).id, fingerprint(4), 14);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(), StoreError::kNotFound);
  }
  auto store = EventStore::open(dir.file("s.db"));
  ASSERT_TRUE(store);
  auto removed = (*store)->removed_clients(record.id);
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, (std::vector{fingerprint(1), fingerprint(2)}));
  EXPECT_EQ(*(*store)->removed_clients(other.id), std::vector{fingerprint(3)});

  const uint32_t limit = EventStore::kMaxRemovedClients;
  for (uint32_t n = 3; n <= limit + 2; ++n) {
    ASSERT_TRUE((*store)->add_removed_client(record.id, fingerprint(n), 20 + n));
  }
  removed = (*store)->removed_clients(record.id);
  ASSERT_TRUE(removed);
  ASSERT_EQ(removed->size(), limit);
  EXPECT_EQ(removed->front(), fingerprint(3));  // 1 and 2, the oldest, are forgotten
  EXPECT_EQ(removed->back(), fingerprint(limit + 2));
  EXPECT_EQ(*(*store)->removed_clients(other.id), std::vector{fingerprint(3)});
}

// A store of schema 3 (before removed_clients) opens, keeps its sessions and gains the table.
TEST(EventStore, AVersionThreeStoreGainsRemovedClients) {
  TempDir dir;
  auto record = sample_record(0xab);
  {
    auto store = EventStore::open(dir.file("v3.db"));
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->create_session(record));
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir.file("v3.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DROP TABLE removed_clients; PRAGMA user_version=3;", nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = EventStore::open(dir.file("v3.db"));
  ASSERT_TRUE(store) << store.error().message();
  ASSERT_TRUE((*store)->load_session(record.id));
  EXPECT_TRUE((*store)->removed_clients(record.id)->empty());
  EventStore::ClientFingerprint f{};
  f.fill(7);
  ASSERT_TRUE((*store)->add_removed_client(record.id, f, 1));
  EXPECT_EQ(*(*store)->removed_clients(record.id), std::vector{f});
  store->reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("v3.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 4);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(EventStore, EventsRoundTripAcrossReopen) {
  TempDir dir;
  auto record = sample_record(1);
  {
    auto store = EventStore::open(dir.file("s.db"));
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->create_session(record));
    auto events = sample_events();
    ASSERT_TRUE((*store)->append(record.id, events));
  }
  auto store = EventStore::open(dir.file("s.db"));
  ASSERT_TRUE(store);
  auto loaded = (*store)->load_events(record.id);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(*loaded, sample_events());
  auto tail = (*store)->load_events(record.id, 7);
  ASSERT_TRUE(tail);
  ASSERT_EQ(tail->size(), 6u);
  EXPECT_EQ(tail->front().seq, 7u);
  auto head = (*store)->head(record.id);
  ASSERT_TRUE(head);
  EXPECT_EQ(*head, 12u);
}

TEST(EventStore, RefusesAppendThatDoesNotContinueTheSequence) {
  TempDir dir;
  auto store = EventStore::open(dir.file("s.db"));
  ASSERT_TRUE(store);
  auto id = sample_record(2).id;
  std::vector<Event> starts_at_two{{2, PeerLeft{1}}};
  auto r = (*store)->append(id, starts_at_two);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), StoreError::kSequence);
  std::vector<Event> holey{{1, PeerLeft{1}}, {3, PeerLeft{1}}};
  r = (*store)->append(id, holey);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), StoreError::kSequence);
  auto head = (*store)->head(id);
  ASSERT_TRUE(head);
  EXPECT_EQ(*head, 0u);  // nothing of a refused batch was written
}

TEST(EventStore, CorruptRowsAreReportedNotReplayed) {
  TempDir dir;
  auto id = sample_record(3).id;
  {
    auto store = EventStore::open(dir.file("s.db"));
    ASSERT_TRUE(store);
    auto events = sample_events();
    ASSERT_TRUE((*store)->append(id, events));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("s.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "UPDATE events SET kind = 99 WHERE seq = 4", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  auto store = EventStore::open(dir.file("s.db"));
  ASSERT_TRUE(store);
  auto loaded = (*store)->load_events(id);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error(), StoreError::kCorrupt);
}

TEST(EventStore, RefusesAFileThatIsNotAStore) {
  TempDir dir;
  std::ofstream(dir.file("junk.db")) << "this is not an sqlite database, just some text........";
  auto store = EventStore::open(dir.file("junk.db"));
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error(), StoreError::kOpenFailed);
  auto nowhere = EventStore::open(dir.file("no/such/dir/s.db"));
  ASSERT_FALSE(nowhere);
}

TEST(EventStore, ListsSessionsAndResolvesPrefixes) {
  TempDir dir;
  auto store = EventStore::open(dir.file("s.db"));
  ASSERT_TRUE(store);
  auto a = sample_record(0xa1);
  auto b = sample_record(0xa2);
  b.created_at_ms += 10;
  ASSERT_TRUE((*store)->create_session(a));
  ASSERT_TRUE((*store)->create_session(b));
  auto events = sample_events();
  ASSERT_TRUE((*store)->append(a.id, events));
  auto list = (*store)->list_sessions();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, b.id);  // newest first
  EXPECT_EQ((*list)[1].head, 12u);
  EXPECT_EQ((*list)[1].turns, 2u);
  EXPECT_EQ((*list)[1].last_at_ms, 1700000000004);
  auto found = (*store)->resolve_prefix("a1a1");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, a.id);
  EXPECT_EQ((*store)->resolve_prefix("a1").error(), StoreError::kNotFound);  // too short
  EXPECT_EQ((*store)->resolve_prefix("ffff").error(), StoreError::kNotFound);
  EXPECT_EQ((*store)->resolve_prefix("A1A1").error(), StoreError::kNotFound);
}

TEST(SessionId, HexRoundTripIsStrict) {
  auto id = sample_record(0x5c).id;
  std::string expected;
  for (int i = 0; i < 16; ++i) expected += "5c";
  EXPECT_EQ(id.hex(), expected);
  auto back = SessionId::from_hex(id.hex());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, id);
  EXPECT_FALSE(SessionId::from_hex("5c"));
  EXPECT_FALSE(SessionId::from_hex(std::string(32, 'g')));
  EXPECT_FALSE(SessionId::from_hex(std::string(32, 'A')));
}

TEST(GroupCommitter, BatchesCommitsAndReportsDurableSequenceInOrder) {
  TempDir dir;
  auto store = EventStore::open(dir.file("s.db"));
  ASSERT_TRUE(store);
  auto id = sample_record(4).id;
  std::vector<Seq> reported;
  std::mutex m;
  constexpr Seq kCount = 5000;
  {
    GroupCommitter committer(**store, id, [&](Seq seq, std::error_code ec) {
      ASSERT_FALSE(ec);
      std::lock_guard lock(m);
      reported.push_back(seq);
    });
    committer.submit({1, TurnStarted{1, TurnRole::kAssistant, "m", 0}});
    for (Seq s = 2; s < kCount; ++s) committer.submit({s, TextDelta{1, "tok "}});
    committer.submit({kCount, TurnEnded{1, TurnEnd::kDone, "", kCount - 2, 0}});
    EXPECT_FALSE(committer.flush());
    auto stats = committer.stats();
    EXPECT_EQ(stats.events, kCount);
    EXPECT_LT(stats.commits, kCount);  // at least some events shared a commit
  }
  ASSERT_FALSE(reported.empty());
  EXPECT_TRUE(std::is_sorted(reported.begin(), reported.end()));
  EXPECT_EQ(reported.back(), kCount);
  auto loaded = (*store)->load_events(id);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->size(), kCount);
}

// With a batch interval, events submitted within it share one transaction: nothing is
// committed before the interval has passed since the first one (unless flush() asks), and
// everything is once it has, without a flush.
TEST(GroupCommitter, ABatchIntervalHoldsEventsForOneCommit) {
  TempDir dir;
  auto store = EventStore::open(dir.file("s.db"));
  ASSERT_TRUE(store);
  auto id = sample_record(9).id;
  std::mutex m;
  std::vector<Seq> reported;
  {
    // An interval no test run reaches: only flush() commits.
    GroupCommitter committer(
        **store, id,
        [&](Seq seq, std::error_code ec) {
          ASSERT_FALSE(ec);
          std::lock_guard lock(m);
          reported.push_back(seq);
        },
        std::chrono::hours(1));
    committer.submit({1, TurnStarted{1, TurnRole::kAssistant, "m", 0}});
    for (Seq s = 2; s <= 50; ++s) committer.submit({s, TextDelta{1, "tok "}});
    EXPECT_EQ(committer.stats().commits, 0u);
    EXPECT_EQ(*(*store)->head(id), 0u);
    EXPECT_FALSE(committer.flush());
    EXPECT_EQ(committer.stats().commits, 1u);
    EXPECT_EQ(committer.stats().events, 50u);
    {
      std::lock_guard lock(m);
      EXPECT_EQ(reported, std::vector<Seq>{50});
    }
    // commit_now() releases what is held without waiting for it (the host's batches, which
    // have waited their interval before they reach the store).
    for (Seq s = 51; s <= 60; ++s) committer.submit({s, TextDelta{1, "tok "}});
    committer.commit_now();
    ASSERT_TRUE(testing::wait_until([&] {
      std::lock_guard lock(m);
      return !reported.empty() && reported.back() == 60;
    }));
    EXPECT_EQ(committer.stats().commits, 2u);
  }
  EXPECT_EQ(*(*store)->head(id), 60u);

  // A short interval: the writer commits by itself once the interval has passed, never before.
  constexpr auto kInterval = std::chrono::milliseconds(40);
  std::atomic<Seq> durable{0};
  GroupCommitter committer(
      **store, id, [&](Seq seq, std::error_code ec) { durable = ec ? 0 : seq; }, kInterval);
  auto submitted = std::chrono::steady_clock::now();
  for (Seq s = 61; s <= 70; ++s) committer.submit({s, TextDelta{1, "tok "}});
  ASSERT_TRUE(testing::wait_until([&] { return durable.load() == 70; }));
  EXPECT_GE(std::chrono::steady_clock::now() - submitted, kInterval);
  EXPECT_GE(committer.stats().commits, 1u);
  auto loaded = (*store)->load_events(id);
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 70u);
  for (size_t i = 0; i < loaded->size(); ++i) EXPECT_EQ((*loaded)[i].seq, i + 1);
}

TEST(GroupCommitter, StopsAfterAFailedCommit) {
  TempDir dir;
  auto store = EventStore::open(dir.file("s.db"));
  ASSERT_TRUE(store);
  auto id = sample_record(5).id;
  std::atomic<int> errors{0};
  GroupCommitter committer(**store, id, [&](Seq, std::error_code ec) {
    if (ec) errors++;
  });
  committer.submit({5, PeerLeft{1}});  // does not continue an empty log
  EXPECT_EQ(committer.flush(), StoreError::kSequence);
  committer.submit({1, PeerLeft{1}});
  EXPECT_EQ(committer.flush(), StoreError::kSequence);  // stays failed: nothing more is written
  EXPECT_EQ(errors.load(), 1);
  EXPECT_EQ(*(*store)->head(id), 0u);
}

// What a peer was told is durable survives kill -9 of the writer: a child process appends
// through a GroupCommitter and reports each durable seq on a pipe; the parent kills it mid-way
// and checks the store holds at least every reported event.
void reported_events_survive_kill_minus_nine(std::chrono::milliseconds batch_interval) {
  TempDir dir;
  auto path = dir.file("s.db");
  auto id = sample_record(6).id;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    auto store = EventStore::open(path);
    if (!store) _exit(1);
    GroupCommitter committer(
        **store, id,
        [&](Seq seq, std::error_code ec) {
          if (ec) _exit(2);
          if (write(fds[1], &seq, sizeof seq) != sizeof seq) _exit(3);
        },
        batch_interval);
    committer.submit({1, TurnStarted{1, TurnRole::kAssistant, "m", 0}});
    for (Seq s = 2;; ++s) {
      committer.submit({s, TextDelta{1, "token"}});
      if (s % 64 == 0) usleep(100);
    }
  }
  close(fds[1]);
  Seq last_reported = 0;
  Seq seq = 0;
  while (last_reported < 3000 && read(fds[0], &seq, sizeof seq) == sizeof seq) {
    last_reported = seq;
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_GE(last_reported, 3000u);
  auto store = EventStore::open(path);
  ASSERT_TRUE(store);
  auto events = (*store)->load_events(id);
  ASSERT_TRUE(events) << events.error().message();
  EXPECT_GE(events->size(), last_reported);
}

TEST(GroupCommitter, ReportedEventsSurviveKillMinusNine) {
  reported_events_survive_kill_minus_nine(std::chrono::milliseconds(0));
}

// The same with a batch interval (host --batch-ms): what was reported durable is all stored.
TEST(GroupCommitter, ReportedEventsSurviveKillMinusNineWhenBatched) {
  reported_events_survive_kill_minus_nine(std::chrono::milliseconds(5));
}

// Another process opening and closing the store (`tokencast export`) must not checkpoint and
// delete the WAL while this process holds two connections: the second one's open must not drop
// the first one's locks, or everything written after that goes to an unlinked WAL and is lost
// when the host is killed.
TEST(EventStore, ASecondConnectionKeepsTheFirstOnesWritesDurable) {
  TempDir dir;
  auto path = dir.file("s.db");
  auto record = sample_record(8);
  auto writer = EventStore::open(path);
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->create_session(record));
  auto events = sample_events();
  ASSERT_TRUE((*writer)->append(record.id, {events.begin(), events.begin() + 3}));
  auto watcher = EventStore::open(path);
  ASSERT_TRUE(watcher);
  // A fork would share this process's SQLite lock bookkeeping, so the other process is this
  // binary run afresh (see kStoreProbe); it reports the head it sees through its exit status.
  auto head_seen_by_another_process = [&]() -> int {
    std::string probe = "TOKENCAST_STORE_PROBE=" + path;
    char* argv[] = {const_cast<char*>("store-probe"), nullptr};
    char* envp[] = {probe.data(), nullptr};
    pid_t child = 0;
    if (posix_spawn(&child, "/proc/self/exe", nullptr, nullptr, argv, envp) != 0) return -1;
    int status = 0;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(head_seen_by_another_process(), 3);
  ASSERT_TRUE((*writer)->append(record.id, {events.begin() + 3, events.end()}));
  EXPECT_EQ(head_seen_by_another_process(), static_cast<int>(events.size()));
}

TEST(EventStore, RefusesASymlinkAtTheDatabasePath) {
  TempDir dir;
  std::ofstream(dir.file("victim")) << "";
  std::filesystem::create_symlink(dir.file("victim"), dir.file("planted.db"));
  auto store = EventStore::open(dir.file("planted.db"));
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().value(), ELOOP);
}

}  // namespace
}  // namespace tokencast
