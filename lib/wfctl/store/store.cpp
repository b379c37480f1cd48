#include <wfctl/store/store.hpp>

#include <cstdlib>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <vector>
#include <wfctl/error.hpp>
#include <wfctl/store/local/local_store.hpp>
#include <wfctl/store/remote/remote_store.hpp>

namespace wfctl {

bool has(const Capabilities& caps, Capability c) noexcept {
  switch (c) {
    case Capability::multi_object_transactions: return caps.multi_object_transactions;
    case Capability::result_listing: return caps.result_listing;
    case Capability::arbitrary_result_names: return caps.arbitrary_result_names;
    case Capability::stored_digests: return caps.stored_digests;
    case Capability::definition_update: return caps.definition_update;
    case Capability::result_deletion: return caps.result_deletion;
    case Capability::job_queue: return caps.job_queue;
  }
  return false;
}

void require(const Store& store, Capability c, std::string_view operation) {
  if (!has(store.capabilities(), c))
    throw Error(ErrorKind::not_supported,
                fmt::format("{} is not supported by store {}", operation, store.describe()));
}

namespace {
// One table: the enum's order, the names users type.
constexpr std::string_view k_sort_names[] = {"id", "name", "version", "author", "created", "updated"};
}  // namespace

std::string_view to_string(SortKey key) noexcept { return k_sort_names[static_cast<int>(key)]; }

const std::vector<std::string_view>& sort_key_names() {
  static const std::vector<std::string_view> names(std::begin(k_sort_names), std::end(k_sort_names));
  return names;
}

SortKey parse_sort_key(std::string_view name) {
  for (std::size_t i = 0; i < std::size(k_sort_names); ++i)
    if (k_sort_names[i] == name) return static_cast<SortKey>(i);
  throw Error(ErrorKind::invalid_input, fmt::format("invalid sort key '{}'", name),
              fmt::format("use one of: {}", fmt::join(k_sort_names, ", ")),
              {ErrorItem{{std::string("query"), std::string("sort_by")}, "value is not a valid enumeration member",
                         "type_error.enum", {}}});
}

void check(const ListQuery& query) {
  if (query.limit && *query.limit < 0)
    throw Error(ErrorKind::invalid_input, fmt::format("invalid limit {}: must be at least 0", *query.limit), {},
                {ErrorItem{{std::string("query"), std::string("limit")}, "ensure this value is greater than or equal to 0",
                           "value_error.number.not_ge", {}}});
  if (query.offset && *query.offset < 0)
    throw Error(ErrorKind::invalid_input, fmt::format("invalid offset {}: must be at least 0", *query.offset), {},
                {ErrorItem{{std::string("query"), std::string("offset")}, "ensure this value is greater than or equal to 0",
                           "value_error.number.not_ge", {}}});
}

ResultFile Store::read_image(RecordId record, const ByteSink& sink, const Cancel& cancel) {
  return read_result(record, default_result_name(record), sink, cancel);
}

JobQueue& Store::jobs() {
  require(*this, Capability::job_queue, "a job queue");
  throw Error(ErrorKind::internal, "store " + describe() + " claims a job queue but has none");
}

void ResultWriter::write_from(const ByteSource& source) {
  std::vector<char> buf(1 << 20);
  std::uint64_t done = 0;
  while (std::size_t n = source.read(buf.data(), buf.size())) {
    write(buf.data(), n);
    done += n;
    if (source.progress) source.progress(done);
  }
}

namespace {

std::string expand_home(std::string_view path) {
  if (path == "~" || path.substr(0, 2) == "~/") {
    const char* home = std::getenv("HOME");
    if (!home || !*home) throw Error(ErrorKind::usage, "cannot expand '~': HOME is not set");
    return std::string(home) + std::string(path.substr(1));
  }
  return std::string(path);
}

std::unique_ptr<Store> open_local(std::string_view rest, const StoreOptions& o) {
  if (rest.empty()) throw Error(ErrorKind::usage, "store path is empty");
  return std::make_unique<local::LocalStore>(expand_home(rest), o);
}

std::unique_ptr<Store> open_remote(std::string_view url, const StoreOptions& o) {
  return remote::open_remote_store(url, o);
}

// One table of schemes; a string with no scheme is a local path.
struct Scheme {
  std::string_view prefix;
  bool keep_prefix;  // remote URLs are passed whole
  std::unique_ptr<Store> (*open)(std::string_view, const StoreOptions&);
};

const Scheme k_schemes[] = {
    {"sqlite:", false, open_local},
    {"file://", false, open_local},
    {"http://", true, open_remote},
    {"https://", true, open_remote},
};

}  // namespace

std::unique_ptr<Store> open_store(std::string_view url, const StoreOptions& options) {
  for (const auto& s : k_schemes) {
    if (url.substr(0, s.prefix.size()) == s.prefix)
      return s.open(s.keep_prefix ? url : url.substr(s.prefix.size()), options);
  }
  auto colon = url.find("://");
  if (colon != std::string_view::npos)
    throw Error(ErrorKind::usage, fmt::format("unknown store scheme '{}'", url.substr(0, colon)),
                "use a path, sqlite:PATH, http:// or https://");
  return open_local(url, options);
}

}  // namespace wfctl
