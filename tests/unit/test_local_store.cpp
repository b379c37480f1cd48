// What only the local store does; what every store does is in tests/contract/.
#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <wfctl/error.hpp>
#include <wfctl/store/store.hpp>

#include "expect_error.hpp"
#include "temp_dir.hpp"

using namespace wfctl;
using test::error_of;

TEST_CASE("reads on a store that does not exist behave as empty and create nothing", "[store]") {
  test::TempDir dir;
  auto root = dir / "store";
  auto store = open_store(root.string(), {});
  CHECK_FALSE(store->exists());
  CHECK(store->list_workflows({}).empty());
  CHECK_FALSE(store->find_workflow(1));
  CHECK(store->list_results(std::nullopt).empty());
  error_of(ErrorKind::not_found, [&] { store->delete_workflows({1}, false); });
  CHECK(store->delete_workflows({1}, true).empty());
  error_of(ErrorKind::not_found, [&] { store->update_workflow(1, WorkflowUpdate{{"a", {}, "1", {}}, {}}); });
  CHECK_FALSE(std::filesystem::exists(root));
}

TEST_CASE("the local store keeps every capability, the job queue included", "[store]") {
  test::TempDir dir;
  auto store = open_store((dir / "s").string(), {});
  const auto& c = store->capabilities();
  CHECK(c.multi_object_transactions);
  CHECK(c.result_listing);
  CHECK(c.arbitrary_result_names);
  CHECK(c.stored_digests);
  CHECK(c.definition_update);
  CHECK(c.result_deletion);
  CHECK(c.job_queue);
}

TEST_CASE("a damaged stored file fails its digest check on read", "[store]") {
  test::TempDir dir;
  auto store = open_store((dir / "s").string(), {});
  auto w = store->write_result(1, "a.bin", {});
  w->write("hello", 5);
  w->commit();
  // Same size and mtime, other bytes: the digest cached in the index no longer matches.
  auto path = dir / "s/records/1/a.bin";
  auto mtime = std::filesystem::last_write_time(path);
  {
    FILE* fp = std::fopen(path.c_str(), "r+b");
    REQUIRE(fp);
    std::fputs("jello", fp);
    std::fclose(fp);
  }
  std::filesystem::last_write_time(path, mtime);
  auto msg = error_of(ErrorKind::internal, [&] { store->read_result(1, "a.bin", ByteSink([](const char*, std::size_t) {})); });
  CHECK_THAT(msg, Catch::Contains("checksum mismatch"));
}

TEST_CASE("unknown schemes are usage errors, and http opens a remote store", "[store]") {
  error_of(ErrorKind::usage, [] { open_store("ftp://x", {}); });
  // Nothing listens on the discard port: the store opens, its first call cannot connect.
  auto remote = open_store("http://127.0.0.1:9/api", {});
  REQUIRE(remote);
  error_of(ErrorKind::unavailable, [&] { remote->list_workflows({}); });
}

TEST_CASE("list pages with offset, with or without a limit, and a negative offset is invalid input", "[store]") {
  test::TempDir dir;
  auto store = open_store((dir / "s").string(), {});
  std::vector<WorkflowDraft> drafts;
  for (int i = 0; i < 5; ++i) drafts.push_back(WorkflowDraft{{"w" + std::to_string(i), {}, "1", {}}, Json::object()});
  auto created = store->create_workflows(drafts);
  auto ids = [&](const ListQuery& q) {
    std::vector<WorkflowId> out;
    for (const auto& w : store->list_workflows(q)) out.push_back(w.id);
    return out;
  };
  ListQuery q;
  q.offset = 3;
  CHECK(ids(q) == std::vector<WorkflowId>{created[3].id, created[4].id});
  q.limit = 1;
  CHECK(ids(q) == std::vector<WorkflowId>{created[3].id});
  q.descending = true;
  CHECK(ids(q) == std::vector<WorkflowId>{created[1].id});
  q.offset = 9;
  CHECK(ids(q).empty());
  q.offset = -1;
  CHECK(error_of(ErrorKind::invalid_input, [&] { store->list_workflows(q); }) == "invalid offset -1: must be at least 0");
}

// What `wfctl serve` keys its kept GET answers on: it must change with every commit, made
// through any connection, and with nothing else.
TEST_CASE("the local store's data version changes with every commit, through any connection, and with nothing else", "[store]") {
  test::TempDir dir;
  auto root = (dir / "s").string();
  auto store = open_store(root, {});
  CHECK_FALSE(store->data_version());  // no database yet: the reads tell
  auto w = store->create_workflows({WorkflowDraft{{"a", {}, "1", {}}, Json::object()}}).at(0);
  auto v1 = store->data_version();
  REQUIRE(v1);
  CHECK(store->data_version() == v1);
  CHECK(store->find_workflow(w.id));
  CHECK(store->list_workflows({}).size() == 1);
  CHECK(store->data_version() == v1);  // reads commit nothing
  error_of(ErrorKind::not_found, [&] { store->update_workflow(w.id + 1, WorkflowUpdate{{"b", {}, "1", {}}, {}}); });
  CHECK(store->data_version() == v1);  // a write that failed committed nothing

  store->update_workflow(w.id, WorkflowUpdate{{"b", {}, "1", {}}, {}});
  auto v2 = store->data_version();
  REQUIRE(v2);
  CHECK(v2 != v1);

  auto other = open_store(root, {});  // another store object: its own connections
  other->create_workflows({WorkflowDraft{{"c", {}, "1", {}}, Json::object()}});
  auto v3 = store->data_version();
  REQUIRE(v3);
  CHECK(v3 != v2);
  CHECK(v3 != v1);

  // A commit of a program that is not wfctl, through SQLite itself.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2((dir / "s/wfctl.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "UPDATE workflows SET author = 'sql'", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto v4 = store->data_version();
  REQUIRE(v4);
  CHECK(v4 != v3);
  CHECK(store->find_workflow(w.id)->fields.author == "sql");
  CHECK(store->data_version() == v4);

  // Removed: no version, the reads tell.
  std::filesystem::remove_all(dir / "s");
  CHECK_FALSE(store->data_version());
  CHECK_FALSE(store->find_workflow(w.id));
}
