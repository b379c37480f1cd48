#pragma once
// SHA-256 over OpenSSL's EVP interface (which picks the SHA-NI code path where the CPU has
// it); OpenSSL types stay in the .cpp so that only wfctl_core links libcrypto.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace wfctl {

/// An incremental SHA-256 hasher; throws Error(internal) if OpenSSL fails.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  /// Hashes `n` more bytes.
  void update(const void* data, std::size_t n);
  /// The lower-case hex digest of everything hashed so far; hashing may continue afterwards.
  std::string hex_digest() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// The lower-case hex SHA-256 digest of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace wfctl
