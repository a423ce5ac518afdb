// Internals of normalize.cc, for its tests.
#pragma once

#include <string>
#include <string_view>

namespace crm::contact {

// NormalizeNameForMatching through ICU for any text; NormalizeNameForMatching
// takes a byte-wise path for ASCII that must give the same result.
std::string NormalizeNameForMatchingWithIcu(std::string_view name);

}  // namespace crm::contact
