// The schema-v1 fixture: a small log written as the first release of the
// contact service wrote it (ContactCreated schema 1, a flat full_name), used
// to prove that old logs still replay through the upcasters. The generator
// (v1_fixture_generator.cc) writes it once to
// testdata/contact_v1_events.binpb; the test replays the checked-in file.
// Test-only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crm/common/v1/event_envelope.pb.h"
#include "crm/contact/crypto/key_provider.h"
#include "crm/contact/domain/sealer.h"

namespace crm::contact::fixture {

inline constexpr char kTenant[] = "acme";
inline constexpr char kFileName[] = "contact_v1_events.binpb";

// The two people of the fixture: Ada (live) and Grace (erased in the log).
std::string AdaId();
std::string GraceId();

// The fixed data key of a fixture key id: SHA-256 of a label and the id. Only
// for this fixture: real keys are random.
DataKey FixtureKey(std::string_view key_id);

// The fixture's envelopes, in log order (global positions 1..4):
//   1 contact-<ada>    v1 ContactCreated (schema 1) "Ada King Lovelace"
//   2 contact-<ada>    v2 ContactUpdated  tags: vip
//   3 contact-<grace>  v1 ContactCreated (schema 1) "Grace Brewster Murray
//   Hopper" 4 contact-<grace>  v2 ContactErased
// Personal data is sealed with `sealer`, whose keys must be FixtureKey.
absl::StatusOr<std::vector<common::v1::EventEnvelope>> BuildV1Fixture(
    PersonalDataSealer& sealer);

}  // namespace crm::contact::fixture
