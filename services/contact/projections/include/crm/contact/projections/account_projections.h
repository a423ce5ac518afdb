// Accounts: the read models of this area of the contact service.
#pragma once

#include <memory>
#include <vector>

#include "crm/contact/domain/sealer.h"
#include "crm/projection/projection.h"

namespace crm::contact::projections {

// Adds this area's projections to the service's list
// (ContactServiceProjections). `sealer` is not owned.
void AddAccountProjections(
    std::vector<std::unique_ptr<projection::Projection>>& list,
    PersonalDataSealer* sealer);

}  // namespace crm::contact::projections
