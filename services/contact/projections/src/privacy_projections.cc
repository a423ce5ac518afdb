#include "crm/contact/projections/privacy_projections.h"

namespace crm::contact::projections {

void AddPrivacyProjections(
    std::vector<std::unique_ptr<projection::Projection>>&,
    PersonalDataSealer*) {
  // None yet.
}

}  // namespace crm::contact::projections
