#include "kafka_status.h"

#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::bus {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using ::testing::HasSubstr;

TEST(KafkaStatusTest, MapsErrorsToCodesWithContext) {
  EXPECT_THAT(KafkaErrorToStatus(RD_KAFKA_RESP_ERR_NO_ERROR, "x"), IsOk());
  EXPECT_THAT(
      KafkaErrorToStatus(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "producing to t"),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("producing to t")));
  EXPECT_THAT(KafkaErrorToStatus(RD_KAFKA_RESP_ERR__QUEUE_FULL, "x"),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(KafkaErrorToStatus(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("message.max.bytes")));
  EXPECT_THAT(KafkaErrorToStatus(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "x"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(
      KafkaErrorToStatus(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, "x"),
      StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(KafkaErrorToStatus(RD_KAFKA_RESP_ERR__FATAL, "x"),
              StatusIs(absl::StatusCode::kAborted));
}

TEST(KafkaStatusTest, ConfErrorsNameTheProperty) {
  EXPECT_THAT(KafkaConfResultToStatus(RD_KAFKA_CONF_OK, "acks", ""), IsOk());
  EXPECT_THAT(KafkaConfResultToStatus(RD_KAFKA_CONF_UNKNOWN, "foo.bar", "no"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'foo.bar' is unknown")));
}

}  // namespace
}  // namespace crm::bus
