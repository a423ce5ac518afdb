// Change feed: the ContactService RPCs of this area (contact_service.h).
// NOT BUILT YET: each answers UNIMPLEMENTED (the generated base class).
#include "crm/contact/api/contact_service.h"

namespace crm::contact::api {

grpc::ServerWriteReactor<v1::WatchEventsResponse>*
ContactServiceImpl::WatchEvents(grpc::CallbackServerContext* call,
                                const v1::WatchEventsRequest* request) {
  return v1::ContactService::CallbackService::WatchEvents(call, request);
}

}  // namespace crm::contact::api
