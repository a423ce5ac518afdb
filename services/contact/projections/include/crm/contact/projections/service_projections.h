// Every projection the contact service runs, in one list: what crm-contact,
// crm-suite and the API tests hand to the ProjectionEngine. An area of the
// API that adds a read model adds it here (service_projections.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "crm/contact/domain/sealer.h"
#include "crm/projection/projection.h"

namespace crm::contact::projections {

struct ProjectionOptions {
  // Versions other than 1 only in tests of blue/green rebuilds.
  uint32_t contacts_by_id_version = 1;
  // contact_list's version; 0: ContactListProjection::kVersion.
  uint32_t contact_list_version = 0;
};

// `sealer` is not owned and must outlive the projections.
std::vector<std::unique_ptr<projection::Projection>> ContactServiceProjections(
    PersonalDataSealer* sealer, const ProjectionOptions& options = {});

}  // namespace crm::contact::projections
