#pragma once
// The command a worker runs for a topic: a template such as
//   wfctl-cartesian {input} {output} --record-id {record_id}
// split into words like a shell would (quotes, backslashes) but never given to a shell: no
// variables, globs or redirections, so a file name can never become a command.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wfctl {

struct Handler {
  std::vector<std::string> words;  // each word may hold placeholders
  std::string source;              // where it came from, for messages ("--handler", "config")
};

/// The placeholders a handler may use: {input}, {output}, {record_id}, {data_lake},
/// {job_id}, {topic}; "{{" and "}}" are literal braces.
const std::vector<std::string_view>& handler_placeholders();

/// Parses a handler command. Throws Error(usage) naming `source` for an empty command, an
/// unterminated quote or an unknown placeholder.
Handler parse_handler(std::string_view command, const std::string& source);

/// The argv of one run: every placeholder replaced by its value (each word stays one
/// argument, whatever the value holds).
std::vector<std::string> expand(const Handler& handler, const std::map<std::string, std::string>& values);

/// The handler of the reference's topic when none is configured: the example reconstruction
/// installed next to wfctl (wfctl-cartesian {input} {output} --record-id {record_id}).
Handler default_cartesian_handler();

/// Where wfctl-cartesian is: next to the running wfctl, in the build tree beside it, or
/// "wfctl-cartesian" (looked up in PATH when run).
std::string cartesian_program();

}  // namespace wfctl
