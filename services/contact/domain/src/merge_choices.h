// Validation of merge field choices, shared by contacts and accounts.
// Internal.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "crm/contact/domain/field_violation.h"
#include "crm/contact/v1/contact_types.pb.h"
#include "fmt/format.h"
#include "validation.h"

namespace crm::contact::internal {

// The source chosen for `path` (UNSPECIFIED when not named).
inline v1::MergeFieldSource ChoiceFor(
    const std::map<std::string, v1::MergeFieldSource, std::less<>>& choices,
    std::string_view path) {
  auto it = choices.find(path);
  return it == choices.end() ? v1::MERGE_FIELD_SOURCE_UNSPECIFIED : it->second;
}

inline void CheckFieldChoices(
    ViolationList& violations,
    const std::map<std::string, v1::MergeFieldSource, std::less<>>& choices,
    const std::vector<std::string>& writable,
    const std::function<bool(std::string_view)>& is_repeated) {
  for (const auto& [path, source] : choices) {
    std::string field = fmt::format("field_choices[{}]", path.substr(0, 64));
    if (!Contains(writable, path)) {
      violations.Add(field, "is not a writable field");
    } else if (!v1::MergeFieldSource_IsValid(source)) {
      violations.Add(field, "is not a known MergeFieldSource");
    } else if (source == v1::MERGE_FIELD_SOURCE_BOTH && !is_repeated(path)) {
      violations.Add(field,
                     "BOTH applies only to repeated fields (emails, phones, "
                     "addresses, tags); choose SURVIVOR or MERGED");
    }
  }
}

}  // namespace crm::contact::internal
