#include "validation.h"

#include <algorithm>
#include <set>

#include "absl/time/civil_time.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/domain/normalize.h"
#include "fmt/format.h"

namespace crm::contact::internal {
namespace {

// Length in bytes of the UTF-8 sequence at s[i], or 0 when it is invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char lead = byte(i);
  size_t length = lead < 0x80           ? 1
                  : (lead >> 5) == 0x6  ? 2
                  : (lead >> 4) == 0xe  ? 3
                  : (lead >> 3) == 0x1e ? 4
                                        : 0;
  if (length == 0 || i + length > s.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  }
  if (length == 2 && lead < 0xc2) return 0;  // overlong
  return length;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::vector<std::string> NormalizeCodes(ViolationList& violations,
                                        std::string_view field,
                                        const std::vector<std::string>& values,
                                        size_t max_count, bool allow_extra,
                                        std::string_view what) {
  std::vector<std::string> out;
  if (values.size() > max_count) {
    violations.Add(std::string(field),
                   fmt::format("at most {} {} are allowed", max_count, what));
    return out;
  }
  for (size_t i = 0; i < values.size(); ++i) {
    std::string value = LowerAscii(Trim(values[i]));
    bool valid = !value.empty() && value.size() <= 64 &&
                 ((value[0] >= 'a' && value[0] <= 'z') ||
                  (value[0] >= '0' && value[0] <= '9'));
    for (char c : value) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                c == '-' || (allow_extra && (c == '.' || c == ':'));
      valid = valid && ok;
    }
    if (!valid) {
      violations.Add(
          fmt::format("{}[{}]", field, i),
          fmt::format("must be 1 to 64 characters of a-z, 0-9, '_', '-'{}, "
                      "starting with a letter or digit",
                      allow_extra ? ", '.', ':'" : ""));
      continue;
    }
    if (std::find(out.begin(), out.end(), value) == out.end()) {
      out.push_back(std::move(value));
    }
  }
  return out;
}

}  // namespace

std::string Trim(std::string_view s) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

void CheckText(ViolationList& violations, std::string field,
               std::string_view value, size_t max_bytes, bool multiline) {
  if (value.size() > max_bytes) {
    violations.Add(std::move(field),
                   fmt::format("is {} bytes long; at most {} are allowed",
                               value.size(), max_bytes));
    return;
  }
  for (size_t i = 0; i < value.size();) {
    size_t length = Utf8SequenceLength(value, i);
    if (length == 0) {
      violations.Add(std::move(field), "is not valid UTF-8");
      return;
    }
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (length == 1 && IsControl(c) &&
        !(multiline && (c == '\n' || c == '\t' || c == '\r'))) {
      violations.Add(std::move(field),
                     multiline ? "contains control characters other than "
                                 "newline and tab"
                               : "contains control characters");
      return;
    }
    i += length;
  }
}

void CheckId(ViolationList& violations, std::string field, std::string_view id,
             bool required) {
  if (id.empty()) {
    if (required) violations.Add(std::move(field), "is required");
    return;
  }
  if (!IsCanonicalUuid(id)) {
    violations.Add(std::move(field),
                   "must be a UUID in lower-case canonical form, such as "
                   "123e4567-e89b-42d3-a456-426614174000");
  }
}

std::vector<std::string> NormalizeTags(ViolationList& violations,
                                       std::string_view field,
                                       const std::vector<std::string>& tags) {
  return NormalizeCodes(violations, field, tags, kMaxTags, true, "tags");
}

std::vector<std::string> NormalizeRoles(ViolationList& violations,
                                        std::string_view field,
                                        const std::vector<std::string>& roles) {
  return NormalizeCodes(violations, field, roles, kMaxRoles, false, "roles");
}

bool IsCode(std::string_view value, bool allow_dash, bool allow_empty) {
  if (value.empty()) return allow_empty;
  if (value.size() > 64) return false;
  return std::all_of(value.begin(), value.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           (allow_dash && c == '-');
  });
}

void NormalizeEmails(
    ViolationList& violations, std::string_view field, size_t max_count,
    google::protobuf::RepeatedPtrField<v1::EmailAddress>* emails) {
  if (static_cast<size_t>(emails->size()) > max_count) {
    violations.Add(
        std::string(field),
        fmt::format("at most {} email addresses are allowed", max_count));
    return;
  }
  std::set<std::string, std::less<>> seen;
  for (int i = 0; i < emails->size(); ++i) {
    v1::EmailAddress& email = *emails->Mutable(i);
    email.set_address(Trim(email.address()));
    email.set_label(Trim(email.label()));
    CheckText(violations, fmt::format("{}[{}].label", field, i), email.label(),
              kMaxLabelBytes, false);
    absl::StatusOr<std::string> normalized = NormalizeEmail(email.address());
    if (!normalized.ok()) {
      violations.Add(fmt::format("{}[{}].address", field, i),
                     std::string(normalized.status().message()));
      continue;
    }
    if (!seen.insert(*normalized).second) {
      violations.Add(fmt::format("{}[{}].address", field, i),
                     "is the same address as an earlier entry");
      continue;
    }
    email.set_normalized(*std::move(normalized));
  }
}

void NormalizePhones(
    ViolationList& violations, std::string_view field,
    std::string_view default_region,
    google::protobuf::RepeatedPtrField<v1::PhoneNumber>* phones) {
  if (static_cast<size_t>(phones->size()) > kMaxPhones) {
    violations.Add(
        std::string(field),
        fmt::format("at most {} phone numbers are allowed", kMaxPhones));
    return;
  }
  std::set<std::string, std::less<>> seen;
  for (int i = 0; i < phones->size(); ++i) {
    v1::PhoneNumber& phone = *phones->Mutable(i);
    phone.set_number(Trim(phone.number()));
    phone.set_label(Trim(phone.label()));
    CheckText(violations, fmt::format("{}[{}].label", field, i), phone.label(),
              kMaxLabelBytes, false);
    absl::StatusOr<std::string> e164 =
        NormalizePhoneE164(phone.number(), default_region);
    if (!e164.ok()) {
      violations.Add(fmt::format("{}[{}].number", field, i),
                     std::string(e164.status().message()));
      continue;
    }
    if (!seen.insert(*e164).second) {
      violations.Add(fmt::format("{}[{}].number", field, i),
                     "is the same number as an earlier entry");
      continue;
    }
    phone.set_e164(*std::move(e164));
  }
}

void NormalizeAddresses(
    ViolationList& violations, std::string_view field,
    google::protobuf::RepeatedPtrField<v1::PostalAddress>* addresses) {
  if (static_cast<size_t>(addresses->size()) > kMaxAddresses) {
    violations.Add(
        std::string(field),
        fmt::format("at most {} addresses are allowed", kMaxAddresses));
    return;
  }
  for (int i = 0; i < addresses->size(); ++i) {
    v1::PostalAddress& address = *addresses->Mutable(i);
    std::string prefix = fmt::format("{}[{}]", field, i);
    if (static_cast<size_t>(address.lines_size()) > kMaxAddressLines) {
      violations.Add(
          prefix + ".lines",
          fmt::format("at most {} lines are allowed", kMaxAddressLines));
    }
    for (int k = 0; k < address.lines_size(); ++k) {
      address.set_lines(k, Trim(address.lines(k)));
      CheckText(violations, fmt::format("{}.lines[{}]", prefix, k),
                address.lines(k), kMaxNameBytes, false);
    }
    address.set_locality(Trim(address.locality()));
    address.set_region(Trim(address.region()));
    address.set_postal_code(Trim(address.postal_code()));
    address.set_label(Trim(address.label()));
    CheckText(violations, prefix + ".locality", address.locality(),
              kMaxNameBytes, false);
    CheckText(violations, prefix + ".region", address.region(), kMaxNameBytes,
              false);
    CheckText(violations, prefix + ".postal_code", address.postal_code(),
              kMaxLabelBytes, false);
    CheckText(violations, prefix + ".label", address.label(), kMaxLabelBytes,
              false);
    const std::string& country = address.country_code();
    if (!country.empty() &&
        !(country.size() == 2 &&
          std::isupper(static_cast<unsigned char>(country[0])) &&
          std::isupper(static_cast<unsigned char>(country[1])))) {
      violations.Add(prefix + ".country_code",
                     "must be an ISO 3166-1 alpha-2 code in upper case, such "
                     "as DE, or empty");
    }
  }
}

void CheckBirthDate(ViolationList& violations, std::string field,
                    std::string_view date, absl::Time now) {
  if (date.empty()) return;
  absl::CivilDay day;
  bool parsed = date.size() == 10 && date[4] == '-' && date[7] == '-' &&
                absl::ParseCivilTime(std::string(date), &day);
  if (!parsed || absl::FormatCivilTime(day) != date) {
    violations.Add(
        std::move(field),
        "must be a real date written YYYY-MM-DD, such as 1815-12-10");
    return;
  }
  if (absl::FromCivil(day, absl::UTCTimeZone()) > now) {
    violations.Add(std::move(field), "must not be in the future");
  }
}

std::vector<std::string> ExpandUpdateMask(
    ViolationList& violations, const std::vector<std::string>& mask,
    const std::vector<std::string>& writable) {
  if (mask.empty()) {
    violations.Add("update_mask",
                   "is required: name the fields to change, or '*' for all");
    return {};
  }
  if (Contains(mask, "*")) {
    if (mask.size() != 1) {
      violations.Add("update_mask", "'*' cannot be combined with other paths");
      return {};
    }
    return writable;
  }
  bool ok = true;
  for (const std::string& path : mask) {
    if (!Contains(writable, path)) {
      std::string list;
      for (const std::string& w : writable)
        list += (list.empty() ? "" : ", ") + w;
      violations.Add("update_mask",
                     fmt::format("'{}' is not a writable field; writable: {}",
                                 path.substr(0, 64), list));
      ok = false;
    }
  }
  if (!ok) return {};
  std::vector<std::string> out;
  for (const std::string& path : writable) {
    if (Contains(mask, path)) out.push_back(path);
  }
  return out;
}

bool Contains(const std::vector<std::string>& paths, std::string_view path) {
  return std::find(paths.begin(), paths.end(), path) != paths.end();
}

absl::Status NotFound(std::string_view kind, std::string_view id) {
  return absl::NotFoundError(
      fmt::format("{} {} not found in this tenant", kind, id));
}

}  // namespace crm::contact::internal
