#include "import_support.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "crm/base/status_macros.h"
#include "crm/contact/api/store_key_provider.h"
#include "crm/contact/crypto/aes_gcm_sealer.h"
#include "crm/contact/crypto/in_memory_key_provider.h"
#include "crm/contact/domain/field_violation.h"
#include "crm/contact/domain/normalize.h"
#include "crm/contact/projections/account_projections.h"
#include "crm/contact/projections/contact_projections.h"
#include "crm/contact/projections/quality_projections.h"
#include "fmt/format.h"
#include "service_support.h"

namespace crm::contact::api {

namespace {

using projections::kContactListProjection;

constexpr size_t kMaxKeyBytes = 128;
// SKIP_LIKELY_DUPLICATES skips a row whose contact scores at least this
// against an existing one when the header gives no min_duplicate_score: an
// exact email (0.95), a phone (0.85) or the same name at the same company
// (0.85) each reach it; a name alone (0.30) does not (duplicates.h).
constexpr double kDefaultMinDuplicateScore = 0.8;
// Accounts remembered per import before the cache starts over.
constexpr size_t kMaxCachedAccounts = 10'000;

v1::ImportRowResult Failed(const v1::ImportRow& row,
                           const absl::Status& status) {
  v1::ImportRowResult result;
  result.set_row_key(row.row_key());
  result.set_outcome(v1::IMPORT_ROW_OUTCOME_FAILED);
  result.set_error_code(static_cast<int32_t>(status.code()));
  result.set_error_message(std::string(status.message()));
  for (const FieldViolation& v : FieldViolations(status)) {
    v1::FieldViolation* out = result.add_field_violations();
    out->set_field(v.field);
    out->set_description(v.description);
  }
  return result;
}

// `status` with every violation's path under `prefix` ("contact.").
absl::Status Prefixed(const absl::Status& status, std::string_view prefix) {
  std::vector<FieldViolation> violations = FieldViolations(status);
  if (violations.empty()) return status;
  ViolationList list;
  list.AddAll(prefix, violations);
  return list.ToStatus("row");
}

ContactFields ContactFieldsOf(const v1::Contact& contact) {
  ContactFields fields;
  fields.owner = contact.owner();
  fields.tags.assign(contact.tags().begin(), contact.tags().end());
  v1::ContactPersonalData& p = fields.personal;
  p.set_given_name(contact.given_name());
  p.set_family_name(contact.family_name());
  *p.mutable_emails() = contact.emails();
  *p.mutable_phones() = contact.phones();
  *p.mutable_addresses() = contact.addresses();
  p.set_job_title(contact.job_title());
  p.set_birth_date(contact.birth_date());
  p.set_notes(contact.notes());
  return fields;
}

// The contact fields a row sets: what an UPDATE_BY_EMAIL row changes.
std::vector<std::string> PathsSet(const v1::Contact& c, bool has_account) {
  std::vector<std::string> paths;
  auto add = [&](bool set, const char* path) {
    if (set) paths.emplace_back(path);
  };
  add(!c.given_name().empty(), "given_name");
  add(!c.family_name().empty(), "family_name");
  add(!c.emails().empty(), "emails");
  add(!c.phones().empty(), "phones");
  add(!c.addresses().empty(), "addresses");
  add(!c.job_title().empty(), "job_title");
  add(!c.birth_date().empty(), "birth_date");
  add(!c.notes().empty(), "notes");
  add(has_account, "account");
  add(!c.owner().empty(), "owner");
  add(!c.tags().empty(), "tags");
  return paths;
}

AccountFields AccountFieldsOf(const v1::Account& account) {
  AccountFields fields;
  fields.owner = account.owner();
  fields.tags.assign(account.tags().begin(), account.tags().end());
  v1::AccountProfile& p = fields.profile;
  p.set_display_name(account.display_name());
  p.set_legal_name(account.legal_name());
  // The domain is derived from the web site: a row naming only a domain
  // gives it as the site.
  p.set_website(account.website().empty() ? account.domain()
                                          : account.website());
  p.set_industry(account.industry());
  *p.mutable_phones() = account.phones();
  *p.mutable_addresses() = account.addresses();
  p.set_employee_count(account.employee_count());
  if (account.has_annual_revenue()) {
    *p.mutable_annual_revenue() = account.annual_revenue();
  }
  p.set_description(account.description());
  return fields;
}

}  // namespace

// What Write decided for one row.
struct ImportBatchWriter::PlannedRow {
  v1::ImportRowResult result;
  std::string contact_id;
  std::vector<std::string> emails;  // Normalized.
  bool create = false;              // A new contact to append.
  eventstore::StreamAppend append;
  crm::contact::CreateContact command;  // Kept to seal again on conflict.
  std::optional<ContactMatchProfile> profile;  // SKIP_LIKELY_DUPLICATES.
};

ImportBatchWriter::ImportBatchWriter(const ServiceDeps& deps,
                                     const grpc::CallbackServerContext& call,
                                     CommandContext context,
                                     v1::ImportHeader header)
    : deps_(deps),
      call_(call),
      context_(std::move(context)),
      header_(std::move(header)),
      keys_(std::make_unique<StagedKeyProvider>(&deps.store)),
      batch_sealer_(std::make_unique<AesGcmSealer>(keys_.get())),
      dry_keys_(std::make_unique<InMemoryKeyProvider>()),
      dry_sealer_(std::make_unique<AesGcmSealer>(dry_keys_.get())),
      min_duplicate_score_(header_.min_duplicate_score() > 0
                               ? header_.min_duplicate_score()
                               : kDefaultMinDuplicateScore) {}

ImportBatchWriter::~ImportBatchWriter() = default;

absl::Status ImportBatchWriter::ValidateHeader() const {
  if (header_.import_id().empty()) {
    return InvalidField("header.import_id",
                        "is required: name the import so a rerun skips the "
                        "rows already imported");
  }
  if (header_.import_id().size() > kMaxKeyBytes) {
    return InvalidField("header.import_id", "is longer than 128 bytes");
  }
  if (header_.min_duplicate_score() < 0 || header_.min_duplicate_score() > 1) {
    return InvalidField("header.min_duplicate_score",
                        "must be between 0 and 1 (0: the default, 0.8)");
  }
  if (!v1::ImportDedupeRule_IsValid(header_.dedupe_rule())) {
    return InvalidField("header.dedupe_rule", "is not a known rule");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::ImportRowResult>> ImportBatchWriter::Write(
    const std::vector<v1::ImportRow>& rows) {
  context_.now = absl::Now();
  // Throwaway keys of the previous batch go.
  dry_sealer_.reset();
  dry_keys_ = std::make_unique<InMemoryKeyProvider>();
  dry_sealer_ = std::make_unique<AesGcmSealer>(dry_keys_.get());
  std::vector<PlannedRow> plans(rows.size());
  // Earlier rows of this batch are not in the read model yet.
  const bool by_email =
      header_.dedupe_rule() == v1::IMPORT_DEDUPE_RULE_UPDATE_BY_EMAIL ||
      header_.dedupe_rule() == v1::IMPORT_DEDUPE_RULE_SKIP_BY_EMAIL;
  if (by_email) {
    RETURN_IF_ERROR(
        WaitFor(deps_, call_, kContactListProjection, last_position_));
  }
  const bool finds_accounts =
      std::any_of(rows.begin(), rows.end(), [](const v1::ImportRow& row) {
        return row.account().name().empty() &&
               !(row.account().website().empty() &&
                 row.account().domain().empty());
      });
  if (finds_accounts) {
    // Accounts are found by domain in account_list: let it show what was
    // written before this batch. Best effort: a read model slower than the
    // wait means an account made a moment ago is not found, and the import
    // makes the domain's own account.
    WaitFor(deps_, call_, projections::kAccountListProjection,
            deps_.store.LastPosition())
        .IgnoreError();
  }
  if (header_.dedupe_rule() == v1::IMPORT_DEDUPE_RULE_SKIP_LIKELY_DUPLICATES) {
    // Rows are compared with every contact written before the batch began
    // (and with the batch's own new contacts).
    RETURN_IF_ERROR(WaitFor(deps_, call_, projections::kDataQualityProjection,
                            deps_.store.LastPosition()));
  }
  batch_ids_.clear();
  batch_emails_.clear();
  batch_profiles_.clear();
  batch_profile_keys_.clear();
  pending_.clear();
  for (size_t i = 0; i < rows.size(); ++i) {
    PlannedRow& plan = plans[i];
    plan.result.set_row_key(rows[i].row_key());
    if (header_.dedupe_rule() == v1::IMPORT_DEDUPE_RULE_UPDATE_BY_EMAIL &&
        MatchesPending(rows[i])) {
      // It updates a contact of this batch: append the batch so far first.
      RETURN_IF_ERROR(AppendCreates());
    }
    const absl::Status planned = PlanRow(rows[i], plan);
    if (absl::IsInvalidArgument(planned) || absl::IsUnimplemented(planned) ||
        absl::IsNotFound(planned) || absl::IsFailedPrecondition(planned) ||
        absl::IsAlreadyExists(planned)) {
      plan.result = Failed(rows[i], planned);
      plan.create = false;
      continue;
    }
    RETURN_IF_ERROR(planned);
    if (plan.create) pending_.push_back(&plan);
  }
  RETURN_IF_ERROR(AppendCreates());
  std::vector<v1::ImportRowResult> results;
  results.reserve(plans.size());
  for (PlannedRow& plan : plans) results.push_back(std::move(plan.result));
  return results;
}

absl::Status ImportBatchWriter::PlanRow(const v1::ImportRow& row,
                                        PlannedRow& plan) {
  if (row.row_key().empty() || row.row_key().size() > kMaxKeyBytes) {
    return InvalidField("row_key",
                        "is required, at most 128 bytes: give each row a key "
                        "unique in the import (a line number or a source id)");
  }
  plan.contact_id = DeriveId(
      fmt::format("{}/import/{}", context_.tenant, header_.import_id()),
      row.row_key());
  if (!batch_ids_.insert(plan.contact_id).second) {  // The key came before.
    plan.result.set_outcome(v1::IMPORT_ROW_OUTCOME_SKIPPED_ALREADY_IMPORTED);
    plan.result.set_contact(
        ResourceName(RecordType::kContact, plan.contact_id));
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(bool imported, AlreadyImported(plan));
  if (imported) return absl::OkStatus();

  ContactFields fields = ContactFieldsOf(row.contact());
  for (const v1::EmailAddress& email : fields.personal.emails()) {
    absl::StatusOr<std::string> normalized = NormalizeEmail(email.address());
    if (normalized.ok()) plan.emails.push_back(*std::move(normalized));
  }
  switch (header_.dedupe_rule()) {
    case v1::IMPORT_DEDUPE_RULE_UPDATE_BY_EMAIL:
    case v1::IMPORT_DEDUPE_RULE_SKIP_BY_EMAIL: {
      ASSIGN_OR_RETURN(std::string match, MatchByEmail(plan));
      if (match.empty()) break;
      if (header_.dedupe_rule() == v1::IMPORT_DEDUPE_RULE_SKIP_BY_EMAIL) {
        plan.result.set_outcome(v1::IMPORT_ROW_OUTCOME_SKIPPED_DUPLICATE);
        plan.result.set_contact(ResourceName(RecordType::kContact, match));
        return absl::OkStatus();
      }
      return UpdateMatch(row, plan, match);
    }
    case v1::IMPORT_DEDUPE_RULE_SKIP_LIKELY_DUPLICATES: {
      ASSIGN_OR_RETURN(bool skipped, SkipLikelyDuplicate(row, fields, plan));
      if (skipped) return absl::OkStatus();
      break;
    }
    default:
      break;
  }

  plan.command.contact_id = plan.contact_id;
  plan.command.fields = std::move(fields);
  plan.command.source = fmt::format("import:{}", header_.import_id());
  if (row.has_account()) {
    // A malformed contact must not leave an account behind.
    absl::StatusOr<std::vector<ContactEvent>> checked = crm::contact::Decide(
        ContactState{}, plan.command, context_, *dry_sealer_);
    if (!checked.ok()) return Prefixed(checked.status(), "contact.");
    ASSIGN_OR_RETURN(plan.command.fields.account_id, ResolveAccount(row));
  }
  PersonalDataSealer& sealer =
      header_.dry_run() ? *dry_sealer_ : *batch_sealer_;
  absl::StatusOr<std::vector<ContactEvent>> events =
      crm::contact::Decide(ContactState{}, plan.command, context_, sealer);
  if (absl::IsInvalidArgument(events.status())) {
    return Prefixed(events.status(), "contact.");
  }
  RETURN_IF_ERROR(events.status());
  std::vector<EncodedEvent> encoded;
  for (const ContactEvent& event : *events)
    encoded.push_back(EncodeEvent(event));
  plan.append.stream = ContactStream(plan.contact_id);
  plan.append.expected_version = eventstore::ExpectedVersion::NoStream();
  plan.append.events = ToEnvelopes(call_, context_, std::move(encoded));
  if (!header_.correlation_id().empty()) {
    for (auto& envelope : plan.append.events) {
      envelope.set_correlation_id(header_.correlation_id());
    }
  }
  plan.create = true;
  for (const std::string& email : plan.emails) {
    batch_emails_.emplace(email, plan.contact_id);
  }
  if (plan.profile.has_value()) {
    // The account made for the row, if it did not exist before.
    plan.profile->account_id = plan.command.fields.account_id;
    AddToBatch(plan.contact_id, *std::move(plan.profile));
  }
  plan.result.set_outcome(v1::IMPORT_ROW_OUTCOME_CREATED);
  plan.result.set_contact(ResourceName(RecordType::kContact, plan.contact_id));
  return absl::OkStatus();
}

absl::StatusOr<bool> ImportBatchWriter::AlreadyImported(PlannedRow& plan) {
  const std::string name = ResourceName(RecordType::kContact, plan.contact_id);
  absl::StatusOr<eventstore::StreamInfo> info =
      deps_.store.GetStreamInfo(ContactStream(plan.contact_id));
  if (info.ok()) {
    plan.result.set_outcome(v1::IMPORT_ROW_OUTCOME_SKIPPED_ALREADY_IMPORTED);
    plan.result.set_contact(name);
    return true;
  }
  if (!absl::IsNotFound(info.status())) return info.status();
  if (header_.dedupe_rule() == v1::IMPORT_DEDUPE_RULE_UPDATE_BY_EMAIL) {
    ASSIGN_OR_RETURN(std::string key, RequestKey(context_, plan.contact_id));
    ASSIGN_OR_RETURN(std::optional<Written> earlier,
                     EarlierWrite(deps_.store, key));
    if (earlier.has_value()) {
      plan.result.set_outcome(v1::IMPORT_ROW_OUTCOME_SKIPPED_ALREADY_IMPORTED);
      plan.result.set_contact(ResourceName(RecordType::kContact, earlier->id));
      return true;
    }
  }
  return false;
}

absl::StatusOr<std::string> ImportBatchWriter::MatchByEmail(
    const PlannedRow& plan) {
  if (plan.emails.empty()) return std::string();
  for (const std::string& email : plan.emails) {
    if (auto found = batch_emails_.find(email); found != batch_emails_.end()) {
      return found->second;
    }
  }
  ASSIGN_OR_RETURN(auto view, deps_.engine.View(kContactListProjection));
  for (const std::string& email : plan.emails) {
    ASSIGN_OR_RETURN(std::vector<std::string> ids,
                     projections::FindContactIdsByEmail(*view, context_.tenant,
                                                        email, /*limit=*/1));
    if (!ids.empty()) return ids.front();
  }
  return std::string();
}

absl::StatusOr<bool> ImportBatchWriter::SkipLikelyDuplicate(
    const v1::ImportRow& row, const ContactFields& fields, PlannedRow& plan) {
  ContactFields draft = fields;
  if (row.has_account()) {
    // The account as far as it exists; a row whose account is wrong fails
    // later, when the account is resolved.
    absl::StatusOr<AccountLookup> account = FindAccount(row);
    if (account.ok() && account->exists) draft.account_id = account->id;
  }
  ContactMatchProfile profile = DraftContactProfile(
      draft, row.account().display_name(), deps_.options.default_region);
  DuplicateSearch search;
  search.min_score = min_duplicate_score_;
  search.max_results = 1;
  ASSIGN_OR_RETURN(
      std::vector<LikelyDuplicate> found,
      LikelyDuplicateContacts(deps_, context_.tenant, profile, search));
  std::optional<LikelyDuplicate> best;
  if (!found.empty()) best = std::move(found.front());
  if (std::optional<LikelyDuplicate> in_batch = BestInBatch(profile);
      in_batch.has_value() &&
      (!best.has_value() || in_batch->score.score > best->score.score)) {
    best = std::move(in_batch);
  }
  if (!best.has_value()) {
    plan.profile = std::move(profile);
    return false;
  }
  std::vector<std::string> reasons;
  for (const DuplicateReason& reason : best->score.reasons) {
    reasons.push_back(reason.detail);
  }
  const std::string existing = ResourceName(RecordType::kContact, best->id);
  plan.result.set_outcome(v1::IMPORT_ROW_OUTCOME_SKIPPED_DUPLICATE);
  plan.result.set_contact(existing);
  plan.result.set_error_message(fmt::format(
      "likely duplicate of {} (score {:.2f}, at least {:.2f}): {}; to import "
      "the row anyway, send it under another import_id with another "
      "dedupe_rule or a higher min_duplicate_score",
      existing, best->score.score, min_duplicate_score_,
      absl::StrJoin(reasons, "; ")));
  return true;
}

std::optional<LikelyDuplicate> ImportBatchWriter::BestInBatch(
    const ContactMatchProfile& profile) const {
  std::set<size_t> candidates;
  auto collect = [&](const std::string& key) {
    auto [first, last] = batch_profile_keys_.equal_range(key);
    for (auto it = first; it != last; ++it) candidates.insert(it->second);
  };
  for (const std::string& email : profile.emails) collect("e:" + email);
  for (const std::string& phone : profile.phones) collect("p:" + phone);
  for (absl::string_view word :
       absl::StrSplit(profile.name_key, ' ', absl::SkipEmpty())) {
    collect(absl::StrCat("w:", word));
  }
  std::optional<LikelyDuplicate> best;
  for (size_t index : candidates) {
    const auto& [id, other] = batch_profiles_[index];
    DuplicateScore score = ScoreContactPair(profile, other);
    if (score.score <= 0 || score.score < min_duplicate_score_) continue;
    if (!best.has_value() || score.score > best->score.score) {
      best = LikelyDuplicate{id, std::move(score)};
    }
  }
  return best;
}

void ImportBatchWriter::AddToBatch(const std::string& contact_id,
                                   ContactMatchProfile profile) {
  const size_t index = batch_profiles_.size();
  for (const std::string& email : profile.emails) {
    batch_profile_keys_.emplace("e:" + email, index);
  }
  for (const std::string& phone : profile.phones) {
    batch_profile_keys_.emplace("p:" + phone, index);
  }
  for (absl::string_view word :
       absl::StrSplit(profile.name_key, ' ', absl::SkipEmpty())) {
    batch_profile_keys_.emplace(absl::StrCat("w:", word), index);
  }
  batch_profiles_.emplace_back(contact_id, std::move(profile));
}

absl::StatusOr<ImportBatchWriter::AccountLookup> ImportBatchWriter::FindAccount(
    const v1::ImportRow& row) {
  const v1::Account& account = row.account();
  if (!account.name().empty()) {  // An existing account, by name.
    ASSIGN_OR_RETURN(std::string id, IdOf(RecordType::kAccount, account.name(),
                                          "account.name"));
    ASSIGN_OR_RETURN(AccountState state, Load<AccountAggregate>(deps_, id));
    if (!state.exists() || state.tenant != context_.tenant) {
      return absl::NotFoundError(fmt::format(
          "account {} does not exist; name an existing account or give its "
          "web domain to find or create it",
          account.name()));
    }
    return AccountLookup{std::move(id), true, ""};
  }
  const std::string site =
      account.website().empty() ? account.domain() : account.website();
  AccountLookup lookup;
  if (site.empty()) {  // No domain to find it by: one account per row.
    lookup.id = DeriveId(fmt::format("{}/import/{}/account", context_.tenant,
                                     header_.import_id()),
                         row.row_key());
  } else {
    absl::StatusOr<std::string> domain = NormalizeWebDomain(site);
    if (!domain.ok()) {
      return InvalidField(
          account.website().empty() ? "account.domain" : "account.website",
          std::string(domain.status().message()));
    }
    lookup.domain = *std::move(domain);
    if (auto cached = accounts_.find(lookup.domain);
        cached != accounts_.end()) {
      lookup.id = cached->second;
      lookup.exists = true;
      return lookup;
    }
    lookup.id = DeriveId(fmt::format("{}/import/account", context_.tenant),
                         lookup.domain);
  }
  ASSIGN_OR_RETURN(AccountState state,
                   Load<AccountAggregate>(deps_, lookup.id));
  if (state.exists() && state.tenant != context_.tenant) {
    return absl::InternalError(fmt::format(
        "derived account id {} belongs to another tenant", lookup.id));
  }
  lookup.exists = state.exists();
  if (!lookup.exists && !lookup.domain.empty()) {
    // An account of this domain made outside imports (CreateAccount).
    ASSIGN_OR_RETURN(auto view,
                     deps_.engine.View(projections::kAccountListProjection));
    ASSIGN_OR_RETURN(std::vector<std::string> ids,
                     projections::FindAccountIdsByDomain(
                         *view, context_.tenant, lookup.domain, /*limit=*/1));
    if (!ids.empty()) {
      lookup.id = std::move(ids.front());
      lookup.exists = true;
    }
  }
  if (lookup.exists) Remember(lookup);
  return lookup;
}

void ImportBatchWriter::Remember(const AccountLookup& lookup) {
  if (lookup.domain.empty()) return;
  if (accounts_.size() >= kMaxCachedAccounts) accounts_.clear();
  accounts_.emplace(lookup.domain, lookup.id);
}

absl::StatusOr<std::string> ImportBatchWriter::ResolveAccount(
    const v1::ImportRow& row) {
  ASSIGN_OR_RETURN(AccountLookup lookup, FindAccount(row));
  if (lookup.exists) return lookup.id;
  crm::contact::CreateAccount command;
  command.account_id = lookup.id;
  command.fields = AccountFieldsOf(row.account());
  command.source = fmt::format("import:{}", header_.import_id());
  if (header_.dry_run()) {
    absl::StatusOr<std::vector<AccountEvent>> events = AccountAggregate::Decide(
        AccountState{}, command, context_, *dry_sealer_);
    if (!events.ok()) return Prefixed(events.status(), "account.");
  } else {
    absl::StatusOr<Written> written = Execute<AccountAggregate>(
        deps_, call_, context_, lookup.id, "", command, "");
    if (absl::IsInvalidArgument(written.status())) {
      return Prefixed(written.status(), "account.");
    }
    // ALREADY_EXISTS: a concurrent row or run created it; use it.
    if (!written.ok() && !absl::IsAlreadyExists(written.status())) {
      return written.status();
    }
    if (written.ok()) {
      last_position_ = std::max(last_position_, written->position);
    }
  }
  Remember(lookup);
  return lookup.id;
}

absl::Status ImportBatchWriter::UpdateMatch(const v1::ImportRow& row,
                                            PlannedRow& plan,
                                            const std::string& match) {
  crm::contact::UpdateContact command;
  command.contact_id = match;
  command.fields = ContactFieldsOf(row.contact());
  command.update_mask = PathsSet(row.contact(), row.has_account());
  if (row.has_account()) {
    ASSIGN_OR_RETURN(command.fields.account_id, ResolveAccount(row));
  }
  plan.result.set_contact(ResourceName(RecordType::kContact, match));
  if (command.update_mask.empty()) {
    plan.result.set_outcome(v1::IMPORT_ROW_OUTCOME_UPDATED);
    return absl::OkStatus();
  }
  if (header_.dry_run()) {
    // The contact's own key exists: sealing with it writes nothing.
    ASSIGN_OR_RETURN(ContactState state, Load<ContactAggregate>(deps_, match));
    // Not written: an earlier row of this dry run would have created it.
    if (state.exists()) {
      absl::StatusOr<std::vector<ContactEvent>> events =
          crm::contact::Decide(state, command, context_, deps_.sealer);
      if (!events.ok()) return Prefixed(events.status(), "contact.");
    }
  } else {
    // The row's own request id: a rerun finds it (AlreadyImported).
    absl::StatusOr<Written> written = Execute<ContactAggregate>(
        deps_, call_, context_, match, "", command, plan.contact_id);
    if (!written.ok()) return Prefixed(written.status(), "contact.");
    last_position_ = std::max(last_position_, written->position);
  }
  plan.result.set_outcome(v1::IMPORT_ROW_OUTCOME_UPDATED);
  return absl::OkStatus();
}

bool ImportBatchWriter::MatchesPending(const v1::ImportRow& row) const {
  if (pending_.empty()) return false;
  for (const v1::EmailAddress& email : row.contact().emails()) {
    absl::StatusOr<std::string> normalized = NormalizeEmail(email.address());
    if (normalized.ok() && batch_emails_.contains(*normalized)) return true;
  }
  return false;
}

absl::Status ImportBatchWriter::AppendCreates() {
  std::vector<PlannedRow*> plans = std::move(pending_);
  pending_.clear();
  if (header_.dry_run() || plans.empty()) return absl::OkStatus();
  // The new keys unsynced: the contacts sealed under them are appended
  // right after, synced, to the same store (AppendMulti, or Append one by
  // one), and that append makes the keys durable first (one WAL, written in
  // order; StoreKeyProvider::CreateKeys). An append that fails leaves keys
  // that nothing uses.
  ASSIGN_OR_RETURN(
      std::set<std::string> conflicts,
      keys_->Commit(eventstore::EventStore::Durability::kUnsynced));
  std::vector<PlannedRow*> together;
  std::vector<PlannedRow*> alone;
  for (PlannedRow* plan : plans) {
    if (conflicts.contains(KeyIdFor(context_.tenant, plan->contact_id))) {
      alone.push_back(plan);
    } else {
      together.push_back(plan);
    }
  }
  if (!together.empty()) {
    std::vector<eventstore::StreamAppend> appends;
    appends.reserve(together.size());
    for (PlannedRow* plan : together) appends.push_back(plan->append);
    absl::StatusOr<eventstore::AppendResult> appended =
        deps_.store.AppendMulti(std::move(appends));
    if (appended.ok()) {
      last_position_ = std::max(last_position_, appended->last_position);
    } else if (absl::IsAborted(appended.status())) {
      // A stream exists: a concurrent run of this import got there first.
      alone.insert(alone.end(), together.begin(), together.end());
    } else {
      return appended.status();
    }
  }
  return AppendOneByOne(alone);
}

absl::Status ImportBatchWriter::AppendOneByOne(
    std::vector<PlannedRow*>& plans) {
  for (PlannedRow* plan : plans) {
    ASSIGN_OR_RETURN(bool imported, AlreadyImported(*plan));
    if (imported) continue;
    // Sealed again through the service's sealer: the row's key may be
    // another writer's.
    ASSIGN_OR_RETURN(std::vector<ContactEvent> events,
                     crm::contact::Decide(ContactState{}, plan->command,
                                          context_, deps_.sealer));
    std::vector<EncodedEvent> encoded;
    for (const ContactEvent& event : events) {
      encoded.push_back(EncodeEvent(event));
    }
    std::vector<eventstore::Envelope> envelopes =
        ToEnvelopes(call_, context_, std::move(encoded));
    if (!header_.correlation_id().empty()) {
      for (auto& envelope : envelopes) {
        envelope.set_correlation_id(header_.correlation_id());
      }
    }
    absl::StatusOr<eventstore::AppendResult> appended = deps_.store.Append(
        plan->append.stream, eventstore::ExpectedVersion::NoStream(),
        std::move(envelopes));
    if (absl::IsAborted(appended.status())) {
      plan->result.set_outcome(v1::IMPORT_ROW_OUTCOME_SKIPPED_ALREADY_IMPORTED);
      continue;
    }
    RETURN_IF_ERROR(appended.status());
    last_position_ = std::max(last_position_, appended->last_position);
  }
  return absl::OkStatus();
}

}  // namespace crm::contact::api
