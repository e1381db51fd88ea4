// Damages a results database as a failing disk would: the root page of one
// table overwritten with garbage, after the WAL is checkpointed into the
// file so that the page on disk is the one SQLite reads. For tests of the
// integrity check at start; the database must not be open elsewhere.
#ifndef MIXQ_TESTS_COORDINATOR_DAMAGE_PAGE_H_
#define MIXQ_TESTS_COORDINATOR_DAMAGE_PAGE_H_

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

#include "common/sqlite_db.h"
#include "common/status.h"

namespace mixq::test {

inline Status DamageTableRootPage(const std::string& db_path, const std::string& table) {
  int64_t root = 0, page_size = 0;
  {
    MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(db_path));
    MIXQ_RETURN_IF_ERROR(db->Exec("PRAGMA wal_checkpoint(TRUNCATE)"));
    MIXQ_ASSIGN_OR_RETURN(auto find, db->Prepare("SELECT rootpage FROM sqlite_master "
                                                 "WHERE type='table' AND name=?"));
    find->Bind(1, table);
    MIXQ_ASSIGN_OR_RETURN(bool found, find->Step());
    if (!found) return NotFound(db_path + ": no table " + table);
    root = find->Int(0);
    MIXQ_ASSIGN_OR_RETURN(auto size, db->Prepare("PRAGMA page_size"));
    MIXQ_ASSIGN_OR_RETURN(bool row, size->Step());
    if (!row) return Internal("no page size");
    page_size = size->Int(0);
  }
  std::fstream file(db_path, std::ios::binary | std::ios::in | std::ios::out);
  if (!file) return NotFound(db_path + ": cannot open");
  file.seekp((root - 1) * page_size);
  const std::string garbage(static_cast<size_t>(page_size), '\xa5');
  file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  file.flush();
  if (!file) return DataLoss(db_path + ": cannot write page " + std::to_string(root));
  return Status::Ok();
}

}  // namespace mixq::test

#endif  // MIXQ_TESTS_COORDINATOR_DAMAGE_PAGE_H_
