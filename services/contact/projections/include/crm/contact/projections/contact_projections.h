// The contact service's read models (DESIGN.md §7), folded from its own log
// by a crm::projection::ProjectionEngine.
//
//   std::vector<std::unique_ptr<projection::Projection>> projections;
//   projections.push_back(std::make_unique<ContactsByIdProjection>(&sealer));
//   projections.push_back(std::make_unique<ContactListProjection>(&sealer));
//   ASSIGN_OR_RETURN(auto engine, ProjectionEngine::Start(store, ...));
//   ASSIGN_OR_RETURN(auto view, engine->View(kContactsByIdProjection));
//   ASSIGN_OR_RETURN(std::optional<StoredContact> c,
//                    GetStoredContact(*view, tenant, id));
//
// Both fold contact events through the domain's Apply, so they agree with
// the write side on every event type (merges, erasure ...).
//
// Keys (every key starts with the tenant, so a read of one tenant never
// meets another's record):
//   contacts_by_id:  "<tenant>/<id>" -> StoredContact (contact_record.h)
//   contact_list:    "<tenant>/r/<id>" -> StoredContact (to fold the next
//                    event), "<tenant>/k/<id>" -> its current /n/ key,
//                    and "<tenant>/n/<sort key>" -> list entry,
//                    where the sort key is the folded family name, NUL, the
//                    folded given name, NUL, the id (the API's default
//                    order, stable and unique), and the entry a v1::Contact
//                    holding only what the filters read: folded names,
//                    normalized emails, E.164 phones, owner, account, tags,
//                    state, update_time.
//                    Secondary key spaces, one seek per filter (none for a
//                    merged or erased contact):
//                      "<tenant>/e/<normalized email>\0<id>" -> sort key
//                      "<tenant>/p/<E.164 phone>\0<id>"      -> sort key
//                      "<tenant>/o/<owner>\0<sort key>"      -> ""
//                      "<tenant>/a/<account id>\0<sort key>" -> ""
//                      "<tenant>/g/<folded given>\0<sort key>" -> ""
//                      "<tenant>/u/<update time>\0<id>"      -> sort key
//                    (update time: 16 hex digits of the seconds biased by
//                    2^63, 8 of the nanos, so key order is time order). The
//                    old entry (found through /k/) tells which secondary
//                    keys to delete when a value changes.
//
// List orders (ListContactIds): by default the sort key order; with an
// email or phone filter the few matches come in id order; with owner or
// account the sort key order within that value; with name_prefix alone,
// the family-name range of /n/ and the given-name range of /g/ merged by
// (the name that matched, sort key), a contact matching by both names
// listed once (under its family name); with ContactListOrder::kUpdateTime
// (update time, id), oldest first. Filters the chosen key space does not
// answer are checked on each entry (bounded by max_scan).
//
// Personal data: contacts_by_id keeps it sealed. contact_list must order
// and filter by names, emails and phones, so it opens them in Apply (the
// sealer) and keeps their folded forms in its keys and entries; when the
// person is erased (ContactErased, or a key found deleted while applying,
// as in a rebuild after the erasure) the entry is rewritten without them
// and every secondary key (emails, phones, names ...) is deleted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/projections/contact_record.h"
#include "crm/projection/projection.h"

namespace crm::contact::projections {

inline constexpr char kContactsByIdProjection[] = "contacts_by_id";
inline constexpr char kContactListProjection[] = "contact_list";

// contacts_by_id: the current state of each contact. `sealer` (not owned,
// outlives the projection) is only used by upcasters of old events.
// Thread-compatible (the engine calls Apply from one thread).
class ContactsByIdProjection final : public projection::Projection {
 public:
  // `version` other than 1 only in tests of blue/green rebuilds.
  explicit ContactsByIdProjection(PersonalDataSealer* sealer,
                                  uint32_t version = 1)
      : sealer_(sealer), version_(version) {}
  std::string name() const override { return kContactsByIdProjection; }
  uint32_t version() const override { return version_; }
  absl::Status Apply(const projection::Envelope& event,
                     projection::ProjectionWriter& writer) override;

 private:
  PersonalDataSealer* sealer_;
  uint32_t version_;
};

// contact_list: the list index. `sealer` (not owned, outlives the
// projection) opens names and emails while applying.
class ContactListProjection final : public projection::Projection {
 public:
  // Version 2: the secondary key spaces. Another `version` only in tests
  // of blue/green rebuilds.
  static constexpr uint32_t kVersion = 2;
  explicit ContactListProjection(PersonalDataSealer* sealer,
                                 uint32_t version = kVersion)
      : sealer_(sealer), version_(version) {}
  std::string name() const override { return kContactListProjection; }
  uint32_t version() const override { return version_; }
  absl::Status Apply(const projection::Envelope& event,
                     projection::ProjectionWriter& writer) override;

 private:
  PersonalDataSealer* sealer_;
  uint32_t version_;
};

// The contact `id` of `tenant` from a contacts_by_id view, or nullopt.
// Errors: the view's; DATA_LOSS for an undecodable value.
absl::StatusOr<std::optional<StoredContact>> GetStoredContact(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view id);

enum class ContactListOrder {
  kName,        // The sort key: (family, given, id); see the header comment.
  kUpdateTime,  // (update time, id), oldest first.
};

// What ListContacts asks of the list index; empty fields do not filter.
struct ContactListQuery {
  std::string tenant;
  std::string name_prefix;  // Folded (NormalizeNameForMatching).
  std::string email;        // Normalized (NormalizeEmail).
  std::string phone;        // E.164 (NormalizePhoneE164).
  std::string owner;
  std::string account_id;
  std::vector<std::string> tags;  // Every one required.
  std::optional<absl::Time> updated_since;
  bool show_deleted = false;
  ContactListOrder order = ContactListOrder::kName;
  size_t page_size = 50;  // REQUIRES: > 0.
  // The last key a previous page returned (ContactListPage::resume_after).
  std::string start_after;
  // Most index entries one call examines, so a filter matching little
  // cannot make a call scan a whole tenant. REQUIRES: > 0.
  size_t max_scan = 10'000;
};

struct ContactListPage {
  std::vector<std::string> ids;  // In list order.
  // Where the next page starts (a key of the index); empty when the index
  // holds nothing further. Can be set with fewer than page_size ids, when
  // max_scan stopped the call.
  std::string resume_after;
};

// One page of contacts matching `query`, from a contact_list view. Merged
// and erased contacts are never listed; deleted ones only with
// show_deleted. The key space read is the most selective the query allows:
// with order kUpdateTime always /u/ (seeking to updated_since); else
// email, phone, account, owner, name_prefix (two merged seeks), or /n/.
// Errors: INVALID_ARGUMENT when start_after is not a position of this
// tenant's key space for this query (a page token of another order or
// filter); DATA_LOSS for an undecodable or missing entry; the view's.
// Thread-safe (reads a snapshot view).
absl::StatusOr<ContactListPage> ListContactIds(
    const projection::ProjectionView& view, const ContactListQuery& query);

// Up to `limit` ids of `tenant`'s active contacts (not deleted, merged or
// erased) with `normalized_email` (NormalizeEmail) among their emails, in
// id order, from a contact_list view: one seek, for the import's dedupe.
// Empty for an empty email or a limit of 0. Errors: DATA_LOSS for an
// undecodable or missing entry; the view's.
absl::StatusOr<std::vector<std::string>> FindContactIdsByEmail(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view normalized_email, size_t limit);

}  // namespace crm::contact::projections
