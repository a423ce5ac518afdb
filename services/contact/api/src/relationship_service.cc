// Contact-to-account relationships: the ContactService RPCs of this area
// (contact_service.h). NOT BUILT YET: each answers UNIMPLEMENTED (the generated
// base class).
#include "crm/contact/api/contact_service.h"

namespace crm::contact::api {

grpc::ServerUnaryReactor* ContactServiceImpl::CreateRelationship(
    grpc::CallbackServerContext* call,
    const v1::CreateRelationshipRequest* request,
    v1::CreateRelationshipResponse* response) {
  return v1::ContactService::CallbackService::CreateRelationship(call, request,
                                                                 response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::ListRelationships(
    grpc::CallbackServerContext* call,
    const v1::ListRelationshipsRequest* request,
    v1::ListRelationshipsResponse* response) {
  return v1::ContactService::CallbackService::ListRelationships(call, request,
                                                                response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::UpdateRelationship(
    grpc::CallbackServerContext* call,
    const v1::UpdateRelationshipRequest* request,
    v1::UpdateRelationshipResponse* response) {
  return v1::ContactService::CallbackService::UpdateRelationship(call, request,
                                                                 response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::DeleteRelationship(
    grpc::CallbackServerContext* call,
    const v1::DeleteRelationshipRequest* request,
    v1::DeleteRelationshipResponse* response) {
  return v1::ContactService::CallbackService::DeleteRelationship(call, request,
                                                                 response);
}

}  // namespace crm::contact::api
