// The Contact aggregate (a person): its state, its commands, and the pure
// functions that decide and apply its events (DESIGN.md §4).
//
//   // Load: fold the stream's events (after upcasting) into a state.
//   ContactState state;
//   for (const StoredContactEvent& e : events) state = Apply(std::move(state),
//   e.event, e.meta);
//   // Decide: check the command against the state; no I/O but sealing.
//   ASSIGN_OR_RETURN(std::vector<ContactEvent> events,
//                    Decide(state, UpdateContact{...}, context, sealer));
//   // The caller appends `events` to ContactStream(id) with expected version
//   // state.version (the etag check is the caller's too).
//
// Decide never reads a clock or a random source: times come from the
// CommandContext and new ids from the command. It seals personal data through
// the PersonalDataSealer (which may create the subject's key) and opens the
// current data when it must compare or merge it.
//
// Rules every Decide applies, in this order:
//   - a malformed context is INVALID_ARGUMENT ("tenant", "actor");
//   - a malformed command is INVALID_ARGUMENT with every bad field named;
//   - a contact that does not exist, or belongs to another tenant, is
//     NOT_FOUND (Create: an existing one is ALREADY_EXISTS);
//   - a contact merged into another or erased refuses every change with
//     FAILED_PRECONDITION (the message names the survivor), a deleted one
//     every change but Undelete, Erase and WithdrawConsent;
//   - a command that would change nothing returns no event (OK, empty).
// Field paths are those of the crm.contact.v1.Contact resource.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/contact/domain/context.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/v1/contact_events.pb.h"

namespace crm::contact {

// Every event a contact's stream holds (current schema versions).
using ContactEvent =
    std::variant<v1::ContactCreated, v1::ContactUpdated, v1::ContactDeleted,
                 v1::ContactUndeleted, v1::ContactMerged, v1::ContactMergedInto,
                 v1::ContactUnmerged, v1::ContactUnmergedFrom,
                 v1::ContactErased, v1::RelationshipAdded,
                 v1::RelationshipUpdated, v1::RelationshipRemoved,
                 v1::ConsentGiven, v1::ConsentWithdrawn>;

// The fields of a contact a caller can write (the Contact resource's
// writable fields). Personal ones are in `personal`.
struct ContactFields {
  std::string owner;  // user id; empty on create means the actor
  std::vector<std::string> tags;
  std::string account_id;  // primary account, empty for none
  v1::ContactPersonalData personal;
};

// Writable field paths of a contact, in resource order: given_name,
// family_name, emails, phones, addresses, job_title, birth_date, notes,
// account, owner, tags.
const std::vector<std::string>& ContactFieldPaths();
// True for the paths kept in ContactPersonalData (sealed).
bool IsPersonalContactField(std::string_view path);

// A consent's current state for one purpose and channel.
struct ConsentState {
  bool granted = false;
  v1::LegalBasis legal_basis = v1::LEGAL_BASIS_UNSPECIFIED;
  std::string source;
  std::optional<absl::Time> give_time;
  std::optional<absl::Time> withdraw_time;
  std::optional<absl::Time> expire_time;
};

// What an active merge into this contact changed, so it can be undone.
struct ContactMergeRecord {
  std::string merged_id;
  std::vector<std::string> changed_fields;  // by the merge
  std::set<std::string> touched_since;      // changed again after it
  // The survivor's values before the merge.
  std::string previous_owner;
  std::vector<std::string> previous_tags;
  std::string previous_account_id;
  v1::SealedData previous_sealed_personal;
  std::vector<v1::Relationship> moved_relationships;
  std::vector<std::string> key_ids;  // ContactMerged.merged_key_ids
};

// A contact as its events made it. version 0 means it does not exist.
struct ContactState {
  std::string id;
  std::string tenant;
  uint64_t version = 0;  // its stream's version (the etag)

  std::string owner;
  std::vector<std::string> tags;
  std::string account_id;
  std::string source;
  // The current personal data; empty once erased.
  v1::SealedData sealed_personal;

  // Relationships by account id.
  std::map<std::string, v1::Relationship, std::less<>> relationships;
  // Consents by (purpose, channel).
  std::map<std::pair<std::string, v1::ConsentChannel>, ConsentState> consents;
  // Merges into this contact not undone, oldest first.
  std::vector<ContactMergeRecord> merges;

  bool deleted = false;
  bool erased = false;
  std::string merged_into;  // survivor id while merged

  absl::Time create_time = absl::UnixEpoch();
  absl::Time update_time = absl::UnixEpoch();
  std::optional<absl::Time> delete_time;
  std::optional<absl::Time> erase_time;

  bool exists() const { return version > 0; }
};

// ----- Commands -----

// Creates a contact with a new id chosen by the caller (a random UUID, or
// DeriveId for idempotent creation from another record).
struct CreateContact {
  std::string contact_id;
  ContactFields fields;
  std::string source;  // "api", "import:<id>", "lead:<id>"; empty = "api"
};

// Changes the fields named by update_mask ("*" = every writable field) to
// their values in `fields`.
struct UpdateContact {
  std::string contact_id;
  std::vector<std::string> update_mask;
  ContactFields fields;
};

struct DeleteContact {
  std::string contact_id;
};

struct UndeleteContact {
  std::string contact_id;
};

struct AddRelationship {
  std::string contact_id;
  std::string account_id;
  std::vector<std::string> roles;
};

// Replaces the roles of an existing relationship.
struct UpdateRelationship {
  std::string contact_id;
  std::string account_id;
  std::vector<std::string> roles;
};

struct RemoveRelationship {
  std::string contact_id;
  std::string account_id;
};

struct GiveConsent {
  std::string contact_id;
  std::string purpose;
  v1::ConsentChannel channel = v1::CONSENT_CHANNEL_UNSPECIFIED;
  v1::LegalBasis legal_basis = v1::LEGAL_BASIS_UNSPECIFIED;  // = CONSENT
  std::string source;
  std::optional<absl::Time> expire_time;  // must be after context.now
};

struct WithdrawConsent {
  std::string contact_id;
  std::string purpose;
  v1::ConsentChannel channel = v1::CONSENT_CHANNEL_UNSPECIFIED;
  std::string source;
};

// Erases the person: ContactErased lists the keys to delete (the caller
// deletes them after the append).
struct EraseContact {
  std::string contact_id;
  std::string reason;  // [a-z0-9_]{0,64}, not personal
};

using ContactCommand =
    std::variant<CreateContact, UpdateContact, DeleteContact, UndeleteContact,
                 AddRelationship, UpdateRelationship, RemoveRelationship,
                 GiveConsent, WithdrawConsent, EraseContact>;

// Decides the events a command causes on one contact; see the rules above.
// Per command, besides them:
//   Create: ALREADY_EXISTS when state exists (of any tenant: ids are
//     global); INVALID_ARGUMENT for bad fields, including no name at all.
//     One ContactCreated; normalized email and E.164 phone forms filled in;
//     owner defaults to the actor.
//   Update: INVALID_ARGUMENT for an empty or unknown update_mask path
//     ("update_mask") or a bad value. One ContactUpdated, or none when the
//     values equal the current ones.
//   Delete: FAILED_PRECONDITION when already deleted.
//   Undelete: FAILED_PRECONDITION when not deleted.
//   AddRelationship: ALREADY_EXISTS when related to the account already.
//   UpdateRelationship / RemoveRelationship: NOT_FOUND when not related.
//   GiveConsent: one ConsentGiven (also to renew one already given).
//   WithdrawConsent: one ConsentWithdrawn (also as an explicit opt-out when
//     none was given); allowed on a deleted contact.
//   Erase: one ContactErased; none when already erased; FAILED_PRECONDITION
//     for a merged contact (erase its survivor).
// Errors from the sealer (UNAVAILABLE, INTERNAL ...) are returned as they are.
absl::StatusOr<std::vector<ContactEvent>> Decide(const ContactState& state,
                                                 const ContactCommand& command,
                                                 const CommandContext& context,
                                                 PersonalDataSealer& sealer);

// Folds one event into the state. Pure and total: an event that does not fit
// the state (which a well-formed log never has) is applied as far as it
// makes sense. Sets version to version + 1 and the times from meta.
ContactState Apply(ContactState state, const ContactEvent& event,
                   const EventMeta& meta);

// ----- Merge and unmerge (two contacts, one atomic append of two streams) ---

// Merges `merged_id` into `survivor_id`. field_choices maps a writable field
// path to where the survivor's value comes from (MERGE_FIELD_SOURCE_*);
// unnamed paths take the default (the survivor's value unless empty).
struct MergeContacts {
  std::string survivor_id;
  std::string merged_id;
  std::map<std::string, v1::MergeFieldSource, std::less<>> field_choices;
};

// Separates `merged_id` from `survivor_id` again.
struct UnmergeContacts {
  std::string survivor_id;
  std::string merged_id;
};

// Events for each stream of a merge or unmerge; the caller appends both in
// one atomic append with each state's version as expected version.
struct ContactPairEvents {
  std::vector<ContactEvent> survivor_events;
  std::vector<ContactEvent> merged_events;
};

// Merge: INVALID_ARGUMENT for bad ids, the same id twice ("merged"), an
// unknown path in field_choices or BOTH on a single-valued field
// ("field_choices[<path>]"); NOT_FOUND when either is missing or of another
// tenant; FAILED_PRECONDITION when either is deleted, merged or erased.
// Gives ContactMerged (survivor) and ContactMergedInto (merged).
absl::StatusOr<ContactPairEvents> DecideMerge(const ContactState& survivor,
                                              const ContactState& merged,
                                              const MergeContacts& command,
                                              const CommandContext& context,
                                              PersonalDataSealer& sealer);

// Unmerge: NOT_FOUND as for merge; FAILED_PRECONDITION when the two are not
// merged (the survivor has no active merge of merged_id), or the survivor
// was erased or is itself merged into another contact. Gives
// ContactUnmerged (survivor: reverts the fields the merge changed and nobody
// changed since, returns the moved relationships still unchanged) and
// ContactUnmergedFrom (merged).
absl::StatusOr<ContactPairEvents> DecideUnmerge(const ContactState& survivor,
                                                const ContactState& merged,
                                                const UnmergeContacts& command,
                                                const CommandContext& context,
                                                PersonalDataSealer& sealer);

// The contact's writable fields as they are now, personal data opened.
// Errors of OpenMessage (IsKeyErased for an erased person).
absl::StatusOr<ContactFields> CurrentContactFields(const ContactState& state,
                                                   PersonalDataSealer& sealer);

}  // namespace crm::contact
