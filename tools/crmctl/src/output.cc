#include "output.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "fmt/format.h"
#include "google/protobuf/util/json_util.h"

namespace crm::crmctl {

void PrintJson(const google::protobuf::Message& message, std::ostream& out) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options)
           .ok()) {
    json = "{}";  // Not reached for our generated types.
  }
  out << json << '\n';
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) widths[i] = headers_[i].size();
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < cells.size() ? cells[i] : "";
      line += i + 1 < widths.size() ? fmt::format("{:<{}}  ", cell, widths[i])
                                    : cell;
    }
    out << line << '\n';
  };
  print_row(headers_);
  for (const auto& row : rows_) print_row(row);
}

std::string FormatTime(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                          absl::FromUnixSeconds(time.seconds()),
                          absl::UTCTimeZone());
}

std::string StateName(contact::v1::RecordState state) {
  std::string name = contact::v1::RecordState_Name(state);
  constexpr std::string_view kPrefix = "RECORD_STATE_";
  if (name.starts_with(kPrefix)) name.erase(0, kPrefix.size());
  return name;
}

std::vector<std::string> ContactColumns() {
  return {"NAME", "GIVEN", "FAMILY", "EMAIL", "STATE", "ETAG", "UPDATED"};
}

std::vector<std::string> ContactRow(const contact::v1::Contact& c) {
  return {c.name(),
          c.given_name(),
          c.family_name(),
          c.emails().empty() ? "" : c.emails(0).address(),
          StateName(c.state()),
          c.etag(),
          FormatTime(c.update_time())};
}

void PrintContact(const contact::v1::Contact& c, std::ostream& out) {
  auto line = [&](std::string_view field, const std::string& value) {
    if (!value.empty()) out << fmt::format("{:<14}{}\n", field, value);
  };
  line("name:", c.name());
  line("state:", StateName(c.state()));
  line("given_name:", c.given_name());
  line("family_name:", c.family_name());
  for (const auto& e : c.emails()) {
    line("email:", e.label().empty()
                       ? e.address()
                       : fmt::format("{} ({})", e.address(), e.label()));
  }
  for (const auto& p : c.phones()) {
    line("phone:", p.e164().empty() ? p.number() : p.e164());
  }
  for (const auto& a : c.addresses()) {
    line("address:",
         fmt::format("{}, {} {} {} {}", absl::StrJoin(a.lines(), ", "),
                     a.postal_code(), a.locality(), a.region(),
                     a.country_code()));
  }
  line("job_title:", c.job_title());
  line("birth_date:", c.birth_date());
  line("notes:", c.notes());
  line("account:", c.account());
  line("owner:", c.owner());
  line("tags:", absl::StrJoin(c.tags(), ","));
  line("merged_into:", c.merged_into());
  line("source:", c.source());
  line("created:", FormatTime(c.create_time()));
  line("updated:", FormatTime(c.update_time()));
  line("deleted:", FormatTime(c.delete_time()));
  line("erased:", FormatTime(c.erase_time()));
  line("etag:", c.etag());
}

}  // namespace crm::crmctl
