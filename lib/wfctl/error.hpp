#pragma once
// The one exception type of wfctl: every failure carries a kind, and main() maps the
// kind to the documented exit code.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace wfctl {

enum class ErrorKind {
  internal,         // 1: a bug or an unexpected system failure
  usage,            // 2: bad flags, bad configuration
  not_found,        // 3
  invalid_input,    // 4: bad definition, bad DICOM, server 422
  conflict,         // 5: already exists, would overwrite
  unavailable,      // 6: connection, timeout, 5xx, database locked past the busy timeout
  not_supported,    // 7: not supported by this backend
  permission,       // 8: authentication or permission refused
  job_failed,       // 9
  timed_out,        // 10
  interrupted,      // 130
};

/// The process exit status documented for an error kind.
int exit_code_for(ErrorKind kind) noexcept;

/// The one errno table: the error kind of a failed file operation on a path, used by every
/// open, read, write, create and rename of wfctl (the man page's EXIT STATUS lists it):
///   ENOENT                                     not_found      3
///   ENOTDIR, EISDIR, ELOOP, ENAMETOOLONG       usage          2  (the path names the wrong kind of file)
///   EACCES, EPERM, EROFS                       permission     8
///   EEXIST, ENOTEMPTY                          conflict       5
///   ENOSPC, EDQUOT, EIO, EFBIG, EBUSY, ETXTBSY,
///   EAGAIN, EMFILE, ENFILE, ENOMEM, EPIPE      unavailable    6
///   EINTR                                      interrupted  130
///   anything else                              internal       1
ErrorKind error_kind_for_errno(int err) noexcept;

/// One problem of an invalid input, in the REST contract's 422 shape: `loc` is where (["body",
/// "name"], ["body", "definition"], ["path", "record_id"]), `msg` what ("field required"),
/// `type` the pydantic-style code ("value_error.missing", "type_error.dict"), and `text` the
/// same problem as a person reads it ("wf.json: name: field required").
struct ErrorItem {
  std::vector<std::variant<std::string, std::int64_t>> loc;
  std::string msg, type, text;
  bool operator==(const ErrorItem&) const = default;
};

/// An error with a kind, a one-line message and an optional hint line; invalid input also
/// carries its problems as items, in field order (the message then describes the first).
// Default visibility: the DICOM module throws it across the dlopen boundary.
class __attribute__((visibility("default"))) Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, std::string hint = {}, std::vector<ErrorItem> items = {})
      : std::runtime_error(std::move(message)), m_kind(kind), m_hint(std::move(hint)), m_items(std::move(items)) {}

  ErrorKind kind() const noexcept { return m_kind; }
  const std::string& hint() const noexcept { return m_hint; }
  /// The problems of an invalid input; empty for other errors.
  const std::vector<ErrorItem>& items() const noexcept { return m_items; }

  /// A copy of this error whose message is prefixed with "context: ".
  Error with_context(const std::string& context) const {
    return Error(m_kind, context + ": " + what(), m_hint, m_items);
  }
  /// A copy of this error with `hint` (front ends add hints that name their own flags).
  Error with_hint(std::string hint) const { return Error(m_kind, what(), std::move(hint), m_items); }

 private:
  ErrorKind m_kind;
  std::string m_hint;
  std::vector<ErrorItem> m_items;
};

/// An Error of the kind for `err` with the message "<what>: <strerror(err)>".
Error errno_error(int err, const std::string& what);

}  // namespace wfctl
