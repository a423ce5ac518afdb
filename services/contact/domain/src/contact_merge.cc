// DecideMerge and DecideUnmerge for contacts.
#include <algorithm>

#include "contact_internal.h"
#include "crm/base/status_macros.h"
#include "crm/contact/domain/contact.h"
#include "google/protobuf/util/message_differencer.h"
#include "merge_choices.h"
#include "validation.h"

namespace crm::contact {
namespace {

absl::Status CheckPairIds(std::string_view survivor_id,
                          std::string_view merged_id) {
  ViolationList violations;
  internal::CheckId(violations, "survivor", survivor_id, true);
  internal::CheckId(violations, "merged", merged_id, true);
  if (!survivor_id.empty() && survivor_id == merged_id) {
    violations.Add("merged", "a contact cannot be merged with itself");
  }
  return violations.ToStatus("merge request");
}

absl::Status CheckMergeable(const ContactState& state) {
  RETURN_IF_ERROR(internal::CheckContactWritable(state, false));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ContactPairEvents> DecideMerge(const ContactState& survivor,
                                              const ContactState& merged,
                                              const MergeContacts& command,
                                              const CommandContext& context,
                                              PersonalDataSealer& sealer) {
  RETURN_IF_ERROR(ValidateCommandContext(context));
  RETURN_IF_ERROR(CheckPairIds(command.survivor_id, command.merged_id));
  ViolationList violations;
  internal::CheckFieldChoices(violations, command.field_choices,
                              ContactFieldPaths(),
                              internal::ContactFieldRepeated);
  RETURN_IF_ERROR(violations.ToStatus("merge request"));
  RETURN_IF_ERROR(
      internal::CheckContactVisible(survivor, command.survivor_id, context));
  RETURN_IF_ERROR(
      internal::CheckContactVisible(merged, command.merged_id, context));
  RETURN_IF_ERROR(CheckMergeable(survivor));
  RETURN_IF_ERROR(CheckMergeable(merged));

  ASSIGN_OR_RETURN(ContactFields kept, CurrentContactFields(survivor, sealer));
  ASSIGN_OR_RETURN(ContactFields other, CurrentContactFields(merged, sealer));
  ContactFields next = kept;
  std::vector<std::string> changed;
  for (const std::string& path : ContactFieldPaths()) {
    switch (internal::ChoiceFor(command.field_choices, path)) {
      case v1::MERGE_FIELD_SOURCE_MERGED:
        internal::CopyContactField(path, other, &next);
        break;
      case v1::MERGE_FIELD_SOURCE_BOTH:
        internal::UnionContactField(path, kept, other, &next);
        break;
      case v1::MERGE_FIELD_SOURCE_SURVIVOR:
        break;
      default:
        if (internal::ContactFieldEmpty(path, kept)) {
          internal::CopyContactField(path, other, &next);
        }
        break;
    }
    if (!internal::ContactFieldEquals(path, kept, next))
      changed.push_back(path);
  }
  // A union may exceed the limits of one record.
  ViolationList result;
  if (next.personal.emails_size() > static_cast<int>(internal::kMaxEmails) ||
      next.personal.phones_size() > static_cast<int>(internal::kMaxPhones) ||
      next.personal.addresses_size() >
          static_cast<int>(internal::kMaxAddresses) ||
      next.tags.size() > internal::kMaxTags) {
    result.Add("field_choices",
               "the merged record would have more emails, phones, addresses "
               "or tags than a contact may have; choose SURVIVOR or MERGED "
               "for some of them");
  }
  RETURN_IF_ERROR(result.ToStatus("merge request"));
  std::sort(changed.begin(), changed.end());

  v1::ContactMerged event;
  event.set_contact_id(survivor.id);
  event.set_merged_contact_id(merged.id);
  for (const auto& [path, source] : command.field_choices) {
    (*event.mutable_field_choices())[path] = source;
  }
  bool personal_changed = false;
  for (const std::string& path : changed) {
    event.add_changed_fields(path);
    personal_changed = personal_changed || IsPersonalContactField(path);
  }
  if (internal::Contains(changed, "owner")) event.set_owner(next.owner);
  if (internal::Contains(changed, "tags")) {
    for (const std::string& tag : next.tags) event.add_tags(tag);
  }
  if (internal::Contains(changed, "account")) {
    event.set_account_id(next.account_id);
  }
  if (personal_changed) {
    ASSIGN_OR_RETURN(*event.mutable_sealed_personal(),
                     internal::SealContactPersonal(sealer, context.tenant,
                                                   survivor.id, next.personal));
  }
  for (const auto& [account_id, relationship] : merged.relationships) {
    if (survivor.relationships.count(account_id) == 0) {
      *event.add_moved_relationships() = relationship;
    }
  }
  event.add_merged_key_ids(KeyIdFor(merged.tenant, merged.id));
  for (const ContactMergeRecord& earlier : merged.merges) {
    for (const std::string& key_id : earlier.key_ids) {
      event.add_merged_key_ids(key_id);
    }
  }

  v1::ContactMergedInto into;
  into.set_contact_id(merged.id);
  into.set_survivor_contact_id(survivor.id);

  ContactPairEvents events;
  events.survivor_events.push_back(std::move(event));
  events.merged_events.push_back(std::move(into));
  return events;
}

absl::StatusOr<ContactPairEvents> DecideUnmerge(const ContactState& survivor,
                                                const ContactState& merged,
                                                const UnmergeContacts& command,
                                                const CommandContext& context,
                                                PersonalDataSealer& sealer) {
  RETURN_IF_ERROR(ValidateCommandContext(context));
  RETURN_IF_ERROR(CheckPairIds(command.survivor_id, command.merged_id));
  RETURN_IF_ERROR(
      internal::CheckContactVisible(survivor, command.survivor_id, context));
  RETURN_IF_ERROR(
      internal::CheckContactVisible(merged, command.merged_id, context));
  auto record = std::find_if(
      survivor.merges.begin(), survivor.merges.end(),
      [&](const ContactMergeRecord& m) { return m.merged_id == merged.id; });
  if (record == survivor.merges.end() || merged.merged_into != survivor.id) {
    return absl::FailedPreconditionError(
        fmt::format("contact {} is not merged into contact {}; nothing to undo",
                    merged.id, survivor.id));
  }
  if (survivor.erased) {
    return absl::FailedPreconditionError(fmt::format(
        "contact {} was erased; its merges cannot be undone", survivor.id));
  }
  if (!survivor.merged_into.empty()) {
    return absl::FailedPreconditionError(fmt::format(
        "contact {} is itself merged into contact {}; unmerge that first",
        survivor.id, survivor.merged_into));
  }

  std::vector<std::string> reverted;
  for (const std::string& path : record->changed_fields) {
    if (record->touched_since.count(path) == 0) reverted.push_back(path);
  }
  std::sort(reverted.begin(), reverted.end());

  v1::ContactUnmerged event;
  event.set_contact_id(survivor.id);
  event.set_unmerged_contact_id(merged.id);
  bool personal_reverted = false;
  for (const std::string& path : reverted) {
    event.add_reverted_fields(path);
    personal_reverted = personal_reverted || IsPersonalContactField(path);
  }
  if (internal::Contains(reverted, "owner")) {
    event.set_owner(record->previous_owner);
  }
  if (internal::Contains(reverted, "tags")) {
    for (const std::string& tag : record->previous_tags) event.add_tags(tag);
  }
  if (internal::Contains(reverted, "account")) {
    event.set_account_id(record->previous_account_id);
  }
  if (personal_reverted) {
    ASSIGN_OR_RETURN(ContactFields current,
                     CurrentContactFields(survivor, sealer));
    ContactFields previous;
    RETURN_IF_ERROR(OpenMessage(sealer, record->previous_sealed_personal,
                                &previous.personal));
    for (const std::string& path : reverted) {
      if (IsPersonalContactField(path)) {
        internal::CopyContactField(path, previous, &current);
      }
    }
    ASSIGN_OR_RETURN(
        *event.mutable_sealed_personal(),
        internal::SealContactPersonal(sealer, context.tenant, survivor.id,
                                      current.personal));
  }
  for (const v1::Relationship& moved : record->moved_relationships) {
    auto it = survivor.relationships.find(moved.account_id());
    if (it != survivor.relationships.end() &&
        google::protobuf::util::MessageDifferencer::Equals(it->second, moved)) {
      event.add_returned_relationship_account_ids(moved.account_id());
    }
  }

  v1::ContactUnmergedFrom from;
  from.set_contact_id(merged.id);
  from.set_survivor_contact_id(survivor.id);

  ContactPairEvents events;
  events.survivor_events.push_back(std::move(event));
  events.merged_events.push_back(std::move(from));
  return events;
}

}  // namespace crm::contact
