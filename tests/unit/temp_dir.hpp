#pragma once
// A temporary directory owned by one test, removed with everything in it at scope exit.
#include <cstdlib>
#include <filesystem>
#include <string>

namespace wfctl::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "wfctl-test-XXXXXX").string();
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
