// Field-level helpers of the Contact aggregate. Internal.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "crm/contact/domain/contact.h"
#include "crm/contact/domain/field_violation.h"

namespace crm::contact::internal {

// Per writable path (ContactFieldPaths): copy, compare, emptiness, union.
void CopyContactField(std::string_view path, const ContactFields& from,
                      ContactFields* to);
bool ContactFieldEquals(std::string_view path, const ContactFields& a,
                        const ContactFields& b);
bool ContactFieldEmpty(std::string_view path, const ContactFields& fields);
// emails, phones, addresses, tags.
bool ContactFieldRepeated(std::string_view path);
void UnionContactField(std::string_view path, const ContactFields& a,
                       const ContactFields& b, ContactFields* out);

// Validates and normalizes the fields named by `paths` in place (trims,
// normalized emails, E.164 phones, lower-case tags).
void NormalizeContactFields(ViolationList& violations,
                            const std::vector<std::string>& paths,
                            const CommandContext& context,
                            ContactFields* fields);

// A contact needs a given or a family name.
void CheckContactHasName(ViolationList& violations,
                         const v1::ContactPersonalData& personal);

// NOT_FOUND unless the state exists in the context's tenant.
absl::Status CheckContactVisible(const ContactState& state, std::string_view id,
                                 const CommandContext& context);

// FAILED_PRECONDITION when erased or merged; when deleted too unless
// allow_deleted.
absl::Status CheckContactWritable(const ContactState& state,
                                  bool allow_deleted);

// Seals personal data under the contact's key.
absl::StatusOr<v1::SealedData> SealContactPersonal(
    PersonalDataSealer& sealer, std::string_view tenant,
    std::string_view contact_id, const v1::ContactPersonalData& personal);

}  // namespace crm::contact::internal
