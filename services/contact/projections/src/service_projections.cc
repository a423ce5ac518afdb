#include "crm/contact/projections/service_projections.h"

#include "crm/contact/projections/account_projections.h"
#include "crm/contact/projections/activity_projections.h"
#include "crm/contact/projections/contact_projections.h"
#include "crm/contact/projections/privacy_projections.h"
#include "crm/contact/projections/quality_projections.h"
#include "crm/contact/projections/timeline_projections.h"

namespace crm::contact::projections {

std::vector<std::unique_ptr<projection::Projection>> ContactServiceProjections(
    PersonalDataSealer* sealer, const ProjectionOptions& options) {
  std::vector<std::unique_ptr<projection::Projection>> list;
  list.push_back(std::make_unique<ContactsByIdProjection>(
      sealer, options.contacts_by_id_version));
  list.push_back(std::make_unique<ContactListProjection>(
      sealer, options.contact_list_version == 0
                  ? ContactListProjection::kVersion
                  : options.contact_list_version));
  // Each area adds its own (<area>_projections.cc).
  AddAccountProjections(list, sealer);
  AddActivityProjections(list, sealer);
  AddTimelineProjections(list, sealer);
  AddQualityProjections(list, sealer);
  AddPrivacyProjections(list, sealer);
  return list;
}

}  // namespace crm::contact::projections
