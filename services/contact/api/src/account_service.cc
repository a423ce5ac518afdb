// Accounts: the ContactService RPCs of this area (contact_service.h).
// NOT BUILT YET: each answers UNIMPLEMENTED (the generated base class).
#include "crm/contact/api/contact_service.h"

namespace crm::contact::api {

grpc::ServerUnaryReactor* ContactServiceImpl::CreateAccount(
    grpc::CallbackServerContext* call, const v1::CreateAccountRequest* request,
    v1::CreateAccountResponse* response) {
  return v1::ContactService::CallbackService::CreateAccount(call, request,
                                                            response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::GetAccount(
    grpc::CallbackServerContext* call, const v1::GetAccountRequest* request,
    v1::Account* response) {
  return v1::ContactService::CallbackService::GetAccount(call, request,
                                                         response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::ListAccounts(
    grpc::CallbackServerContext* call, const v1::ListAccountsRequest* request,
    v1::ListAccountsResponse* response) {
  return v1::ContactService::CallbackService::ListAccounts(call, request,
                                                           response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::UpdateAccount(
    grpc::CallbackServerContext* call, const v1::UpdateAccountRequest* request,
    v1::UpdateAccountResponse* response) {
  return v1::ContactService::CallbackService::UpdateAccount(call, request,
                                                            response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::DeleteAccount(
    grpc::CallbackServerContext* call, const v1::DeleteAccountRequest* request,
    v1::DeleteAccountResponse* response) {
  return v1::ContactService::CallbackService::DeleteAccount(call, request,
                                                            response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::UndeleteAccount(
    grpc::CallbackServerContext* call,
    const v1::UndeleteAccountRequest* request,
    v1::UndeleteAccountResponse* response) {
  return v1::ContactService::CallbackService::UndeleteAccount(call, request,
                                                              response);
}

}  // namespace crm::contact::api
