#include "sqlite_db.hpp"

#include <string>
#include <utility>

namespace tokencast::store {

Statement::Statement(sqlite3* db, std::string_view sql) {
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt_, nullptr) != SQLITE_OK) {
    stmt_ = nullptr;
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }

void Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

void Statement::bind_blob(int index, const void* data, size_t size) {
  // A zero-length blob must still be a BLOB, not NULL, so give SQLite a valid pointer.
  static const char kEmpty = 0;
  sqlite3_bind_blob64(stmt_, index, size == 0 ? &kEmpty : data, size, SQLITE_TRANSIENT);
}

int Statement::step() { return sqlite3_step(stmt_); }

int64_t Statement::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }

std::string Statement::column_text(int index) const {
  const void* data = sqlite3_column_blob(stmt_, index);
  size_t size = static_cast<size_t>(sqlite3_column_bytes(stmt_, index));
  return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), size);
}

size_t Statement::column_size(int index) const {
  return static_cast<size_t>(sqlite3_column_bytes(stmt_, index));
}

const void* Statement::column_blob(int index) const { return sqlite3_column_blob(stmt_, index); }

int Database::open(const std::string& path, std::string& error) {
  int rc = sqlite3_open_v2(path.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                               SQLITE_OPEN_NOFOLLOW,  // a symlink swapped in after the check
                           nullptr);
  if (rc != SQLITE_OK) {
    error = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  }
  return rc;
}

Database::~Database() { sqlite3_close_v2(db_); }

int Database::exec(std::string_view sql) {
  return sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, nullptr);
}

}  // namespace tokencast::store
