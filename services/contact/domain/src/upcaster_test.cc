// Migration safety: a log written with schema v1 of ContactCreated (the
// checked-in fixture) replays into today's state through the upcaster.
#include "crm/contact/domain/upcaster.h"

#include <fcntl.h>

#include <fstream>
#include <map>
#include <sstream>

#include "crm/contact/domain/contact.h"
#include "crm/contact/domain/event_codec.h"
#include "domain_test_util.h"
#include "google/protobuf/io/zero_copy_stream_impl.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "v1_fixture.h"

namespace crm::contact {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using Code = absl::StatusCode;
using common::v1::EventEnvelope;

std::string FixturePath() {
  return std::string(CRM_CONTACT_TESTDATA_DIR) + "/" + fixture::kFileName;
}

class UpcasterTest : public testing::DomainTest {
 protected:
  void SetUp() override {
    // The key store as it is today: Ada's key, Grace's deleted (she was
    // erased).
    std::string ada = KeyIdFor(fixture::kTenant, fixture::AdaId());
    std::string grace = KeyIdFor(fixture::kTenant, fixture::GraceId());
    ASSERT_OK(keys_.Put(ada, fixture::FixtureKey(ada)));
    ASSERT_OK(keys_.Delete(grace));
  }

  std::vector<EventEnvelope> ReadFixture() {
    std::ifstream in(FixturePath(), std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot open " << FixturePath();
    google::protobuf::io::IstreamInputStream stream(&in);
    std::vector<EventEnvelope> log;
    for (int i = 0; i < 100; ++i) {
      EventEnvelope envelope;
      bool clean_eof = false;
      if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(
              &envelope, &stream, &clean_eof)) {
        EXPECT_TRUE(clean_eof) << "the fixture is truncated";
        break;
      }
      log.push_back(std::move(envelope));
    }
    return log;
  }
};

TEST_F(UpcasterTest, V1FixtureReplaysIntoCurrentState) {
  std::vector<EventEnvelope> log = ReadFixture();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0].schema_version(), 1u);
  std::map<std::string, ContactState> states;
  for (const EventEnvelope& envelope : log) {
    SCOPED_TRACE(envelope.global_position());
    ASSERT_OK_AND_ASSIGN(ContactEvent event,
                         ReadContactEvent(envelope, {&sealer_}));
    states[envelope.stream()] = Apply(std::move(states[envelope.stream()]),
                                      event, EventMetaOf(envelope));
  }

  const ContactState& ada = states.at(ContactStream(fixture::AdaId()));
  EXPECT_EQ(ada.version, 2u);
  EXPECT_EQ(ada.tenant, "acme");
  EXPECT_EQ(ada.owner, "user-1");
  EXPECT_EQ(ada.tags, std::vector<std::string>{"vip"});
  ASSERT_OK_AND_ASSIGN(ContactFields fields,
                       CurrentContactFields(ada, sealer_));
  EXPECT_THAT(
      fields.personal, ::testing::Truly([](const v1::ContactPersonalData& p) {
        return google::protobuf::util::MessageDifferencer::Equals(
            p, testing::ParseText<v1::ContactPersonalData>(R"pb(
              given_name: "Ada King"
              family_name: "Lovelace"
              emails {
                address: "ADA@Example.com"
                normalized: "ada@example.com"
              }
              phones { number: "+44 20 7946 0958" e164: "+442079460958" }
            )pb"));
      }))
      << fields.personal.DebugString();

  const ContactState& grace = states.at(ContactStream(fixture::GraceId()));
  EXPECT_TRUE(grace.erased);
  EXPECT_EQ(grace.version, 2u);
}

TEST_F(UpcasterTest, ErasedPersonUpcastsToAnUnreadableRecord) {
  std::vector<EventEnvelope> log = ReadFixture();
  ASSERT_EQ(log.size(), 4u);
  ASSERT_OK_AND_ASSIGN(ContactEvent event,
                       ReadContactEvent(log[2], {&sealer_}));
  const auto& created = std::get<v1::ContactCreated>(event);
  EXPECT_EQ(created.sealed_personal().key_id(),
            KeyIdFor(fixture::kTenant, fixture::GraceId()));
  EXPECT_TRUE(created.sealed_personal().ciphertext().empty());
  v1::ContactPersonalData data;
  EXPECT_TRUE(
      IsKeyErased(OpenMessage(sealer_, created.sealed_personal(), &data)));
}

TEST_F(UpcasterTest, FixtureHoldsNoPersonalDataInClear) {
  std::ifstream in(FixturePath(), std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  for (const char* secret :
       {"Lovelace", "Hopper", "ADA@Example", "grace@navy", "7946", "Grace"}) {
    EXPECT_EQ(bytes.str().find(secret), std::string::npos) << secret;
  }
}

TEST_F(UpcasterTest, UpcastWithoutSealerIsRefused) {
  std::vector<EventEnvelope> log = ReadFixture();
  ASSERT_FALSE(log.empty());
  EXPECT_THAT(ReadContactEvent(log[0], {}),
              StatusIs(Code::kFailedPrecondition));
}

TEST_F(UpcasterTest, CurrentEventsPassThroughAndNewerOnesAreRefused) {
  v1::ContactDeleted deleted;
  deleted.set_contact_id(fixture::AdaId());
  EncodedEvent encoded = EncodeEvent(ContactEvent(deleted));
  EXPECT_EQ(encoded.type, "crm.contact.v1.ContactDeleted");
  EXPECT_EQ(encoded.schema_version, 1u);
  EXPECT_EQ(EncodeEvent(ContactEvent(v1::ContactCreated())).schema_version, 2u);
  EventEnvelope envelope;
  FillEnvelope(encoded, &envelope);
  EXPECT_THAT(ReadContactEvent(envelope, {}), IsOk());
  envelope.set_schema_version(2);
  EXPECT_THAT(ReadContactEvent(envelope, {}),
              StatusIs(Code::kFailedPrecondition));
  envelope.set_schema_version(1);
  EXPECT_THAT(ReadAccountEvent(envelope, {}), StatusIs(Code::kInvalidArgument));
  envelope.set_payload("\xff\xff\xff");
  EXPECT_THAT(ReadContactEvent(envelope, {}), StatusIs(Code::kDataLoss));
}

TEST_F(UpcasterTest, RegistryRefusesDuplicatesAndUpcastersThatSkipVersions) {
  UpcasterRegistry registry;
  auto identity = [](EventEnvelope e,
                     const UpcastContext&) -> absl::StatusOr<EventEnvelope> {
    return e;
  };
  ASSERT_OK(registry.Register("t", 1, identity));
  EXPECT_THAT(registry.Register("t", 1, identity),
              StatusIs(Code::kAlreadyExists));
  EXPECT_THAT(registry.Register("", 1, identity),
              StatusIs(Code::kInvalidArgument));
  EventEnvelope envelope;
  envelope.set_type("t");
  EXPECT_THAT(registry.Upcast(envelope, {}),
              StatusIs(Code::kFailedPrecondition));
  ASSERT_OK(registry.Register("u", 1,
                              [](EventEnvelope e, const UpcastContext&)
                                  -> absl::StatusOr<EventEnvelope> {
                                e.set_schema_version(2);
                                e.set_payload(e.payload() + "2");
                                return e;
                              }));
  ASSERT_OK(registry.Register("u", 2,
                              [](EventEnvelope e, const UpcastContext&)
                                  -> absl::StatusOr<EventEnvelope> {
                                e.set_schema_version(3);
                                e.set_payload(e.payload() + "3");
                                return e;
                              }));
  envelope.set_type("u");
  envelope.set_payload("1");
  ASSERT_OK_AND_ASSIGN(EventEnvelope upcast, registry.Upcast(envelope, {}));
  EXPECT_EQ(upcast.schema_version(), 3u);
  EXPECT_EQ(upcast.payload(), "123");
}

}  // namespace
}  // namespace crm::contact
