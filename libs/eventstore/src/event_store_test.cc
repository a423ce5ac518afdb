// Behaviour of every EventStore operation, including each error, on a real
// RocksDB store in a temporary directory.
#include "crm/eventstore/event_store.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "key_encoding.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "store_test_util.h"

namespace crm::eventstore {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using Code = absl::StatusCode;

Envelope Event(std::string type, std::string payload = "p") {
  Envelope event;
  event.set_type(std::move(type));
  event.set_payload(std::move(payload));
  return event;
}

std::vector<Envelope> Events(int count, const std::string& prefix = "e") {
  std::vector<Envelope> events;
  events.reserve(count);
  for (int i = 0; i < count; ++i) {
    events.push_back(Event("test.Happened", absl::StrCat(prefix, i)));
  }
  return events;
}

std::vector<std::string> Payloads(const std::vector<Envelope>& events) {
  std::vector<std::string> payloads;
  payloads.reserve(events.size());
  for (const Envelope& event : events) payloads.push_back(event.payload());
  return payloads;
}

class EventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.path = (dir_.path() / "store").string();
    options_.clock = [this] { return now_; };
    Reopen();
  }
  void TearDown() override { store_.reset(); }
  void Reopen() {
    store_.reset();
    auto opened = EventStore::Open(options_);
    ASSERT_THAT(opened, IsOk());
    store_ = std::move(opened).value();
  }

  test_util::ScratchDir dir_{"event_store_test"};
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  EventStore::Options options_;
  std::unique_ptr<EventStore> store_;
};

TEST_F(EventStoreTest, AppendAssignsVersionsPositionsAndStoreFields) {
  ASSERT_OK_AND_ASSIGN(
      AppendResult first,
      store_->Append("contact-1", ExpectedVersion::NoStream(), Events(2)));
  ASSERT_THAT(first.streams, SizeIs(1));
  EXPECT_EQ(first.streams[0].first_version, 1u);
  EXPECT_EQ(first.streams[0].last_version, 2u);
  EXPECT_EQ(first.first_position, 1u);
  EXPECT_EQ(first.last_position, 2u);
  EXPECT_FALSE(first.deduplicated);

  ASSERT_OK_AND_ASSIGN(
      AppendResult second,
      store_->Append("contact-2", ExpectedVersion::Any(), Events(1)));
  EXPECT_EQ(second.first_position, 3u);
  EXPECT_EQ(store_->LastPosition(), 3u);

  ASSERT_OK_AND_ASSIGN(
      StreamSlice slice,
      store_->ReadStream("contact-1", Direction::kForward, 1, 10));
  ASSERT_THAT(slice.events, SizeIs(2));
  const Envelope& event = slice.events[1];
  EXPECT_EQ(event.stream(), "contact-1");
  EXPECT_EQ(event.stream_version(), 2u);
  EXPECT_EQ(event.global_position(), 2u);
  EXPECT_EQ(event.schema_version(), 1u);
  EXPECT_EQ(event.recorded_at().seconds(), 1'700'000'000);
  // A generated event_id is a random (version 4, variant 10xx) UUID.
  EXPECT_THAT(event.event_id(),
              ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
                                      "[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_NE(slice.events[0].event_id(), event.event_id());
}

TEST_F(EventStoreTest, AppendKeepsCallerFieldsAndOverwritesStoreOwnedOnes) {
  Envelope event = Event("crm.contact.v1.ContactCreated", "payload");
  event.set_event_id("0b6c2f4e-7a1d-4c55-9a4e-2f1d3c4b5a69");
  event.set_schema_version(3);
  event.set_correlation_id("corr");
  event.set_causation_id("cause");
  event.set_actor("user-7");
  event.set_tenant("acme");
  event.mutable_occurred_at()->set_seconds(42);
  event.set_stream("ignored");
  event.set_global_position(999);
  ASSERT_THAT(store_->Append("contact-1", ExpectedVersion::Any(), {event}),
              IsOk());
  ASSERT_OK_AND_ASSIGN(AllSlice all, store_->ReadAll(1, 10));
  ASSERT_THAT(all.events, SizeIs(1));
  const Envelope& stored = all.events[0];
  EXPECT_EQ(stored.event_id(), "0b6c2f4e-7a1d-4c55-9a4e-2f1d3c4b5a69");
  EXPECT_EQ(stored.schema_version(), 3u);
  EXPECT_EQ(stored.correlation_id(), "corr");
  EXPECT_EQ(stored.causation_id(), "cause");
  EXPECT_EQ(stored.actor(), "user-7");
  EXPECT_EQ(stored.tenant(), "acme");
  EXPECT_EQ(stored.occurred_at().seconds(), 42);
  EXPECT_EQ(stored.stream(), "contact-1");
  EXPECT_EQ(stored.global_position(), 1u);
}

TEST_F(EventStoreTest, AppendChecksEachExpectedVersionKind) {
  EXPECT_THAT(store_->Append("s", ExpectedVersion::StreamExists(), Events(1)),
              StatusIs(Code::kAborted));
  EXPECT_THAT(store_->Append("s", ExpectedVersion::Exact(1), Events(1)),
              StatusIs(Code::kAborted));
  ASSERT_THAT(store_->Append("s", ExpectedVersion::NoStream(), Events(1)),
              IsOk());
  EXPECT_THAT(store_->Append("s", ExpectedVersion::NoStream(), Events(1)),
              StatusIs(Code::kAborted));
  EXPECT_THAT(store_->Append("s", ExpectedVersion::StreamExists(), Events(1)),
              IsOk());
  EXPECT_THAT(store_->Append("s", ExpectedVersion::Exact(2), Events(1)),
              IsOk());
  EXPECT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(1)), IsOk());
  ASSERT_OK_AND_ASSIGN(StreamInfo info, store_->GetStreamInfo("s"));
  EXPECT_EQ(info.last_version, 4u);
}

TEST_F(EventStoreTest,
       WrongExpectedVersionCarriesActualVersionAndAppendsNothing) {
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(3)), IsOk());
  absl::StatusOr<AppendResult> result =
      store_->Append("s", ExpectedVersion::Exact(1), Events(2));
  EXPECT_THAT(result, StatusIs(Code::kAborted,
                               AllOf(HasSubstr("'s'"), HasSubstr("version 3"),
                                     HasSubstr("expected version 1"))));
  EXPECT_EQ(ActualVersion(result.status()), 3u);
  EXPECT_EQ(ActualVersion(absl::AbortedError("other")), std::nullopt);
  EXPECT_EQ(store_->LastPosition(), 3u);
  EXPECT_EQ(store_->stats().conflicts, 1u);
}

TEST_F(EventStoreTest, MultiStreamAppendCommitsAllOrNothing) {
  ASSERT_THAT(store_->Append("account-1", ExpectedVersion::Any(), Events(1)),
              IsOk());
  std::vector<StreamAppend> conflicting(2);
  conflicting[0] = {"contact-1", ExpectedVersion::NoStream(), Events(2, "c")};
  conflicting[1] = {"account-1", ExpectedVersion::NoStream(), Events(1, "a")};
  EXPECT_THAT(store_->AppendMulti(conflicting), StatusIs(Code::kAborted));
  EXPECT_THAT(store_->ReadStream("contact-1", Direction::kForward, 1, 10),
              StatusIs(Code::kNotFound));
  EXPECT_EQ(store_->LastPosition(), 1u);

  std::vector<StreamAppend> good(2);
  good[0] = {"contact-1", ExpectedVersion::NoStream(), Events(2, "c")};
  good[1] = {"account-1", ExpectedVersion::Exact(1), Events(1, "a")};
  ASSERT_OK_AND_ASSIGN(AppendResult result, store_->AppendMulti(good));
  ASSERT_THAT(result.streams, SizeIs(2));
  EXPECT_EQ(result.streams[0].stream, "contact-1");
  EXPECT_EQ(result.streams[0].last_version, 2u);
  EXPECT_EQ(result.streams[1].first_version, 2u);
  EXPECT_EQ(result.first_position, 2u);
  EXPECT_EQ(result.last_position, 4u);
  ASSERT_OK_AND_ASSIGN(AllSlice all, store_->ReadAll(2, 10));
  EXPECT_THAT(Payloads(all.events), ElementsAre("c0", "c1", "a0"));
}

TEST_F(EventStoreTest,
       RetryWithSameRequestIdReturnsFirstResultAndWritesNothing) {
  ASSERT_OK_AND_ASSIGN(
      AppendResult first,
      store_->Append("s", ExpectedVersion::NoStream(), Events(2), "req-1"));
  // The retry's expected version no longer holds, yet it is answered from
  // the stored result, as a client retrying after a lost reply needs.
  ASSERT_OK_AND_ASSIGN(
      AppendResult retry,
      store_->Append("s", ExpectedVersion::NoStream(), Events(2), "req-1"));
  EXPECT_TRUE(retry.deduplicated);
  EXPECT_EQ(retry.first_position, first.first_position);
  EXPECT_EQ(retry.last_position, first.last_position);
  ASSERT_THAT(retry.streams, SizeIs(1));
  EXPECT_EQ(retry.streams[0].last_version, 2u);
  EXPECT_EQ(store_->LastPosition(), 2u);
  EXPECT_EQ(store_->stats().deduplicated, 1u);

  ASSERT_OK_AND_ASSIGN(std::optional<AppendResult> looked_up,
                       store_->LookupRequest("req-1"));
  ASSERT_TRUE(looked_up.has_value());
  EXPECT_EQ(looked_up->last_position, 2u);
  EXPECT_THAT(store_->LookupRequest("req-unknown"),
              ::crm::testing::IsOkAndHolds(std::nullopt));
}

TEST_F(EventStoreTest, RequestIdWithDifferentContentIsRefused) {
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(1), "req-1"),
              IsOk());
  EXPECT_THAT(
      store_->Append("s", ExpectedVersion::Any(), Events(1, "other"), "req-1"),
      StatusIs(Code::kAlreadyExists, HasSubstr("req-1")));
  EXPECT_THAT(store_->Append("t", ExpectedVersion::Any(), Events(1), "req-1"),
              StatusIs(Code::kAlreadyExists));
  EXPECT_EQ(store_->LastPosition(), 1u);
}

TEST_F(EventStoreTest, RequestIdsSurviveRestartAndExpireAfterWindow) {
  options_.idempotency_window = absl::Hours(1);
  Reopen();
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(1), "req-1"),
              IsOk());
  Reopen();
  ASSERT_OK_AND_ASSIGN(
      AppendResult retry,
      store_->Append("s", ExpectedVersion::Any(), Events(1), "req-1"));
  EXPECT_TRUE(retry.deduplicated);
  EXPECT_EQ(store_->LastPosition(), 1u);

  now_ += absl::Hours(2);
  ASSERT_OK_AND_ASSIGN(
      AppendResult after_window,
      store_->Append("s", ExpectedVersion::Any(), Events(1), "req-1"));
  EXPECT_FALSE(after_window.deduplicated);
  EXPECT_EQ(store_->LastPosition(), 2u);
}

TEST_F(EventStoreTest, FailedAppendDoesNotConsumeItsRequestId) {
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(1)), IsOk());
  EXPECT_THAT(
      store_->Append("s", ExpectedVersion::NoStream(), Events(1), "req-1"),
      StatusIs(Code::kAborted));
  ASSERT_OK_AND_ASSIGN(
      AppendResult result,
      store_->Append("s", ExpectedVersion::Exact(1), Events(1), "req-1"));
  EXPECT_FALSE(result.deduplicated);
}

TEST_F(EventStoreTest, BadInputIsRefusedWithTheFieldNamedAndAppendsNothing) {
  options_.max_event_bytes = 1024;
  options_.max_events_per_append = 5;
  options_.max_stream_name_bytes = 16;
  Reopen();
  Envelope no_type = Event("");
  Envelope bad_id = Event("t");
  bad_id.set_event_id("not-a-uuid");
  Envelope big = Event("t", std::string(2000, 'x'));
  struct Case {
    std::string stream;
    std::vector<Envelope> events;
    std::string request_id;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", Events(1), "", "stream name is empty"},
      {std::string(17, 's'), Events(1), "", "max_stream_name_bytes"},
      {"bad\nname", Events(1), "", "control characters"},
      {"s", {}, "", "has no events"},
      {"s", {no_type}, "", "has no type"},
      {"s", {bad_id}, "", "not-a-uuid"},
      {"s", {big}, "", "max_event_bytes"},
      {"s", Events(6), "", "max_events_per_append"},
      {"s", Events(1), std::string(200, 'r'), "max_request_id_bytes"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(store_->Append(c.stream, ExpectedVersion::Any(), c.events,
                               c.request_id),
                StatusIs(Code::kInvalidArgument, HasSubstr(c.message)))
        << c.message;
  }
  std::vector<StreamAppend> twice(2);
  twice[0] = {"s", ExpectedVersion::Any(), Events(1)};
  twice[1] = {"s", ExpectedVersion::Any(), Events(1)};
  EXPECT_THAT(store_->AppendMulti(twice),
              StatusIs(Code::kInvalidArgument, HasSubstr("named twice")));
  EXPECT_THAT(store_->AppendMulti({}), StatusIs(Code::kInvalidArgument));
  EXPECT_EQ(store_->LastPosition(), 0u);
}

TEST_F(EventStoreTest, ReadsStreamForwardAndBackwardInPages) {
  ASSERT_THAT(store_->Append("other", ExpectedVersion::Any(), Events(2, "o")),
              IsOk());
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(5)), IsOk());

  ASSERT_OK_AND_ASSIGN(StreamSlice page1,
                       store_->ReadStream("s", Direction::kForward, 0, 2));
  EXPECT_THAT(Payloads(page1.events), ElementsAre("e0", "e1"));
  EXPECT_FALSE(page1.end_of_stream);
  EXPECT_EQ(page1.next_version, 3u);
  EXPECT_EQ(page1.last_version, 5u);
  ASSERT_OK_AND_ASSIGN(
      StreamSlice page2,
      store_->ReadStream("s", Direction::kForward, page1.next_version, 10));
  EXPECT_THAT(Payloads(page2.events), ElementsAre("e2", "e3", "e4"));
  EXPECT_TRUE(page2.end_of_stream);

  ASSERT_OK_AND_ASSIGN(StreamSlice back,
                       store_->ReadStream("s", Direction::kBackward,
                                          EventStore::kEndOfStream, 2));
  EXPECT_THAT(Payloads(back.events), ElementsAre("e4", "e3"));
  EXPECT_EQ(back.next_version, 3u);
  EXPECT_FALSE(back.end_of_stream);
  ASSERT_OK_AND_ASSIGN(StreamSlice back2,
                       store_->ReadStream("s", Direction::kBackward, 2, 10));
  EXPECT_THAT(Payloads(back2.events), ElementsAre("e1", "e0"));
  EXPECT_TRUE(back2.end_of_stream);

  ASSERT_OK_AND_ASSIGN(StreamSlice past_end,
                       store_->ReadStream("s", Direction::kForward, 9, 10));
  EXPECT_THAT(past_end.events, SizeIs(0));
  EXPECT_TRUE(past_end.end_of_stream);
}

TEST_F(EventStoreTest, ReadStreamErrors) {
  EXPECT_THAT(store_->ReadStream("missing", Direction::kForward, 1, 10),
              StatusIs(Code::kNotFound, HasSubstr("'missing'")));
  EXPECT_THAT(store_->ReadStream("", Direction::kForward, 1, 10),
              StatusIs(Code::kInvalidArgument));
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(1)), IsOk());
  EXPECT_THAT(store_->ReadStream("s", Direction::kForward, 1, 0),
              StatusIs(Code::kInvalidArgument));
}

TEST_F(EventStoreTest, ReadsAreBoundedByCountAndBytes) {
  options_.max_read_count = 3;
  options_.max_read_bytes = 300;
  Reopen();
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(10)), IsOk());
  ASSERT_OK_AND_ASSIGN(AllSlice all, store_->ReadAll(1, 1000));
  EXPECT_THAT(all.events, SizeIs(3));
  EXPECT_FALSE(all.end_of_log);

  // Each event is over 200 bytes: a page stops at the first event that
  // takes it past 300 bytes.
  ASSERT_THAT(store_->Append("big", ExpectedVersion::Any(),
                             {Event("t", std::string(200, 'x')),
                              Event("t", std::string(200, 'y')),
                              Event("t", std::string(200, 'z'))}),
              IsOk());
  ASSERT_OK_AND_ASSIGN(StreamSlice slice,
                       store_->ReadStream("big", Direction::kForward, 1, 10));
  EXPECT_THAT(slice.events, SizeIs(2));
  EXPECT_FALSE(slice.end_of_stream);
  EXPECT_EQ(slice.next_version, 3u);
  ASSERT_OK_AND_ASSIGN(AllSlice tail, store_->ReadAll(11, 10));
  EXPECT_THAT(tail.events, SizeIs(2));
  EXPECT_EQ(tail.next_position, 13u);
}

TEST_F(EventStoreTest, ReadAllPagesThroughTheWholeLogInOrder) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(store_->Append(absl::StrCat("s", i % 2), ExpectedVersion::Any(),
                               Events(3, absl::StrCat("a", i, "-"))),
                IsOk());
  }
  std::vector<uint64_t> positions;
  uint64_t from = 0;
  for (int page = 0; page < 10; ++page) {
    ASSERT_OK_AND_ASSIGN(AllSlice slice, store_->ReadAll(from, 4));
    for (const Envelope& event : slice.events) {
      positions.push_back(event.global_position());
    }
    from = slice.next_position;
    if (slice.end_of_log) break;
  }
  ASSERT_THAT(positions, SizeIs(15));
  for (size_t i = 0; i < positions.size(); ++i) EXPECT_EQ(positions[i], i + 1);
  ASSERT_OK_AND_ASSIGN(AllSlice empty, store_->ReadAll(16, 4));
  EXPECT_THAT(empty.events, SizeIs(0));
  EXPECT_TRUE(empty.end_of_log);
  EXPECT_EQ(empty.next_position, 16u);
  EXPECT_THAT(store_->ReadAll(1, 0), StatusIs(Code::kInvalidArgument));
}

TEST_F(EventStoreTest, ReadAllIntoReusesTheSliceAndReplacesItsEvents) {
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(5)), IsOk());
  AllSlice slice;
  ASSERT_THAT(store_->ReadAllInto(1, 4, slice), IsOk());
  EXPECT_THAT(Payloads(slice.events), ElementsAre("e0", "e1", "e2", "e3"));
  EXPECT_FALSE(slice.end_of_log);
  // A shorter page replaces every event of the longer one.
  ASSERT_THAT(store_->ReadAllInto(slice.next_position, 4, slice), IsOk());
  EXPECT_THAT(Payloads(slice.events), ElementsAre("e4"));
  EXPECT_EQ(slice.events[0].global_position(), 5u);
  EXPECT_TRUE(slice.end_of_log);
  EXPECT_EQ(slice.next_position, 6u);
  ASSERT_THAT(store_->ReadAllInto(6, 4, slice), IsOk());
  EXPECT_THAT(slice.events, SizeIs(0));
  ASSERT_THAT(store_->ReadAllInto(1, 2, slice), IsOk());
  EXPECT_THAT(store_->ReadAllInto(1, 0, slice),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(slice.events, SizeIs(0));
}

TEST_F(EventStoreTest, ReadAllRawGivesTheStoredEnvelopesAndTheirRoutingFields) {
  ASSERT_THAT(store_->Append("contact-1", ExpectedVersion::Any(), Events(3)),
              IsOk());
  ASSERT_THAT(store_->Append("contact-2", ExpectedVersion::Any(), Events(2)),
              IsOk());
  ASSERT_OK_AND_ASSIGN(AllSlice parsed, store_->ReadAll(1, 10));
  RawSlice raw;
  ASSERT_THAT(store_->ReadAllRawInto(2, 3, raw), IsOk());
  ASSERT_THAT(raw.events, SizeIs(3));
  EXPECT_EQ(raw.next_position, 5u);
  EXPECT_FALSE(raw.end_of_log);
  for (const RawEvent& event : raw.events) {
    const Envelope& expected = parsed.events[event.global_position - 1];
    EXPECT_EQ(event.stream, expected.stream());
    EXPECT_EQ(event.event_id, expected.event_id());
    EXPECT_EQ(event.type, expected.type());
    Envelope decoded;
    ASSERT_TRUE(decoded.ParseFromString(event.envelope));
    EXPECT_EQ(decoded.SerializeAsString(), expected.SerializeAsString());
  }
  // A later, shorter page replaces the events and keeps paging.
  ASSERT_THAT(store_->ReadAllRawInto(raw.next_position, 3, raw), IsOk());
  ASSERT_THAT(raw.events, SizeIs(1));
  EXPECT_EQ(raw.events[0].stream, "contact-2");
  EXPECT_TRUE(raw.end_of_log);
  EXPECT_THAT(store_->ReadAllRawInto(1, 0, raw),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(raw.events, SizeIs(0));
}

TEST_F(EventStoreTest, SubscriptionFollowsTheLogRawFromCatchUpToLive) {
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(3)), IsOk());
  ASSERT_OK_AND_ASSIGN(auto subscription,
                       store_->SubscribeToAll(2, {.max_batch_events = 10}));
  std::vector<RawEvent> batch;
  ASSERT_THAT(subscription->NextRawInto(absl::Seconds(5), batch), IsOk());
  ASSERT_THAT(batch, SizeIs(2));
  EXPECT_EQ(batch[0].global_position, 2u);
  EXPECT_EQ(batch[1].global_position, 3u);
  ASSERT_THAT(subscription->NextRawInto(absl::Milliseconds(10), batch), IsOk());
  EXPECT_THAT(batch, SizeIs(0));
  ASSERT_THAT(store_->Append("t", ExpectedVersion::Any(), Events(1)), IsOk());
  ASSERT_THAT(subscription->NextRawInto(absl::Seconds(5), batch), IsOk());
  ASSERT_THAT(batch, SizeIs(1));
  EXPECT_EQ(batch[0].stream, "t");
  subscription->Cancel();
  EXPECT_THAT(subscription->NextRawInto(absl::Seconds(5), batch),
              StatusIs(Code::kCancelled));
}

TEST_F(EventStoreTest, EverythingSurvivesReopen) {
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(3)), IsOk());
  ASSERT_THAT(store_->SetStreamMetadata("s", {{"owner", "u1"}}), IsOk());
  ASSERT_THAT(store_->WriteSnapshot("s", 2, "state"), IsOk());
  Reopen();
  EXPECT_EQ(store_->LastPosition(), 3u);
  ASSERT_OK_AND_ASSIGN(
      AppendResult next,
      store_->Append("s", ExpectedVersion::Exact(3), Events(1)));
  EXPECT_EQ(next.first_position, 4u);
  ASSERT_OK_AND_ASSIGN(StreamInfo info, store_->GetStreamInfo("s"));
  EXPECT_EQ(info.metadata.at("owner"), "u1");
  ASSERT_OK_AND_ASSIGN(Snapshot snapshot, store_->ReadSnapshot("s"));
  EXPECT_EQ(snapshot.version, 2u);
}

TEST_F(EventStoreTest, StreamInfoAndMetadata) {
  EXPECT_THAT(store_->GetStreamInfo("s"), StatusIs(Code::kNotFound));
  EXPECT_THAT(store_->SetStreamMetadata("s", {{"k", "v"}}),
              StatusIs(Code::kNotFound));
  ASSERT_THAT(store_->Append("x", ExpectedVersion::Any(), Events(1)), IsOk());
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(2)), IsOk());
  ASSERT_OK_AND_ASSIGN(StreamInfo info, store_->GetStreamInfo("s"));
  EXPECT_EQ(info.last_version, 2u);
  EXPECT_EQ(info.last_position, 3u);
  EXPECT_EQ(info.created_at, now_);
  EXPECT_FALSE(info.deleted);
  EXPECT_TRUE(info.metadata.empty());

  ASSERT_THAT(store_->SetStreamMetadata("s", {{"k", "v"}, {"a", "b"}}), IsOk());
  ASSERT_THAT(store_->SetStreamMetadata("s", {{"k", "w"}}), IsOk());
  ASSERT_OK_AND_ASSIGN(info, store_->GetStreamInfo("s"));
  EXPECT_EQ(info.metadata, (std::map<std::string, std::string>{{"k", "w"}}));

  std::map<std::string, std::string> too_many;
  for (int i = 0; i < 65; ++i) too_many[absl::StrCat("k", i)] = "v";
  EXPECT_THAT(store_->SetStreamMetadata("s", too_many),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(store_->SetStreamMetadata("s", {{"", "v"}}),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(store_->SetStreamMetadata("s", {{"k", std::string(2000, 'v')}}),
              StatusIs(Code::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(info, store_->GetStreamInfo("s"));
  EXPECT_EQ(info.metadata.at("k"), "w");
}

TEST_F(EventStoreTest, SoftDeleteHidesTheStreamButKeepsItsEventsForAudit) {
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(2)), IsOk());
  EXPECT_THAT(store_->DeleteStream("s", ExpectedVersion::Exact(1)),
              StatusIs(Code::kAborted));
  EXPECT_THAT(store_->DeleteStream("missing", ExpectedVersion::Any()),
              StatusIs(Code::kNotFound));
  now_ += absl::Minutes(5);
  ASSERT_THAT(store_->DeleteStream("s", ExpectedVersion::Exact(2)), IsOk());

  absl::Status read =
      store_->ReadStream("s", Direction::kForward, 1, 10).status();
  EXPECT_THAT(read, StatusIs(Code::kFailedPrecondition, HasSubstr("deleted")));
  EXPECT_TRUE(IsStreamDeleted(read));
  absl::Status append =
      store_->Append("s", ExpectedVersion::Any(), Events(1)).status();
  EXPECT_TRUE(IsStreamDeleted(append)) << append;
  EXPECT_TRUE(
      IsStreamDeleted(store_->DeleteStream("s", ExpectedVersion::Any())));
  EXPECT_TRUE(IsStreamDeleted(store_->WriteSnapshot("s", 1, "x")));
  EXPECT_TRUE(IsStreamDeleted(store_->ReadSnapshot("s").status()));
  EXPECT_TRUE(IsStreamDeleted(store_->SetStreamMetadata("s", {})));
  EXPECT_FALSE(IsStreamDeleted(absl::FailedPreconditionError("other")));

  ASSERT_OK_AND_ASSIGN(StreamInfo info, store_->GetStreamInfo("s"));
  EXPECT_TRUE(info.deleted);
  EXPECT_EQ(info.deleted_at_version, 2u);
  EXPECT_EQ(info.deleted_at, now_);
  ASSERT_OK_AND_ASSIGN(AllSlice all, store_->ReadAll(1, 10));
  EXPECT_THAT(all.events, SizeIs(2));
  Reopen();
  EXPECT_TRUE(IsStreamDeleted(
      store_->ReadStream("s", Direction::kForward, 1, 10).status()));
}

TEST_F(EventStoreTest, SnapshotsKeepTheNewestAndCheckTheirVersion) {
  EXPECT_THAT(store_->ReadSnapshot("s"), StatusIs(Code::kNotFound));
  EXPECT_THAT(store_->WriteSnapshot("s", 1, "x"), StatusIs(Code::kNotFound));
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(5)), IsOk());
  EXPECT_THAT(store_->ReadSnapshot("s"),
              StatusIs(Code::kNotFound, HasSubstr("no snapshot")));
  EXPECT_THAT(store_->WriteSnapshot("s", 0, "x"),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(store_->WriteSnapshot("s", 6, "x"), StatusIs(Code::kOutOfRange));
  ASSERT_THAT(store_->WriteSnapshot("s", 4, "at4"), IsOk());
  ASSERT_THAT(store_->WriteSnapshot("s", 2, "at2"), IsOk());  // Ignored.
  ASSERT_OK_AND_ASSIGN(Snapshot snapshot, store_->ReadSnapshot("s"));
  EXPECT_EQ(snapshot.version, 4u);
  EXPECT_EQ(snapshot.state, "at4");
  EXPECT_EQ(snapshot.recorded_at, now_);
  ASSERT_THAT(store_->WriteSnapshot("s", 5, "at5"), IsOk());
  ASSERT_OK_AND_ASSIGN(snapshot, store_->ReadSnapshot("s"));
  EXPECT_EQ(snapshot.state, "at5");

  options_.max_snapshot_bytes = 8;
  Reopen();
  EXPECT_THAT(store_->WriteSnapshot("s", 5, std::string(9, 'x')),
              StatusIs(Code::kInvalidArgument));
}

TEST_F(EventStoreTest, CommitHookWritesInTheSameBatchOrRefusesTheAppend) {
  options_.extra_column_families = {"projection"};
  options_.commit_hook = [this](const std::vector<Envelope>& events,
                                rocksdb::WriteBatch& batch) -> absl::Status {
    if (events.front().payload() == "refuse") {
      return absl::FailedPreconditionError("hook refused");
    }
    rocksdb::ColumnFamilyHandle* family =
        store_->ColumnFamily("projection").value();
    for (const Envelope& event : events) {
      batch.Put(
          family, event.stream(),
          absl::StrCat(event.stream_version(), "@", event.global_position()));
    }
    return absl::OkStatus();
  };
  Reopen();
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(2)), IsOk());
  EXPECT_THAT(
      store_->Append("s", ExpectedVersion::Any(), {Event("t", "refuse")}),
      StatusIs(Code::kFailedPrecondition, HasSubstr("hook refused")));
  EXPECT_EQ(store_->LastPosition(), 2u);

  ASSERT_OK_AND_ASSIGN(rocksdb::ColumnFamilyHandle * family,
                       store_->ColumnFamily("projection"));
  std::string value;
  ASSERT_TRUE(
      store_->db().Get(rocksdb::ReadOptions(), family, "s", &value).ok());
  EXPECT_EQ(value, "2@2");
  EXPECT_THAT(store_->ColumnFamily("unknown"), StatusIs(Code::kNotFound));
}

// Every file under `directory` whose bytes contain `needle`.
std::vector<std::string> FilesContaining(const std::filesystem::path& directory,
                                         const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(directory)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) {
      found.push_back(entry.path().filename().string());
    }
  }
  return found;
}

TEST_F(EventStoreTest, PurgeDeletedDataLeavesNoOldValueInAnyFile) {
  options_.extra_column_families = {"keys", "index"};
  Reopen();
  ASSERT_OK_AND_ASSIGN(rocksdb::ColumnFamilyHandle * keys,
                       store_->ColumnFamily("keys"));
  ASSERT_OK_AND_ASSIGN(rocksdb::ColumnFamilyHandle * index,
                       store_->ColumnFamily("index"));
  const std::string overwritten = "overwritten-value-4711";
  const std::string deleted = "deleted-value-0815";
  const std::string kept = "kept-value-1234";
  rocksdb::WriteBatch first;
  first.Put(keys, "k1", overwritten);
  first.Put(index, "i1", deleted);
  first.Put(index, "i2", kept);
  ASSERT_THAT(store_->Write(first), IsOk());
  // Into an SST file too, not only the WAL and the memtable.
  ASSERT_THAT(store_->PurgeDeletedData(), IsOk());
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(3)), IsOk());
  rocksdb::WriteBatch second;
  second.Put(keys, "k1", "erased");
  second.Delete(index, "i1");
  ASSERT_THAT(store_->Write(second), IsOk());
  // Control: the search finds what the files hold.
  EXPECT_THAT(FilesContaining(dir_.path(), overwritten), Not(IsEmpty()));
  EXPECT_THAT(FilesContaining(dir_.path(), deleted), Not(IsEmpty()));

  ASSERT_THAT(store_->PurgeDeletedData(), IsOk());

  EXPECT_THAT(FilesContaining(dir_.path(), overwritten), IsEmpty());
  EXPECT_THAT(FilesContaining(dir_.path(), deleted), IsEmpty());
  EXPECT_THAT(FilesContaining(dir_.path(), kept), Not(IsEmpty()));
  std::string value;
  ASSERT_TRUE(
      store_->db().Get(rocksdb::ReadOptions(), keys, "k1", &value).ok());
  EXPECT_EQ(value, "erased");
  EXPECT_TRUE(store_->db()
                  .Get(rocksdb::ReadOptions(), index, "i1", &value)
                  .IsNotFound());
  ASSERT_OK_AND_ASSIGN(StreamSlice slice,
                       store_->ReadStream("s", Direction::kForward, 1, 10));
  EXPECT_THAT(slice.events, SizeIs(3));
  // The purged store reopens with everything it kept.
  Reopen();
  ASSERT_OK_AND_ASSIGN(keys, store_->ColumnFamily("keys"));
  ASSERT_TRUE(
      store_->db().Get(rocksdb::ReadOptions(), keys, "k1", &value).ok());
  EXPECT_EQ(value, "erased");
  EXPECT_EQ(store_->LastPosition(), 3u);
}

TEST_F(EventStoreTest, UnsyncedWriteIsReadAtOnceAndKeptAcrossAReopen) {
  options_.extra_column_families = {"projection"};
  Reopen();
  ASSERT_OK_AND_ASSIGN(rocksdb::ColumnFamilyHandle * family,
                       store_->ColumnFamily("projection"));
  rocksdb::WriteBatch batch;
  batch.Put(family, "state", "applied-to-7");
  batch.Put(family, "checkpoint", "7");
  ASSERT_THAT(store_->Write(batch, EventStore::Durability::kUnsynced), IsOk());
  std::string value;
  ASSERT_TRUE(
      store_->db().Get(rocksdb::ReadOptions(), family, "state", &value).ok());
  EXPECT_EQ(value, "applied-to-7");
  // A later synced append makes it durable with itself (one WAL).
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(1)), IsOk());
  Reopen();
  ASSERT_OK_AND_ASSIGN(family, store_->ColumnFamily("projection"));
  ASSERT_TRUE(store_->db()
                  .Get(rocksdb::ReadOptions(), family, "checkpoint", &value)
                  .ok());
  EXPECT_EQ(value, "7");
  // The own-families check holds for unsynced writes too.
  rocksdb::WriteBatch bad;
  bad.Put(store_->db().DefaultColumnFamily(), "k", "v");
  EXPECT_THAT(store_->Write(bad, EventStore::Durability::kUnsynced),
              StatusIs(Code::kInvalidArgument));
}

TEST_F(EventStoreTest, WriteAcceptsOnlyExtraColumnFamilies) {
  options_.extra_column_families = {"offsets"};
  Reopen();
  ASSERT_OK_AND_ASSIGN(rocksdb::ColumnFamilyHandle * offsets,
                       store_->ColumnFamily("offsets"));
  rocksdb::WriteBatch good;
  good.Put(offsets, "partition-0", "17");
  EXPECT_THAT(store_->Write(good), IsOk());
  rocksdb::WriteBatch bad;
  bad.Put(offsets, "partition-1", "1");
  bad.Put("es_format_version", "2");  // The default family is the store's.
  EXPECT_THAT(store_->Write(bad), StatusIs(Code::kInvalidArgument));
  std::string value;
  EXPECT_TRUE(store_->db()
                  .Get(rocksdb::ReadOptions(), offsets, "partition-1", &value)
                  .IsNotFound());
}

TEST_F(EventStoreTest, ColumnFamiliesCanBeCreatedAndDroppedAtRunTime) {
  ASSERT_OK_AND_ASSIGN(rocksdb::ColumnFamilyHandle * family,
                       store_->CreateColumnFamily("projection_v2"));
  ASSERT_OK_AND_ASSIGN(rocksdb::ColumnFamilyHandle * again,
                       store_->CreateColumnFamily("projection_v2"));
  EXPECT_EQ(family, again);
  rocksdb::WriteBatch batch;
  batch.Put(family, "k", "v");
  ASSERT_THAT(store_->Write(batch), IsOk());
  Reopen();  // It survives reopening, with its data.
  ASSERT_OK_AND_ASSIGN(family, store_->ColumnFamily("projection_v2"));
  std::string value;
  ASSERT_TRUE(
      store_->db().Get(rocksdb::ReadOptions(), family, "k", &value).ok());
  EXPECT_EQ(value, "v");

  ASSERT_THAT(store_->DropColumnFamily("projection_v2"), IsOk());
  EXPECT_THAT(store_->ColumnFamily("projection_v2"), StatusIs(Code::kNotFound));
  EXPECT_THAT(store_->DropColumnFamily("projection_v2"),
              StatusIs(Code::kNotFound));
  Reopen();
  EXPECT_THAT(store_->ColumnFamily("projection_v2"), StatusIs(Code::kNotFound));

  EXPECT_THAT(store_->CreateColumnFamily("es_log"),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(store_->CreateColumnFamily(""), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(store_->DropColumnFamily("es_log"),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(store_->DropColumnFamily("default"),
              StatusIs(Code::kInvalidArgument));
}

TEST_F(EventStoreTest, OpenRejectsBadOptions) {
  store_.reset();
  EventStore::Options no_path;
  EXPECT_THAT(EventStore::Open(no_path),
              StatusIs(Code::kInvalidArgument, HasSubstr("path")));
  EventStore::Options zero = options_;
  zero.max_event_bytes = 0;
  EXPECT_THAT(EventStore::Open(zero),
              StatusIs(Code::kInvalidArgument, HasSubstr("max_event_bytes")));
  EventStore::Options reserved = options_;
  reserved.extra_column_families = {"es_mine"};
  EXPECT_THAT(EventStore::Open(reserved), StatusIs(Code::kInvalidArgument));
  EventStore::Options missing = options_;
  missing.path = (dir_.path() / "nothing-here").string();
  missing.create_if_missing = false;
  EXPECT_THAT(EventStore::Open(missing), StatusIs(Code::kNotFound));
}

TEST_F(EventStoreTest, OpenFailsClearlyWhileAnotherHandleHoldsTheStore) {
  EXPECT_THAT(EventStore::Open(options_), StatusIs(Code::kUnavailable));
}

TEST_F(EventStoreTest, OpenRefusesAnotherFormatVersionAndChangesNothing) {
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(1)), IsOk());
  store_.reset();
  {
    std::vector<std::string> families;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(),
                                                options_.path, &families)
                    .ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    descriptors.reserve(families.size());
    for (const std::string& name : families) {
      descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), options_.path,
                                  descriptors, &handles, &raw)
                    .ok());
    ASSERT_TRUE(
        raw->Put(rocksdb::WriteOptions(), "es_format_version", "99").ok());
    for (auto* handle : handles)
      raw->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    delete raw;
  }
  EXPECT_THAT(EventStore::Open(options_),
              StatusIs(Code::kFailedPrecondition,
                       AllOf(HasSubstr("format version '99'"),
                             HasSubstr("version 1"))));
}

TEST_F(EventStoreTest, OpenRefusesADatabaseThatIsNotAnEventStore) {
  store_.reset();
  std::filesystem::remove_all(options_.path);
  {
    rocksdb::Options raw_options;
    raw_options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(raw_options, options_.path, &raw).ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), "user-key", "v").ok());
    delete raw;
  }
  EXPECT_THAT(
      EventStore::Open(options_),
      StatusIs(Code::kFailedPrecondition, HasSubstr("not an event store")));
}

TEST_F(EventStoreTest, ACorruptLogEntryIsDataLossForParsedAndRawReads) {
  ASSERT_THAT(store_->Append("s", ExpectedVersion::Any(), Events(3)), IsOk());
  store_.reset();
  {
    std::vector<std::string> families;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(),
                                                options_.path, &families)
                    .ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const std::string& name : families) {
      descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), options_.path,
                                  descriptors, &handles, &raw)
                    .ok());
    rocksdb::ColumnFamilyHandle* log = nullptr;
    for (size_t i = 0; i < families.size(); ++i) {
      if (families[i] == "es_log") log = handles[i];
    }
    ASSERT_NE(log, nullptr);
    // A truncated length-delimited field: not a well-formed envelope.
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), log,
                         internal::EncodePosition(2),
                         std::string("\x12\x40") + "ab")
                    .ok());
    for (auto* handle : handles)
      raw->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    delete raw;
  }
  ASSERT_OK_AND_ASSIGN(store_, EventStore::Open(options_));
  RawSlice raw;
  EXPECT_THAT(store_->ReadAllRawInto(1, 10, raw),
              StatusIs(Code::kDataLoss, HasSubstr("global position 2")));
  EXPECT_THAT(raw.events, SizeIs(0));
  AllSlice parsed;
  EXPECT_THAT(store_->ReadAllInto(1, 10, parsed),
              StatusIs(Code::kDataLoss, HasSubstr("global position 2")));
  // Reads before the corrupt entry still work.
  ASSERT_THAT(store_->ReadAllRawInto(1, 1, raw), IsOk());
  EXPECT_THAT(raw.events, SizeIs(1));
}

}  // namespace
}  // namespace crm::eventstore
