// Personal data protection: the read models of this area of the contact
// service (consent, and the activities about each person for exports).
//
//   contact_consents:   "<tenant>/<contact id>/<purpose>/<channel, 2 digits>"
//                       -> v1::Consent as the last ConsentGiven or
//                       ConsentWithdrawn left it (granted as of that event;
//                       ConsentOf applies the expiry at read time).
//   contact_activities: "<tenant>/<contact id>/<activity id>" -> "" for each
//                       activity logged about the contact, so an export
//                       finds them without scanning the log.
//
// Both hold ids and consent facts only (purpose, channel, legal basis,
// source, times), no personal data, so an erasure leaves them as they are:
// the record of a consent or a withdrawal outlives the person's data.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/v1/contact_service.pb.h"
#include "crm/projection/projection.h"

namespace crm::contact::projections {

inline constexpr char kContactConsentsProjection[] = "contact_consents";
inline constexpr char kContactActivitiesProjection[] = "contact_activities";

// Adds this area's projections to the service's list
// (ContactServiceProjections). `sealer` is not owned.
void AddPrivacyProjections(
    std::vector<std::unique_ptr<projection::Projection>>& list,
    PersonalDataSealer* sealer);

// contact_consents: consents folded through the domain's Apply.
// Thread-compatible (the engine calls Apply from one thread).
class ContactConsentsProjection final : public projection::Projection {
 public:
  explicit ContactConsentsProjection(PersonalDataSealer* sealer)
      : sealer_(sealer) {}
  std::string name() const override { return kContactConsentsProjection; }
  uint32_t version() const override { return 1; }
  absl::Status Apply(const projection::Envelope& event,
                     projection::ProjectionWriter& writer) override;

 private:
  PersonalDataSealer* sealer_;  // For upcasters only.
};

// contact_activities: activity ids by the contact they are about.
class ContactActivitiesProjection final : public projection::Projection {
 public:
  std::string name() const override { return kContactActivitiesProjection; }
  uint32_t version() const override { return 1; }
  absl::Status Apply(const projection::Envelope& event,
                     projection::ProjectionWriter& writer) override;
};

// The resource name "contacts/<id>/consents/<purpose>.<channel>", the channel
// in lower case without its prefix ("email", "sms", "phone", "post", "any").
std::string ConsentName(std::string_view contact_id, std::string_view purpose,
                        v1::ConsentChannel channel);

// The channel named `name` ("email" ...), or CONSENT_CHANNEL_UNSPECIFIED.
v1::ConsentChannel ConsentChannelNamed(std::string_view name);

// A stored consent as it reads at `now`: granted turns false once
// expire_time has passed.
v1::Consent ConsentOf(v1::Consent stored, absl::Time now);

struct ConsentPage {
  std::vector<v1::Consent> consents;  // As stored (see ConsentOf).
  // The key to resume after; empty when nothing follows.
  std::string resume_after;
};

// Up to page_size consents of one contact, ordered by purpose then channel,
// after the key `start_after` (from a previous page; empty for the first),
// only `purpose` when it is not empty. Errors: INVALID_ARGUMENT when
// start_after is not a key of this contact's consents; the view's.
absl::StatusOr<ConsentPage> ListStoredConsents(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view contact_id, std::string_view purpose,
    std::string_view start_after, size_t page_size);

// The consent of (purpose, channel), or nullopt.
absl::StatusOr<std::optional<v1::Consent>> GetStoredConsent(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view contact_id, std::string_view purpose,
    v1::ConsentChannel channel);

// Up to max_count ids of activities about the contact, after the activity id
// `start_after` (empty for the first), in id order.
absl::StatusOr<std::vector<std::string>> ListContactActivityIds(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view contact_id, std::string_view start_after,
    size_t max_count);

}  // namespace crm::contact::projections
