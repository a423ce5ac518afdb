#include "crm/contact/domain/field_violation.h"

#include <charconv>
#include <optional>
#include <string>

#include "absl/strings/cord.h"
#include "fmt/format.h"

namespace crm::contact {
namespace {

// Debian's Abseil has its own string_view.
absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }

// Payload encoding: each violation as two netstrings, "<len>:<bytes>,".
void AppendNetstring(std::string_view value, std::string* out) {
  out->append(std::to_string(value.size()));
  out->push_back(':');
  out->append(value);
  out->push_back(',');
}

std::optional<std::string> ReadNetstring(std::string_view* in) {
  size_t colon = in->find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  size_t length = 0;
  auto [end, error] = std::from_chars(in->data(), in->data() + colon, length);
  if (error != std::errc() || end != in->data() + colon) return std::nullopt;
  if (in->size() < colon + 1 + length + 1 || (*in)[colon + 1 + length] != ',') {
    return std::nullopt;
  }
  std::string value(in->substr(colon + 1, length));
  in->remove_prefix(colon + 1 + length + 1);
  return value;
}

}  // namespace

absl::Status InvalidArgumentWithViolations(
    std::string_view what, const std::vector<FieldViolation>& violations) {
  std::string message = fmt::format("invalid {}:", what);
  std::string payload;
  for (size_t i = 0; i < violations.size(); ++i) {
    message += fmt::format("{} {}: {}", i == 0 ? "" : ";", violations[i].field,
                           violations[i].description);
    AppendNetstring(violations[i].field, &payload);
    AppendNetstring(violations[i].description, &payload);
  }
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(AbslView(kFieldViolationsPayloadUrl), absl::Cord(payload));
  return status;
}

std::vector<FieldViolation> FieldViolations(const absl::Status& status) {
  std::vector<FieldViolation> violations;
  absl::optional<absl::Cord> payload =
      status.GetPayload(AbslView(kFieldViolationsPayloadUrl));
  if (!payload.has_value()) return violations;
  std::string bytes(*payload);
  std::string_view in = bytes;
  while (!in.empty()) {
    std::optional<std::string> field = ReadNetstring(&in);
    if (!field.has_value()) break;
    std::optional<std::string> description = ReadNetstring(&in);
    if (!description.has_value()) break;
    violations.push_back({std::move(*field), std::move(*description)});
  }
  return violations;
}

void ViolationList::AddAll(std::string_view prefix,
                           const std::vector<FieldViolation>& other) {
  for (const FieldViolation& v : other) {
    Add(std::string(prefix) + v.field, v.description);
  }
}

absl::Status ViolationList::ToStatus(std::string_view what) const {
  if (violations_.empty()) return absl::OkStatus();
  return InvalidArgumentWithViolations(what, violations_);
}

}  // namespace crm::contact
