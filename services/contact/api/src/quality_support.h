// Duplicate search for other areas of the contact API (internal to
// contact_api): the likely duplicates of a contact or account, from the
// data_quality read model (quality_projections.h), scored by the domain
// (duplicates.h). The import area calls it before creating a record:
//
//   ASSIGN_OR_RETURN(std::vector<LikelyDuplicate> found,
//                    LikelyDuplicateContacts(deps, tenant, fields, ""));
//   if (!found.empty() && found[0].score.score >= 0.9) ... skip or merge ...
//
// Reads the read model as it is (it does not wait for a position): a record
// written a moment ago may not be a candidate yet. Thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/domain/account.h"
#include "crm/contact/domain/contact.h"
#include "crm/contact/domain/duplicates.h"
#include "crm/contact/v1/contact_service.pb.h"
#include "crm/projection/projection.h"

namespace crm::contact::api {

// One existing record that may be the same as the subject.
struct LikelyDuplicate {
  std::string id;  // The existing record's id.
  DuplicateScore score;
};

// Bounds of one search.
struct DuplicateSearch {
  double min_score = 0.5;  // Only candidates scoring at least this.
  size_t max_results = 50;
  // Candidates read per blocking key (a key shared by more records is weak
  // evidence) and in all; each candidate costs one read and, for contacts,
  // opening its sealed data.
  size_t per_key = 50;
  size_t max_candidates = 500;
  std::string exclude_id;  // The subject's own id, when it exists.
};

// The matching profile of a contact's fields: emails and phones normalized
// here when the caller left `normalized` / `e164` empty (values that do not
// parse are no evidence; `default_region` reads numbers without "+").
// `company_name` is the company as the caller knows it (an import's column),
// may be empty.
ContactMatchProfile DraftContactProfile(const ContactFields& fields,
                                        std::string_view company_name,
                                        std::string_view default_region);

// The matching profile of the tenant's stored contact `id` from a
// data_quality view (company name from its account there), or nullopt when
// it does not exist or is not ACTIVE (deleted, merged, erased). Errors: the
// view's; those of opening sealed data other than an erased key.
absl::StatusOr<std::optional<ContactMatchProfile>> StoredContactProfile(
    const projection::ProjectionView& view, PersonalDataSealer& sealer,
    std::string_view tenant, std::string_view id);

// The likely duplicates of a contact (stored or not) among the tenant's
// ACTIVE contacts, best first (score, then id), at most
// search.max_results. A contact with only `company_name` (no account) is
// matched to the accounts whose name key equals it. Errors: the read
// model's (UNAVAILABLE while it is not serving, DATA_LOSS); those of
// opening sealed data other than an erased key (whose record is skipped).
absl::StatusOr<std::vector<LikelyDuplicate>> LikelyDuplicateContacts(
    const ServiceDeps& deps, std::string_view tenant,
    const ContactFields& fields, std::string_view company_name,
    const DuplicateSearch& search = {});
absl::StatusOr<std::vector<LikelyDuplicate>> LikelyDuplicateContacts(
    const ServiceDeps& deps, std::string_view tenant,
    const ContactMatchProfile& profile, const DuplicateSearch& search = {});

// The same for accounts (profile.domain is derived here from the website
// when empty).
absl::StatusOr<std::vector<LikelyDuplicate>> LikelyDuplicateAccounts(
    const ServiceDeps& deps, std::string_view tenant,
    const v1::AccountProfile& profile, const DuplicateSearch& search = {});

// The API form of a score.
void ToCandidate(const DuplicateScore& score, v1::DuplicateCandidate& out);

}  // namespace crm::contact::api
