#include "crm/contact/projections/quality_projections.h"

namespace crm::contact::projections {

void AddQualityProjections(
    std::vector<std::unique_ptr<projection::Projection>>&,
    PersonalDataSealer*) {
  // None yet.
}

}  // namespace crm::contact::projections
