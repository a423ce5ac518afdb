// ContactService over gRPC in process: Accounts,relationships
// (account_service.cc).
#include "api_test_fixture.h"
#include "gtest/gtest.h"

namespace crm::contact::api {
namespace {

class AccountApiTest : public ContactApiFixture {};

}  // namespace
}  // namespace crm::contact::api
