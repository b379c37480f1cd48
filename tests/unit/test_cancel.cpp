// Cancellation tokens: one call's token stops that call alone (the DICOM module's part is in
// test_dicom_export.cpp).
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <wfctl/error.hpp>
#include <wfctl/util/cancel.hpp>
#include <wfctl/util/interrupt.hpp>

#include "expect_error.hpp"

using namespace wfctl;

TEST_CASE("a token is cancelled by itself, by its parent, or past its deadline", "[cancel]") {
  Cancel never;
  CHECK_FALSE(never.cancelled());
  never.cancel();  // does nothing
  CHECK_FALSE(never.cancelled());

  Cancel parent = Cancel::make();
  Cancel child = parent.child();
  Cancel sibling = parent.child();
  child.cancel();
  CHECK(child.cancelled());
  CHECK_FALSE(sibling.cancelled());
  CHECK_FALSE(parent.cancelled());
  test::error_of(ErrorKind::interrupted, [&] { child.check(); });
  parent.cancel();
  CHECK(sibling.cancelled());

  Cancel late = Cancel::make().child(Cancel::Clock::now() - std::chrono::milliseconds(1));
  CHECK(late.cancelled());
  test::error_of(ErrorKind::timed_out, [&] { late.check(); });
}

TEST_CASE("a call check answers on its own thread only", "[cancel]") {
  Cancel c = Cancel::make();
  c.cancel();
  auto check = [](const void* t) noexcept { return static_cast<const Cancel*>(t)->cancelled(); };
  set_call_check(check, &c);
  CHECK(interrupt_requested());
  bool other = true;
  std::thread([&] { other = interrupt_requested(); }).join();
  CHECK_FALSE(other);
  set_call_check(nullptr, nullptr);
  CHECK_FALSE(interrupt_requested());
}

