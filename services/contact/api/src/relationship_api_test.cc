// ContactService over gRPC in process: Contact-to-account relationships
// (relationship_service.cc).
#include "api_test_fixture.h"
#include "gtest/gtest.h"

namespace crm::contact::api {
namespace {

class RelationshipApiTest : public ContactApiFixture {};

}  // namespace
}  // namespace crm::contact::api
