#include <openssl/evp.h>

#include <wfctl/error.hpp>
#include <wfctl/util/sha256.hpp>

namespace wfctl {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

namespace {

[[noreturn]] void fail(const char* what) {
  throw Error(ErrorKind::internal, std::string("SHA-256: ") + what + " failed in OpenSSL");
}

}  // namespace

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {
  m_impl->ctx = EVP_MD_CTX_new();
  if (!m_impl->ctx) fail("EVP_MD_CTX_new");
  if (EVP_DigestInit_ex(m_impl->ctx, EVP_sha256(), nullptr) != 1) fail("EVP_DigestInit_ex");
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, std::size_t n) {
  if (!m_impl) fail("update after move");
  if (n > 0 && EVP_DigestUpdate(m_impl->ctx, data, n) != 1) fail("EVP_DigestUpdate");
}

std::string Sha256::hex_digest() const {
  if (!m_impl) fail("digest after move");
  // Finalising a copy keeps this context open, so callers may peek and keep hashing.
  Impl copy;
  copy.ctx = EVP_MD_CTX_new();
  if (!copy.ctx) fail("EVP_MD_CTX_new");
  if (EVP_MD_CTX_copy_ex(copy.ctx, m_impl->ctx) != 1) fail("EVP_MD_CTX_copy_ex");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(copy.ctx, digest, &len) != 1) fail("EVP_DigestFinal_ex");

  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out += k_hex[digest[i] >> 4];
    out += k_hex[digest[i] & 0x0f];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.hex_digest();
}

}  // namespace wfctl
