#include <wfctl/model/result.hpp>

namespace wfctl {

Json to_json(const ResultFile& r) {
  Json j = Json::object();
  j["record_id"] = r.record_id;
  j["name"] = r.name;
  j["size"] = r.size;
  j["sha256"] = r.sha256.empty() ? Json(nullptr) : Json(r.sha256);  // a backend without digests
  j["datetime_stored"] = r.datetime_stored;
  return j;
}

std::string default_result_name(RecordId id) { return "record-" + std::to_string(id) + ".dcm"; }

std::string record_path(RecordId record) { return "records/" + std::to_string(record); }

std::string record_path(RecordId record, std::string_view name) {
  std::string path = record_path(record);
  path += '/';
  path += name;
  return path;
}

}  // namespace wfctl
