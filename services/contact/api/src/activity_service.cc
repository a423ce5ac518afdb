// Activities: the ContactService RPCs of this area (contact_service.h).
// NOT BUILT YET: each answers UNIMPLEMENTED (the generated base class).
#include "crm/contact/api/contact_service.h"

namespace crm::contact::api {

grpc::ServerUnaryReactor* ContactServiceImpl::CreateActivity(
    grpc::CallbackServerContext* call, const v1::CreateActivityRequest* request,
    v1::CreateActivityResponse* response) {
  return v1::ContactService::CallbackService::CreateActivity(call, request,
                                                             response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::GetActivity(
    grpc::CallbackServerContext* call, const v1::GetActivityRequest* request,
    v1::Activity* response) {
  return v1::ContactService::CallbackService::GetActivity(call, request,
                                                          response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::ListActivities(
    grpc::CallbackServerContext* call, const v1::ListActivitiesRequest* request,
    v1::ListActivitiesResponse* response) {
  return v1::ContactService::CallbackService::ListActivities(call, request,
                                                             response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::UpdateActivity(
    grpc::CallbackServerContext* call, const v1::UpdateActivityRequest* request,
    v1::UpdateActivityResponse* response) {
  return v1::ContactService::CallbackService::UpdateActivity(call, request,
                                                             response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::CompleteActivity(
    grpc::CallbackServerContext* call,
    const v1::CompleteActivityRequest* request,
    v1::CompleteActivityResponse* response) {
  return v1::ContactService::CallbackService::CompleteActivity(call, request,
                                                               response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::ReopenActivity(
    grpc::CallbackServerContext* call, const v1::ReopenActivityRequest* request,
    v1::ReopenActivityResponse* response) {
  return v1::ContactService::CallbackService::ReopenActivity(call, request,
                                                             response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::DeleteActivity(
    grpc::CallbackServerContext* call, const v1::DeleteActivityRequest* request,
    v1::DeleteActivityResponse* response) {
  return v1::ContactService::CallbackService::DeleteActivity(call, request,
                                                             response);
}

}  // namespace crm::contact::api
