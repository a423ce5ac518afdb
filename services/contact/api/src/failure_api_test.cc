// ContactService over gRPC in process: failure paths across areas — an
// erasure interrupted between its append and the purge, and an import
// stream that breaks in the middle of a batch.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api_test_fixture.h"
#include "crm/contact/domain/event_codec.h"
#include "crm/contact/domain/ids.h"
#include "gmock/gmock.h"
#include "rocksdb/db.h"
#include "rocksdb/iterator.h"
#include "rocksdb/write_batch.h"

namespace crm::contact::api {
namespace {

using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

// Where EraseContact marks the erasures whose purge has not finished
// (privacy_service.cc): the contact id as key, no value.
constexpr char kErasureColumnFamily[] = "contact_erasures";

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

class FailureApiTest : public ContactApiFixture {
 protected:
  std::filesystem::path StoreDir() const { return dir_ / "store"; }

  // The contact ids marked as waiting for a purge.
  std::vector<std::string> PendingErasureMarks() {
    std::vector<std::string> ids;
    absl::StatusOr<rocksdb::ColumnFamilyHandle*> family =
        store_->ColumnFamily(kErasureColumnFamily);
    if (!family.ok()) return ids;
    std::unique_ptr<rocksdb::Iterator> it(
        store_->db().NewIterator(rocksdb::ReadOptions(), *family));
    for (it->SeekToFirst(); it->Valid() && ids.size() < 100; it->Next()) {
      ids.push_back(it->key().ToString());
    }
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return ids;
  }

  // What EraseContact has done when its process dies right after the
  // append: the pending mark written, ContactErased appended (its commit
  // hook deleting the key), no read model waited for, no purge.
  void EraseAndCrashBeforeThePurge(const std::string& id) {
    ASSERT_OK_AND_ASSIGN(rocksdb::ColumnFamilyHandle * family,
                         store_->CreateColumnFamily(kErasureColumnFamily));
    rocksdb::WriteBatch mark;
    mark.Put(family, id, "");
    ASSERT_OK(store_->Write(mark));
    v1::ContactErased event;
    event.set_contact_id(id);
    event.add_shredded_key_ids(KeyIdFor("acme", id));
    event.set_reason("gdpr_art17_request");
    const EncodedEvent encoded = EncodeEvent(ContactEvent(event));
    eventstore::Envelope envelope;
    envelope.set_type(encoded.type);
    envelope.set_schema_version(encoded.schema_version);
    envelope.set_payload(encoded.payload);
    envelope.set_tenant("acme");
    envelope.set_actor("u1");
    ASSERT_OK(store_
                  ->Append(ContactStream(id),
                           eventstore::ExpectedVersion::Any(), {envelope})
                  .status());
    Stop();  // The crash: nothing more of the handler runs.
  }

  static v1::ImportRow Row(int i) {
    v1::ImportRow row;
    row.set_row_key(fmt::format("r{:05}", i));
    *row.mutable_contact() = Person(fmt::format("Given{}", i), "Broken",
                                    fmt::format("b{}@broken.example", i));
    return row;
  }

  // Every contact of the tenant, each whole page read once the read models
  // show every write.
  std::vector<v1::Contact> AllContacts() {
    std::vector<v1::Contact> contacts;
    v1::ListContactsRequest request;
    request.mutable_page()->set_page_size(1000);
    request.set_min_position(store_->LastPosition());
    for (int page = 0; page < 100; ++page) {
      v1::ListContactsResponse response;
      const grpc::Status status =
          stub_->ListContacts(Context().get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      contacts.insert(contacts.end(), response.contacts().begin(),
                      response.contacts().end());
      if (response.page().next_page_token().empty()) break;
      request.mutable_page()->set_page_token(response.page().next_page_token());
    }
    return contacts;
  }
};

// A crash after ContactErased committed and before the store was purged:
// the person's old index entries and key bytes stay in the store's files
// until the next start purges them (ResumePendingErasures, which
// ContactServer::Ready runs before the process reports SERVING).
TEST_F(FailureApiTest, ErasureInterruptedBeforeThePurgeIsPurgedAtTheNextStart) {
  v1::Contact person =
      Person("Quillon", "Vexbrandt", "quillon.vexbrandt@erasure.test");
  person.add_phones()->set_number("+44 20 7946 0321");
  const v1::Contact created = MustCreate(person);
  const std::string id = created.name().substr(std::string("contacts/").size());
  ASSERT_OK_AND_ASSIGN(DataKey key, keys_->Get(KeyIdFor("acme", id)));
  const std::string key_bytes(key.begin(), key.end());
  const std::vector<std::string> plaintexts = {
      "quillon", "vexbrandt", "quillon.vexbrandt@erasure.test", key_bytes};
  // Into SST files, as a long-running store has them.
  ASSERT_OK(store_->PurgeDeletedData());
  for (const std::string& plaintext : plaintexts) {
    ASSERT_THAT(FilesContaining(StoreDir(), plaintext), Not(IsEmpty()));
  }

  ASSERT_NO_FATAL_FAILURE(EraseAndCrashBeforeThePurge(id));
  ASSERT_NO_FATAL_FAILURE(Start());
  EXPECT_THAT(PendingErasureMarks(), ::testing::ElementsAre(id));
  // Control: the restart alone (projections applying the erasure) leaves
  // the old bytes in the files.
  EXPECT_THAT(FilesContaining(StoreDir(), key_bytes), Not(IsEmpty()));

  ASSERT_OK(service_->ResumePendingErasures(absl::Seconds(30)));
  for (const std::string& plaintext : plaintexts) {
    EXPECT_THAT(FilesContaining(StoreDir(), plaintext), IsEmpty())
        << (plaintext == key_bytes ? "the data key" : plaintext);
  }
  EXPECT_THAT(PendingErasureMarks(), IsEmpty());
  EXPECT_OK(service_->ResumePendingErasures(absl::Seconds(1)));  // Nothing.

  v1::Contact got;
  const grpc::Status status = Get(created.name(), &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.state(), v1::RECORD_STATE_ERASED);
  EXPECT_EQ(got.given_name(), "");
}

TEST_F(FailureApiTest, EraseContactLeavesNoPendingMarkBehind) {
  const v1::Contact created = MustCreate(Person("Ottoline", "Marsh"));
  v1::EraseContactRequest request;
  request.set_name(created.name());
  request.set_reason("gdpr_art17_request");
  v1::EraseContactResponse response;
  grpc::Status status =
      stub_->EraseContact(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(PendingErasureMarks(), IsEmpty());
  // A refused erasure (unknown contact) leaves none either.
  request.set_name("contacts/0b7c7c62-3c2e-4f9a-8f43-3a1a3c0b7e11");
  status = stub_->EraseContact(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(PendingErasureMarks(), IsEmpty());
}

// The client sends a batch and a half and cancels once the first batch is
// reported: the first batch's rows are in, whole; none of the half batch
// is; a rerun with the same import_id creates the rest once.
TEST_F(FailureApiTest, ImportBrokenMidBatchKeepsWholeBatchesAndResumesOnce) {
  constexpr int kBatch = 500;  // import_service.cc's rows per batch.
  constexpr int kSent = kBatch + kBatch / 2;
  {
    auto context = Context();
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    auto stream = stub_->ImportContacts(context.get());
    v1::ImportContactsRequest request;
    request.mutable_header()->set_import_id("broken-stream");
    ASSERT_TRUE(stream->Write(request));
    for (int i = 0; i < kSent; ++i) {
      *request.mutable_row() = Row(i);
      ASSERT_TRUE(stream->Write(request)) << "row " << i;
    }
    v1::ImportContactsResponse response;
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.progress().rows_created(), kBatch);
    EXPECT_EQ(response.progress().last_committed_row_key(), "r00499");
    EXPECT_FALSE(response.done());
    context->TryCancel();  // No half-close: the stream breaks.
    while (stream->Read(&response)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }

  // Exactly the first batch, each contact whole (names, email, readable).
  std::vector<v1::Contact> contacts = AllContacts();
  ASSERT_THAT(contacts, SizeIs(kBatch));
  std::set<std::string> emails;
  for (const v1::Contact& contact : contacts) {
    ASSERT_EQ(contact.emails_size(), 1) << contact.name();
    const std::string& email = contact.emails(0).address();
    int row = -1;
    ASSERT_EQ(std::sscanf(email.c_str(), "b%d@broken.example", &row), 1)
        << email;
    EXPECT_LT(row, kBatch) << "a row of the unfinished batch was written";
    EXPECT_EQ(contact.given_name(), fmt::format("Given{}", row));
    EXPECT_EQ(contact.family_name(), "Broken");
    emails.insert(email);
  }
  EXPECT_THAT(emails, SizeIs(kBatch));

  // The rerun: the first batch skipped, the rest created, nobody twice.
  auto context = Context();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  auto stream = stub_->ImportContacts(context.get());
  v1::ImportContactsRequest request;
  request.mutable_header()->set_import_id("broken-stream");
  ASSERT_TRUE(stream->Write(request));
  for (int i = 0; i < kSent; ++i) {
    *request.mutable_row() = Row(i);
    ASSERT_TRUE(stream->Write(request));
  }
  stream->WritesDone();
  v1::ImportContactsResponse response;
  v1::ImportProgress last;
  bool done = false;
  while (stream->Read(&response)) {
    last = response.progress();
    done = done || response.done();
  }
  const grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(done);
  EXPECT_EQ(last.rows_received(), kSent);
  EXPECT_EQ(last.rows_skipped(), kBatch);
  EXPECT_EQ(last.rows_created(), kSent - kBatch);
  contacts = AllContacts();
  EXPECT_THAT(contacts, SizeIs(kSent));
  emails.clear();
  for (const v1::Contact& contact : contacts) {
    for (const v1::EmailAddress& email : contact.emails()) {
      emails.insert(email.address());
    }
  }
  EXPECT_THAT(emails, SizeIs(kSent));
}

}  // namespace
}  // namespace crm::contact::api
