#include "v1_fixture.h"

#include "absl/time/time.h"
#include "crm/base/status_macros.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/v1/contact_events.pb.h"
#include "openssl/evp.h"
#include "validation.h"

namespace crm::contact::fixture {
namespace {

common::v1::EventEnvelope Envelope(uint64_t position, std::string stream,
                                   uint64_t version, std::string type,
                                   uint32_t schema_version,
                                   std::string payload) {
  common::v1::EventEnvelope envelope;
  envelope.set_event_id(DeriveId("fixture/event", std::to_string(position)));
  envelope.set_stream(std::move(stream));
  envelope.set_stream_version(version);
  envelope.set_global_position(position);
  envelope.set_type(std::move(type));
  envelope.set_schema_version(schema_version);
  absl::Time at = absl::FromUnixSeconds(1551398400) +  // 2019-03-01
                  absl::Minutes(static_cast<int64_t>(position));
  *envelope.mutable_occurred_at() = ToTimestamp(at);
  *envelope.mutable_recorded_at() = ToTimestamp(at);
  envelope.set_correlation_id(
      DeriveId("fixture/correlation", std::to_string(position)));
  envelope.set_actor("user-1");
  envelope.set_tenant(kTenant);
  envelope.set_payload(std::move(payload));
  return envelope;
}

absl::StatusOr<std::string> CreatedV1(PersonalDataSealer& sealer,
                                      const std::string& id,
                                      std::string full_name, std::string email,
                                      std::string phone) {
  v1::ContactPersonalDataV1 personal;
  personal.set_full_name(std::move(full_name));
  personal.set_email(std::move(email));
  personal.set_phone(std::move(phone));
  v1::ContactCreatedV1 created;
  created.set_contact_id(id);
  created.set_owner("user-1");
  ASSIGN_OR_RETURN(*created.mutable_sealed_personal(),
                   SealMessage(sealer, KeyIdFor(kTenant, id), personal));
  return created.SerializeAsString();
}

}  // namespace

std::string AdaId() { return DeriveId("fixture", "ada"); }
std::string GraceId() { return DeriveId("fixture", "grace"); }

DataKey FixtureKey(std::string_view key_id) {
  std::string input = "crm contact v1 fixture key:" + std::string(key_id);
  DataKey key{};
  unsigned int size = 0;
  EVP_Digest(input.data(), input.size(), key.data(), &size, EVP_sha256(),
             nullptr);
  return key;
}

absl::StatusOr<std::vector<common::v1::EventEnvelope>> BuildV1Fixture(
    PersonalDataSealer& sealer) {
  const std::string created_type = "crm.contact.v1.ContactCreated";
  std::vector<common::v1::EventEnvelope> log;
  ASSIGN_OR_RETURN(std::string ada,
                   CreatedV1(sealer, AdaId(), " Ada  King Lovelace ",
                             " ADA@Example.com", "+44 20 7946 0958"));
  log.push_back(Envelope(1, ContactStream(AdaId()), 1, created_type, 1, ada));

  v1::ContactUpdated tagged;
  tagged.set_contact_id(AdaId());
  tagged.add_changed_fields("tags");
  tagged.add_tags("vip");
  log.push_back(Envelope(2, ContactStream(AdaId()), 2,
                         "crm.contact.v1.ContactUpdated", 1,
                         tagged.SerializeAsString()));

  ASSIGN_OR_RETURN(std::string grace,
                   CreatedV1(sealer, GraceId(), "Grace Brewster Murray Hopper",
                             "grace@navy.example", "0301234567"));
  log.push_back(
      Envelope(3, ContactStream(GraceId()), 1, created_type, 1, grace));

  v1::ContactErased erased;
  erased.set_contact_id(GraceId());
  erased.add_shredded_key_ids(KeyIdFor(kTenant, GraceId()));
  erased.set_reason("gdpr_art17_request");
  log.push_back(Envelope(4, ContactStream(GraceId()), 2,
                         "crm.contact.v1.ContactErased", 1,
                         erased.SerializeAsString()));
  return log;
}

}  // namespace crm::contact::fixture
