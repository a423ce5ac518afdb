#include "quality_support.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "crm/base/status_macros.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/domain/normalize.h"
#include "crm/contact/projections/quality_projections.h"

namespace crm::contact::api {
namespace {

using projections::QualityRecord;

// Accounts one company name is resolved to (for a draft without account).
constexpr size_t kCompanyAccounts = 10;

v1::DuplicateReasonKind KindOf(DuplicateEvidence evidence) {
  switch (evidence) {
    case DuplicateEvidence::kEmail:
      return v1::DUPLICATE_REASON_KIND_EMAIL;
    case DuplicateEvidence::kPhone:
      return v1::DUPLICATE_REASON_KIND_PHONE;
    case DuplicateEvidence::kNameAndCompany:
      return v1::DUPLICATE_REASON_KIND_NAME_AND_COMPANY;
    case DuplicateEvidence::kName:
      return v1::DUPLICATE_REASON_KIND_NAME;
    case DuplicateEvidence::kDomain:
      return v1::DUPLICATE_REASON_KIND_DOMAIN;
  }
  return v1::DUPLICATE_REASON_KIND_UNSPECIFIED;
}

void SortAndTrim(std::vector<LikelyDuplicate>& found, size_t max_results) {
  std::sort(found.begin(), found.end(),
            [](const LikelyDuplicate& a, const LikelyDuplicate& b) {
              if (a.score.score != b.score.score) {
                return a.score.score > b.score.score;
              }
              return a.id < b.id;
            });
  if (found.size() > max_results) found.resize(max_results);
}

bool Passes(const DuplicateScore& score, const DuplicateSearch& search) {
  return score.score > 0 && score.score >= search.min_score;
}

}  // namespace

absl::StatusOr<std::optional<ContactMatchProfile>> StoredContactProfile(
    const projection::ProjectionView& view, PersonalDataSealer& sealer,
    std::string_view tenant, std::string_view id) {
  ASSIGN_OR_RETURN(std::optional<projections::StoredContact> stored,
                   projections::GetQualityContact(view, tenant, id));
  if (!stored.has_value() || stored->clear.state() != v1::RECORD_STATE_ACTIVE) {
    return std::nullopt;
  }
  v1::ContactPersonalData personal;
  const absl::Status opened =
      OpenMessage(sealer, stored->sealed_personal, &personal);
  if (IsKeyErased(opened)) return std::nullopt;
  RETURN_IF_ERROR(opened);
  std::string account_id;
  std::string company_name;
  if (!stored->clear.account().empty()) {
    account_id =
        ParseResourceName(RecordType::kAccount, stored->clear.account())
            .value_or(std::string());
    ASSIGN_OR_RETURN(std::optional<AccountState> account,
                     projections::GetQualityAccount(view, tenant, account_id));
    if (account.has_value()) company_name = account->profile.display_name();
  }
  return ContactMatchProfileOf(id, personal, account_id, company_name);
}

ContactMatchProfile DraftContactProfile(const ContactFields& fields,
                                        std::string_view company_name,
                                        std::string_view default_region) {
  v1::ContactPersonalData personal = fields.personal;
  for (v1::EmailAddress& email : *personal.mutable_emails()) {
    if (!email.normalized().empty()) continue;
    absl::StatusOr<std::string> normalized = NormalizeEmail(email.address());
    if (normalized.ok()) email.set_normalized(*std::move(normalized));
  }
  for (v1::PhoneNumber& phone : *personal.mutable_phones()) {
    if (!phone.e164().empty()) continue;
    absl::StatusOr<std::string> e164 =
        NormalizePhoneE164(phone.number(), default_region);
    if (e164.ok()) phone.set_e164(*std::move(e164));
  }
  return ContactMatchProfileOf("", personal, fields.account_id, company_name);
}

absl::StatusOr<std::vector<LikelyDuplicate>> LikelyDuplicateContacts(
    const ServiceDeps& deps, std::string_view tenant,
    const ContactFields& fields, std::string_view company_name,
    const DuplicateSearch& search) {
  return LikelyDuplicateContacts(
      deps, tenant,
      DraftContactProfile(fields, company_name, deps.options.default_region),
      search);
}

absl::StatusOr<std::vector<LikelyDuplicate>> LikelyDuplicateContacts(
    const ServiceDeps& deps, std::string_view tenant,
    const ContactMatchProfile& profile, const DuplicateSearch& search) {
  ASSIGN_OR_RETURN(auto view,
                   deps.engine.View(projections::kDataQualityProjection));
  std::vector<std::string> keys = projections::ContactBlockingKeys(profile);
  if (profile.account_id.empty() && !profile.company_key.empty() &&
      !profile.name_key.empty()) {
    // A company known by name only: the accounts of that name stand for it.
    ASSIGN_OR_RETURN(
        std::vector<std::string> accounts,
        projections::CandidateIds(*view, QualityRecord::kAccount, tenant,
                                  {"f:" + profile.company_key},
                                  kCompanyAccounts, kCompanyAccounts));
    for (const std::string& account_id : accounts) {
      ContactMatchProfile at_account = profile;
      at_account.account_id = account_id;
      for (std::string& key : projections::ContactBlockingKeys(at_account)) {
        if (key.starts_with("n:")) keys.push_back(std::move(key));
      }
    }
  }
  ASSIGN_OR_RETURN(
      std::vector<std::string> ids,
      projections::CandidateIds(*view, QualityRecord::kContact, tenant, keys,
                                search.per_key, search.max_candidates));
  std::vector<LikelyDuplicate> found;
  for (const std::string& id : ids) {
    if (id == search.exclude_id) continue;
    ASSIGN_OR_RETURN(std::optional<ContactMatchProfile> candidate,
                     StoredContactProfile(*view, deps.sealer, tenant, id));
    if (!candidate.has_value()) continue;
    DuplicateScore score = ScoreContactPair(profile, *candidate);
    if (Passes(score, search)) found.push_back({id, std::move(score)});
  }
  SortAndTrim(found, search.max_results);
  return found;
}

absl::StatusOr<std::vector<LikelyDuplicate>> LikelyDuplicateAccounts(
    const ServiceDeps& deps, std::string_view tenant,
    const v1::AccountProfile& profile, const DuplicateSearch& search) {
  v1::AccountProfile subject = profile;
  if (subject.domain().empty() && !subject.website().empty()) {
    absl::StatusOr<std::string> domain = NormalizeWebDomain(subject.website());
    if (domain.ok()) subject.set_domain(*std::move(domain));
  }
  for (v1::PhoneNumber& phone : *subject.mutable_phones()) {
    if (!phone.e164().empty()) continue;
    absl::StatusOr<std::string> e164 =
        NormalizePhoneE164(phone.number(), deps.options.default_region);
    if (e164.ok()) phone.set_e164(*std::move(e164));
  }
  const AccountMatchProfile match = AccountMatchProfileOf("", subject);
  ASSIGN_OR_RETURN(auto view,
                   deps.engine.View(projections::kDataQualityProjection));
  ASSIGN_OR_RETURN(
      std::vector<std::string> ids,
      projections::CandidateIds(*view, QualityRecord::kAccount, tenant,
                                projections::AccountBlockingKeys(match),
                                search.per_key, search.max_candidates));
  std::vector<LikelyDuplicate> found;
  for (const std::string& id : ids) {
    if (id == search.exclude_id) continue;
    ASSIGN_OR_RETURN(std::optional<AccountState> account,
                     projections::GetQualityAccount(*view, tenant, id));
    if (!account.has_value() || account->deleted ||
        !account->merged_into.empty()) {
      continue;
    }
    DuplicateScore score =
        ScoreAccountPair(match, AccountMatchProfileOf(id, account->profile));
    if (Passes(score, search)) found.push_back({id, std::move(score)});
  }
  SortAndTrim(found, search.max_results);
  return found;
}

void ToCandidate(const DuplicateScore& score, v1::DuplicateCandidate& out) {
  out.set_score(score.score);
  for (const DuplicateReason& reason : score.reasons) {
    v1::DuplicateReason* r = out.add_reasons();
    r->set_kind(KindOf(reason.evidence));
    r->set_score(reason.score);
    r->set_detail(reason.detail);
  }
}

}  // namespace crm::contact::api
