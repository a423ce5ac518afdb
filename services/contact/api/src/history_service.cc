// Timeline and history: the ContactService RPCs of this area
// (contact_service.h). NOT BUILT YET: each answers UNIMPLEMENTED (the generated
// base class).
#include "crm/contact/api/contact_service.h"

namespace crm::contact::api {

grpc::ServerUnaryReactor* ContactServiceImpl::ListTimelineEntries(
    grpc::CallbackServerContext* call,
    const v1::ListTimelineEntriesRequest* request,
    v1::ListTimelineEntriesResponse* response) {
  return v1::ContactService::CallbackService::ListTimelineEntries(call, request,
                                                                  response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::ListHistory(
    grpc::CallbackServerContext* call, const v1::ListHistoryRequest* request,
    v1::ListHistoryResponse* response) {
  return v1::ContactService::CallbackService::ListHistory(call, request,
                                                          response);
}

}  // namespace crm::contact::api
