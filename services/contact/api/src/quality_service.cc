// Data quality: duplicates, merges, incomplete records: the ContactService RPCs
// of this area (contact_service.h). NOT BUILT YET: each answers UNIMPLEMENTED
// (the generated base class).
#include "crm/contact/api/contact_service.h"

namespace crm::contact::api {

grpc::ServerUnaryReactor* ContactServiceImpl::FindDuplicateContacts(
    grpc::CallbackServerContext* call,
    const v1::FindDuplicateContactsRequest* request,
    v1::FindDuplicateContactsResponse* response) {
  return v1::ContactService::CallbackService::FindDuplicateContacts(
      call, request, response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::FindDuplicateAccounts(
    grpc::CallbackServerContext* call,
    const v1::FindDuplicateAccountsRequest* request,
    v1::FindDuplicateAccountsResponse* response) {
  return v1::ContactService::CallbackService::FindDuplicateAccounts(
      call, request, response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::MergeContacts(
    grpc::CallbackServerContext* call, const v1::MergeContactsRequest* request,
    v1::MergeContactsResponse* response) {
  return v1::ContactService::CallbackService::MergeContacts(call, request,
                                                            response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::UnmergeContacts(
    grpc::CallbackServerContext* call,
    const v1::UnmergeContactsRequest* request,
    v1::UnmergeContactsResponse* response) {
  return v1::ContactService::CallbackService::UnmergeContacts(call, request,
                                                              response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::MergeAccounts(
    grpc::CallbackServerContext* call, const v1::MergeAccountsRequest* request,
    v1::MergeAccountsResponse* response) {
  return v1::ContactService::CallbackService::MergeAccounts(call, request,
                                                            response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::UnmergeAccounts(
    grpc::CallbackServerContext* call,
    const v1::UnmergeAccountsRequest* request,
    v1::UnmergeAccountsResponse* response) {
  return v1::ContactService::CallbackService::UnmergeAccounts(call, request,
                                                              response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::ListIncompleteRecords(
    grpc::CallbackServerContext* call,
    const v1::ListIncompleteRecordsRequest* request,
    v1::ListIncompleteRecordsResponse* response) {
  return v1::ContactService::CallbackService::ListIncompleteRecords(
      call, request, response);
}

}  // namespace crm::contact::api
