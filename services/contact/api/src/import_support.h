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
//     seek per email); SKIP_LIKELY_DUPLICATES answers UNIMPLEMENTED in
//     the row result (not built yet);
//   - otherwise the contact is created, source "import:<import_id>".
//
// Writes: the new contacts of a batch go in ONE AppendMulti (one stream
// each, NoStream), after ONE synced write of their new data keys, so one
// fsync pair covers the batch. When the append fails because a stream
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
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/crypto/key_provider.h"
#include "crm/contact/domain/context.h"
#include "crm/contact/v1/contact_service.pb.h"
#include "grpcpp/grpcpp.h"

namespace crm::contact::api {

class ImportKeyStage;

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
  std::unique_ptr<ImportKeyStage> keys_;
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
  uint64_t last_position_ = 0;
};

}  // namespace crm::contact::api
