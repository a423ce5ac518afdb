#include "crm/contact/domain/event_codec.h"

#include "domain_test_util.h"

namespace crm::contact {
namespace {

using ::crm::testing::StatusIs;
using Code = absl::StatusCode;

class EventCodecTest : public ::testing::Test {
 protected:
  // Encodes every alternative of Variant (with its id field set) and reads
  // it back with `read`.
  template <typename Variant, size_t I = 0, typename Read>
  void RoundTripAll(Read read) {
    if constexpr (I < std::variant_size_v<Variant>) {
      using Message = std::variant_alternative_t<I, Variant>;
      Message message;
      const google::protobuf::FieldDescriptor* id =
          Message::descriptor()->field(0);
      message.GetReflection()->SetString(&message, id, "id-" + id->name());
      common::v1::EventEnvelope envelope;
      FillEnvelope(EncodeEvent(Variant(message)), &envelope);
      SCOPED_TRACE(envelope.type());
      EXPECT_EQ(envelope.type(), Message::descriptor()->full_name());
      absl::StatusOr<Variant> back = read(envelope, UpcastContext{});
      ASSERT_OK(back);
      ASSERT_TRUE(std::holds_alternative<Message>(*back));
      EXPECT_EQ(std::get<Message>(*back).SerializeAsString(),
                message.SerializeAsString());
      RoundTripAll<Variant, I + 1>(read);
    }
  }
};

TEST_F(EventCodecTest, EveryEventRoundTrips) {
  RoundTripAll<ContactEvent>(ReadContactEvent);
  RoundTripAll<AccountEvent>(ReadAccountEvent);
  RoundTripAll<ActivityEvent>(ReadActivityEvent);
}

TEST_F(EventCodecTest, EventsOfAnotherAggregateOrServiceAreRefused) {
  common::v1::EventEnvelope envelope;
  FillEnvelope(EncodeEvent(ActivityEvent(v1::ActivityDeleted())), &envelope);
  EXPECT_THAT(ReadContactEvent(envelope, {}), StatusIs(Code::kInvalidArgument));
  envelope.set_type("crm.sales.v1.LeadCreated");
  EXPECT_EQ(CurrentSchemaVersion(envelope.type()), 0u);
  EXPECT_THAT(ReadActivityEvent(envelope, {}),
              StatusIs(Code::kInvalidArgument));
}

TEST_F(EventCodecTest, MetaComesFromTheEnvelope) {
  common::v1::EventEnvelope envelope;
  envelope.set_tenant("acme");
  envelope.set_actor("user-7");
  envelope.mutable_occurred_at()->set_seconds(1700000000);
  envelope.mutable_occurred_at()->set_nanos(5);
  EventMeta meta = EventMetaOf(envelope);
  EXPECT_EQ(meta.tenant, "acme");
  EXPECT_EQ(meta.actor, "user-7");
  EXPECT_EQ(meta.occurred_at,
            absl::FromUnixSeconds(1700000000) + absl::Nanoseconds(5));
}

}  // namespace
}  // namespace crm::contact
