// ContactService over gRPC in process: Bulk import (import_service.cc).
#include "api_test_fixture.h"
#include "gtest/gtest.h"

namespace crm::contact::api {
namespace {

class ImportApiTest : public ContactApiFixture {};

}  // namespace
}  // namespace crm::contact::api
