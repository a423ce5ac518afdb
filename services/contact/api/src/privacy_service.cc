// Personal data: consent, export, erasure: the ContactService RPCs of this area
// (contact_service.h). NOT BUILT YET: each answers UNIMPLEMENTED (the generated
// base class).
#include "crm/contact/api/contact_service.h"

namespace crm::contact::api {

grpc::ServerUnaryReactor* ContactServiceImpl::GiveConsent(
    grpc::CallbackServerContext* call, const v1::GiveConsentRequest* request,
    v1::GiveConsentResponse* response) {
  return v1::ContactService::CallbackService::GiveConsent(call, request,
                                                          response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::WithdrawConsent(
    grpc::CallbackServerContext* call,
    const v1::WithdrawConsentRequest* request,
    v1::WithdrawConsentResponse* response) {
  return v1::ContactService::CallbackService::WithdrawConsent(call, request,
                                                              response);
}

grpc::ServerUnaryReactor* ContactServiceImpl::ListConsents(
    grpc::CallbackServerContext* call, const v1::ListConsentsRequest* request,
    v1::ListConsentsResponse* response) {
  return v1::ContactService::CallbackService::ListConsents(call, request,
                                                           response);
}

grpc::ServerWriteReactor<v1::PersonalDataExportPart>*
ContactServiceImpl::ExportPersonalData(
    grpc::CallbackServerContext* call,
    const v1::ExportPersonalDataRequest* request) {
  return v1::ContactService::CallbackService::ExportPersonalData(call, request);
}

grpc::ServerUnaryReactor* ContactServiceImpl::EraseContact(
    grpc::CallbackServerContext* call, const v1::EraseContactRequest* request,
    v1::EraseContactResponse* response) {
  return v1::ContactService::CallbackService::EraseContact(call, request,
                                                           response);
}

}  // namespace crm::contact::api
