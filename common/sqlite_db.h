// A thin adapter over the SQLite C API: a connection and prepared statements
// as RAII objects whose failures come back as Status with the SQL error
// text, so the store above reads as plain steps. Not thread-safe: one
// connection per thread.
#ifndef MIXQ_COMMON_SQLITE_DB_H_
#define MIXQ_COMMON_SQLITE_DB_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace mixq {

class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Binds are 1-based, as in SQLite.
  SqliteStatement& Bind(int index, int64_t value);
  SqliteStatement& Bind(int index, double value);
  SqliteStatement& Bind(int index, const std::string& value);
  SqliteStatement& BindBlob(int index, const std::string& bytes);
  SqliteStatement& BindNull(int index);

  // Steps once: true while a row is available, false when done.
  StatusOr<bool> Step();
  // Steps to the end and resets, for statements that return no rows.
  Status Run();
  void Reset();

  int64_t Int(int column) const;
  double Real(int column) const;
  std::string Text(int column) const;
  bool IsNull(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class SqliteDb {
 public:
  // Opens (creating) `path`; ":memory:" for an in-memory database.
  static StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path);
  // Opens an existing file read-only (SQLITE_OPEN_READONLY): for readers
  // such as `mixq query`, which in WAL mode never block the writer.
  // NotFound when the file does not exist.
  static StatusOr<std::unique_ptr<SqliteDb>> OpenReadOnly(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements that return no rows.
  Status Exec(const std::string& sql);
  StatusOr<std::unique_ptr<SqliteStatement>> Prepare(const std::string& sql);
  int64_t LastInsertId() const;
  int Changes() const;
  const std::string& path() const { return path_; }

  class Key {
    friend class SqliteDb;
    Key() = default;
  };
  SqliteDb(Key, sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

 private:
  sqlite3* db_;
  std::string path_;
};

}  // namespace mixq

#endif  // MIXQ_COMMON_SQLITE_DB_H_
