// The contract suite's rows. The serve row runs the real server (wfctl-httpd.so, the routes of
// lib/wfctl/server) on a thread of this process, on a free loopback port, over a local store,
// and reaches it only through open_store("http://..."), as another machine would.
#include "backends.hpp"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include <wfctl/error.hpp>
#include <wfctl/jobs/transport.hpp>
#include <wfctl/server/server.hpp>

namespace wfctl::contract {
namespace {

// A running server; destroying it stops the server and joins its thread.
class Served {
 public:
  explicit Served(const std::filesystem::path& dir)
      : m_store(open_store((dir / "served").string(), {})), m_transport(open_transport({})) {
    server::ServeOptions o;
    o.listen = "127.0.0.1:0";
    o.threads = 4;
    o.stop = m_stop;
    o.grace = std::chrono::milliseconds(2000);
    o.log = [](const std::string&) {};
    m_thread = std::thread([this, o] {
      try {
        server::serve(*m_store, *m_transport, o, [this](const std::string& bound) {
          std::lock_guard lock(m_mutex);
          m_bound = bound;
          m_ready.notify_all();
        });
      } catch (...) {
        std::lock_guard lock(m_mutex);
        m_failure = std::current_exception();
        m_ready.notify_all();
      }
    });
    std::unique_lock lock(m_mutex);
    m_ready.wait(lock, [this] { return !m_bound.empty() || m_failure; });
    if (m_failure) {
      lock.unlock();
      m_thread.join();
      std::rethrow_exception(m_failure);
    }
  }
  Served(const Served&) = delete;
  Served& operator=(const Served&) = delete;
  ~Served() {
    m_stop.cancel();
    m_thread.join();
  }
  std::string url() const { return "http://" + m_bound + "/api/v1/workflow"; }

 private:
  std::unique_ptr<Store> m_store;
  std::unique_ptr<Transport> m_transport;
  Cancel m_stop = Cancel::make();
  std::mutex m_mutex;
  std::condition_variable m_ready;
  std::string m_bound;
  std::exception_ptr m_failure;
  std::thread m_thread;
};

}  // namespace

const std::vector<Backend>& backends() {
  static const std::vector<Backend> rows = {
      {"local", [](const std::filesystem::path& dir) { return Opened{nullptr, open_store((dir / "store").string(), {})}; }},
      {"serve through remote",
       [](const std::filesystem::path& dir) {
         auto served = std::make_shared<Served>(dir);
         auto store = open_store(served->url(), {});
         return Opened{std::move(served), std::move(store)};
       }},
  };
  return rows;
}

}  // namespace wfctl::contract
