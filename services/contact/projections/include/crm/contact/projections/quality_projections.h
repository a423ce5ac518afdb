// Data quality (duplicates index, incomplete records): the read models of this
// area of the contact service.
//
// One projection, "data_quality", folds contact and account events through
// the domain's Apply (so it agrees with the write side on merges, erasure,
// deletion) and keeps, per tenant:
//
//   "<tenant>/cr/<id>"  -> StoredContact (contact_record.h), to fold the next
//                          event; personal data sealed.
//   "<tenant>/ck/<id>"  -> the contact's current blocking keys, NUL-separated.
//   "<tenant>/cx/<blocking key>\0<id>" -> "" (the duplicates index).
//   "<tenant>/ci/<id>"  -> IncompleteFacts of an ACTIVE contact.
//   "<tenant>/ar/<id>"  -> the account's folded state, as AccountResource
//                          (account_projections.h) gives it.
//   "<tenant>/ak/<id>", "<tenant>/ax/<blocking key>\0<id>", "<tenant>/ai/<id>"
//                       -> the same for accounts.
//
// Blocking keys (what a record is looked up by; two records sharing one are
// candidates, which ScoreContactPair / ScoreAccountPair then score):
//   contacts: "e:<normalized email>", "p:<E.164 phone>",
//             "f:<name words sorted>" and, with a primary account,
//             "n:<name word>@<account id>" for each name word;
//   accounts: "d:<web domain>", "p:<E.164 phone>", "f:<company name key>" and
//             "n:<company name word>" for each word of 3 or more bytes.
// Only ACTIVE records are indexed: a deleted, merged or erased record has no
// blocking keys (they are removed when it changes state).
//
// Personal data: contact blocking keys hold plaintext (emails, phones, name
// words). They are deleted when the value changes, when the contact is
// deleted or merged, and on ContactErased (and whenever the person's key is
// found deleted, as in a rebuild after the erasure). The incomplete-record
// facts hold no personal value: only which field paths are empty.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crm/contact/domain/account.h"
#include "crm/contact/domain/duplicates.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/projections/contact_record.h"
#include "crm/projection/projection.h"

namespace crm::contact::projections {

inline constexpr char kDataQualityProjection[] = "data_quality";

// Adds this area's projections to the service's list
// (ContactServiceProjections). `sealer` is not owned.
void AddQualityProjections(
    std::vector<std::unique_ptr<projection::Projection>>& list,
    PersonalDataSealer* sealer);

// data_quality: see above. `sealer` (not owned, outlives the projection)
// opens personal data while applying. Thread-compatible.
class DataQualityProjection final : public projection::Projection {
 public:
  explicit DataQualityProjection(PersonalDataSealer* sealer,
                                 uint32_t version = 1)
      : sealer_(sealer), version_(version) {}
  std::string name() const override { return kDataQualityProjection; }
  uint32_t version() const override { return version_; }
  absl::Status Apply(const projection::Envelope& event,
                     projection::ProjectionWriter& writer) override;

 private:
  PersonalDataSealer* sealer_;
  uint32_t version_;
};

// The blocking keys of a profile, sorted, without repeats.
std::vector<std::string> ContactBlockingKeys(
    const ContactMatchProfile& profile);
std::vector<std::string> AccountBlockingKeys(
    const AccountMatchProfile& profile);

enum class QualityRecord { kContact, kAccount };

// Ids of records sharing at least one of `keys`, in the order of the keys
// and then of the ids, without repeats: at most `per_key` per key (a key
// shared by more records is weak evidence) and `total` in all.
// Errors: the view's.
absl::StatusOr<std::vector<std::string>> CandidateIds(
    const projection::ProjectionView& view, QualityRecord kind,
    std::string_view tenant, const std::vector<std::string>& keys,
    size_t per_key, size_t total);

// One group of the index: records sharing one blocking key.
struct BlockingGroup {
  std::string key;
  std::vector<std::string> ids;  // In id order, at most per_key.
};

// The groups of two or more records whose blocking key comes after
// `after_key` ("" = the first), in key order: up to max_groups groups,
// reading at most max_entries index entries. `next_key` is the last group
// key read (resume after it) or empty at the end of the index.
struct BlockingGroups {
  std::vector<BlockingGroup> groups;
  std::string next_key;
  size_t entries_read = 0;
};
absl::StatusOr<BlockingGroups> ScanBlockingGroups(
    const projection::ProjectionView& view, QualityRecord kind,
    std::string_view tenant, std::string_view after_key, size_t per_key,
    size_t max_groups, size_t max_entries);

// The current blocking keys of record `id` (empty for none).
absl::StatusOr<std::vector<std::string>> BlockingKeysOf(
    const projection::ProjectionView& view, QualityRecord kind,
    std::string_view tenant, std::string_view id);

// The contact `id` of `tenant` as data_quality folded it, or nullopt.
// Errors: the view's; DATA_LOSS for an undecodable value.
absl::StatusOr<std::optional<StoredContact>> GetQualityContact(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view id);

// The account `id` of `tenant` as data_quality folded it (relationships and
// merge records are not kept), or nullopt. Errors as above.
absl::StatusOr<std::optional<AccountState>> GetQualityAccount(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view id);

// What ListIncompleteRecords asks.
struct IncompleteQuery {
  QualityRecord kind = QualityRecord::kContact;
  std::string tenant;
  std::vector<std::string> required;  // Validated field paths.
  std::string owner;                  // Empty: any.
  size_t page_size = 50;              // REQUIRES: > 0.
  std::string start_after;            // A record id ("" = first).
  // Most records one call examines. REQUIRES: > 0.
  size_t max_scan = 10'000;
};

struct IncompleteEntry {
  std::string id;
  std::vector<std::string> missing;  // In the order of `required`.
};

struct IncompletePage {
  std::vector<IncompleteEntry> records;  // In id order.
  std::string resume_after;              // Empty: nothing further.
};

// One page of ACTIVE records of the tenant that lack any of the required
// fields, from the stored facts (no sealed data is opened).
// Errors: the view's; DATA_LOSS for an undecodable value.
absl::StatusOr<IncompletePage> ListIncomplete(
    const projection::ProjectionView& view, const IncompleteQuery& query);

}  // namespace crm::contact::projections
