#include <algorithm>

#include "contact_internal.h"
#include "crm/base/status_macros.h"
#include "crm/contact/domain/ids.h"
#include "fmt/format.h"
#include "proto_fields.h"
#include "validation.h"

namespace crm::contact {

const std::vector<std::string>& ContactFieldPaths() {
  static const std::vector<std::string>* const paths =
      new std::vector<std::string>{"given_name", "family_name", "emails",
                                   "phones",     "addresses",   "job_title",
                                   "birth_date", "notes",       "account",
                                   "owner",      "tags"};
  return *paths;
}

bool IsPersonalContactField(std::string_view path) {
  return path != "account" && path != "owner" && path != "tags" &&
         internal::Contains(ContactFieldPaths(), path);
}

absl::StatusOr<ContactFields> CurrentContactFields(const ContactState& state,
                                                   PersonalDataSealer& sealer) {
  ContactFields fields;
  fields.owner = state.owner;
  fields.tags = state.tags;
  fields.account_id = state.account_id;
  RETURN_IF_ERROR(OpenMessage(sealer, state.sealed_personal, &fields.personal));
  return fields;
}

namespace internal {

void CopyContactField(std::string_view path, const ContactFields& from,
                      ContactFields* to) {
  if (path == "account") {
    to->account_id = from.account_id;
  } else if (path == "owner") {
    to->owner = from.owner;
  } else if (path == "tags") {
    to->tags = from.tags;
  } else {
    CopyProtoField(from.personal, &to->personal, path);
  }
}

bool ContactFieldEquals(std::string_view path, const ContactFields& a,
                        const ContactFields& b) {
  if (path == "account") return a.account_id == b.account_id;
  if (path == "owner") return a.owner == b.owner;
  if (path == "tags") return a.tags == b.tags;
  return ProtoFieldEquals(a.personal, b.personal, path);
}

bool ContactFieldEmpty(std::string_view path, const ContactFields& fields) {
  if (path == "account") return fields.account_id.empty();
  if (path == "owner") return fields.owner.empty();
  if (path == "tags") return fields.tags.empty();
  return ProtoFieldEmpty(fields.personal, path);
}

bool ContactFieldRepeated(std::string_view path) {
  return path == "emails" || path == "phones" || path == "addresses" ||
         path == "tags";
}

void UnionContactField(std::string_view path, const ContactFields& a,
                       const ContactFields& b, ContactFields* out) {
  if (path == "tags") {
    std::vector<std::string> tags = a.tags;
    for (const std::string& tag : b.tags) {
      if (!Contains(tags, tag)) tags.push_back(tag);
    }
    out->tags = std::move(tags);
    return;
  }
  UnionProtoField(a.personal, b.personal, &out->personal, path);
}

void NormalizeContactFields(ViolationList& violations,
                            const std::vector<std::string>& paths,
                            const CommandContext& context,
                            ContactFields* fields) {
  v1::ContactPersonalData& personal = fields->personal;
  for (const std::string& path : paths) {
    if (path == "given_name") {
      personal.set_given_name(Trim(personal.given_name()));
      CheckText(violations, path, personal.given_name(), kMaxNameBytes, false);
    } else if (path == "family_name") {
      personal.set_family_name(Trim(personal.family_name()));
      CheckText(violations, path, personal.family_name(), kMaxNameBytes, false);
    } else if (path == "emails") {
      NormalizeEmails(violations, path, kMaxEmails, personal.mutable_emails());
    } else if (path == "phones") {
      NormalizePhones(violations, path, context.default_region,
                      personal.mutable_phones());
    } else if (path == "addresses") {
      NormalizeAddresses(violations, path, personal.mutable_addresses());
    } else if (path == "job_title") {
      personal.set_job_title(Trim(personal.job_title()));
      CheckText(violations, path, personal.job_title(), kMaxNameBytes, false);
    } else if (path == "birth_date") {
      personal.set_birth_date(Trim(personal.birth_date()));
      CheckBirthDate(violations, path, personal.birth_date(), context.now);
    } else if (path == "notes") {
      CheckText(violations, path, personal.notes(), kMaxNotesBytes, true);
    } else if (path == "account") {
      CheckId(violations, path, fields->account_id, /*required=*/false);
    } else if (path == "owner") {
      fields->owner = Trim(fields->owner);
      if (fields->owner.empty()) {
        violations.Add(path, "is required (a user id)");
      } else {
        CheckText(violations, path, fields->owner, kMaxNameBytes, false);
      }
    } else if (path == "tags") {
      fields->tags = NormalizeTags(violations, path, fields->tags);
    }
  }
}

void CheckContactHasName(ViolationList& violations,
                         const v1::ContactPersonalData& personal) {
  if (personal.given_name().empty() && personal.family_name().empty()) {
    violations.Add("given_name",
                   "a contact needs a given name or a family name");
  }
}

absl::Status CheckContactVisible(const ContactState& state, std::string_view id,
                                 const CommandContext& context) {
  if (!state.exists() || state.tenant != context.tenant) {
    return NotFound("contact", id);
  }
  return absl::OkStatus();
}

absl::Status CheckContactWritable(const ContactState& state,
                                  bool allow_deleted) {
  if (state.erased) {
    return absl::FailedPreconditionError(fmt::format(
        "contact {} was erased; an erased contact cannot change", state.id));
  }
  if (!state.merged_into.empty()) {
    return absl::FailedPreconditionError(fmt::format(
        "contact {} was merged into {}; change that contact instead, or "
        "unmerge first",
        state.id, ResourceName(RecordType::kContact, state.merged_into)));
  }
  if (state.deleted && !allow_deleted) {
    return absl::FailedPreconditionError(
        fmt::format("contact {} is deleted; undelete it first", state.id));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::SealedData> SealContactPersonal(
    PersonalDataSealer& sealer, std::string_view tenant,
    std::string_view contact_id, const v1::ContactPersonalData& personal) {
  return SealMessage(sealer, KeyIdFor(tenant, contact_id), personal);
}

}  // namespace internal
}  // namespace crm::contact
