// Given events, when an activity command, then events or an error.
#include "crm/contact/domain/activity.h"

#include "domain_test_util.h"

namespace crm::contact {
namespace {

using ::crm::contact::testing::DomainTest;
using ::crm::contact::testing::Expected;
using ::crm::contact::testing::HasViolation;
using ::crm::contact::testing::ParseText;
using ::crm::contact::testing::TestId;
using ::crm::contact::testing::TestNow;
using ::crm::testing::StatusIs;
using Code = absl::StatusCode;

struct Case {
  std::string name;
  std::vector<ActivityEvent> given = {};
  ActivityCommand when;
  std::vector<Expected> then = {};
  Code code = Code::kOk;
  std::string field = "";
  std::string tenant = testing::kTenant;
};

class ActivityDecideTest : public DomainTest {
 protected:
  const std::string id_ = TestId("activity-1");
  const std::string contact_ = TestId("contact-a");
  const std::string account_ = TestId("account-a");
  const std::string now_ = std::to_string(absl::ToUnixSeconds(TestNow()));
  const std::string due_ =
      std::to_string(absl::ToUnixSeconds(TestNow() + absl::Hours(48)));

  ActivityFields Task() {
    ActivityFields fields;
    fields.kind = v1::ACTIVITY_KIND_TASK;
    fields.contact_id = contact_;
    fields.due_time = TestNow() + absl::Hours(48);
    fields.content = ParseText<v1::ActivityContent>(
        "subject: 'Send the offer' body: 'Ada wants it by Friday'");
    return fields;
  }

  v1::ActivityLogged Logged(v1::ActivityKind kind = v1::ACTIVITY_KIND_TASK) {
    v1::ActivityLogged logged;
    logged.set_activity_id(id_);
    logged.set_kind(kind);
    logged.set_contact_id(contact_);
    logged.set_owner("user-1");
    absl::StatusOr<v1::SealedData> sealed = SealMessage(
        sealer_, KeyIdFor(testing::kTenant, contact_),
        ParseText<v1::ActivityContent>("subject: 'Send the offer'"));
    EXPECT_OK(sealed);
    *logged.mutable_sealed_content() = *sealed;
    return logged;
  }

  template <typename T>
  T Event() {
    T event;
    event.set_activity_id(id_);
    return event;
  }

  void Run(const std::vector<Case>& cases) {
    RunCases<ActivityState>(
        cases, [&](const ActivityState& state, const ActivityCommand& command) {
          return Decide(state, command, context_, sealer_);
        });
  }
};

TEST_F(ActivityDecideTest, LogActivity) {
  auto with = [&](auto change) {
    ActivityFields fields = Task();
    change(fields);
    return LogActivity{id_, fields};
  };
  Run({
      {.name = "logs a task sealed under the contact's key, start defaults to "
               "now",
       .when = LogActivity{id_, Task()},
       .then = {{"ActivityLogged",
                 "activity_id: '" + id_ +
                     "' kind: ACTIVITY_KIND_TASK "
                     "contact_id: '" +
                     contact_ +
                     "' owner: 'user-1' start_time { "
                     "seconds: " +
                     now_ + " } due_time { seconds: " + due_ + " }",
                 "subject: 'Send the offer' body: 'Ada wants it by Friday'"}}},
      {.name = "logs a note on an account alone",
       .when = with([&](ActivityFields& f) {
         f.kind = v1::ACTIVITY_KIND_NOTE;
         f.contact_id.clear();
         f.account_id = account_;
         f.due_time.reset();
         f.content.clear_subject();
       }),
       .then = {{"ActivityLogged",
                 "activity_id: '" + id_ +
                     "' kind: ACTIVITY_KIND_NOTE "
                     "account_id: '" +
                     account_ +
                     "' owner: 'user-1' start_time { "
                     "seconds: " +
                     now_ + " }",
                 "body: 'Ada wants it by Friday'"}}},
      {.name = "refuses an existing id",
       .given = {Logged()},
       .when = LogActivity{id_, Task()},
       .code = Code::kAlreadyExists},
      {.name = "refuses a missing kind",
       .when = with(
           [](ActivityFields& f) { f.kind = v1::ACTIVITY_KIND_UNSPECIFIED; }),
       .code = Code::kInvalidArgument,
       .field = "kind"},
      {.name = "refuses an activity on nobody",
       .when = with([](ActivityFields& f) { f.contact_id.clear(); }),
       .code = Code::kInvalidArgument,
       .field = "contact"},
      {.name = "refuses a task without a subject",
       .when = with([](ActivityFields& f) { f.content.clear_subject(); }),
       .code = Code::kInvalidArgument,
       .field = "subject"},
      {.name = "refuses a due time on a call",
       .when = with([](ActivityFields& f) { f.kind = v1::ACTIVITY_KIND_CALL; }),
       .code = Code::kInvalidArgument,
       .field = "due_time"},
      {.name = "refuses a direction on a meeting",
       .when = with([](ActivityFields& f) {
         f.kind = v1::ACTIVITY_KIND_MEETING;
         f.due_time.reset();
         f.direction = v1::ACTIVITY_DIRECTION_INBOUND;
       }),
       .code = Code::kInvalidArgument,
       .field = "direction"},
      {.name = "refuses an end before the start",
       .when = with([](ActivityFields& f) {
         f.start_time = TestNow();
         f.end_time = TestNow() - absl::Minutes(1);
       }),
       .code = Code::kInvalidArgument,
       .field = "end_time"},
      {.name = "refuses a bad participant",
       .when = with([](ActivityFields& f) {
         f.content.add_participants()->set_address("nobody");
       }),
       .code = Code::kInvalidArgument,
       .field = "participants[0].address"},
      {.name = "refuses a malformed contact id",
       .when = with([](ActivityFields& f) { f.contact_id = "ada"; }),
       .code = Code::kInvalidArgument,
       .field = "contact"},
  });
}

TEST_F(ActivityDecideTest, UpdateCompleteReopenDelete) {
  auto update = [&](std::vector<std::string> mask, auto change) {
    ActivityFields fields;
    change(fields);
    return UpdateActivity{id_, std::move(mask), fields};
  };
  Run({
      {.name = "updating the text reseals it",
       .given = {Logged()},
       .when = update({"body"},
                      [](ActivityFields& f) { f.content.set_body("Done?"); }),
       .then = {{"ActivityUpdated",
                 "activity_id: '" + id_ +
                     "' changed_fields: 'body' "
                     "contact_id: '" +
                     contact_ + "' owner: 'user-1'",
                 "subject: 'Send the offer' body: 'Done?'"}}},
      {.name = "moving to an account reseals under the account's key",
       .given = {Logged()},
       .when = update({"contact", "account"},
                      [&](ActivityFields& f) { f.account_id = account_; }),
       .then = {{"ActivityUpdated",
                 "activity_id: '" + id_ +
                     "' changed_fields: 'account' "
                     "changed_fields: 'contact' account_id: '" +
                     account_ + "' owner: 'user-1'",
                 "subject: 'Send the offer'"}}},
      {.name = "the same values append nothing",
       .given = {Logged()},
       .when = update(
           {"subject"},
           [](ActivityFields& f) { f.content.set_subject("Send the offer"); }),
       .then = {}},
      {.name = "refuses changing the kind",
       .given = {Logged()},
       .when = update({"kind"}, [](ActivityFields&) {}),
       .code = Code::kInvalidArgument,
       .field = "update_mask"},
      {.name = "refuses a result breaking the rules",
       .given = {Logged()},
       .when = update({"subject"}, [](ActivityFields&) {}),
       .code = Code::kInvalidArgument,
       .field = "subject"},
      {.name = "update of another tenant's activity is NOT_FOUND",
       .given = {Logged()},
       .when = update({"body"}, [](ActivityFields&) {}),
       .code = Code::kNotFound,
       .tenant = "globex"},
      {.name = "completes a task",
       .given = {Logged()},
       .when = CompleteActivity{id_},
       .then = {{"ActivityCompleted", "activity_id: '" + id_ + "'"}}},
      {.name = "refuses completing twice",
       .given = {Logged(), Event<v1::ActivityCompleted>()},
       .when = CompleteActivity{id_},
       .code = Code::kFailedPrecondition},
      {.name = "refuses completing a call",
       .given = {Logged(v1::ACTIVITY_KIND_CALL)},
       .when = CompleteActivity{id_},
       .code = Code::kFailedPrecondition},
      {.name = "complete of a missing activity is NOT_FOUND",
       .when = CompleteActivity{id_},
       .code = Code::kNotFound},
      {.name = "reopens a done task",
       .given = {Logged(), Event<v1::ActivityCompleted>()},
       .when = ReopenActivity{id_},
       .then = {{"ActivityReopened", "activity_id: '" + id_ + "'"}}},
      {.name = "refuses reopening an open task",
       .given = {Logged()},
       .when = ReopenActivity{id_},
       .code = Code::kFailedPrecondition},
      {.name = "deletes",
       .given = {Logged()},
       .when = DeleteActivity{id_},
       .then = {{"ActivityDeleted", "activity_id: '" + id_ + "'"}}},
      {.name = "refuses deleting twice",
       .given = {Logged(), Event<v1::ActivityDeleted>()},
       .when = DeleteActivity{id_},
       .code = Code::kFailedPrecondition},
      {.name = "a deleted activity refuses completion",
       .given = {Logged(), Event<v1::ActivityDeleted>()},
       .when = CompleteActivity{id_},
       .code = Code::kFailedPrecondition},
      {.name = "refuses a malformed id",
       .when = DeleteActivity{"1"},
       .code = Code::kInvalidArgument,
       .field = "activity_id"},
  });
}

TEST_F(ActivityDecideTest, ErasingTheContactShredsTheActivityText) {
  v1::ActivityLogged logged = Logged();
  ActivityState state = Apply(ActivityState(), logged, testing::TestMeta());
  ASSERT_OK(keys_.Delete(KeyIdFor(testing::kTenant, contact_)));
  v1::ActivityContent content;
  EXPECT_TRUE(
      IsKeyErased(OpenMessage(sealer_, state.sealed_content, &content)));
  ActivityFields fields;
  fields.content.set_body("more");
  EXPECT_TRUE(IsKeyErased(
      Decide(state, UpdateActivity{id_, {"body"}, fields}, context_, sealer_)
          .status()));
}

}  // namespace
}  // namespace crm::contact
