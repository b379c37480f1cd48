#include <catch2/catch.hpp>
#include <wfctl/error.hpp>
#include <wfctl/store/store.hpp>

#include "temp_dir.hpp"

using namespace wfctl;

namespace {
WorkflowDraft draft(const std::string& name, const std::string& version, Json def = Json::object()) {
  return WorkflowDraft{{name, std::nullopt, version, std::nullopt}, std::move(def)};
}
}  // namespace

TEST_CASE("reads on a store that does not exist behave as empty and create nothing", "[store]") {
  test::TempDir dir;
  auto root = dir / "store";
  auto store = open_store(root.string(), {});
  CHECK(store->list_workflows({}).empty());
  CHECK_FALSE(store->find_workflow(1));
  CHECK(store->list_results(std::nullopt).empty());
  CHECK_THROWS_AS(store->delete_workflows({1}, false), Error);
  CHECK(store->delete_workflows({1}, true).empty());
  CHECK_FALSE(std::filesystem::exists(root));
}

TEST_CASE("create, find, list, update and delete round trip", "[store]") {
  test::TempDir dir;
  auto store = open_store("sqlite:" + (dir / "s").string(), {});
  auto created = store->create_workflows({draft("a", "1", Json::parse(R"({"z":1,"a":2})")), draft("b", "1")});
  REQUIRE(created.size() == 2);
  CHECK(created[0].id == 1);
  CHECK(created[1].id == 2);
  CHECK_FALSE(created[0].datetime_updated);

  auto got = store->find_workflow(1);
  REQUIRE(got);
  CHECK(got->definition.dump() == R"({"z":1,"a":2})");
  CHECK(got->datetime_created.size() == 26);

  auto u = store->update_workflow(1, WorkflowUpdate{{"a2", std::string("d"), "2", std::nullopt}, std::nullopt});
  CHECK(u.fields.name == "a2");
  CHECK(u.datetime_updated);
  CHECK(store->find_workflow(1)->definition.dump() == R"({"z":1,"a":2})");
  CHECK_THROWS_AS(store->update_workflow(99, WorkflowUpdate{}), Error);

  ListQuery q;
  q.name = "b";
  CHECK(store->list_workflows(q).size() == 1);
  q = {};
  q.sort_by = "name";
  q.descending = true;
  auto all = store->list_workflows(q);
  REQUIRE(all.size() == 2);
  CHECK(all[0].fields.name == "b");
  q = {};
  q.limit = 1;
  CHECK(store->list_workflows(q).size() == 1);
  q.sort_by = "bogus";
  CHECK_THROWS_AS(store->list_workflows(q), Error);

  // all or none: a missing id deletes nothing
  CHECK_THROWS_AS(store->delete_workflows({1, 42}, false), Error);
  CHECK(store->list_workflows({}).size() == 2);
  CHECK(store->delete_workflows({1, 42}, true) == std::vector<WorkflowId>{1});
  // ids are never reused
  auto next = store->create_workflows({draft("c", "1")});
  CHECK(next[0].id == 3);
}

TEST_CASE("apply creates, configures, and leaves unchanged", "[store]") {
  test::TempDir dir;
  auto store = open_store((dir / "s").string(), {});
  auto r1 = store->apply_workflows({draft("a", "1", Json::parse(R"({"x":1,"y":2})"))});
  CHECK(r1[0].action == ApplyAction::created);
  auto r2 = store->apply_workflows({draft("a", "1", Json::parse(R"({"y":2,"x":1})"))});
  CHECK(r2[0].action == ApplyAction::unchanged);  // key order is not a change
  CHECK_FALSE(store->find_workflow(r1[0].workflow.id)->datetime_updated);
  auto r3 = store->apply_workflows({draft("a", "1", Json::parse(R"({"x":2})"))});
  CHECK(r3[0].action == ApplyAction::configured);
  CHECK(r3[0].workflow.id == r1[0].workflow.id);
  auto r4 = store->apply_workflows({draft("a", "2")});
  CHECK(r4[0].action == ApplyAction::created);

  // a duplicate (name, version) made by create makes apply refuse, and nothing changes
  store->create_workflows({draft("a", "2")});
  auto before = store->list_workflows({});
  CHECK_THROWS_AS(store->apply_workflows({draft("new", "1"), draft("a", "2", Json::parse(R"({"k":1})"))}), Error);
  CHECK(store->list_workflows({}).size() == before.size());
}

TEST_CASE("unknown schemes are usage errors; remote is not built yet", "[store]") {
  try {
    open_store("ftp://x", {});
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::usage);
  }
}
