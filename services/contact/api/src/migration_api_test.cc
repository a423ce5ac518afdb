// Migration safety (issue 5): a store whose log was written with schema v1
// of ContactCreated (the checked-in fixture
// domain/testdata/contact_v1_events.binpb, see domain/testdata/README.md)
// replays through the upcaster into today's read models and reads back over
// gRPC; a bumped projection version then rebuilds blue/green while a reader
// keeps calling, and never sees a failure or a half-built state.
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api_test_fixture.h"
#include "crm/contact/domain/event_codec.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/projections/contact_projections.h"
#include "crm/contact/projections/contact_record.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "v1_fixture.h"

namespace crm::contact::api {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using HealthResponse = grpc::health::v1::HealthCheckResponse;

// Events appended to one contact before the version bump, so that the
// rebuild takes long enough for the reader to call during it.
constexpr int kFillerEvents = 5'000;
constexpr int kFillerEventsPerAppend = 500;

std::string FixturePath() {
  return std::string(CRM_CONTACT_TESTDATA_DIR) + "/" + fixture::kFileName;
}

// What a reader sees: Ada, the filler contact, and the list.
struct Observed {
  std::string ada;     // Contact, serialized deterministically.
  std::string filler;  // Contact, serialized deterministically.
  std::vector<std::string> list;

  friend bool operator==(const Observed&, const Observed&) = default;
};

std::string Canonical(const google::protobuf::Message& message) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return bytes;
}

class MigrationApiTest : public ContactApiFixture {
 protected:
  // The checked-in log, in order.
  static std::vector<eventstore::Envelope> ReadFixture() {
    std::ifstream in(FixturePath(), std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot open " << FixturePath();
    google::protobuf::io::IstreamInputStream stream(&in);
    std::vector<eventstore::Envelope> log;
    for (int i = 0; i < 100; ++i) {
      eventstore::Envelope envelope;
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

  // Writes the fixture into the (stopped) service's store as the release
  // that wrote it left it: its events, Ada's data key (the fixture's), and
  // Grace's key deleted by her ContactErased's commit hook.
  void LoadFixtureIntoStore() {
    eventstore::EventStore::Options options;
    options.path = (dir_ / "store").string();
    options.extra_column_families = {kKeyColumnFamily};
    std::unique_ptr<eventstore::EventStore> store;
    options.commit_hook =
        KeyErasureCommitHook([&store] { return store.get(); });
    ASSERT_OK_AND_ASSIGN(store, eventstore::EventStore::Open(options));
    {
      // StoreKeyProvider's format: the raw 32-byte key under its key id.
      const std::string key_id = KeyIdFor(fixture::kTenant, fixture::AdaId());
      const DataKey key = fixture::FixtureKey(key_id);
      ASSERT_OK_AND_ASSIGN(rocksdb::ColumnFamilyHandle * family,
                           store->ColumnFamily(kKeyColumnFamily));
      rocksdb::WriteBatch batch;
      batch.Put(family, key_id,
                rocksdb::Slice(reinterpret_cast<const char*>(key.data()),
                               key.size()));
      ASSERT_OK(store->Write(batch));
    }
    const std::vector<eventstore::Envelope> log = ReadFixture();
    ASSERT_EQ(log.size(), 4u);
    ASSERT_EQ(log[0].schema_version(), 1u);
    for (const eventstore::Envelope& envelope : log) {
      ASSERT_OK(store
                    ->Append(envelope.stream(),
                             eventstore::ExpectedVersion::Any(), {envelope})
                    .status());
    }
    EXPECT_EQ(store->LastPosition(), 4u);
  }

  // The fixture's Start, but as a deployed server runs: it does not wait
  // for the projections, and health is gated on them (SERVING once every
  // projection is live), so a caller waits for SERVING.
  void StartServing(uint32_t by_id_version) {
    eventstore::EventStore::Options options;
    options.path = (dir_ / "store").string();
    options.extra_column_families = {kKeyColumnFamily};
    options.commit_hook = KeyErasureCommitHook([this] { return store_.get(); });
    ASSERT_OK_AND_ASSIGN(store_, eventstore::EventStore::Open(options));
    keys_ = std::make_unique<StoreKeyProvider>(store_.get());
    sealer_ = std::make_unique<AesGcmSealer>(keys_.get());
    projections::ProjectionOptions projection_options;
    projection_options.contacts_by_id_version = by_id_version;
    ASSERT_OK_AND_ASSIGN(engine_,
                         projection::ProjectionEngine::Start(
                             *store_, projections::ContactServiceProjections(
                                          sealer_.get(), projection_options)));
    service_ = std::make_unique<ContactServiceImpl>(
        *store_, *engine_, *sealer_, ContactServiceImpl::Options{});
    server::ServerConfig config;
    config.service = "contact";
    config.grpc_listen = server::HostPort{"127.0.0.1", 0};
    config.metrics_listen = metrics_->address();
    config.shutdown_grace = absl::Seconds(5);
    server::ServiceHost::Options host_options;
    host_options.services = {service_.get()};
    host_options.handle_signals = false;
    host_options.readiness = [engine = engine_.get()] {
      return server::ProjectionsReady(*engine);
    };
    host_options.readiness_poll_interval = absl::Milliseconds(10);
    host_options.on_shutdown = {
        [service = service_.get()] { service->EndStreams(); }};
    ASSERT_OK_AND_ASSIGN(
        host_,
        server::ServiceHost::Start(config, *metrics_, std::move(host_options)));
    stub_ = v1::ContactService::NewStub(grpc::CreateChannel(
        host_->grpc_address().ToString(), grpc::InsecureChannelCredentials()));
  }

  HealthResponse::ServingStatus Health() {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    grpc::health::v1::HealthCheckRequest request;
    HealthResponse response;
    auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
        host_->grpc_address().ToString(), grpc::InsecureChannelCredentials()));
    if (!stub->Check(&context, request, &response).ok()) {
      return HealthResponse::UNKNOWN;
    }
    return response.status();
  }

  // Waits (bounded) for health SERVING.
  bool WaitForServing(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (Health() == HealthResponse::SERVING) return true;
      absl::SleepFor(absl::Milliseconds(20));  // Polling a condition.
    }
    return false;
  }

  // One reader's pass: Ada, the filler and every page of the list.
  // Fails (returns the call's error) on the first failed call.
  grpc::Status Observe(const std::string& filler, Observed* out) {
    v1::Contact contact;
    grpc::Status status = Get(AdaName(), &contact);
    if (!status.ok()) return status;
    out->ada = Canonical(contact);
    status = Get(filler, &contact);
    if (!status.ok()) return status;
    out->filler = Canonical(contact);
    out->list.clear();
    v1::ListContactsRequest request;
    request.mutable_page()->set_page_size(1);
    for (int page = 0; page < 10; ++page) {
      v1::ListContactsResponse response;
      status = stub_->ListContacts(Context().get(), request, &response);
      if (!status.ok()) return status;
      for (const v1::Contact& c : response.contacts()) {
        out->list.push_back(Canonical(c));
      }
      if (response.page().next_page_token().empty()) break;
      request.mutable_page()->set_page_token(response.page().next_page_token());
    }
    return grpc::Status::OK;
  }

  static std::string AdaName() { return "contacts/" + fixture::AdaId(); }
  static std::string GraceName() { return "contacts/" + fixture::GraceId(); }

  // Each record of a contacts_by_id scan ("<tenant>/<id>" keys) as the
  // service returns it (opened with the sealer), serialized.
  std::vector<std::string> Records(
      const projection::ProjectionView& view,
      const std::vector<std::pair<std::string, std::string>>& state) {
    std::vector<std::string> records;
    for (const auto& [key, value] : state) {
      const size_t slash = key.find('/');
      EXPECT_NE(slash, std::string::npos) << key;
      if (slash == std::string::npos) continue;
      absl::StatusOr<std::optional<projections::StoredContact>> stored =
          projections::GetStoredContact(view, key.substr(0, slash),
                                        key.substr(slash + 1));
      EXPECT_OK(stored.status());
      if (!stored.ok() || !stored->has_value()) {
        records.push_back("missing " + key);
        continue;
      }
      absl::StatusOr<v1::Contact> contact =
          projections::ToResource(**stored, *sealer_);
      EXPECT_OK(contact.status());
      records.push_back(contact.ok() ? Canonical(*contact) : "unreadable");
    }
    return records;
  }

  // The serving and target versions of contacts_by_id.
  std::pair<uint32_t, uint32_t> ByIdVersions() {
    for (const projection::ProjectionStatus& status : engine_->Status()) {
      if (status.name == projections::kContactsByIdProjection) {
        return {status.serving_version, status.target_version};
      }
    }
    return {0, 0};
  }
};

TEST_F(MigrationApiTest, V1LogReplaysAndARebuildKeepsServingTheSameState) {
  Stop();
  ASSERT_NO_FATAL_FAILURE(LoadFixtureIntoStore());
  ASSERT_NO_FATAL_FAILURE(StartServing(1));
  ASSERT_TRUE(WaitForServing(absl::Seconds(30)))
      << server::ProjectionsReady(*engine_) << " health " << Health();

  // Ada, written as schema v1 with a flat full name, reads back split and
  // normalized, with the tag of her v2 update.
  v1::Contact ada;
  grpc::Status status = Get(AdaName(), &ada);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(ada.given_name(), "Ada King");
  EXPECT_EQ(ada.family_name(), "Lovelace");
  ASSERT_EQ(ada.emails_size(), 1);
  EXPECT_EQ(ada.emails(0).address(), "ADA@Example.com");
  ASSERT_EQ(ada.phones_size(), 1);
  EXPECT_EQ(ada.phones(0).e164(), "+442079460958");
  EXPECT_THAT(ada.tags(), ElementsAre("vip"));
  EXPECT_EQ(ada.owner(), "user-1");
  EXPECT_EQ(ada.etag(), "2");

  // Grace, erased in the log: a record without personal data.
  v1::Contact grace;
  status = Get(GraceName(), &grace);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(grace.state(), v1::RECORD_STATE_ERASED);
  EXPECT_EQ(grace.given_name(), "");
  EXPECT_EQ(grace.family_name(), "");
  EXPECT_THAT(grace.emails(), IsEmpty());

  // The list shows Ada, and not the erased person.
  v1::ListContactsRequest list;
  EXPECT_THAT(ListAll(list, 10), ElementsAre(AdaName()));

  // History: both of Ada's changes, the v1 creation with its values.
  v1::ListHistoryRequest history_request;
  history_request.set_name(AdaName());
  v1::ListHistoryResponse history;
  status = stub_->ListHistory(Context().get(), history_request, &history);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(history.entries_size(), 2);
  EXPECT_EQ(history.entries(0).version(), 1);
  EXPECT_EQ(history.entries(0).event_type(), "crm.contact.v1.ContactCreated");
  EXPECT_EQ(history.entries(0).actor(), "user-1");
  EXPECT_THAT(history.entries(0).DebugString(),
              ::testing::HasSubstr("Lovelace"));
  EXPECT_EQ(history.entries(1).version(), 2);
  EXPECT_EQ(history.entries(1).event_type(), "crm.contact.v1.ContactUpdated");
  EXPECT_THAT(history.entries(1).DebugString(), ::testing::HasSubstr("vip"));

  // Enough log for the rebuild to take a while: one more contact, updated
  // many times (appended straight to the store: what matters is the log).
  const v1::Contact filler = MustCreate(Person("Filler", "Tags"));
  const std::string filler_id = filler.name().substr(9);
  for (int done = 0; done < kFillerEvents;) {
    std::vector<eventstore::Envelope> events;
    for (int i = 0; i < kFillerEventsPerAppend; ++i, ++done) {
      v1::ContactUpdated updated;
      updated.set_contact_id(filler_id);
      updated.add_changed_fields("tags");
      updated.add_tags(fmt::format("t{}", done % 7));
      const EncodedEvent encoded = EncodeEvent(ContactEvent(updated));
      eventstore::Envelope& envelope = events.emplace_back();
      envelope.set_type(encoded.type);
      envelope.set_schema_version(encoded.schema_version);
      envelope.set_payload(encoded.payload);
      envelope.set_tenant("acme");
      envelope.set_actor("u1");
    }
    ASSERT_OK(store_
                  ->Append(ContactStream(filler_id),
                           eventstore::ExpectedVersion::Any(),
                           std::move(events))
                  .status());
  }
  const uint64_t end = store_->LastPosition();
  ASSERT_OK(engine_->WaitForPosition(projections::kContactsByIdProjection, end,
                                     absl::Seconds(60)));
  ASSERT_OK(engine_->WaitForPosition(projections::kContactListProjection, end,
                                     absl::Seconds(60)));
  Observed before;
  status = Observe(filler.name(), &before);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(before.list.size(), 2u);
  ASSERT_OK_AND_ASSIGN(auto old_view,
                       engine_->View(projections::kContactsByIdProjection));
  ASSERT_EQ(old_view->version(), 1u);
  ASSERT_OK_AND_ASSIGN(auto old_state, old_view->Scan("", "", 1000));
  ASSERT_EQ(old_state.size(), 3u);  // Ada, Grace and the filler.
  std::vector<std::string> old_records = Records(*old_view, old_state);
  old_view.reset();

  // Restart with contacts_by_id at version 2: version 1 serves while 2 is
  // built from the start of the log beside it.
  Stop();
  ASSERT_NO_FATAL_FAILURE(StartServing(2));
  int calls = 0;
  int calls_during_rebuild = 0;
  int calls_after_switch = 0;
  std::vector<std::string> problems;
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  // The reader: calls until the switch has happened and a few calls ran on
  // the new version, or the deadline.
  std::thread reader([&] {
    while (absl::Now() < deadline && problems.size() < 10) {
      const auto [serving_before, target_before] = ByIdVersions();
      Observed seen;
      const grpc::Status call = Observe(filler.name(), &seen);
      const auto [serving_after, target_after] = ByIdVersions();
      ++calls;
      if (!call.ok()) {
        problems.push_back(fmt::format("call {} failed: {} {}", calls,
                                       static_cast<int>(call.error_code()),
                                       call.error_message()));
        continue;
      }
      if (!(seen == before)) {
        problems.push_back(fmt::format(
            "call {} saw another state (serving v{} -> v{}): {} listed", calls,
            serving_before, serving_after, seen.list.size()));
      }
      if (serving_before == 1 && serving_after == 1 && target_after == 2) {
        ++calls_during_rebuild;
      }
      if (serving_before == 2 && ++calls_after_switch >= 20) break;
    }
  });
  reader.join();
  EXPECT_THAT(problems, IsEmpty());
  EXPECT_GE(calls_after_switch, 20)
      << "the rebuild did not finish in time (" << calls << " calls)";
  EXPECT_GE(calls_during_rebuild, 1)
      << "no call ran while version 2 was being built (" << calls
      << " calls); the rebuild was too quick to observe";
  std::cout << "reader: " << calls << " calls, " << calls_during_rebuild
            << " during the rebuild, " << calls_after_switch
            << " after the switch\n";

  // Version 2 serves, equals version 1, and the service reports SERVING.
  ASSERT_OK_AND_ASSIGN(auto new_view,
                       engine_->View(projections::kContactsByIdProjection));
  EXPECT_EQ(new_view->version(), 2u);
  ASSERT_OK_AND_ASSIGN(auto new_state, new_view->Scan("", "", 1000));
  // The same keys, and the same records as the service reads them.
  ASSERT_EQ(new_state.size(), old_state.size());
  EXPECT_EQ(Records(*new_view, new_state), old_records);
  // Byte for byte, except Ada's: the upcaster re-seals her v1 personal data
  // with a fresh nonce at every replay, so a rebuild stores another
  // ciphertext of the same plaintext.
  const std::string ada_key = fmt::format("acme/{}", fixture::AdaId());
  for (size_t i = 0; i < old_state.size(); ++i) {
    EXPECT_EQ(new_state[i].first, old_state[i].first);
    if (old_state[i].first != ada_key) {
      EXPECT_EQ(new_state[i].second, old_state[i].second) << old_state[i].first;
    }
  }
  new_view.reset();
  EXPECT_TRUE(WaitForServing(absl::Seconds(30)));
  Observed after;
  status = Observe(filler.name(), &after);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(after == before);
}

}  // namespace
}  // namespace crm::contact::api
