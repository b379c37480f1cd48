#include <wfctl/error.hpp>

#include <cerrno>
#include <cstring>

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

ErrorKind error_kind_for_errno(int err) noexcept {
  switch (err) {
    case ENOENT:
      return ErrorKind::not_found;
    case ENOTDIR:
    case EISDIR:
    case ELOOP:
    case ENAMETOOLONG:
      return ErrorKind::usage;
    case EACCES:
    case EPERM:
    case EROFS:
      return ErrorKind::permission;
    case EEXIST:
    case ENOTEMPTY:
      return ErrorKind::conflict;
    case ENOSPC:
    case EDQUOT:
    case EIO:
    case EFBIG:
    case EBUSY:
    case ETXTBSY:
    case EAGAIN:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case EPIPE:
      return ErrorKind::unavailable;
    case EINTR:
      return ErrorKind::interrupted;
    default:
      return ErrorKind::internal;
  }
}

Error errno_error(int err, const std::string& what) {
  return Error(error_kind_for_errno(err), what + ": " + std::strerror(err));
}

}  // namespace wfctl
