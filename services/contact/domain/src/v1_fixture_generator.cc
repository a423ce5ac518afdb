// Writes the schema-v1 fixture (see v1_fixture.h) as length-delimited
// EventEnvelopes, the suite's export format:
//   contact_v1_fixture_generator
//   services/contact/domain/testdata/contact_v1_events.binpb
// Run only when the fixture must change; the checked-in file is what the
// upcaster test replays.
#include <fstream>
#include <iostream>

#include "crm/contact/crypto/aes_gcm_sealer.h"
#include "crm/contact/crypto/in_memory_key_provider.h"
#include "crm/contact/domain/sealer.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "v1_fixture.h"

int main(int argc, char** argv) {
  using namespace crm::contact;  // NOLINT(google-build-using-namespace)
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " <output file>\n";
    return 2;
  }
  InMemoryKeyProvider keys;
  for (const std::string& id : {fixture::AdaId(), fixture::GraceId()}) {
    std::string key_id = KeyIdFor(fixture::kTenant, id);
    if (absl::Status put = keys.Put(key_id, fixture::FixtureKey(key_id));
        !put.ok()) {
      std::cerr << put << "\n";
      return 1;
    }
  }
  AesGcmSealer sealer(&keys);
  absl::StatusOr<std::vector<crm::common::v1::EventEnvelope>> log =
      fixture::BuildV1Fixture(sealer);
  if (!log.ok()) {
    std::cerr << log.status() << "\n";
    return 1;
  }
  std::ofstream out(argv[1], std::ios::binary | std::ios::trunc);
  for (const crm::common::v1::EventEnvelope& envelope : *log) {
    if (!google::protobuf::util::SerializeDelimitedToOstream(envelope, &out)) {
      std::cerr << "cannot write " << argv[1] << "\n";
      return 1;
    }
  }
  out.close();
  if (!out) {
    std::cerr << "cannot write " << argv[1] << "\n";
    return 1;
  }
  std::cout << "wrote " << log->size() << " envelopes to " << argv[1] << "\n";
  return 0;
}
