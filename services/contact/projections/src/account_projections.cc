#include "crm/contact/projections/account_projections.h"

namespace crm::contact::projections {

void AddAccountProjections(
    std::vector<std::unique_ptr<projection::Projection>>&,
    PersonalDataSealer*) {
  // None yet.
}

}  // namespace crm::contact::projections
