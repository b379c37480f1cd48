#include <wfctl/error.hpp>

namespace wfctl {

int exit_code_for(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::internal: return 1;
    case ErrorKind::usage: return 2;
    case ErrorKind::not_found: return 3;
    case ErrorKind::invalid_input: return 4;
    case ErrorKind::conflict: return 5;
    case ErrorKind::unavailable: return 6;
    case ErrorKind::not_supported: return 7;
    case ErrorKind::permission: return 8;
    case ErrorKind::job_failed: return 9;
    case ErrorKind::timed_out: return 10;
    case ErrorKind::interrupted: return 130;
  }
  return 1;
}

const char* kind_name(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::internal: return "internal";
    case ErrorKind::usage: return "usage";
    case ErrorKind::not_found: return "not found";
    case ErrorKind::invalid_input: return "invalid input";
    case ErrorKind::conflict: return "conflict";
    case ErrorKind::unavailable: return "unavailable";
    case ErrorKind::not_supported: return "not supported";
    case ErrorKind::permission: return "permission denied";
    case ErrorKind::job_failed: return "job failed";
    case ErrorKind::timed_out: return "timed out";
    case ErrorKind::interrupted: return "interrupted";
  }
  return "internal";
}

}  // namespace wfctl
