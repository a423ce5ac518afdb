// Duplicate detection: pure scoring of two records.
//
// Each kind of evidence has its own score in [0, 1]; the pair's score
// combines them as independent evidence, 1 - prod(1 - s), so two weak
// signals beat one. Contacts:
//   same normalized email                  0.95
//   same E.164 phone                       0.85
//   names >= 0.85 similar, same company    0.50 .. 0.85 (by similarity)
//   names >= 0.95 similar, company unknown 0.30
// Accounts:
//   same web domain                        0.90
//   same E.164 phone                       0.70
//   company names >= 0.90 similar          0.40 .. 0.85 (by similarity)
// Name similarity is Jaro-Winkler on NormalizeNameForMatching forms, also
// with the words sorted (so "Lovelace Ada" matches "Ada Lovelace").
// Callers choose a threshold (the API's default is 0.5).
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "crm/contact/domain/account.h"
#include "crm/contact/v1/contact_events.pb.h"

namespace crm::contact {

// What a contact is matched by, normalized once (from ContactPersonalData
// and the record's clear fields).
struct ContactMatchProfile {
  std::string id;
  std::string name_key;             // NormalizeNameForMatching(given family)
  std::vector<std::string> emails;  // EmailAddress.normalized, non-empty
  std::vector<std::string> phones;  // PhoneNumber.e164, non-empty
  std::string account_id;           // primary account, may be empty
  std::string company_key;          // NormalizeCompanyNameForMatching of
                                    // the account's name, may be empty
};

// Builds the profile. company_name is the primary account's display name
// when the caller knows it (for drafts and imports), else empty.
ContactMatchProfile ContactMatchProfileOf(std::string_view id,
                                          const v1::ContactPersonalData& data,
                                          std::string_view account_id,
                                          std::string_view company_name);

struct AccountMatchProfile {
  std::string id;
  std::string name_key;  // NormalizeCompanyNameForMatching(display_name)
  std::string domain;    // AccountProfile.domain
  std::vector<std::string> phones;
};

AccountMatchProfile AccountMatchProfileOf(std::string_view id,
                                          const v1::AccountProfile& profile);

enum class DuplicateEvidence {
  kEmail,
  kPhone,
  kNameAndCompany,
  kName,
  kDomain
};

// One piece of evidence. detail names no personal value ("same email
// address", "names 0.96 similar, same account").
struct DuplicateReason {
  DuplicateEvidence evidence;
  double score = 0;
  std::string detail;
};

// The combined score (0 when there is no evidence) and the reasons, strongest
// first.
struct DuplicateScore {
  double score = 0;
  std::vector<DuplicateReason> reasons;
};

DuplicateScore ScoreContactPair(const ContactMatchProfile& a,
                                const ContactMatchProfile& b);
DuplicateScore ScoreAccountPair(const AccountMatchProfile& a,
                                const AccountMatchProfile& b);

// Jaro-Winkler similarity of two UTF-8 strings by code point, in [0, 1]
// (prefix scale 0.1, prefix up to 4). Two empty strings are 0: nothing to
// compare is no evidence.
double JaroWinkler(std::string_view a, std::string_view b);

// The best of JaroWinkler on the two names as they are and with their
// space-separated words sorted.
double NameSimilarity(std::string_view name_key_a, std::string_view name_key_b);

}  // namespace crm::contact
