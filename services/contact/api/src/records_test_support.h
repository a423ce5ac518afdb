// Test helpers of the accounts, relationships and activities API tests:
// creating accounts, and merging or unmerging two records straight through
// the domain and the store (the merge RPCs are another area's), so the read
// models' handling of merges can be tested on its own.
#pragma once

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "api_test_fixture.h"
#include "crm/contact/domain/account.h"
#include "crm/contact/domain/contact.h"
#include "crm/contact/domain/event_codec.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/projections/account_projections.h"
#include "service_support.h"

namespace crm::contact::api {

class RecordsApiFixture : public ContactApiFixture {
 protected:
  static v1::Account Company(const std::string& display_name,
                             const std::string& website = "") {
    v1::Account account;
    account.set_display_name(display_name);
    account.set_website(website);
    return account;
  }

  grpc::Status CreateAccount(const v1::Account& account,
                             v1::CreateAccountResponse* response,
                             const std::string& tenant = "acme",
                             const std::string& request_id = "") {
    v1::CreateAccountRequest request;
    *request.mutable_account() = account;
    request.mutable_context()->set_request_id(request_id);
    return stub_->CreateAccount(Context(tenant).get(), request, response);
  }

  v1::Account MustCreateAccount(const v1::Account& account,
                                const std::string& tenant = "acme") {
    v1::CreateAccountResponse response;
    const grpc::Status status = CreateAccount(account, &response, tenant);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.account();
  }

  // The id in a resource name ("contacts/<id>" ...).
  static std::string IdIn(const std::string& name) {
    return name.substr(name.find('/') + 1);
  }

  // Merges `merged` into `survivor` (resource names of two contacts, or of
  // two accounts) as MergeContacts / MergeAccounts will: the domain's
  // DecideMerge, one atomic append of both streams. Returns the position.
  uint64_t Merge(const std::string& survivor, const std::string& merged,
                 bool undo = false) {
    ServiceDeps deps{*store_, *engine_, *sealer_, {}};
    CommandContext context;
    context.tenant = "acme";
    context.actor = "u1";
    context.now = absl::Now();
    std::vector<EncodedEvent> survivor_events;
    std::vector<EncodedEvent> merged_events;
    std::string survivor_stream;
    std::string merged_stream;
    uint64_t survivor_version = 0;
    uint64_t merged_version = 0;
    if (survivor.starts_with("contacts/")) {
      auto s = Load<ContactAggregate>(deps, IdIn(survivor));
      auto m = Load<ContactAggregate>(deps, IdIn(merged));
      EXPECT_TRUE(s.ok() && m.ok());
      absl::StatusOr<ContactPairEvents> events =
          undo ? DecideUnmerge(*s, *m, {IdIn(survivor), IdIn(merged)}, context,
                               *sealer_)
               : DecideMerge(*s, *m, {IdIn(survivor), IdIn(merged), {}},
                             context, *sealer_);
      EXPECT_TRUE(events.ok()) << events.status();
      if (!events.ok()) return 0;
      for (const auto& e : events->survivor_events)
        survivor_events.push_back(EncodeEvent(e));
      for (const auto& e : events->merged_events)
        merged_events.push_back(EncodeEvent(e));
      survivor_stream = ContactStream(IdIn(survivor));
      merged_stream = ContactStream(IdIn(merged));
      survivor_version = s->version;
      merged_version = m->version;
    } else {
      auto s = Load<AccountAggregate>(deps, IdIn(survivor));
      auto m = Load<AccountAggregate>(deps, IdIn(merged));
      EXPECT_TRUE(s.ok() && m.ok());
      absl::StatusOr<AccountPairEvents> events =
          undo ? DecideUnmerge(*s, *m, {IdIn(survivor), IdIn(merged)}, context)
               : DecideMerge(*s, *m, {IdIn(survivor), IdIn(merged), {}},
                             context);
      EXPECT_TRUE(events.ok()) << events.status();
      if (!events.ok()) return 0;
      for (const auto& e : events->survivor_events)
        survivor_events.push_back(EncodeEvent(e));
      for (const auto& e : events->merged_events)
        merged_events.push_back(EncodeEvent(e));
      survivor_stream = AccountStream(IdIn(survivor));
      merged_stream = AccountStream(IdIn(merged));
      survivor_version = s->version;
      merged_version = m->version;
    }
    std::vector<eventstore::StreamAppend> appends(2);
    appends[0].stream = survivor_stream;
    appends[0].expected_version =
        eventstore::ExpectedVersion::Exact(survivor_version);
    appends[0].events = Envelopes(context, survivor_events);
    appends[1].stream = merged_stream;
    appends[1].expected_version =
        eventstore::ExpectedVersion::Exact(merged_version);
    appends[1].events = Envelopes(context, merged_events);
    absl::StatusOr<eventstore::AppendResult> appended =
        store_->AppendMulti(std::move(appends), "");
    EXPECT_TRUE(appended.ok()) << appended.status();
    if (!appended.ok()) return 0;
    EXPECT_OK(engine_->WaitForPosition(projections::kAccountsByIdProjection,
                                       appended->last_position,
                                       absl::Seconds(5)));
    return appended->last_position;
  }

 private:
  static std::vector<eventstore::Envelope> Envelopes(
      const CommandContext& context, const std::vector<EncodedEvent>& events) {
    std::vector<eventstore::Envelope> out;
    for (const EncodedEvent& event : events) {
      eventstore::Envelope& envelope = out.emplace_back();
      FillEnvelope(event, &envelope);
      envelope.set_tenant(context.tenant);
      envelope.set_actor(context.actor);
      *envelope.mutable_occurred_at() = ToTimestamp(context.now);
    }
    return out;
  }
};

}  // namespace crm::contact::api
