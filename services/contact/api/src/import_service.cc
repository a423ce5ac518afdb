// Bulk import: the ContactService RPCs of this area (contact_service.h).
// NOT BUILT YET: each answers UNIMPLEMENTED (the generated base class).
#include "crm/contact/api/contact_service.h"

namespace crm::contact::api {

grpc::ServerBidiReactor<v1::ImportContactsRequest, v1::ImportContactsResponse>*
ContactServiceImpl::ImportContacts(grpc::CallbackServerContext* call) {
  return v1::ContactService::CallbackService::ImportContacts(call);
}

}  // namespace crm::contact::api
