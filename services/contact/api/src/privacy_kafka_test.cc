// Erasure and the Kafka topic: the service's events published through the
// bus to librdkafka's mock cluster on 127.0.0.1 carry no plaintext personal
// data, and after an erasure what they carry can no longer be opened.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <string>
#include <vector>

#include "api_test_fixture.h"
#include "crm/bus/bus.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/v1/contact_events.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::contact::api {
namespace {

constexpr char kTopic[] = "crm.contact.events.v1";
constexpr int kPartitions = 2;

// One message as it is on the topic: key, value and headers, raw.
struct RawMessage {
  std::string key;
  std::string value;
  std::string headers;  // Every header name and value, concatenated.
};

class PrivacyKafkaTest : public ContactApiFixture {
 protected:
  void SetUp() override {
    ContactApiFixture::SetUp();
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", "", errstr, sizeof(errstr));
    mock_handle_ =
        rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    ASSERT_NE(mock_handle_, nullptr) << errstr;
    cluster_ = rd_kafka_mock_cluster_new(mock_handle_, 1);
    ASSERT_NE(cluster_, nullptr);
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, kTopic, kPartitions, 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    bus_ = bus::NewKafkaBus(
        {{"bootstrap.servers", rd_kafka_mock_cluster_bootstraps(cluster_)}});
    ASSERT_OK_AND_ASSIGN(publisher_, bus_->StartPublisher(*store_, "contact"));
  }

  void TearDown() override {
    publisher_.reset();
    bus_.reset();
    ContactApiFixture::TearDown();
    if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
    if (mock_handle_ != nullptr) rd_kafka_destroy(mock_handle_);
  }

  // Every message of the topic, read from the beginning of each partition
  // until `expected` messages or 20 s.
  std::vector<RawMessage> ReadAll(size_t expected) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers",
                      rd_kafka_mock_cluster_bootstraps(cluster_), errstr,
                      sizeof(errstr));
    rd_kafka_conf_set(conf, "group.id", "privacy-test-reader", errstr,
                      sizeof(errstr));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
                      sizeof(errstr));
    rd_kafka_t* consumer =
        rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    EXPECT_NE(consumer, nullptr) << errstr;
    std::vector<RawMessage> messages;
    if (consumer == nullptr) return messages;
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(kPartitions);
    for (int32_t p = 0; p < kPartitions; ++p) {
      rd_kafka_topic_partition_list_add(list, kTopic, p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    }
    EXPECT_EQ(rd_kafka_assign(consumer, list), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(list);
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (messages.size() < expected && absl::Now() < deadline) {
      rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 50);
      if (message == nullptr) continue;
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        RawMessage& raw = messages.emplace_back();
        if (message->key != nullptr) {
          raw.key.assign(static_cast<const char*>(message->key),
                         message->key_len);
        }
        raw.value.assign(static_cast<const char*>(message->payload),
                         message->len);
        rd_kafka_headers_t* headers = nullptr;
        if (rd_kafka_message_headers(message, &headers) ==
            RD_KAFKA_RESP_ERR_NO_ERROR) {
          const char* name = nullptr;
          const void* value = nullptr;
          size_t size = 0;
          for (size_t i = 0;
               rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
               RD_KAFKA_RESP_ERR_NO_ERROR;
               ++i) {
            raw.headers.append(name);
            if (value != nullptr) {
              raw.headers.append(static_cast<const char*>(value), size);
            }
          }
        }
      }
      rd_kafka_message_destroy(message);
    }
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    return messages;
  }

  // How many messages hold `needle` in their key, value or headers.
  static int Containing(const std::vector<RawMessage>& messages,
                        std::string_view needle) {
    int found = 0;
    for (const RawMessage& m : messages) {
      if (m.key.find(needle) != std::string::npos ||
          m.value.find(needle) != std::string::npos ||
          m.headers.find(needle) != std::string::npos) {
        ++found;
      }
    }
    return found;
  }

  // Opens the personal data of every ContactCreated on the topic.
  std::vector<absl::StatusOr<v1::ContactPersonalData>> OpenCreated(
      const std::vector<RawMessage>& messages) {
    std::vector<absl::StatusOr<v1::ContactPersonalData>> opened;
    for (const RawMessage& m : messages) {
      common::v1::EventEnvelope envelope;
      if (!envelope.ParseFromString(m.value) ||
          envelope.type() != v1::ContactCreated::descriptor()->full_name()) {
        continue;
      }
      v1::ContactCreated created;
      EXPECT_TRUE(created.ParseFromString(envelope.payload()));
      v1::ContactPersonalData personal;
      const absl::Status status =
          OpenMessage(*sealer_, created.sealed_personal(), &personal);
      if (status.ok()) {
        opened.push_back(personal);
      } else {
        opened.push_back(status);
      }
    }
    return opened;
  }

  rd_kafka_t* mock_handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<bus::Publisher> publisher_;
};

TEST_F(PrivacyKafkaTest, TopicHoldsNoPlaintextAndNothingOpensAfterErasure) {
  v1::Contact person =
      Person("Zebulon", "Quixwright", "zq.first@quixmail.test");
  person.add_phones()->set_number("+44 20 7946 0958");
  person.set_notes("Prefers calls about the Vexillology Fund");
  const v1::Contact created = MustCreate(person);
  const std::string id = created.name().substr(9);
  const std::vector<std::string> plaintexts = {"Zebulon",
                                               "Quixwright",
                                               "zebulon",
                                               "quixwright",
                                               "zq.first@quixmail.test",
                                               "7946 0958",
                                               "2079460958",
                                               "Vexillology"};

  // Control, before the erasure: the topic carries the person's events
  // (their id is found raw) and their data opens with the key.
  ASSERT_OK(publisher_->Flush(absl::Seconds(20)));
  std::vector<RawMessage> before = ReadAll(store_->LastPosition());
  ASSERT_EQ(before.size(), store_->LastPosition());
  EXPECT_GT(Containing(before, id), 0);
  auto opened = OpenCreated(before);
  ASSERT_THAT(opened, ::testing::SizeIs(1));
  ASSERT_OK(opened[0].status());
  EXPECT_EQ(opened[0]->given_name(), "Zebulon");
  for (const std::string& plaintext : plaintexts) {
    EXPECT_EQ(Containing(before, plaintext), 0) << plaintext;
  }

  v1::EraseContactRequest request;
  request.set_name(created.name());
  request.set_reason("gdpr_art17_request");
  v1::EraseContactResponse erased;
  const grpc::Status status =
      stub_->EraseContact(Context().get(), request, &erased);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_OK(publisher_->Flush(absl::Seconds(20)));

  std::vector<RawMessage> after = ReadAll(store_->LastPosition());
  ASSERT_EQ(after.size(), store_->LastPosition());
  EXPECT_EQ(Containing(after, "crm.contact.v1.ContactErased"), 1);
  for (const std::string& plaintext : plaintexts) {
    EXPECT_EQ(Containing(after, plaintext), 0) << plaintext;
  }
  opened = OpenCreated(after);
  ASSERT_THAT(opened, ::testing::SizeIs(1));
  EXPECT_TRUE(IsKeyErased(opened[0].status())) << opened[0].status();
}

}  // namespace
}  // namespace crm::contact::api
