// Normalisation of the values records are matched and looked up by.
//
// Thread safety: every function is thread-safe (ICU and libphonenumber
// objects are per thread or immutable singletons).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace crm::contact {

// The normalized form of an email address: trimmed, local part lower-cased,
// domain lower-cased and converted to ASCII by IDNA (UTS #46), such as
// " Ada@Exämple.COM " -> "ada@xn--exmple-cua.com".
// INVALID_ARGUMENT (message says why, without the address) when it is not an
// address: not exactly one "@", an empty part, whitespace or control
// characters inside, a domain without a dot or refused by IDNA, longer than
// 254 bytes.
absl::StatusOr<std::string> NormalizeEmail(std::string_view address);

// The E.164 form of a phone number ("+493012345670"), parsed by
// libphonenumber. A number without "+" is read in `default_region` (ISO
// 3166-1 alpha-2, such as "DE").
// INVALID_ARGUMENT when it cannot be parsed, when it has no "+" and no
// default region is given, or when it is not a valid number of its region.
absl::StatusOr<std::string> NormalizePhoneE164(std::string_view number,
                                               std::string_view default_region);

// True when `region` is a region libphonenumber knows ("DE", "US" ...).
bool IsKnownPhoneRegion(std::string_view region);

// A person's name as compared for matching: Unicode NFKC with case folding,
// transliterated to Latin and then ASCII (ICU "Any-Latin; Latin-ASCII"),
// apostrophes dropped, every other non-alphanumeric character a space,
// spaces collapsed and trimmed. "  Zoë  O'Brien-Smith " -> "zoe obrien smith",
// "Владимир" -> "vladimir". Never fails: text ICU cannot convert stays as it
// is after case folding.
std::string NormalizeNameForMatching(std::string_view name);

// A company name as compared for matching: NormalizeNameForMatching, then
// trailing legal-form words (gmbh, ag, inc, ltd, llc, sa, sarl, bv, plc,
// corp, co, kg ...) removed. "ACME Widgets GmbH & Co. KG" -> "acme widgets".
std::string NormalizeCompanyNameForMatching(std::string_view name);

// The web domain of a web site for matching: scheme, user info, port, path,
// query and a leading "www." removed, lower-cased, IDNA to ASCII.
// "https://www.Bücher.example/shop" -> "xn--bcher-kva.example".
// INVALID_ARGUMENT when no valid domain with a dot remains.
absl::StatusOr<std::string> NormalizeWebDomain(std::string_view website);

}  // namespace crm::contact
