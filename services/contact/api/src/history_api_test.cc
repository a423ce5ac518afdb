// ContactService over gRPC in process: Timeline, history and as_of reads
// (history_service.cc).
#include "api_test_fixture.h"
#include "gtest/gtest.h"

namespace crm::contact::api {
namespace {

class HistoryApiTest : public ContactApiFixture {};

}  // namespace
}  // namespace crm::contact::api
