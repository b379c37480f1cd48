// One set of store-level cases, run against every backend of backends.hpp. A case that needs
// a capability the backend lacks checks the refusal instead (Error(not_supported)).
#include <catch2/catch.hpp>
#include <atomic>
#include <fstream>
#include <thread>
#include <iterator>
#include <wfctl/error.hpp>
#include <wfctl/ops/results.hpp>
#include <wfctl/ops/workflows.hpp>
#include <wfctl/store/store.hpp>
#include <wfctl/util/sha256.hpp>

#include "../unit/expect_error.hpp"
#include "../unit/temp_dir.hpp"
#include "../unit/text_source.hpp"
#include "backends.hpp"

using namespace wfctl;
using test::error_of;

namespace {

WorkflowDraft draft(const std::string& name, const std::string& version, Json def = Json::object()) {
  return WorkflowDraft{{name, std::nullopt, version, std::nullopt}, std::move(def)};
}

// A fresh store of the backend this section runs against.
struct Fixture {
  test::TempDir dir;
  const contract::Backend& backend;
  contract::Opened opened;
  Store* store;
  explicit Fixture(std::size_t row)
      : backend(contract::backends().at(row)), opened(backend.open(dir.path())), store(opened.store.get()) {}
  const Capabilities& caps() const { return store->capabilities(); }
};

std::size_t each_backend() {
  return static_cast<std::size_t>(GENERATE(range(0, static_cast<int>(contract::backends().size()))));
}

std::string read_all(Store& store, RecordId record, const std::string& name, ResultFile* meta = nullptr) {
  std::string out;
  auto f = store.read_result(record, name, ByteSink([&](const char* d, std::size_t n) { out.append(d, n); }));
  if (meta) *meta = f;
  return out;
}

// Real DICOM files (pydicom's): a record's own result, record-{id}.dcm, must be DICOM to a
// server that checks what it is sent, as wfctl serve does.
std::string dicom_file(const char* file) {
  std::ifstream in(std::string(WFCTL_PYDICOM_TEST_FILES) + "/" + file, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

ResultFile put(Store& store, RecordId record, const std::string& name, const std::string& content, bool force = false) {
  auto w = store.write_result(record, name, ResultWriteOptions{force, {}, std::nullopt, std::nullopt});
  // Two chunks: what a server receiving a pushed upload does.
  w->write(content.data(), content.size() / 2);
  w->write(content.data() + content.size() / 2, content.size() - content.size() / 2);
  return w->commit();
}

}  // namespace

TEST_CASE("workflows: create, find, list, update, delete", "[contract]") {
  Fixture f(each_backend());
  INFO("backend " << f.backend.name);
  auto& s = *f.store;
  CHECK(s.list_workflows({}).empty());
  CHECK_FALSE(s.find_workflow(1));

  auto created = s.create_workflows({draft("a", "1", Json::parse(R"({"z":1,"a":[2]})"))});
  REQUIRE(created.size() == 1);
  const auto id = created[0].id;
  CHECK(id > 0);
  CHECK_FALSE(created[0].datetime_updated);
  auto got = s.find_workflow(id);
  REQUIRE(got);
  CHECK(got->fields == created[0].fields);
  CHECK(got->definition.json().dump() == R"({"z":1,"a":[2]})");  // key order kept
  CHECK(got->datetime_created == created[0].datetime_created);

  auto b = s.create_workflows({draft("b", "2")})[0];
  CHECK(b.id > id);
  ListQuery q;
  q.name = "b";
  auto only_b = s.list_workflows(q);
  REQUIRE(only_b.size() == 1);
  CHECK(only_b[0].id == b.id);
  q = {};
  q.sort_by = SortKey::name;
  q.descending = true;
  auto by_name = s.list_workflows(q);
  REQUIRE(by_name.size() == 2);
  CHECK(by_name[0].fields.name == "b");
  q.limit = 1;
  CHECK(s.list_workflows(q).size() == 1);
  q = {};
  q.with_definition = false;
  CHECK(s.list_workflows(q)[0].definition.is_null());

  auto u = s.update_workflow(id, WorkflowUpdate{{"a2", std::string("d"), "2", std::nullopt}, std::nullopt});
  CHECK(u.fields.name == "a2");
  CHECK(u.datetime_updated);
  CHECK(s.find_workflow(id)->definition.json().dump() == R"({"z":1,"a":[2]})");
  if (f.caps().definition_update) {
    s.update_workflow(id, WorkflowUpdate{u.fields, Json{{"new", true}}});
    CHECK(s.find_workflow(id)->definition.json() == Json{{"new", true}});
  }
  error_of(ErrorKind::not_found, [&] { s.update_workflow(id + 1000, WorkflowUpdate{u.fields, std::nullopt}); });

  CHECK(s.delete_workflows({b.id}, false) == std::vector<WorkflowId>{b.id});
  CHECK_FALSE(s.find_workflow(b.id));
  error_of(ErrorKind::not_found, [&] { s.delete_workflows({b.id}, false); });
  CHECK(s.delete_workflows({b.id}, true).empty());
  auto c = s.create_workflows({draft("c", "1")})[0];
  CHECK(c.id > b.id);  // ids are never reused
}

TEST_CASE("workflows: several objects at once are all or nothing, or refused", "[contract]") {
  Fixture f(each_backend());
  INFO("backend " << f.backend.name);
  auto& s = *f.store;
  if (!f.caps().multi_object_transactions) {
    error_of(ErrorKind::not_supported, [&] { create_workflows(s, {draft("a", "1"), draft("b", "1")}); });
    CHECK(s.list_workflows({}).empty());
    return;
  }
  auto two = create_workflows(s, {draft("a", "1"), draft("b", "1")});
  REQUIRE(two.size() == 2);
  CHECK(two[1].id > two[0].id);
  // A missing id deletes nothing.
  error_of(ErrorKind::not_found, [&] { delete_workflows(s, {two[0].id, two[1].id + 1000}, false); });
  CHECK(s.list_workflows({}).size() == 2);
  CHECK(delete_workflows(s, {two[0].id, two[1].id + 1000}, true) == std::vector<WorkflowId>{two[0].id});
  // A hook that throws stores nothing.
  error_of(ErrorKind::unavailable, [&] {
    s.create_workflows({draft("x", "1"), draft("y", "1")},
                       {{}, [](const auto&) { throw Error(ErrorKind::unavailable, "stdout is full"); }});
  });
  CHECK(s.list_workflows({}).size() == 1);
}

TEST_CASE("workflows: apply creates, configures and leaves unchanged", "[contract]") {
  Fixture f(each_backend());
  INFO("backend " << f.backend.name);
  auto& s = *f.store;
  auto r1 = apply_workflows(s, {draft("a", "1", Json::parse(R"({"x":1,"y":2})"))});
  CHECK(r1.at(0).action == ApplyAction::created);
  CHECK(apply_workflows(s, {draft("a", "1", Json::parse(R"({"y":2,"x":1})"))}).at(0).action == ApplyAction::unchanged);
  CHECK_FALSE(s.find_workflow(r1[0].workflow.id)->datetime_updated);
  auto r3 = apply_workflows(s, {draft("a", "1", Json::parse(R"({"x":2})"))});
  CHECK(r3.at(0).action == ApplyAction::configured);
  CHECK(r3[0].workflow.id == r1[0].workflow.id);
  // Two drafts with one key, or two stored workflows with one key, are conflicts.
  error_of(ErrorKind::conflict, [&] { apply_workflows(s, {draft("n", "1"), draft("n", "1")}); });
  s.create_workflows({draft("a", "1")});
  const auto before = s.list_workflows({}).size();
  auto msg = error_of(ErrorKind::conflict, [&] { apply_workflows(s, {draft("a", "1", Json{{"k", 1}})}); });
  CHECK_THAT(msg, Catch::Contains("more than one workflow"));
  CHECK(s.list_workflows({}).size() == before);
}

TEST_CASE("queries: sort keys and limits are checked in one place", "[contract]") {
  Fixture f(each_backend());
  CHECK(parse_sort_key("created") == SortKey::created);
  for (auto name : sort_key_names()) CHECK(to_string(parse_sort_key(name)) == name);
  try {
    parse_sort_key("colour");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_input);
    REQUIRE(e.items().size() == 1);
    CHECK(e.items()[0].loc == decltype(e.items()[0].loc){std::string("query"), std::string("sort_by")});
  }
  ListQuery q;
  q.limit = -1;
  error_of(ErrorKind::invalid_input, [&] { f.store->list_workflows(q); });
}

TEST_CASE("results: write, list, find, read, replace, delete", "[contract]") {
  Fixture f(each_backend());
  INFO("backend " << f.backend.name);
  auto& s = *f.store;
  const std::string name = default_result_name(7);
  CHECK_FALSE(s.find_result(7, name));
  error_of(ErrorKind::not_found, [&] { read_all(s, 7, name); });

  const std::string first = dicom_file("MR_small.dcm"), second = dicom_file("CT_small.dcm");
  auto stored = put(s, 7, name, first);
  CHECK(stored.record_id == 7);
  CHECK(stored.size == first.size());
  ResultFile meta;
  CHECK(read_all(s, 7, name, &meta) == first);
  if (f.caps().stored_digests) {
    CHECK(stored.sha256 == sha256_hex(first));
    CHECK(meta.sha256 == stored.sha256);
  } else {
    CHECK(meta.sha256.empty());  // never invented
  }
  auto found = s.find_result(7, name);
  REQUIRE(found);
  CHECK(found->size == first.size());

  error_of(ErrorKind::conflict, [&] { put(s, 7, name, second); });
  CHECK(read_all(s, 7, name) == first);
  put(s, 7, name, second, true);
  CHECK(read_all(s, 7, name) == second);

  if (f.caps().result_listing) {
    if (f.caps().arbitrary_result_names) put(s, 7, "a.npy", "k-space");
    auto listed = s.list_results(7);
    REQUIRE(!listed.empty());
    CHECK(std::is_sorted(listed.begin(), listed.end(), [](const auto& a, const auto& b) { return a.name < b.name; }));
    CHECK(s.list_results(8).empty());
  }
  if (f.caps().result_deletion) {
    auto removed = s.delete_results(7, name, false);
    REQUIRE(removed.size() == 1);
    CHECK_FALSE(s.find_result(7, name));
    error_of(ErrorKind::not_found, [&] { s.delete_results(7, name, false); });
    CHECK(s.delete_results(7, name, true).empty());
  }
}

TEST_CASE("results: a writer not committed, cancelled or refused by its hook leaves nothing", "[contract]") {
  Fixture f(each_backend());
  INFO("backend " << f.backend.name);
  auto& s = *f.store;
  const std::string name = default_result_name(3);
  {
    auto w = s.write_result(3, name, {});
    w->write("partial", 7);
  }  // destroyed without commit
  CHECK_FALSE(s.find_result(3, name));

  Cancel cancel = Cancel::make();
  auto w = s.write_result(3, name, ResultWriteOptions{false, cancel, std::nullopt, std::nullopt});
  w->write("abc", 3);
  cancel.cancel();
  error_of(ErrorKind::interrupted, [&] { w->write("def", 3); });
  error_of(ErrorKind::interrupted, [&] { w->commit(); });
  CHECK_FALSE(s.find_result(3, name));

  const std::string content = dicom_file("MR_small.dcm");
  auto w2 = s.write_result(3, name, {});
  w2->write(content.data(), content.size());
  error_of(ErrorKind::unavailable, [&] { w2->commit([](const ResultFile&) { throw Error(ErrorKind::unavailable, "full"); }); });
  CHECK_FALSE(s.find_result(3, name));

  // A cancelled read stops with interrupted.
  put(s, 3, name, content);
  Cancel stop = Cancel::make();
  stop.cancel();
  error_of(ErrorKind::interrupted, [&] { s.read_result(3, name, ByteSink([](const char*, std::size_t) {}), stop); });
}

TEST_CASE("results: names and record ids are checked", "[contract]") {
  Fixture f(each_backend());
  INFO("backend " << f.backend.name);
  auto& s = *f.store;
  for (const char* bad : {"", ".", "..", "a/b", "x\n", " lead"})
    error_of(ErrorKind::invalid_input, [&] { s.write_result(1, bad, {}); });
  error_of(ErrorKind::invalid_input, [&] { s.write_result(0, "a", {}); });
  error_of(ErrorKind::invalid_input, [&] { s.write_result(-4, "a", {}); });
}

TEST_CASE("results: ingest applies the name rules and checks DICOM, or refuses", "[contract]") {
  Fixture f(each_backend());
  INFO("backend " << f.backend.name);
  auto& s = *f.store;
  const auto bytes = test::text_source;
  // The default name is the reference's record-{id}.dcm, and .dcm means DICOM.
  auto msg = error_of(ErrorKind::invalid_input, [&] { ingest_result(s, 5, std::nullopt, bytes("not dicom"), {}); });
  CHECK_THAT(msg, Catch::Contains("record-5.dcm"));
  CHECK_FALSE(s.find_result(5, "record-5.dcm"));
  if (f.caps().arbitrary_result_names) {
    auto stored = ingest_result(s, 5, std::string("kspace.npy"), bytes("raw"), {});
    CHECK(stored.file.name == "kspace.npy");
    IngestOptions as_dicom;
    as_dicom.dicom = true;
    error_of(ErrorKind::invalid_input, [&] { ingest_result(s, 5, std::string("k2.npy"), bytes("raw"), as_dicom); });
  } else {
    error_of(ErrorKind::not_supported, [&] { ingest_result(s, 5, std::string("kspace.npy"), bytes("raw"), {}); });
  }
}

TEST_CASE("capabilities: what a backend lacks is refused by name", "[contract]") {
  Fixture f(each_backend());
  INFO("backend " << f.backend.name);
  for (auto c : {Capability::multi_object_transactions, Capability::result_listing, Capability::arbitrary_result_names,
                 Capability::stored_digests, Capability::definition_update, Capability::result_deletion,
                 Capability::job_queue}) {
    if (has(f.caps(), c)) {
      CHECK_NOTHROW(require(*f.store, c, "this"));
    } else {
      auto msg = error_of(ErrorKind::not_supported, [&] { require(*f.store, c, "doing this"); });
      CHECK_THAT(msg, Catch::Contains("doing this") && Catch::Contains(f.store->describe()));
    }
  }
}

TEST_CASE("threads: one store object serves many threads at once", "[contract][threads]") {
  Fixture f(each_backend());
  INFO("backend " << f.backend.name);
  auto& s = *f.store;
  constexpr int k_threads = 4, k_each = 15;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int i = 0; i < k_each; ++i) {
          const std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
          auto w = s.create_workflows({draft(name, "1", Json{{"i", i}})}).at(0);
          auto got = s.find_workflow(w.id);
          if (!got || got->fields.name != name || got->definition.json() != Json{{"i", i}}) ++failures;
          if (f.caps().arbitrary_result_names) {
            const std::string content = name + std::string(1000, 'x');
            put(s, 100 + t, name + ".npy", content);
            if (read_all(s, 100 + t, name + ".npy") != content) ++failures;
          }
        }
      } catch (const std::exception& e) {
        UNSCOPED_INFO("thread " << t << ": " << e.what());
        ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(s.list_workflows({}).size() == static_cast<std::size_t>(k_threads * k_each));
}
