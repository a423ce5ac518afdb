// ContactService over gRPC in process: Duplicates, merges and incomplete
// records (quality_service.cc).
#include "api_test_fixture.h"
#include "gtest/gtest.h"

namespace crm::contact::api {
namespace {

class QualityApiTest : public ContactApiFixture {};

}  // namespace
}  // namespace crm::contact::api
