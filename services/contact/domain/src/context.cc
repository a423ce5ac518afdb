#include "crm/contact/domain/context.h"

#include "crm/contact/domain/field_violation.h"
#include "crm/contact/domain/normalize.h"
#include "validation.h"

namespace crm::contact {

absl::Status ValidateCommandContext(const CommandContext& context) {
  ViolationList violations;
  const std::string& tenant = context.tenant;
  bool tenant_ok = !tenant.empty() && tenant.size() <= 63 &&
                   internal::IsCode(tenant, /*allow_dash=*/true,
                                    /*allow_empty=*/false) &&
                   tenant[0] != '_' && tenant[0] != '-';
  if (!tenant_ok) {
    violations.Add("tenant",
                   "must be 1 to 63 characters of a-z, 0-9, '_' and '-', "
                   "starting with a letter or digit");
  }
  if (context.actor.empty()) {
    violations.Add("actor", "is required (a user id or service:<name>)");
  } else {
    internal::CheckText(violations, "actor", context.actor, 256, false);
  }
  if (!context.default_region.empty() &&
      !IsKnownPhoneRegion(context.default_region)) {
    violations.Add("default_region",
                   "must be an ISO 3166-1 alpha-2 region known to "
                   "libphonenumber, such as DE or US, or empty");
  }
  return violations.ToStatus("request context");
}

}  // namespace crm::contact
