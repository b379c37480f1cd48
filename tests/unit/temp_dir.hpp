#pragma once
// A temporary directory owned by one test, removed with everything in it at scope exit.
#include <cstdlib>
#include <filesystem>
#include <string>

namespace wfctl::test {

class TempDir {
 public:
  /// A new directory under `parent` (a tmpfs such as /dev/shm, say, to test another file system).
  explicit TempDir(const std::filesystem::path& parent = std::filesystem::temp_directory_path()) {
    std::string tmpl = (parent / "wfctl-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    m_path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& p) const { return m_path / p; }

 private:
  std::filesystem::path m_path;
};

}  // namespace wfctl::test
