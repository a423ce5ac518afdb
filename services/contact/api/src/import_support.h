// Bulk import (internal to contact_api): what ImportContacts does with one
// batch of rows, kept apart from the streaming reactor (import_service.cc).
//
//   ImportBatchWriter writer(deps, call, context, header);
//   RETURN_IF_ERROR(writer.ValidateHeader());
//   ASSIGN_OR_RETURN(std::vector<v1::ImportRowResult> results,
//                    writer.Write(rows));  // one result per row, in order
//
// Per row, in this order:
//   - row_key empty or over 128 bytes: FAILED naming "row_key";
//   - its contact id is DeriveId("<tenant>/import/<import_id>", row_key): a
//     row whose contact exists (an earlier run, or an earlier row of this
//     run with the same key) is SKIPPED_ALREADY_IMPORTED; so is a row whose
//     update (UPDATE_BY_EMAIL) was written by an earlier run;
//   - malformed fields: FAILED with the field violations ("contact.",
//     "account." paths); the import goes on;
//   - the optional account is the one named (account.name), else found by
//     its web domain: the account imports made for the domain (its id
//     derived from the tenant and the domain), else the tenant's first
//     active account of that domain in account_list (FindAccountIdsByDomain,
//     one seek), else created with the derived id; so rows and reruns naming
//     one domain share one account;
//   - the dedupe rule: UPDATE_BY_EMAIL / SKIP_BY_EMAIL look each of the
//     row's normalized emails up in the rows of this batch and in the
//     contact_list read model's email index (FindContactIdsByEmail, one
//     seek per email); SKIP_LIKELY_DUPLICATES scores the row's contact
//     (with its account as far as it exists, or the company by the
//     account's display_name) against the tenant's active contacts
//     (LikelyDuplicateContacts, quality_support.h, on the data_quality read
//     model, which the batch first waits to show every write made before
//     it) and against the new contacts of this batch that share an email,
//     a phone or a name word with it; at or above header.min_duplicate_score
//     (0: 0.8) the row is SKIPPED_DUPLICATE, its result naming the best
//     match in `contact` and the score and reasons in `error_message`;
//   - otherwise the contact is created, source "import:<import_id>".
//
// Writes: the new contacts of a batch go in ONE AppendMulti (one stream
// each, NoStream), synced, right after ONE unsynced write of their new data
// keys (StagedKeyProvider; the append's fsync makes the keys durable too),
// so one fsync covers the batch. When the append fails because a stream
// exists (a concurrent run of the same import), the batch falls back to
// one append per row. Updates (UPDATE_BY_EMAIL) and new accounts are
// written one by one (Execute). dry_run writes nothing, not even keys.
//
// Errors end the import (the reactor finishes the call with them): a bad
// header (INVALID_ARGUMENT naming "header.<field>"), the store or the key
// store failing (UNAVAILABLE ...). Row problems never do.
//
// Not thread-safe: one writer per call, used by one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/crypto/key_provider.h"
#include "crm/contact/domain/context.h"
#include "crm/contact/domain/duplicates.h"
#include "crm/contact/v1/contact_service.pb.h"
#include "grpcpp/grpcpp.h"
#include "quality_support.h"

namespace crm::contact::api {

class StagedKeyProvider;

class ImportBatchWriter {
 public:
  // None is owned; all outlive the writer.
  ImportBatchWriter(const ServiceDeps& deps,
                    const grpc::CallbackServerContext& call,
                    CommandContext context, v1::ImportHeader header);
  ~ImportBatchWriter();

  // OK, or INVALID_ARGUMENT naming the header field.
  absl::Status ValidateHeader() const;

  // Imports `rows` (in order) and returns one result per row. The time of
  // the batch's events is now.
  absl::StatusOr<std::vector<v1::ImportRowResult>> Write(
      const std::vector<v1::ImportRow>& rows);

  // The global position of the last event this writer appended (0: none).
  uint64_t last_position() const { return last_position_; }

 private:
  struct PlannedRow;

  absl::Status PlanRow(const v1::ImportRow& row, PlannedRow& plan);
  absl::StatusOr<bool> AlreadyImported(PlannedRow& plan);
  absl::StatusOr<std::string> MatchByEmail(const PlannedRow& plan);
  // SKIP_LIKELY_DUPLICATES: true (with plan.result filled) when the row's
  // contact would be a likely duplicate of an existing contact or of a new
  // contact of this batch; else keeps its profile in plan.profile.
  absl::StatusOr<bool> SkipLikelyDuplicate(const v1::ImportRow& row,
                                           const ContactFields& fields,
                                           PlannedRow& plan);
  // The best of the batch's new contacts for `profile`, at or above the
  // threshold; nullopt when none is.
  std::optional<LikelyDuplicate> BestInBatch(
      const ContactMatchProfile& profile) const;
  void AddToBatch(const std::string& contact_id, ContactMatchProfile profile);
  // The row's account: the id to link, whether it exists already, and its
  // normalized web domain (empty when found by name or without a site).
  struct AccountLookup {
    std::string id;
    bool exists = false;
    std::string domain;
  };
  // Finds the row's account without writing (NOT_FOUND for a named account
  // that does not exist, INVALID_ARGUMENT for a malformed site).
  absl::StatusOr<AccountLookup> FindAccount(const v1::ImportRow& row);
  void Remember(const AccountLookup& lookup);
  // FindAccount, creating the account when it does not exist.
  absl::StatusOr<std::string> ResolveAccount(const v1::ImportRow& row);
  absl::Status UpdateMatch(const v1::ImportRow& row, PlannedRow& plan,
                           const std::string& match);
  bool MatchesPending(const v1::ImportRow& row) const;
  // Appends the pending new contacts (one AppendMulti).
  absl::Status AppendCreates();
  absl::Status AppendOneByOne(std::vector<PlannedRow*>& plans);

  const ServiceDeps& deps_;
  const grpc::CallbackServerContext& call_;
  CommandContext context_;
  const v1::ImportHeader header_;
  // Stages the new contacts' keys of a batch (never used in a dry run).
  std::unique_ptr<StagedKeyProvider> keys_;
  std::unique_ptr<PersonalDataSealer> batch_sealer_;
  // Seals a dry run's rows under throwaway keys.
  std::unique_ptr<KeyProvider> dry_keys_;
  std::unique_ptr<PersonalDataSealer> dry_sealer_;
  // Accounts found or created, by domain key; cleared when large.
  std::map<std::string, std::string, std::less<>> accounts_;
  // Of the batch being written: its contact ids, the normalized emails of
  // its new contacts (to their ids), and the new contacts not appended yet.
  std::set<std::string, std::less<>> batch_ids_;
  std::map<std::string, std::string, std::less<>> batch_emails_;
  std::vector<PlannedRow*> pending_;
  // SKIP_LIKELY_DUPLICATES: the matching profiles of the batch's new
  // contacts (not in the read model yet), found by "e:" email, "p:" phone
  // and "w:" name word.
  std::vector<std::pair<std::string, ContactMatchProfile>> batch_profiles_;
  std::multimap<std::string, size_t, std::less<>> batch_profile_keys_;
  double min_duplicate_score_;
  uint64_t last_position_ = 0;
};

}  // namespace crm::contact::api
