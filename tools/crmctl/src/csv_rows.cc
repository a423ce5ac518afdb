#include "csv_rows.h"

#include <csv.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>

#include "fmt/format.h"

namespace crm::crmctl {

enum class CsvColumns::Target {
  kRowKey,
  kGivenName,
  kFamilyName,
  kEmails,
  kPhones,
  kJobTitle,
  kBirthDate,
  kNotes,
  kOwner,
  kTags,
  kStreet,
  kLocality,
  kRegion,
  kPostalCode,
  kCountryCode,
  kAccountName,
  kAccountDisplayName,
  kAccountWebsite,
  kAccountDomain,
};

namespace {

using Target = CsvColumns::Target;
namespace v1 = contact::v1;

// Column names (lower case, '-' and ' ' read as '_') and their targets.
const std::map<std::string, Target, std::less<>>& Names() {
  static const auto* names = new std::map<std::string, Target, std::less<>>{
      {"row_key", Target::kRowKey},
      {"key", Target::kRowKey},
      {"id", Target::kRowKey},
      {"given_name", Target::kGivenName},
      {"first_name", Target::kGivenName},
      {"family_name", Target::kFamilyName},
      {"last_name", Target::kFamilyName},
      {"email", Target::kEmails},
      {"emails", Target::kEmails},
      {"phone", Target::kPhones},
      {"phones", Target::kPhones},
      {"job_title", Target::kJobTitle},
      {"title", Target::kJobTitle},
      {"birth_date", Target::kBirthDate},
      {"notes", Target::kNotes},
      {"owner", Target::kOwner},
      {"tags", Target::kTags},
      {"street", Target::kStreet},
      {"address", Target::kStreet},
      {"city", Target::kLocality},
      {"locality", Target::kLocality},
      {"region", Target::kRegion},
      {"state", Target::kRegion},
      {"postal_code", Target::kPostalCode},
      {"zip", Target::kPostalCode},
      {"country", Target::kCountryCode},
      {"country_code", Target::kCountryCode},
      {"account", Target::kAccountName},
      {"company", Target::kAccountDisplayName},
      {"account_display_name", Target::kAccountDisplayName},
      {"website", Target::kAccountWebsite},
      {"account_website", Target::kAccountWebsite},
      {"domain", Target::kAccountDomain},
      {"account_domain", Target::kAccountDomain},
  };
  return *names;
}

std::string_view Trimmed(std::string_view text) {
  const auto space = [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
  };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

std::string ColumnKey(std::string_view name) {
  std::string key(Trimmed(name));
  for (char& c : key) {
    c = (c == '-' || c == ' ')
            ? '_'
            : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return key;
}

// The ';'-separated parts of a value, trimmed, empty ones dropped.
std::vector<std::string> Parts(std::string_view value) {
  std::vector<std::string> parts;
  while (true) {
    const size_t end = value.find(';');
    std::string_view part = Trimmed(value.substr(0, end));
    if (!part.empty()) parts.emplace_back(part);
    if (end == std::string_view::npos) break;
    value.remove_prefix(end + 1);
  }
  return parts;
}

}  // namespace

absl::StatusOr<CsvColumns> CsvColumns::FromHeader(
    const std::vector<std::string>& header) {
  CsvColumns columns;
  std::vector<std::string> unknown;
  std::set<Target> seen;
  for (const std::string& name : header) {
    auto found = Names().find(ColumnKey(name));
    if (found == Names().end()) {
      unknown.push_back(name);
      continue;
    }
    if (!seen.insert(found->second).second) {
      return absl::InvalidArgumentError(fmt::format(
          "the header names column \"{}\" twice (or with an alias); keep "
          "one",
          name));
    }
    columns.targets_.push_back(found->second);
  }
  if (!unknown.empty()) {
    std::string list;
    for (const auto& u : unknown)
      list += (list.empty() ? "\"" : ", \"") + u + "\"";
    return absl::InvalidArgumentError(fmt::format(
        "the header has unknown columns {}; rename them to the columns "
        "crmctl knows (docs/crmctl.md) or remove them",
        list));
  }
  if (!seen.contains(Target::kGivenName) &&
      !seen.contains(Target::kFamilyName)) {
    return absl::InvalidArgumentError(
        "the header has no given_name or family_name column; the first line "
        "must name the columns");
  }
  return columns;
}

absl::StatusOr<v1::ImportRow> CsvColumns::Map(
    const std::vector<std::string>& fields, int64_t record) const {
  v1::ImportRow row;
  row.set_row_key(std::to_string(record));
  if (fields.size() != targets_.size()) {
    return absl::InvalidArgumentError(fmt::format(
        "record {} has {} fields, the header {}; quote values that hold "
        "commas",
        record, fields.size(), targets_.size()));
  }
  v1::Contact& c = *row.mutable_contact();
  v1::PostalAddress address;
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::string& value = fields[i];
    if (value.empty()) continue;
    switch (targets_[i]) {
      case Target::kRowKey:
        row.set_row_key(value);
        break;
      case Target::kGivenName:
        c.set_given_name(value);
        break;
      case Target::kFamilyName:
        c.set_family_name(value);
        break;
      case Target::kEmails:
        for (auto& e : Parts(value)) c.add_emails()->set_address(e);
        break;
      case Target::kPhones:
        for (auto& p : Parts(value)) c.add_phones()->set_number(p);
        break;
      case Target::kJobTitle:
        c.set_job_title(value);
        break;
      case Target::kBirthDate:
        c.set_birth_date(value);
        break;
      case Target::kNotes:
        c.set_notes(value);
        break;
      case Target::kOwner:
        c.set_owner(value);
        break;
      case Target::kTags:
        for (auto& t : Parts(value)) c.add_tags(t);
        break;
      case Target::kStreet:
        address.add_lines(value);
        break;
      case Target::kLocality:
        address.set_locality(value);
        break;
      case Target::kRegion:
        address.set_region(value);
        break;
      case Target::kPostalCode:
        address.set_postal_code(value);
        break;
      case Target::kCountryCode:
        address.set_country_code(value);
        break;
      case Target::kAccountName:
        row.mutable_account()->set_name(value);
        break;
      case Target::kAccountDisplayName:
        row.mutable_account()->set_display_name(value);
        break;
      case Target::kAccountWebsite:
        row.mutable_account()->set_website(value);
        break;
      case Target::kAccountDomain:
        row.mutable_account()->set_domain(value);
        break;
    }
  }
  if (address.ByteSizeLong() > 0) *c.add_addresses() = std::move(address);
  return row;
}

CsvReader::CsvReader(std::FILE* file, uint64_t size)
    : file_(file), parser_(std::make_unique<csv_parser>()), file_size_(size) {
  csv_init(parser_.get(), CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
}

CsvReader::~CsvReader() {
  csv_free(parser_.get());
  std::fclose(file_);
}

absl::StatusOr<std::unique_ptr<CsvReader>> CsvReader::Open(
    const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::NotFoundError(fmt::format(
        "cannot open {}; check the path and its permissions", path));
  }
  uint64_t size = 0;
  if (std::fseek(file, 0, SEEK_END) == 0) {
    const long end = std::ftell(file);
    if (end > 0) size = static_cast<uint64_t>(end);
    std::rewind(file);
  }
  return std::unique_ptr<CsvReader>(new CsvReader(file, size));
}

void CsvReader::OnField(void* data, size_t size, void* reader) {
  auto* self = static_cast<CsvReader*>(reader);
  self->field_buffer_.emplace_back(static_cast<const char*>(data), size);
}

void CsvReader::OnRecord(int, void* reader) {
  auto* self = static_cast<CsvReader*>(reader);
  self->ready_.push_back(std::move(self->field_buffer_));
  self->field_buffer_.clear();
}

absl::StatusOr<std::optional<std::vector<std::string>>> CsvReader::Next() {
  char buffer[64 * 1024];
  while (next_ready_ == ready_.size()) {
    ready_.clear();
    next_ready_ = 0;
    if (finished_) return std::nullopt;
    const size_t read = std::fread(buffer, 1, sizeof(buffer), file_);
    if (read == 0) {
      finished_ = true;
      if (std::ferror(file_)) {
        return absl::UnavailableError("reading the CSV file failed");
      }
      if (csv_fini(parser_.get(), &OnField, &OnRecord, this) != 0) {
        return absl::InvalidArgumentError(
            fmt::format("the CSV file ends inside a quoted field: {}",
                        csv_strerror(csv_error(parser_.get()))));
      }
      continue;
    }
    if (csv_parse(parser_.get(), buffer, read, &OnField, &OnRecord, this) !=
        read) {
      return absl::InvalidArgumentError(fmt::format(
          "malformed CSV near byte {}: {}; quote fields holding quotes, "
          "commas or line breaks (RFC 4180)",
          bytes_read_, csv_strerror(csv_error(parser_.get()))));
    }
    bytes_read_ += read;
  }
  return std::move(ready_[next_ready_++]);
}

}  // namespace crm::crmctl
