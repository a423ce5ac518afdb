// ContactService over gRPC in process: The change feed (WatchEvents)
// (watch_service.cc).
#include "api_test_fixture.h"
#include "gtest/gtest.h"

namespace crm::contact::api {
namespace {

class WatchApiTest : public ContactApiFixture {};

}  // namespace
}  // namespace crm::contact::api
