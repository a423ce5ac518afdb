// ContactService over gRPC in process: Consent, export and erasure
// (privacy_service.cc).
#include "api_test_fixture.h"
#include "gtest/gtest.h"

namespace crm::contact::api {
namespace {

class PrivacyApiTest : public ContactApiFixture {};

}  // namespace
}  // namespace crm::contact::api
