// ContactService over gRPC in process: Consent, export and erasure
// (privacy_service.cc).
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "api_test_fixture.h"
#include "crm/contact/api/grpc_status.h"
#include "crm/contact/domain/activity.h"
#include "crm/contact/domain/event_codec.h"
#include "crm/contact/domain/field_violation.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/v1/contact_events.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace crm::contact::api {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

// Every file under `directory` whose raw bytes contain `needle`.
std::vector<std::string> FilesContaining(const std::filesystem::path& directory,
                                         std::string_view needle) {
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

std::string Lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

class PrivacyApiTest : public ContactApiFixture {
 protected:
  grpc::Status Erase(const std::string& name,
                     v1::EraseContactResponse* response,
                     const std::string& tenant = "acme",
                     const std::string& reason = "gdpr_art17_request",
                     const std::string& request_id = "") {
    v1::EraseContactRequest request;
    request.set_name(name);
    request.set_reason(reason);
    request.mutable_context()->set_request_id(request_id);
    return stub_->EraseContact(Context(tenant).get(), request, response);
  }

  grpc::Status Give(const std::string& parent, const std::string& purpose,
                    v1::ConsentChannel channel,
                    v1::GiveConsentResponse* response,
                    const std::string& tenant = "acme") {
    v1::GiveConsentRequest request;
    request.set_parent(parent);
    request.mutable_consent()->set_purpose(purpose);
    request.mutable_consent()->set_channel(channel);
    request.mutable_consent()->set_source("web_form:signup");
    return stub_->GiveConsent(Context(tenant).get(), request, response);
  }

  // Logs an activity about `contact_id` through the domain and the store
  // (the activity RPCs are another area's).
  void LogActivityAbout(const std::string& contact_id,
                        const std::string& subject, const std::string& body) {
    LogActivity command;
    command.activity_id = "7d0e5a52-1c55-4d3c-9f0e-0a2b3c4d5e6f";
    command.fields.kind = v1::ACTIVITY_KIND_CALL;
    command.fields.contact_id = contact_id;
    command.fields.content.set_subject(subject);
    command.fields.content.set_body(body);
    CommandContext context;
    context.tenant = "acme";
    context.actor = "u1";
    context.now = absl::Now();
    ASSERT_OK_AND_ASSIGN(std::vector<ActivityEvent> events,
                         Decide(ActivityState{}, command, context, *sealer_));
    std::vector<eventstore::Envelope> envelopes;
    for (const ActivityEvent& event : events) {
      const EncodedEvent encoded = EncodeEvent(event);
      eventstore::Envelope& envelope = envelopes.emplace_back();
      envelope.set_type(encoded.type);
      envelope.set_schema_version(encoded.schema_version);
      envelope.set_payload(encoded.payload);
      envelope.set_tenant("acme");
      envelope.set_actor("u1");
    }
    ASSERT_OK(store_
                  ->Append(ActivityStream(command.activity_id),
                           eventstore::ExpectedVersion::NoStream(),
                           std::move(envelopes))
                  .status());
  }

  std::filesystem::path StoreDir() const { return dir_ / "store"; }
};

// ----- Consent --------------------------------------------------------------

TEST_F(PrivacyApiTest, GiveConsentShowsItGrantedAndListed) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::GiveConsentResponse given;
  const grpc::Status status =
      Give(ada.name(), "newsletter", v1::CONSENT_CHANNEL_EMAIL, &given);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(given.consent().name(), ada.name() + "/consents/newsletter.email");
  EXPECT_TRUE(given.consent().granted());
  EXPECT_EQ(given.consent().legal_basis(), v1::LEGAL_BASIS_CONSENT);
  EXPECT_EQ(given.consent().source(), "web_form:signup");
  EXPECT_TRUE(given.consent().has_give_time());
  EXPECT_GT(given.result().global_position(), 0u);

  v1::ListConsentsRequest list;
  list.set_parent(ada.name());
  v1::ListConsentsResponse listed;
  ASSERT_TRUE(stub_->ListConsents(Context().get(), list, &listed).ok());
  ASSERT_THAT(listed.consents(), SizeIs(1));
  EXPECT_EQ(listed.consents(0).name(), given.consent().name());
  EXPECT_TRUE(listed.consents(0).granted());
}

TEST_F(PrivacyApiTest, WithdrawConsentShowsItWithdrawn) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::GiveConsentResponse given;
  ASSERT_TRUE(
      Give(ada.name(), "newsletter", v1::CONSENT_CHANNEL_SMS, &given).ok());
  v1::WithdrawConsentRequest request;
  request.set_name(given.consent().name());
  request.set_source("unsubscribe_link");
  v1::WithdrawConsentResponse withdrawn;
  const grpc::Status status =
      stub_->WithdrawConsent(Context().get(), request, &withdrawn);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(withdrawn.consent().granted());
  EXPECT_EQ(withdrawn.consent().source(), "unsubscribe_link");
  EXPECT_TRUE(withdrawn.consent().has_withdraw_time());
  EXPECT_TRUE(withdrawn.consent().has_give_time());
}

TEST_F(PrivacyApiTest, WithdrawWithoutConsentIsAnExplicitOptOut) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::WithdrawConsentRequest request;
  request.set_name(ada.name() + "/consents/profiling.any");
  v1::WithdrawConsentResponse withdrawn;
  ASSERT_TRUE(
      stub_->WithdrawConsent(Context().get(), request, &withdrawn).ok());
  EXPECT_FALSE(withdrawn.consent().granted());
  EXPECT_EQ(withdrawn.consent().channel(), v1::CONSENT_CHANNEL_ANY);
}

TEST_F(PrivacyApiTest, ListConsentsPagesInPurposeAndChannelOrder) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::GiveConsentResponse given;
  for (const char* purpose : {"surveys", "newsletter"}) {
    for (auto channel : {v1::CONSENT_CHANNEL_POST, v1::CONSENT_CHANNEL_EMAIL}) {
      ASSERT_TRUE(Give(ada.name(), purpose, channel, &given).ok());
    }
  }
  v1::ListConsentsRequest request;
  request.set_parent(ada.name());
  request.mutable_page()->set_page_size(3);
  std::vector<std::string> names;
  for (int page = 0; page < 10; ++page) {
    v1::ListConsentsResponse response;
    ASSERT_TRUE(stub_->ListConsents(Context().get(), request, &response).ok());
    for (const v1::Consent& c : response.consents()) names.push_back(c.name());
    if (response.page().next_page_token().empty()) break;
    request.mutable_page()->set_page_token(response.page().next_page_token());
  }
  const std::string base = ada.name() + "/consents/";
  EXPECT_THAT(names,
              ElementsAre(base + "newsletter.email", base + "newsletter.post",
                          base + "surveys.email", base + "surveys.post"));

  v1::ListConsentsRequest only;
  only.set_parent(ada.name());
  only.set_purpose("surveys");
  v1::ListConsentsResponse response;
  ASSERT_TRUE(stub_->ListConsents(Context().get(), only, &response).ok());
  EXPECT_THAT(response.consents(), SizeIs(2));

  // A token of another filter is refused.
  only.mutable_page()->set_page_token(request.page().page_token());
  const grpc::Status bad =
      stub_->ListConsents(Context().get(), only, &response);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(PrivacyApiTest, ConsentErrorsNameTheFieldAndChangeNothing) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::GiveConsentResponse given;
  grpc::Status status =
      Give(ada.name(), "newsletter", v1::CONSENT_CHANNEL_UNSPECIFIED, &given);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(
      BadRequestViolations(status),
      ElementsAre(::testing::Field(&FieldViolation::field, "consent.channel")));
  status = Give(ada.name(), "Bad Purpose!", v1::CONSENT_CHANNEL_EMAIL, &given);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::WithdrawConsentRequest withdraw;
  withdraw.set_name(ada.name() + "/consents/newsletter.pigeon");
  v1::WithdrawConsentResponse withdrawn;
  status = stub_->WithdrawConsent(Context().get(), withdraw, &withdrawn);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListConsentsRequest list;
  list.set_parent(ada.name());
  v1::ListConsentsResponse listed;
  ASSERT_TRUE(stub_->ListConsents(Context().get(), list, &listed).ok());
  EXPECT_THAT(listed.consents(), IsEmpty());
}

TEST_F(PrivacyApiTest, ConsentOfUnknownOrOtherTenantsContactIsNotFound) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::GiveConsentResponse given;
  EXPECT_EQ(Give(ada.name(), "newsletter", v1::CONSENT_CHANNEL_EMAIL, &given,
                 "globex")
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Give("contacts/0b7c7c62-3c2e-4f9a-8f43-3a1a3c0b7e11", "newsletter",
                 v1::CONSENT_CHANNEL_EMAIL, &given)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListConsentsRequest list;
  list.set_parent(ada.name());
  v1::ListConsentsResponse listed;
  EXPECT_EQ(
      stub_->ListConsents(Context("globex").get(), list, &listed).error_code(),
      grpc::StatusCode::NOT_FOUND);
}

// ----- Export ---------------------------------------------------------------

TEST_F(PrivacyApiTest, ExportStreamsContactActivitiesConsentsThenHistory) {
  v1::Contact person = Person("Ada", "Lovelace", "ada@example.com");
  const v1::Contact ada = MustCreate(person);
  const std::string id = ada.name().substr(9);
  v1::GiveConsentResponse given;
  ASSERT_TRUE(
      Give(ada.name(), "newsletter", v1::CONSENT_CHANNEL_EMAIL, &given).ok());
  ASSERT_TRUE(
      Give(ada.name(), "surveys", v1::CONSENT_CHANNEL_POST, &given).ok());
  LogActivityAbout(id, "Analytical engine", "Notes on the engine");

  v1::ExportPersonalDataRequest request;
  request.set_name(ada.name());
  auto context = Context();
  auto reader = stub_->ExportPersonalData(context.get(), request);
  std::vector<v1::PersonalDataExportPart> parts;
  v1::PersonalDataExportPart part;
  while (reader->Read(&part) && parts.size() < 1000) parts.push_back(part);
  const grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();

  ASSERT_GE(parts.size(), 1u + 1u + 2u + 3u);
  EXPECT_EQ(parts[0].contact().given_name(), "Ada");
  EXPECT_EQ(parts[0].contact().emails(0).address(), "ada@example.com");
  // In the proto's order: contact, relationships, activities, consents,
  // history (the oneof's field numbers).
  for (size_t i = 1; i < parts.size(); ++i) {
    EXPECT_LE(parts[i - 1].part_case(), parts[i].part_case()) << i;
  }
  std::vector<std::string> activities, consents, history;
  for (const auto& p : parts) {
    if (p.has_activity()) activities.push_back(p.activity().subject());
    if (p.has_consent()) consents.push_back(p.consent().name());
    if (p.has_history_entry())
      history.push_back(p.history_entry().event_type());
  }
  EXPECT_THAT(activities, ElementsAre("Analytical engine"));
  EXPECT_THAT(consents, SizeIs(2));
  EXPECT_THAT(history, ElementsAre("crm.contact.v1.ContactCreated",
                                   "crm.contact.v1.ConsentGiven",
                                   "crm.contact.v1.ConsentGiven"));
}

TEST_F(PrivacyApiTest, ExportPagesThroughLongHistories) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::GiveConsentResponse given;
  constexpr int kConsents = 70;  // More than one page of each.
  for (int i = 0; i < kConsents; ++i) {
    ASSERT_TRUE(Give(ada.name(), fmt::format("purpose_{:03d}", i),
                     v1::CONSENT_CHANNEL_EMAIL, &given)
                    .ok());
  }
  v1::ExportPersonalDataRequest request;
  request.set_name(ada.name());
  auto context = Context();
  auto reader = stub_->ExportPersonalData(context.get(), request);
  int consents = 0, history = 0;
  v1::PersonalDataExportPart part;
  for (int read = 0; read < 1000 && reader->Read(&part); ++read) {
    consents += part.has_consent() ? 1 : 0;
    history += part.has_history_entry() ? 1 : 0;
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(consents, kConsents);
  EXPECT_EQ(history, kConsents + 1);
}

TEST_F(PrivacyApiTest, ExportEndsWhenTheClientCancels) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::ExportPersonalDataRequest request;
  request.set_name(ada.name());
  auto context = Context();
  auto reader = stub_->ExportPersonalData(context.get(), request);
  v1::PersonalDataExportPart part;
  ASSERT_TRUE(reader->Read(&part));
  context->TryCancel();
  for (int read = 0; read < 1000 && reader->Read(&part); ++read) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The server still serves.
  v1::Contact got;
  EXPECT_TRUE(Get(ada.name(), &got).ok());
}

TEST_F(PrivacyApiTest, ExportOfUnknownOrOtherTenantsContactIsNotFound) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  for (const auto& [tenant, name] :
       std::vector<std::pair<std::string, std::string>>{
           {"globex", ada.name()},
           {"acme", "contacts/0b7c7c62-3c2e-4f9a-8f43-3a1a3c0b7e11"}}) {
    v1::ExportPersonalDataRequest request;
    request.set_name(name);
    auto context = Context(tenant);
    auto reader = stub_->ExportPersonalData(context.get(), request);
    v1::PersonalDataExportPart part;
    EXPECT_FALSE(reader->Read(&part));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(PrivacyApiTest, ExportAfterErasureHoldsNoPersonalData) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  LogActivityAbout(ada.name().substr(9), "Analytical engine", "Notes");
  v1::EraseContactResponse erased;
  ASSERT_TRUE(Erase(ada.name(), &erased).ok());
  v1::ExportPersonalDataRequest request;
  request.set_name(ada.name());
  auto context = Context();
  auto reader = stub_->ExportPersonalData(context.get(), request);
  std::vector<v1::PersonalDataExportPart> parts;
  v1::PersonalDataExportPart part;
  while (reader->Read(&part) && parts.size() < 100) parts.push_back(part);
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_FALSE(parts.empty());
  EXPECT_EQ(parts[0].contact().state(), v1::RECORD_STATE_ERASED);
  EXPECT_EQ(parts[0].contact().given_name(), "");
  for (const auto& p : parts) {
    if (p.has_activity()) {
      EXPECT_EQ(p.activity().subject(), "");
      EXPECT_EQ(p.activity().body(), "");
    }
  }
}

// ----- Erasure --------------------------------------------------------------

TEST_F(PrivacyApiTest, EraseReturnsTheRecordErasedWithoutPersonalFields) {
  v1::Contact person = Person("Grace", "Hopper", "grace@example.com");
  person.set_notes("likes COBOL");
  const v1::Contact grace = MustCreate(person);
  v1::EraseContactResponse erased;
  const grpc::Status status = Erase(grace.name(), &erased);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(erased.contact().state(), v1::RECORD_STATE_ERASED);
  EXPECT_EQ(erased.contact().given_name(), "");
  EXPECT_EQ(erased.contact().family_name(), "");
  EXPECT_THAT(erased.contact().emails(), IsEmpty());
  EXPECT_EQ(erased.contact().notes(), "");
  EXPECT_GT(erased.result().global_position(), 0u);

  v1::Contact got;
  ASSERT_TRUE(Get(grace.name(), &got).ok());
  EXPECT_EQ(got.state(), v1::RECORD_STATE_ERASED);
  EXPECT_EQ(got.given_name(), "");
  // Not listed any more, not even by its email.
  v1::ListContactsRequest by_email;
  by_email.set_email("grace@example.com");
  EXPECT_THAT(ListAll(by_email, 10), IsEmpty());
  // The key is gone.
  EXPECT_TRUE(IsKeyErased(
      keys_->Get(KeyIdFor("acme", grace.name().substr(9))).status()));
}

TEST_F(PrivacyApiTest, EraseOfUnknownOrOtherTenantsContactIsNotFound) {
  const v1::Contact grace = MustCreate(Person("Grace", "Hopper"));
  v1::EraseContactResponse erased;
  EXPECT_EQ(Erase(grace.name(), &erased, "globex").error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Erase("contacts/0b7c7c62-3c2e-4f9a-8f43-3a1a3c0b7e11", &erased)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::Contact got;
  ASSERT_TRUE(Get(grace.name(), &got).ok());
  EXPECT_EQ(got.given_name(), "Grace");
}

TEST_F(PrivacyApiTest, EraseRejectsABadReasonAndChangesNothing) {
  const v1::Contact grace = MustCreate(Person("Grace", "Hopper"));
  v1::EraseContactResponse erased;
  const grpc::Status status =
      Erase(grace.name(), &erased, "acme", "Because She Asked!");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadRequestViolations(status),
              ElementsAre(::testing::Field(&FieldViolation::field, "reason")));
  v1::Contact got;
  ASSERT_TRUE(Get(grace.name(), &got).ok());
  EXPECT_EQ(got.given_name(), "Grace");
}

TEST_F(PrivacyApiTest, EraseTwiceIsIdempotent) {
  const v1::Contact grace = MustCreate(Person("Grace", "Hopper"));
  v1::EraseContactResponse first;
  ASSERT_TRUE(Erase(grace.name(), &first).ok());
  const uint64_t last = store_->LastPosition();
  v1::EraseContactResponse second;
  const grpc::Status status = Erase(grace.name(), &second);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(second.contact().state(), v1::RECORD_STATE_ERASED);
  EXPECT_EQ(second.result().etag(), first.result().etag());
  EXPECT_EQ(store_->LastPosition(), last);  // Nothing appended.
}

TEST_F(PrivacyApiTest, WritesToAnErasedPersonAreRefused) {
  const v1::Contact grace = MustCreate(Person("Grace", "Hopper"));
  v1::EraseContactResponse erased;
  ASSERT_TRUE(Erase(grace.name(), &erased).ok());

  v1::UpdateContactRequest update;
  *update.mutable_contact() = Person("Grace", "Brewster");
  update.mutable_contact()->set_name(grace.name());
  update.mutable_update_mask()->add_paths("family_name");
  v1::UpdateContactResponse updated;
  EXPECT_EQ(
      stub_->UpdateContact(Context().get(), update, &updated).error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);
  v1::GiveConsentResponse given;
  EXPECT_EQ(Give(grace.name(), "newsletter", v1::CONSENT_CHANNEL_EMAIL, &given)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(PrivacyApiTest, KeysAreDeletedInTheCommitOfTheErasureItself) {
  // As if the process died right after the append: the erasure is appended
  // straight to the store, no handler runs, and the key is gone anyway.
  const v1::Contact grace = MustCreate(Person("Grace", "Hopper"));
  const std::string id = grace.name().substr(std::string("contacts/").size());
  const std::string key_id = KeyIdFor("acme", id);
  ASSERT_OK(keys_->Get(key_id).status());
  v1::ContactErased event;
  event.set_contact_id(id);
  event.add_shredded_key_ids(key_id);
  event.set_reason("test");
  const EncodedEvent encoded = EncodeEvent(ContactEvent(event));
  eventstore::Envelope envelope;
  envelope.set_type(encoded.type);
  envelope.set_schema_version(encoded.schema_version);
  envelope.set_payload(encoded.payload);
  envelope.set_tenant("acme");
  envelope.set_actor("u1");
  ASSERT_OK(store_
                ->Append(ContactStream(id), eventstore::ExpectedVersion::Any(),
                         {envelope})
                .status());
  EXPECT_TRUE(IsKeyErased(keys_->Get(key_id).status()));
  // And after a restart.
  Stop();
  Start();
  EXPECT_TRUE(IsKeyErased(keys_->Get(key_id).status()));
  v1::Contact got;
  ASSERT_TRUE(Get(grace.name(), &got).ok());
  EXPECT_EQ(got.state(), v1::RECORD_STATE_ERASED);
}

// The erasure test: after erase, no file of the store holds any of
// the person's plaintext values (nor their key); before it, the same search
// finds what the files hold.
TEST_F(PrivacyApiTest, ErasureLeavesNoPlaintextInAnyStoreFile) {
  v1::Contact person =
      Person("Zebulon", "Quixwright", "zq.first@quixmail.test");
  person.add_phones()->set_number("+44 20 7946 0958");
  v1::PostalAddress* address = person.add_addresses();
  address->add_lines("17 Xylophone Mews");
  address->set_locality("Quuxborough");
  address->set_country_code("GB");
  person.set_notes("Prefers calls about the Vexillology Fund");
  person.set_job_title("Chief Zymurgist");
  const v1::Contact created = MustCreate(person);
  const std::string id = created.name().substr(9);

  v1::UpdateContactRequest update;
  *update.mutable_contact() =
      Person("Zebulon", "Quixwright-Ombrel", "zq.second@quixmail.test");
  update.mutable_contact()->set_name(created.name());
  update.mutable_contact()->set_notes("Moved to the Ombrel Archipelago");
  update.mutable_update_mask()->add_paths("family_name");
  update.mutable_update_mask()->add_paths("emails");
  update.mutable_update_mask()->add_paths("notes");
  v1::UpdateContactResponse updated;
  const grpc::Status update_status =
      stub_->UpdateContact(Context().get(), update, &updated);
  ASSERT_TRUE(update_status.ok()) << update_status.error_message();
  LogActivityAbout(id, "Call about the Snorkelwhistle contract",
                   "Discussed the Pomegranate Quartet renewal");

  const std::vector<std::string> plaintexts = {
      "Zebulon",
      "Quixwright",
      "Ombrel",
      "zq.first@quixmail.test",
      "zq.second@quixmail.test",
      "7946 0958",
      "2079460958",
      "Xylophone Mews",
      "Quuxborough",
      "Vexillology",
      "Zymurgist",
      "Ombrel Archipelago",
      "Snorkelwhistle",
      "Pomegranate Quartet",
  };
  ASSERT_OK_AND_ASSIGN(DataKey key, keys_->Get(KeyIdFor("acme", id)));
  const std::string key_bytes(key.begin(), key.end());
  // A plaintext marker in an extra column family, which must survive.
  const std::string marker = "plaintext-marker-5c1d";
  {
    ASSERT_OK_AND_ASSIGN(rocksdb::ColumnFamilyHandle * family,
                         store_->ColumnFamily(kKeyColumnFamily));
    rocksdb::WriteBatch batch;
    batch.Put(family, "test-marker", marker);
    ASSERT_OK(store_->Write(batch));
  }

  // Control, before the erasure: decrypting works, and the search finds the
  // key, the marker and the plaintext the list index keeps (folded names,
  // normalized emails), in the WAL and, after a flush, in SST files.
  v1::Contact before;
  ASSERT_TRUE(Get(created.name(), &before).ok());
  EXPECT_EQ(before.family_name(), "Quixwright-Ombrel");
  ASSERT_OK(store_->PurgeDeletedData());
  EXPECT_THAT(FilesContaining(StoreDir(), key_bytes), Not(IsEmpty()));
  EXPECT_THAT(FilesContaining(StoreDir(), marker), Not(IsEmpty()));
  EXPECT_THAT(FilesContaining(StoreDir(), "zq.second@quixmail.test"),
              Not(IsEmpty()));
  EXPECT_THAT(FilesContaining(StoreDir(), "zebulon"), Not(IsEmpty()));
  // The phone index of contact_list keeps the E.164 form.
  EXPECT_THAT(FilesContaining(StoreDir(), "+442079460958"), Not(IsEmpty()));

  v1::EraseContactResponse erased;
  const grpc::Status status = Erase(created.name(), &erased);
  ASSERT_TRUE(status.ok()) << status.error_message();

  for (const std::string& plaintext : plaintexts) {
    EXPECT_THAT(FilesContaining(StoreDir(), plaintext), IsEmpty()) << plaintext;
    EXPECT_THAT(FilesContaining(StoreDir(), Lower(plaintext)), IsEmpty())
        << Lower(plaintext);
  }
  EXPECT_THAT(FilesContaining(StoreDir(), "+442079460958"), IsEmpty());
  EXPECT_THAT(FilesContaining(StoreDir(), key_bytes), IsEmpty());
  EXPECT_THAT(FilesContaining(StoreDir(), marker), Not(IsEmpty()));

  // The log still replays from the beginning: a rebuild of contacts_by_id
  // (version 2) shows the record erased.
  Stop();
  Start(2);
  v1::GetContactRequest get;
  get.set_name(created.name());
  get.set_min_position(erased.result().global_position());
  v1::Contact after;
  ASSERT_TRUE(stub_->GetContact(Context().get(), get, &after).ok());
  EXPECT_EQ(after.state(), v1::RECORD_STATE_ERASED);
  EXPECT_EQ(after.family_name(), "");
  // And the rebuild wrote no plaintext back.
  ASSERT_OK(store_->PurgeDeletedData());
  for (const std::string& plaintext : plaintexts) {
    EXPECT_THAT(FilesContaining(StoreDir(), Lower(plaintext)), IsEmpty())
        << Lower(plaintext);
  }
}

}  // namespace
}  // namespace crm::contact::api
