// Thin RAII wrappers over the SQLite C API: a connection and prepared statements. Only the
// store module sees SQLite types.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace tokencast::store {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool valid() const { return stmt_ != nullptr; }
  void reset();  // clears bindings and rewinds; always call before reuse
  void bind(int index, int64_t value);
  void bind(int index, std::string_view text);  // bound as TEXT
  void bind_blob(int index, const void* data, size_t size);
  // Returns SQLITE_ROW, SQLITE_DONE or an error code.
  int step();

  int64_t column_int(int index) const;
  std::string column_text(int index) const;  // TEXT or BLOB bytes as they are
  size_t column_size(int index) const;
  const void* column_blob(int index) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  // Returns SQLITE_OK or the error code; `error` gets SQLite's message.
  int open(const std::string& path, std::string& error);
  ~Database();
  int exec(std::string_view sql);
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace tokencast::store
