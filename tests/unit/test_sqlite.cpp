// The SQLite wrapper of the local store: what a kept (cached) statement must not change.
#include <catch2/catch.hpp>
#include <wfctl/store/local/sqlite.hpp>

#include "temp_dir.hpp"

using namespace wfctl;

namespace {

std::string name_of(sqlite::Database& db, std::int64_t id) {
  auto st = sqlite::Statement::cached(db, "SELECT name FROM t WHERE id = ?");
  st.bind(1, id);
  return st.step() ? st.get_text(0) : std::string("-");
}

}  // namespace

TEST_CASE("a cached statement is reused, nests, and ends its read so that later writes are seen", "[sqlite]") {
  test::TempDir dir;
  const std::string path = (dir / "t.db").string();
  sqlite::Database writer(path, true, true);
  writer.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'a')");
  sqlite::Database reader(path, false, false);

  CHECK(name_of(reader, 1) == "a");
  CHECK(name_of(reader, 2) == "-");
  writer.exec("UPDATE t SET name = 'b' WHERE id = 1; INSERT INTO t VALUES (2, 'c')");
  CHECK(name_of(reader, 1) == "b");  // not the snapshot of the first read
  CHECK(name_of(reader, 2) == "c");

  // The same SQL while it is in use: a statement of its own, the bindings of each kept apart.
  auto outer = sqlite::Statement::cached(reader, "SELECT name FROM t WHERE id = ?");
  outer.bind(1, 2);
  CHECK(name_of(reader, 1) == "b");
  REQUIRE(outer.step());
  CHECK(outer.get_text(0) == "c");
}
