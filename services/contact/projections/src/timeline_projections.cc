#include "crm/contact/projections/timeline_projections.h"

namespace crm::contact::projections {

void AddTimelineProjections(
    std::vector<std::unique_ptr<projection::Projection>>&,
    PersonalDataSealer*) {
  // None yet.
}

}  // namespace crm::contact::projections
