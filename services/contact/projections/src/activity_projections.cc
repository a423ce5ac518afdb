#include "crm/contact/projections/activity_projections.h"

namespace crm::contact::projections {

void AddActivityProjections(
    std::vector<std::unique_ptr<projection::Projection>>&,
    PersonalDataSealer*) {
  // None yet.
}

}  // namespace crm::contact::projections
