// Decide for single-contact commands.
#include <algorithm>

#include "contact_internal.h"
#include "crm/base/status_macros.h"
#include "crm/contact/domain/contact.h"
#include "fmt/format.h"
#include "validation.h"

namespace crm::contact {
namespace {

using internal::CheckContactVisible;
using internal::CheckContactWritable;
using Events = std::vector<ContactEvent>;

class ContactDecider {
 public:
  ContactDecider(const ContactState& state, const CommandContext& context,
                 PersonalDataSealer& sealer)
      : state_(state), context_(context), sealer_(sealer) {}

  absl::StatusOr<Events> operator()(const CreateContact& command) const {
    ViolationList violations;
    internal::CheckId(violations, "contact_id", command.contact_id, true);
    ContactFields fields = command.fields;
    if (Trim(fields.owner).empty()) fields.owner = context_.actor;
    internal::NormalizeContactFields(violations, ContactFieldPaths(), context_,
                                     &fields);
    internal::CheckContactHasName(violations, fields.personal);
    internal::CheckText(violations, "source", command.source,
                        internal::kMaxSourceBytes, false);
    RETURN_IF_ERROR(violations.ToStatus("contact"));
    if (state_.exists()) {
      return absl::AlreadyExistsError(fmt::format(
          "a contact with id {} exists already; choose another id or omit it",
          command.contact_id));
    }
    v1::ContactCreated created;
    created.set_contact_id(command.contact_id);
    created.set_owner(fields.owner);
    for (const std::string& tag : fields.tags) created.add_tags(tag);
    created.set_account_id(fields.account_id);
    ASSIGN_OR_RETURN(
        *created.mutable_sealed_personal(),
        internal::SealContactPersonal(sealer_, context_.tenant,
                                      command.contact_id, fields.personal));
    created.set_source(command.source.empty() ? "api" : command.source);
    return Events{std::move(created)};
  }

  absl::StatusOr<Events> operator()(const UpdateContact& command) const {
    ViolationList violations;
    internal::CheckId(violations, "contact_id", command.contact_id, true);
    std::vector<std::string> paths = internal::ExpandUpdateMask(
        violations, command.update_mask, ContactFieldPaths());
    ContactFields requested = command.fields;
    internal::NormalizeContactFields(violations, paths, context_, &requested);
    RETURN_IF_ERROR(violations.ToStatus("contact update"));
    RETURN_IF_ERROR(CheckContactVisible(state_, command.contact_id, context_));
    RETURN_IF_ERROR(CheckContactWritable(state_, /*allow_deleted=*/false));

    ASSIGN_OR_RETURN(ContactFields current,
                     CurrentContactFields(state_, sealer_));
    ContactFields next = current;
    std::vector<std::string> changed;
    for (const std::string& path : paths) {
      if (internal::ContactFieldEquals(path, current, requested)) continue;
      internal::CopyContactField(path, requested, &next);
      changed.push_back(path);
    }
    ViolationList result_violations;
    internal::CheckContactHasName(result_violations, next.personal);
    RETURN_IF_ERROR(result_violations.ToStatus("contact update"));
    if (changed.empty()) return Events{};

    std::sort(changed.begin(), changed.end());
    v1::ContactUpdated updated;
    updated.set_contact_id(state_.id);
    bool personal_changed = false;
    for (const std::string& path : changed) {
      updated.add_changed_fields(path);
      personal_changed = personal_changed || IsPersonalContactField(path);
    }
    if (internal::Contains(changed, "owner")) updated.set_owner(next.owner);
    if (internal::Contains(changed, "tags")) {
      for (const std::string& tag : next.tags) updated.add_tags(tag);
    }
    if (internal::Contains(changed, "account")) {
      updated.set_account_id(next.account_id);
    }
    if (personal_changed) {
      ASSIGN_OR_RETURN(*updated.mutable_sealed_personal(),
                       internal::SealContactPersonal(sealer_, context_.tenant,
                                                     state_.id, next.personal));
    }
    return Events{std::move(updated)};
  }

  absl::StatusOr<Events> operator()(const DeleteContact& command) const {
    RETURN_IF_ERROR(CheckId(command.contact_id));
    RETURN_IF_ERROR(CheckContactVisible(state_, command.contact_id, context_));
    RETURN_IF_ERROR(CheckContactWritable(state_, /*allow_deleted=*/true));
    if (state_.deleted) {
      return absl::FailedPreconditionError(
          fmt::format("contact {} is deleted already", state_.id));
    }
    v1::ContactDeleted deleted;
    deleted.set_contact_id(state_.id);
    return Events{std::move(deleted)};
  }

  absl::StatusOr<Events> operator()(const UndeleteContact& command) const {
    RETURN_IF_ERROR(CheckId(command.contact_id));
    RETURN_IF_ERROR(CheckContactVisible(state_, command.contact_id, context_));
    RETURN_IF_ERROR(CheckContactWritable(state_, /*allow_deleted=*/true));
    if (!state_.deleted) {
      return absl::FailedPreconditionError(
          fmt::format("contact {} is not deleted", state_.id));
    }
    v1::ContactUndeleted undeleted;
    undeleted.set_contact_id(state_.id);
    return Events{std::move(undeleted)};
  }

  absl::StatusOr<Events> operator()(const AddRelationship& command) const {
    ASSIGN_OR_RETURN(std::vector<std::string> roles,
                     CheckRelationship(command.contact_id, command.account_id,
                                       command.roles));
    if (state_.relationships.count(command.account_id) > 0) {
      return absl::AlreadyExistsError(fmt::format(
          "contact {} is related to account {} already; update its roles "
          "instead",
          state_.id, command.account_id));
    }
    v1::RelationshipAdded added;
    added.set_contact_id(state_.id);
    added.mutable_relationship()->set_account_id(command.account_id);
    for (const std::string& role : roles) {
      added.mutable_relationship()->add_roles(role);
    }
    return Events{std::move(added)};
  }

  absl::StatusOr<Events> operator()(const UpdateRelationship& command) const {
    ASSIGN_OR_RETURN(std::vector<std::string> roles,
                     CheckRelationship(command.contact_id, command.account_id,
                                       command.roles));
    auto it = state_.relationships.find(command.account_id);
    if (it == state_.relationships.end()) {
      return RelationshipNotFound(command.account_id);
    }
    std::vector<std::string> current(it->second.roles().begin(),
                                     it->second.roles().end());
    if (current == roles) return Events{};
    v1::RelationshipUpdated updated;
    updated.set_contact_id(state_.id);
    updated.mutable_relationship()->set_account_id(command.account_id);
    for (const std::string& role : roles) {
      updated.mutable_relationship()->add_roles(role);
    }
    return Events{std::move(updated)};
  }

  absl::StatusOr<Events> operator()(const RemoveRelationship& command) const {
    RETURN_IF_ERROR(
        CheckRelationship(command.contact_id, command.account_id, {}).status());
    if (state_.relationships.count(command.account_id) == 0) {
      return RelationshipNotFound(command.account_id);
    }
    v1::RelationshipRemoved removed;
    removed.set_contact_id(state_.id);
    removed.set_account_id(command.account_id);
    return Events{std::move(removed)};
  }

  absl::StatusOr<Events> operator()(const GiveConsent& command) const {
    ViolationList violations;
    internal::CheckId(violations, "contact_id", command.contact_id, true);
    CheckConsentKey(violations, command.purpose, command.channel);
    internal::CheckText(violations, "source", command.source,
                        internal::kMaxSourceBytes, false);
    if (command.expire_time.has_value() &&
        *command.expire_time <= context_.now) {
      violations.Add("expire_time", "must be in the future");
    }
    if (!v1::LegalBasis_IsValid(command.legal_basis)) {
      violations.Add("legal_basis", "is not a known legal basis");
    }
    RETURN_IF_ERROR(violations.ToStatus("consent"));
    RETURN_IF_ERROR(CheckContactVisible(state_, command.contact_id, context_));
    RETURN_IF_ERROR(CheckContactWritable(state_, /*allow_deleted=*/false));
    v1::ConsentGiven given;
    given.set_contact_id(state_.id);
    given.set_purpose(command.purpose);
    given.set_channel(command.channel);
    given.set_legal_basis(command.legal_basis == v1::LEGAL_BASIS_UNSPECIFIED
                              ? v1::LEGAL_BASIS_CONSENT
                              : command.legal_basis);
    given.set_source(command.source);
    if (command.expire_time.has_value()) {
      *given.mutable_expire_time() = ToTimestamp(*command.expire_time);
    }
    return Events{std::move(given)};
  }

  absl::StatusOr<Events> operator()(const WithdrawConsent& command) const {
    ViolationList violations;
    internal::CheckId(violations, "contact_id", command.contact_id, true);
    CheckConsentKey(violations, command.purpose, command.channel);
    internal::CheckText(violations, "source", command.source,
                        internal::kMaxSourceBytes, false);
    RETURN_IF_ERROR(violations.ToStatus("consent withdrawal"));
    RETURN_IF_ERROR(CheckContactVisible(state_, command.contact_id, context_));
    RETURN_IF_ERROR(CheckContactWritable(state_, /*allow_deleted=*/true));
    v1::ConsentWithdrawn withdrawn;
    withdrawn.set_contact_id(state_.id);
    withdrawn.set_purpose(command.purpose);
    withdrawn.set_channel(command.channel);
    withdrawn.set_source(command.source);
    return Events{std::move(withdrawn)};
  }

  absl::StatusOr<Events> operator()(const EraseContact& command) const {
    ViolationList violations;
    internal::CheckId(violations, "contact_id", command.contact_id, true);
    if (!internal::IsCode(command.reason, /*allow_dash=*/false,
                          /*allow_empty=*/true)) {
      violations.Add("reason",
                     "must be a short code of at most 64 characters of a-z, "
                     "0-9 and '_', such as gdpr_art17_request");
    }
    RETURN_IF_ERROR(violations.ToStatus("erasure"));
    RETURN_IF_ERROR(CheckContactVisible(state_, command.contact_id, context_));
    if (state_.erased) return Events{};
    if (!state_.merged_into.empty()) {
      return absl::FailedPreconditionError(fmt::format(
          "contact {} was merged into contacts/{}, which holds the person's "
          "data now; erase that contact",
          state_.id, state_.merged_into));
    }
    v1::ContactErased erased;
    erased.set_contact_id(state_.id);
    erased.add_shredded_key_ids(KeyIdFor(state_.tenant, state_.id));
    for (const ContactMergeRecord& merge : state_.merges) {
      for (const std::string& key_id : merge.key_ids) {
        erased.add_shredded_key_ids(key_id);
      }
    }
    erased.set_reason(command.reason);
    return Events{std::move(erased)};
  }

 private:
  static std::string Trim(std::string_view s) { return internal::Trim(s); }

  static absl::Status CheckId(std::string_view id) {
    ViolationList violations;
    internal::CheckId(violations, "contact_id", id, true);
    return violations.ToStatus("request");
  }

  // Validates ids and roles, then visibility and writability; returns the
  // normalized roles.
  absl::StatusOr<std::vector<std::string>> CheckRelationship(
      std::string_view contact_id, std::string_view account_id,
      const std::vector<std::string>& roles) const {
    ViolationList violations;
    internal::CheckId(violations, "contact_id", contact_id, true);
    internal::CheckId(violations, "account", account_id, true);
    std::vector<std::string> normalized =
        internal::NormalizeRoles(violations, "roles", roles);
    RETURN_IF_ERROR(violations.ToStatus("relationship"));
    RETURN_IF_ERROR(CheckContactVisible(state_, contact_id, context_));
    RETURN_IF_ERROR(CheckContactWritable(state_, /*allow_deleted=*/false));
    return normalized;
  }

  absl::Status RelationshipNotFound(std::string_view account_id) const {
    return absl::NotFoundError(fmt::format(
        "contact {} has no relationship to account {}", state_.id, account_id));
  }

  static void CheckConsentKey(ViolationList& violations,
                              std::string_view purpose,
                              v1::ConsentChannel channel) {
    if (!internal::IsCode(purpose, /*allow_dash=*/true,
                          /*allow_empty=*/false)) {
      violations.Add("purpose",
                     "must be 1 to 64 characters of a-z, 0-9, '_' and '-', "
                     "such as newsletter");
    }
    if (channel == v1::CONSENT_CHANNEL_UNSPECIFIED ||
        !v1::ConsentChannel_IsValid(channel)) {
      violations.Add("channel", "is required: EMAIL, SMS, PHONE, POST or ANY");
    }
  }

  const ContactState& state_;
  const CommandContext& context_;
  PersonalDataSealer& sealer_;
};

}  // namespace

absl::StatusOr<std::vector<ContactEvent>> Decide(const ContactState& state,
                                                 const ContactCommand& command,
                                                 const CommandContext& context,
                                                 PersonalDataSealer& sealer) {
  RETURN_IF_ERROR(ValidateCommandContext(context));
  return std::visit(ContactDecider(state, context, sealer), command);
}

}  // namespace crm::contact
