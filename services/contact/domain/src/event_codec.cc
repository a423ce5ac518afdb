#include "crm/contact/domain/event_codec.h"

#include "crm/base/status_macros.h"
#include "fmt/format.h"
#include "validation.h"

namespace crm::contact {
namespace {

template <typename Variant>
EncodedEvent EncodeVariant(const Variant& event) {
  return std::visit(
      [](const auto& message) {
        EncodedEvent encoded;
        encoded.type = message.GetDescriptor()->full_name();
        encoded.schema_version = CurrentSchemaVersion(encoded.type);
        encoded.payload = message.SerializeAsString();
        return encoded;
      },
      event);
}

// Parses the payload as the variant alternative whose full name is `type`.
template <typename Variant, size_t I = 0>
absl::StatusOr<Variant> ParseAlternative(std::string_view type,
                                         const std::string& payload) {
  if constexpr (I == std::variant_size_v<Variant>) {
    return absl::InvalidArgumentError(fmt::format(
        "event type {} does not belong to this kind of stream", type));
  } else {
    using Message = std::variant_alternative_t<I, Variant>;
    if (Message::descriptor()->full_name() != type) {
      return ParseAlternative<Variant, I + 1>(type, payload);
    }
    Message message;
    if (!message.ParseFromString(payload)) {
      return absl::DataLossError(
          fmt::format("the payload of a {} event does not parse", type));
    }
    return Variant(std::move(message));
  }
}

template <typename Variant>
absl::StatusOr<Variant> ReadVariant(const common::v1::EventEnvelope& stored,
                                    const UpcastContext& context) {
  ASSIGN_OR_RETURN(common::v1::EventEnvelope envelope,
                   ContactUpcasters().Upcast(stored, context));
  uint32_t version =
      envelope.schema_version() == 0 ? 1 : envelope.schema_version();
  uint32_t current = CurrentSchemaVersion(envelope.type());
  if (current != 0 && version != current) {
    return absl::FailedPreconditionError(fmt::format(
        "event {} of type {} has schema version {}, but this build reads "
        "version {}{}",
        envelope.event_id(), envelope.type(), version, current,
        version > current ? ": upgrade the service"
                          : " and has no upcaster for it"));
  }
  return ParseAlternative<Variant>(envelope.type(), envelope.payload());
}

}  // namespace

uint32_t CurrentSchemaVersion(std::string_view type) {
  if (type == v1::ContactCreated::descriptor()->full_name()) return 2;
  if (type.substr(0, 15) == "crm.contact.v1.") return 1;
  return 0;
}

EncodedEvent EncodeEvent(const ContactEvent& event) {
  return EncodeVariant(event);
}
EncodedEvent EncodeEvent(const AccountEvent& event) {
  return EncodeVariant(event);
}
EncodedEvent EncodeEvent(const ActivityEvent& event) {
  return EncodeVariant(event);
}

void FillEnvelope(const EncodedEvent& event,
                  common::v1::EventEnvelope* envelope) {
  envelope->set_type(event.type);
  envelope->set_schema_version(event.schema_version);
  envelope->set_payload(event.payload);
}

absl::StatusOr<ContactEvent> ReadContactEvent(
    const common::v1::EventEnvelope& envelope, const UpcastContext& context) {
  return ReadVariant<ContactEvent>(envelope, context);
}
absl::StatusOr<AccountEvent> ReadAccountEvent(
    const common::v1::EventEnvelope& envelope, const UpcastContext& context) {
  return ReadVariant<AccountEvent>(envelope, context);
}
absl::StatusOr<ActivityEvent> ReadActivityEvent(
    const common::v1::EventEnvelope& envelope, const UpcastContext& context) {
  return ReadVariant<ActivityEvent>(envelope, context);
}

EventMeta EventMetaOf(const common::v1::EventEnvelope& envelope) {
  EventMeta meta;
  meta.tenant = envelope.tenant();
  meta.actor = envelope.actor();
  meta.occurred_at = FromTimestamp(envelope.occurred_at());
  return meta;
}

}  // namespace crm::contact
