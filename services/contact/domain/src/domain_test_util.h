// Shared helpers of the contact domain tests: a real AES-GCM sealer over an
// in-memory key store, a fixed command context, and event expectations
// written as text protos with the sealed plaintext opened.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/contact/crypto/aes_gcm_sealer.h"
#include "crm/contact/crypto/in_memory_key_provider.h"
#include "crm/contact/domain/context.h"
#include "crm/contact/domain/field_violation.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/v1/contact_events.pb.h"
#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace crm::contact::testing {

inline constexpr char kTenant[] = "acme";
inline constexpr char kActor[] = "user-1";

inline absl::Time TestNow() {
  return absl::FromCivil(absl::CivilSecond(2024, 5, 17, 12, 0, 0),
                         absl::UTCTimeZone());
}

inline CommandContext TestContext(std::string tenant = kTenant) {
  CommandContext context;
  context.tenant = std::move(tenant);
  context.actor = kActor;
  context.now = TestNow();
  context.default_region = "DE";
  return context;
}

inline EventMeta TestMeta(std::string tenant = kTenant) {
  return EventMeta{std::move(tenant), kActor, TestNow()};
}

// Stable ids for tests.
inline std::string TestId(std::string_view name) {
  return DeriveId("test", name);
}

template <typename T>
T ParseText(std::string_view text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(std::string(text),
                                                            &message))
      << "bad text proto for " << T::descriptor()->full_name() << ": " << text;
  return message;
}

// One expected event: its type, its payload as a text proto without the
// sealed field, and the sealed field's plaintext as a text proto (empty:
// the event must carry no sealed data).
struct Expected {
  std::string type;  // short name, such as "ContactCreated"
  std::string payload;
  std::string sealed = "";
};

// Every SealedData field an event may have, with its plaintext type.
inline const google::protobuf::Message* PlaintextPrototype(
    std::string_view field_name) {
  if (field_name == "sealed_content") {
    return &v1::ActivityContent::default_instance();
  }
  return &v1::ContactPersonalData::default_instance();
}

// Matches an INVALID_ARGUMENT status whose violations name `field`.
MATCHER_P(HasViolation, field,
          std::string("is INVALID_ARGUMENT naming field ") + field) {
  const absl::Status& status = ::crm::testing::internal::ToStatus(arg);
  *result_listener << "status is " << status;
  if (status.code() != absl::StatusCode::kInvalidArgument) return false;
  for (const FieldViolation& v : FieldViolations(status)) {
    if (v.field == field) return true;
  }
  return false;
}

// Tables are vectors of a per-file Case struct with these members:
//   std::string name; std::vector<Event> given; Command when;
//   std::vector<Expected> then; absl::StatusCode code; std::string field
//   (a violated field, for INVALID_ARGUMENT); std::string tenant (of the
//   given events).

// Base fixture of the domain tests.
class DomainTest : public ::testing::Test {
 protected:
  InMemoryKeyProvider keys_;
  AesGcmSealer sealer_{&keys_};
  CommandContext context_ = TestContext();

  v1::SealedData SealPersonal(std::string_view contact_id,
                              std::string_view personal_text,
                              std::string_view tenant = kTenant) {
    absl::StatusOr<v1::SealedData> sealed =
        SealMessage(sealer_, KeyIdFor(tenant, contact_id),
                    ParseText<v1::ContactPersonalData>(personal_text));
    EXPECT_OK(sealed);
    return sealed.ok() ? *sealed : v1::SealedData();
  }

  // Compares one event (a message) with an expectation.
  void ExpectEvent(const google::protobuf::Message& actual,
                   const Expected& expected) {
    SCOPED_TRACE(expected.type);
    ASSERT_EQ(actual.GetDescriptor()->name(), expected.type);
    std::unique_ptr<google::protobuf::Message> stripped(actual.New());
    stripped->CopyFrom(actual);
    bool had_sealed = false;
    const google::protobuf::Descriptor* descriptor = actual.GetDescriptor();
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const google::protobuf::FieldDescriptor* field = descriptor->field(i);
      if (field->message_type() != v1::SealedData::descriptor() ||
          field->is_repeated()) {
        continue;
      }
      const auto& reflection = *actual.GetReflection();
      if (reflection.HasField(actual, field)) {
        const auto& sealed = static_cast<const v1::SealedData&>(
            reflection.GetMessage(actual, field));
        EXPECT_FALSE(sealed.ciphertext().empty());
        std::unique_ptr<google::protobuf::Message> plaintext(
            PlaintextPrototype(field->name())->New());
        ASSERT_OK(OpenMessage(sealer_, sealed, plaintext.get()));
        google::protobuf::util::MessageDifferencer differencer;
        std::string diff;
        differencer.ReportDifferencesToString(&diff);
        std::unique_ptr<google::protobuf::Message> want(plaintext->New());
        ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
            expected.sealed, want.get()))
            << expected.sealed;
        EXPECT_TRUE(differencer.Compare(*want, *plaintext))
            << "sealed " << field->name() << ": " << diff;
        had_sealed = true;
      }
      stripped->GetReflection()->ClearField(stripped.get(), field);
    }
    if (!had_sealed) {
      EXPECT_TRUE(expected.sealed.empty()) << "the event has no sealed data";
    }
    std::unique_ptr<google::protobuf::Message> want(actual.New());
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(expected.payload,
                                                              want.get()))
        << expected.payload;
    google::protobuf::util::MessageDifferencer differencer;
    std::string diff;
    differencer.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differencer.Compare(*want, *stripped)) << diff;
  }

  // Runs a table: folds each row's given events into a State, decides its
  // command with `decide(state, command)` and checks the outcome.
  template <typename State, typename Case, typename Decide>
  void RunCases(const std::vector<Case>& cases, Decide decide) {
    for (const Case& c : cases) {
      SCOPED_TRACE(c.name);
      State state;
      for (const auto& e : c.given) {
        state = Apply(std::move(state), e, TestMeta(c.tenant));
      }
      auto result = decide(state, c.when);
      if (c.code == absl::StatusCode::kOk) {
        ExpectEvents(result, c.then);
      } else {
        EXPECT_THAT(result, ::crm::testing::StatusIs(c.code));
        if (!c.field.empty()) {
          EXPECT_THAT(result, HasViolation(c.field));
        }
      }
    }
  }

  template <typename Event>
  void ExpectEvents(const absl::StatusOr<std::vector<Event>>& actual,
                    const std::vector<Expected>& expected) {
    ASSERT_OK(actual);
    ASSERT_EQ(actual->size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      std::visit(
          [&](const auto& message) { ExpectEvent(message, expected[i]); },
          (*actual)[i]);
    }
  }
};

}  // namespace crm::contact::testing
