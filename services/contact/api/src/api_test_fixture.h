// The API tests' fixture: ContactService over gRPC in process, on
// 127.0.0.1:0 through ServiceHost, with a real event store (and key store)
// in a temporary directory, and the projections of
// ContactServiceProjections(). Each area's test file derives its fixture:
//   class AccountApiTest : public ContactApiFixture {};
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/api/store_key_provider.h"
#include "crm/contact/crypto/aes_gcm_sealer.h"
#include "crm/contact/projections/service_projections.h"
#include "crm/server/metrics.h"
#include "crm/server/readiness.h"
#include "crm/server/service_host.h"
#include "crm/testing/status_matchers.h"
#include "fmt/format.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace crm::contact::api {

class ContactApiFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           fmt::format("contact_api_{}_{}", getpid(),
                       absl::ToUnixNanos(absl::Now()));
    ASSERT_OK_AND_ASSIGN(metrics_, server::MetricsEndpoint::Start(
                                       server::HostPort{"127.0.0.1", 0}));
    Start(1);
  }

  void TearDown() override {
    Stop();
    metrics_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Starts everything on dir_, contacts_by_id at `by_id_version`,
  // contact_list at `list_version` (0: its current version).
  void Start(uint32_t by_id_version = 1, uint32_t list_version = 0) {
    eventstore::EventStore::Options options;
    options.path = (dir_ / "store").string();
    options.extra_column_families = {kKeyColumnFamily};
    options.commit_hook = KeyErasureCommitHook([this] { return store_.get(); });
    ASSERT_OK_AND_ASSIGN(store_, eventstore::EventStore::Open(options));
    keys_ = std::make_unique<StoreKeyProvider>(store_.get());
    sealer_ = std::make_unique<AesGcmSealer>(keys_.get());
    projections::ProjectionOptions projection_options;
    projection_options.contacts_by_id_version = by_id_version;
    projection_options.contact_list_version = list_version;
    ASSERT_OK_AND_ASSIGN(engine_,
                         projection::ProjectionEngine::Start(
                             *store_, projections::ContactServiceProjections(
                                          sealer_.get(), projection_options)));
    // As a client waits for SERVING (health is gated on this): until the
    // projections are live, reads answer UNAVAILABLE ("being built").
    const absl::Time ready_deadline = absl::Now() + absl::Seconds(30);
    absl::Status ready = server::ProjectionsReady(*engine_);
    while (!ready.ok() && absl::Now() < ready_deadline) {
      absl::SleepFor(absl::Milliseconds(5));
      ready = server::ProjectionsReady(*engine_);
    }
    ASSERT_OK(ready);
    service_ = std::make_unique<ContactServiceImpl>(*store_, *engine_, *sealer_,
                                                    service_options_);
    server::ServerConfig config;
    config.service = "contact";
    config.grpc_listen = server::HostPort{"127.0.0.1", 0};
    config.metrics_listen = metrics_->address();
    config.shutdown_grace = absl::Seconds(5);
    server::ServiceHost::Options host_options;
    host_options.services = {service_.get()};
    host_options.handle_signals = false;
    host_options.on_shutdown = {
        [service = service_.get()] { service->EndStreams(); }};
    ASSERT_OK_AND_ASSIGN(
        host_,
        server::ServiceHost::Start(config, *metrics_, std::move(host_options)));
    stub_ = v1::ContactService::NewStub(grpc::CreateChannel(
        host_->grpc_address().ToString(), grpc::InsecureChannelCredentials()));
  }

  void Stop() {
    stub_.reset();
    host_.reset();
    service_.reset();
    engine_.reset();
    sealer_.reset();
    keys_.reset();
    store_.reset();
  }

  static std::unique_ptr<grpc::ClientContext> Context(
      const std::string& tenant = "acme", const std::string& actor = "u1") {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    if (!tenant.empty()) context->AddMetadata(kTenantKey, tenant);
    if (!actor.empty()) context->AddMetadata(kActorKey, actor);
    return context;
  }

  static v1::Contact Person(const std::string& given, const std::string& family,
                            const std::string& email = "") {
    v1::Contact contact;
    contact.set_given_name(given);
    contact.set_family_name(family);
    if (!email.empty()) contact.add_emails()->set_address(email);
    return contact;
  }

  grpc::Status Create(const v1::Contact& contact,
                      v1::CreateContactResponse* response,
                      const std::string& tenant = "acme",
                      const std::string& request_id = "") {
    v1::CreateContactRequest request;
    *request.mutable_contact() = contact;
    request.mutable_context()->set_request_id(request_id);
    return stub_->CreateContact(Context(tenant).get(), request, response);
  }

  v1::Contact MustCreate(const v1::Contact& contact,
                         const std::string& tenant = "acme") {
    v1::CreateContactResponse response;
    const grpc::Status status = Create(contact, &response, tenant);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.contact();
  }

  grpc::Status Get(const std::string& name, v1::Contact* contact,
                   const std::string& tenant = "acme") {
    v1::GetContactRequest request;
    request.set_name(name);
    return stub_->GetContact(Context(tenant).get(), request, contact);
  }

  // Every page of a list, at most 100 pages.
  std::vector<std::string> ListAll(v1::ListContactsRequest request,
                                   int page_size) {
    std::vector<std::string> names;
    request.mutable_page()->set_page_size(page_size);
    for (int page = 0; page < 100; ++page) {
      v1::ListContactsResponse response;
      const grpc::Status status =
          stub_->ListContacts(Context().get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      for (const v1::Contact& c : response.contacts())
        names.push_back(c.name());
      if (response.page().next_page_token().empty()) break;
      request.mutable_page()->set_page_token(response.page().next_page_token());
    }
    return names;
  }

  std::filesystem::path dir_;
  std::unique_ptr<server::MetricsEndpoint> metrics_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<StoreKeyProvider> keys_;
  std::unique_ptr<AesGcmSealer> sealer_;
  std::unique_ptr<projection::ProjectionEngine> engine_;
  std::unique_ptr<ContactServiceImpl> service_;
  std::unique_ptr<server::ServiceHost> host_;
  std::unique_ptr<v1::ContactService::Stub> stub_;
  // The service's options at the next Start.
  ContactServiceImpl::Options service_options_;
};

}  // namespace crm::contact::api
