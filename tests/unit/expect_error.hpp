#pragma once
#include <catch2/catch.hpp>
#include <string>
#include <wfctl/error.hpp>

namespace wfctl::test {

/// Runs `f`, expects a wfctl::Error of `kind`, and returns its message.
template <typename F>
std::string error_of(ErrorKind kind, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    CHECK(e.kind() == kind);
    return e.what();
  }
  FAIL("no wfctl::Error thrown");
  return {};
}

}  // namespace wfctl::test
