// ContactService over gRPC in process: The change feed (WatchEvents)
// (watch_service.cc).
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api_test_fixture.h"
#include "crm/contact/domain/ids.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::contact::api {
namespace {

using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// What a client has read of a feed so far.
struct Received {
  std::vector<common::v1::EventEnvelope> events;
  uint64_t heartbeat = 0;  // The last heartbeat position.
  int heartbeats = 0;
};

class WatchApiTest : public ContactApiFixture {
 protected:
  struct Feed {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::WatchEventsResponse>> reader;
    Received received;
  };

  Feed Open(const v1::WatchEventsRequest& request,
            const std::string& tenant = "acme") {
    Feed feed;
    feed.context = Context(tenant);
    feed.reader = stub_->WatchEvents(feed.context.get(), request);
    return feed;
  }

  // Reads until `done` holds (true) or the stream ends (false); at most 1000
  // messages, each bounded by the context's deadline.
  static bool ReadUntil(Feed& feed,
                        const std::function<bool(const Received&)>& done) {
    for (int i = 0; i < 1000 && !done(feed.received); ++i) {
      v1::WatchEventsResponse response;
      if (!feed.reader->Read(&response)) return false;
      if (response.has_event()) {
        feed.received.events.push_back(response.event());
      } else {
        feed.received.heartbeat = response.heartbeat_position();
        ++feed.received.heartbeats;
      }
    }
    return done(feed.received);
  }

  // Reads until a heartbeat shows every event up to the store's last
  // position examined.
  bool ReadAllStored(Feed& feed) {
    const uint64_t last = store_->LastPosition();
    return ReadUntil(feed,
                     [last](const Received& r) { return r.heartbeat >= last; });
  }

  static std::vector<std::string> Types(const Received& received) {
    std::vector<std::string> types;
    for (const auto& event : received.events) types.push_back(event.type());
    return types;
  }

  static std::string StreamOf(const v1::Contact& contact) {
    return ContactStream(
        ParseResourceName(RecordType::kContact, contact.name()).value());
  }
};

TEST_F(WatchApiTest, WatchCatchesUpThenFollowsLiveAppends) {
  v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  MustCreate(Person("Grace", "Hopper"));
  Feed feed = Open(v1::WatchEventsRequest());
  ASSERT_TRUE(
      ReadUntil(feed, [](const Received& r) { return r.events.size() >= 2; }));
  EXPECT_EQ(feed.received.events[0].stream(), StreamOf(ada));
  EXPECT_EQ(feed.received.events[0].type(), "crm.contact.v1.ContactCreated");
  EXPECT_FALSE(feed.received.events[0].payload().empty());

  v1::Contact live = MustCreate(Person("Katherine", "Johnson"));
  ASSERT_TRUE(
      ReadUntil(feed, [](const Received& r) { return r.events.size() >= 3; }));
  EXPECT_EQ(feed.received.events[2].stream(), StreamOf(live));
  EXPECT_LT(feed.received.events[0].global_position(),
            feed.received.events[1].global_position());
  EXPECT_LT(feed.received.events[1].global_position(),
            feed.received.events[2].global_position());

  // From a position: only what follows it.
  v1::WatchEventsRequest request;
  request.set_after_position(feed.received.events[1].global_position());
  Feed later = Open(request);
  ASSERT_TRUE(ReadAllStored(later));
  ASSERT_EQ(later.received.events.size(), 1u);
  EXPECT_EQ(later.received.events[0].stream(), StreamOf(live));
}

TEST_F(WatchApiTest, WatchSendsOnlyTheCallersTenantsEvents) {
  MustCreate(Person("Ada", "Lovelace"), "globex");
  MustCreate(Person("Grace", "Hopper"), "globex");
  v1::Contact own = MustCreate(Person("Katherine", "Johnson"));

  Feed feed = Open(v1::WatchEventsRequest());
  ASSERT_TRUE(ReadAllStored(feed));
  MustCreate(Person("Mary", "Jackson"), "globex");
  ASSERT_TRUE(ReadAllStored(feed));  // Live ones of globex: filtered too.
  ASSERT_EQ(feed.received.events.size(), 1u);
  EXPECT_EQ(feed.received.events[0].stream(), StreamOf(own));
  std::vector<std::string> tenants;
  for (const auto& e : feed.received.events) tenants.push_back(e.tenant());
  EXPECT_THAT(tenants, Each("acme"));
}

TEST_F(WatchApiTest, WatchFiltersByTypeAndStream) {
  v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::Contact grace = MustCreate(Person("Grace", "Hopper"));
  v1::UpdateContactRequest update;
  *update.mutable_contact() = Person("Augusta", "");
  update.mutable_contact()->set_name(ada.name());
  update.mutable_update_mask()->add_paths("given_name");
  v1::UpdateContactResponse updated;
  ASSERT_TRUE(stub_->UpdateContact(Context().get(), update, &updated).ok());

  v1::WatchEventsRequest by_type;
  by_type.add_types("crm.contact.v1.ContactUpdated");
  Feed typed = Open(by_type);
  ASSERT_TRUE(ReadAllStored(typed));
  EXPECT_THAT(Types(typed.received),
              ElementsAre("crm.contact.v1.ContactUpdated"));

  v1::WatchEventsRequest by_stream;
  by_stream.add_streams(StreamOf(grace));
  Feed streamed = Open(by_stream);
  ASSERT_TRUE(ReadAllStored(streamed));
  ASSERT_EQ(streamed.received.events.size(), 1u);
  EXPECT_EQ(streamed.received.events[0].stream(), StreamOf(grace));
}

TEST_F(WatchApiTest, WatchSendsHeartbeatsWhileIdle) {
  MustCreate(Person("Ada", "Lovelace"));
  Feed feed = Open(v1::WatchEventsRequest());
  ASSERT_TRUE(
      ReadUntil(feed, [](const Received& r) { return r.heartbeats >= 2; }));
  EXPECT_EQ(feed.received.heartbeat, store_->LastPosition());
  EXPECT_EQ(feed.received.events.size(), 1u);
}

TEST_F(WatchApiTest, WatchRefusesBadRequestsAndUnknownCallers) {
  v1::WatchEventsRequest request;
  for (int i = 0; i < 101; ++i) request.add_types(fmt::format("t{}", i));
  Feed feed = Open(request);
  EXPECT_FALSE(ReadUntil(feed, [](const Received&) { return false; }));
  EXPECT_EQ(feed.reader->Finish().error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  Feed anonymous = Open(v1::WatchEventsRequest(), "");
  EXPECT_FALSE(ReadUntil(anonymous, [](const Received&) { return false; }));
  EXPECT_EQ(anonymous.reader->Finish().error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(WatchApiTest, CancelEndsTheStream) {
  MustCreate(Person("Ada", "Lovelace"));
  Feed feed = Open(v1::WatchEventsRequest());
  ASSERT_TRUE(ReadAllStored(feed));
  feed.context->TryCancel();
  EXPECT_FALSE(ReadUntil(feed, [](const Received&) { return false; }));
  EXPECT_EQ(feed.reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The server goes on serving new feeds.
  Feed next = Open(v1::WatchEventsRequest());
  EXPECT_TRUE(ReadAllStored(next));
}

TEST_F(WatchApiTest, ShutdownEndsOpenStreamsInsteadOfWaitingForTheDrain) {
  MustCreate(Person("Ada", "Lovelace"));
  Feed feed = Open(v1::WatchEventsRequest());
  ASSERT_TRUE(ReadAllStored(feed));

  std::thread stopper([this] { host_.reset(); });
  EXPECT_FALSE(ReadUntil(feed, [](const Received&) { return false; }));
  const grpc::Status status = feed.reader->Finish();
  stopper.join();
  // Ended by the service (not cancelled at the drain deadline, 5 s).
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("shutting down"));
}

}  // namespace
}  // namespace crm::contact::api
