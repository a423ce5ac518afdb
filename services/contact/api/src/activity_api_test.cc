// ContactService over gRPC in process: Activities (activity_service.cc).
#include "api_test_fixture.h"
#include "gtest/gtest.h"

namespace crm::contact::api {
namespace {

class ActivityApiTest : public ContactApiFixture {};

}  // namespace
}  // namespace crm::contact::api
