// One LocalStore shared by eight threads: every operation of the seam at once, then every
// operation accounted for and the database intact. Run under ThreadSanitizer by .ci/run.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <random>
#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <wfctl/error.hpp>
#include <wfctl/store/store.hpp>

#include "temp_dir.hpp"

using namespace wfctl;

namespace {

// Catch2's assertions are not thread-safe: a worker thread throws, the main thread reports.
#define ENSURE(cond) \
  do { \
    if (!(cond)) throw std::runtime_error("line " + std::to_string(__LINE__) + ": " #cond); \
  } while (false)

constexpr int k_threads = 8;
constexpr int k_ops = 500;

// What one thread believes it stored; only that thread touches its own names and record.
struct Expected {
  std::map<WorkflowId, std::string> workflows;  // id -> name
  std::map<std::string, std::string> files;     // name -> content
  int operations = 0;
};

ByteSource bytes_of(const std::string& text) {
  auto pos = std::make_shared<std::size_t>(0);
  return ByteSource([text, pos](char* buf, std::size_t cap) {
    std::size_t n = std::min(cap, text.size() - *pos);
    std::copy_n(text.data() + *pos, n, buf);
    *pos += n;
    return n;
  });
}

std::string read_back(Store& store, RecordId record, const std::string& name) {
  std::string out;
  store.read_result(record, name, ByteSink([&](const char* d, std::size_t n) { out.append(d, n); }));
  return out;
}

WorkflowDraft draft(const std::string& name, int n) {
  return WorkflowDraft{{name, std::nullopt, "1", std::string("thread test")}, Json{{"n", n}}};
}

void run_thread(Store& store, int t, Expected& e) {
  std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1u);
  const RecordId record = 1000 + t;
  for (int n = 0; n < k_ops; ++n, ++e.operations) {
    const std::string name = "t" + std::to_string(t) + "-" + std::to_string(n);
    switch (rng() % 10) {
      case 0: {
        auto created = store.create_workflows({draft(name, n)});
        e.workflows[created.at(0).id] = name;
        break;
      }
      case 1: {  // apply: created, then configured with a new definition, then unchanged
        auto first = store.apply_workflows({draft(name, n)});
        ENSURE(first.at(0).action == ApplyAction::created);
        ENSURE(store.apply_workflows({draft(name, n + 1)}).at(0).action == ApplyAction::configured);
        ENSURE(store.apply_workflows({draft(name, n + 1)}).at(0).action == ApplyAction::unchanged);
        e.workflows[first.at(0).workflow.id] = name;
        break;
      }
      case 2:
        if (!e.workflows.empty()) {
          auto [id, wname] = *e.workflows.begin();
          auto got = store.find_workflow(id);
          ENSURE(got);
          ENSURE(got->fields.name == wname);
        }
        break;
      case 3:
        if (!e.workflows.empty()) {
          auto [id, wname] = *e.workflows.rbegin();
          ListQuery q;
          q.name = wname;
          ENSURE(store.list_workflows(q).size() == 1);
        }
        break;
      case 4:
        if (!e.workflows.empty()) {
          auto id = e.workflows.rbegin()->first;
          auto renamed = name + "-renamed";
          store.update_workflow(id, WorkflowUpdate{{renamed, std::nullopt, "2", std::nullopt}, std::nullopt});
          e.workflows[id] = renamed;
        }
        break;
      case 5:
        if (!e.workflows.empty()) {
          auto id = e.workflows.begin()->first;
          ENSURE(store.delete_workflows({id}, false) == std::vector<WorkflowId>{id});
          e.workflows.erase(id);
        }
        break;
      case 6:
      case 7: {
        std::string content = name + std::string(static_cast<std::size_t>(rng() % 5000), 'x');
        auto writer = store.write_result(record, name, {});
        writer->write_from(bytes_of(content));
        auto file = writer->commit();
        ENSURE(file.size == content.size());
        e.files[name] = content;
        break;
      }
      case 8:
        if (!e.files.empty()) {
          const auto& [fname, content] = *e.files.rbegin();
          ENSURE(read_back(store, record, fname) == content);
        }
        break;
      default: {
        auto listed = store.list_results(record);
        ENSURE(listed.size() == e.files.size());
        if (!e.files.empty() && rng() % 4 == 0) {
          auto fname = e.files.begin()->first;
          ENSURE(store.delete_results(record, fname, false).size() == 1);
          e.files.erase(fname);
        }
      }
    }
  }
}

std::string integrity_check(const std::filesystem::path& db_path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK);
  std::string result;
  while (sqlite3_step(st) == SQLITE_ROW) result += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return result;
}

}  // namespace

TEST_CASE("eight threads share one local store: every operation is accounted for", "[store][threads]") {
  test::TempDir dir;
  auto store = open_store((dir / "s").string(), {});
  std::vector<Expected> expected(k_threads);
  std::vector<std::string> failures(k_threads);
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      try {
        run_thread(*store, t, expected[t]);
      } catch (const std::exception& ex) {
        failures[t] = ex.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < k_threads; ++t) {
    INFO("thread " << t);
    CHECK(failures[t].empty());
    CHECK(expected[t].operations == k_ops);
  }

  // What the store holds is exactly the union of what the threads left.
  std::map<WorkflowId, std::string> want;
  for (const auto& e : expected) want.insert(e.workflows.begin(), e.workflows.end());
  std::map<WorkflowId, std::string> have;
  for (const auto& w : store->list_workflows({})) have[w.id] = w.fields.name;
  CHECK(have == want);
  for (int t = 0; t < k_threads; ++t) {
    std::map<std::string, std::string> files;
    for (const auto& f : store->list_results(1000 + t)) files[f.name] = read_back(*store, 1000 + t, f.name);
    CHECK(files == expected[t].files);
  }
  CHECK(integrity_check(dir / "s" / "wfctl.db") == "ok");
}

TEST_CASE("cancelling one call's token ends its lock wait and no other call's", "[store][threads]") {
  test::TempDir dir;
  StoreOptions options;
  options.lock_timeout = std::chrono::seconds(20);
  auto store = open_store((dir / "s").string(), options);
  store->create_workflows({draft("first", 0)});

  // Another process's writer, as far as the store can tell: a connection of its own holding
  // the write lock.
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open((dir / "s" / "wfctl.db").c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);

  Cancel a = Cancel::make(), b = Cancel::make();
  std::string a_error, b_error;
  std::atomic<bool> a_done{false}, b_done{false};
  std::thread ta([&] {
    try {
      store->create_workflows({draft("a", 1)}, {a, {}});
    } catch (const Error& e) {
      a_error = std::to_string(static_cast<int>(e.kind())) + " " + e.what();
    }
    a_done = true;
  });
  std::thread tb([&] {
    try {
      store->create_workflows({draft("b", 2)}, {b, {}});
    } catch (const Error& e) {
      b_error = e.what();
    }
    b_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  a.cancel();
  for (int i = 0; i < 200 && !a_done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(a_done);
  CHECK_FALSE(b_done);  // still waiting for the lock
  REQUIRE(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(other);
  ta.join();
  tb.join();
  CHECK(a_error == std::to_string(static_cast<int>(ErrorKind::interrupted)) +
                       " interrupted while waiting for another process's lock on store " + (dir / "s").string());
  CHECK(b_error.empty());
  std::set<std::string> names;
  for (const auto& w : store->list_workflows({})) names.insert(w.fields.name);
  CHECK(names == std::set<std::string>{"first", "b"});
}
