// crmctl: the CSV mapping, and the binary run as a process against the
// contact service in process (ContactApiFixture) on 127.0.0.1.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api_test_fixture.h"
#include "csv_rows.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "server_test_util.h"

namespace crm::crmctl {
namespace {

using ::crm::testing::StatusIs;
using ::testing::HasSubstr;

namespace v1 = contact::v1;

// ---- CSV mapping ----------------------------------------------------------

class CsvColumnsTest : public ::testing::Test {};

TEST_F(CsvColumnsTest, MapsAliasesAndSplitsMultiValues) {
  ASSERT_OK_AND_ASSIGN(
      CsvColumns columns,
      CsvColumns::FromHeader({"First Name", "last-name", "EMAIL", "tags",
                              "company", "website", "city"}));
  ASSERT_OK_AND_ASSIGN(
      v1::ImportRow row,
      columns.Map({"Ada", "Lovelace", "ada@x.org; ada@y.org", "vip;math",
                   "Analytical", "https://analytical.example", "London"},
                  7));
  EXPECT_EQ(row.row_key(), "7");
  EXPECT_EQ(row.contact().given_name(), "Ada");
  EXPECT_EQ(row.contact().family_name(), "Lovelace");
  ASSERT_EQ(row.contact().emails_size(), 2);
  EXPECT_EQ(row.contact().emails(1).address(), "ada@y.org");
  EXPECT_EQ(row.contact().tags_size(), 2);
  EXPECT_EQ(row.account().display_name(), "Analytical");
  EXPECT_EQ(row.account().website(), "https://analytical.example");
  ASSERT_EQ(row.contact().addresses_size(), 1);
  EXPECT_EQ(row.contact().addresses(0).locality(), "London");
}

TEST_F(CsvColumnsTest, RowKeyColumnOverridesTheRecordNumber) {
  ASSERT_OK_AND_ASSIGN(CsvColumns columns,
                       CsvColumns::FromHeader({"id", "given_name"}));
  ASSERT_OK_AND_ASSIGN(v1::ImportRow row, columns.Map({"crm-17", "Ada"}, 2));
  EXPECT_EQ(row.row_key(), "crm-17");
}

TEST_F(CsvColumnsTest, UnknownColumnsAreRefusedByName) {
  EXPECT_THAT(CsvColumns::FromHeader({"given_name", "fax", "emial"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"fax\", \"emial\"")));
  EXPECT_THAT(CsvColumns::FromHeader({"email"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CsvColumns::FromHeader({"given_name", "first_name"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(CsvColumnsTest, RecordWithAnotherFieldCountIsRefused) {
  ASSERT_OK_AND_ASSIGN(CsvColumns columns,
                       CsvColumns::FromHeader({"given_name", "family_name"}));
  EXPECT_THAT(columns.Map({"Ada"}, 3).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---- The binary -----------------------------------------------------------

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class CrmctlTest : public contact::api::ContactApiFixture {
 protected:
  std::string Server() const { return host_->grpc_address().ToString(); }

  // Runs crmctl with `args` (fork+exec, no CRM_* variables), at most 60 s.
  Outcome Crmctl(std::vector<std::string> args) {
    const auto out = dir_ / "out.txt";
    const auto err = dir_ / "err.txt";
    args.insert(args.begin(), CRMCTL_BINARY);
    Outcome run;
    const absl::StatusOr<pid_t> spawned = server::test_util::SpawnChild(
        std::move(args), {}, out.string(), err.string());
    if (!spawned.ok()) {
      ADD_FAILURE() << spawned.status();
      return run;
    }
    const pid_t pid = *spawned;
    int status = 0;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    pid_t done = 0;
    while ((done = waitpid(pid, &status, WNOHANG)) == 0 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (done == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "crmctl did not finish in 60 s";
    }
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = ReadFile(out);
    run.err = ReadFile(err);
    return run;
  }

  std::vector<std::string> As(std::vector<std::string> args) {
    std::vector<std::string> all = {"--server", Server(),  "--tenant",
                                    "acme",     "--actor", "u1"};
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }

  std::string WriteCsv(const std::string& text) {
    const auto path = dir_ / "contacts.csv";
    std::ofstream(path) << text;
    return path.string();
  }
};

TEST_F(CrmctlTest, CreateGetAndListAContact) {
  const Outcome created =
      Crmctl(As({"--json", "create", "--given-name", "Ada", "--family-name",
                 "Lovelace", "--email", "ada@example.com"}));
  ASSERT_EQ(created.exit_code, 0) << created.err;
  v1::CreateContactResponse response;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(created.out, &response).ok())
      << created.out;
  const std::string name = response.contact().name();
  ASSERT_THAT(name, HasSubstr("contacts/"));

  const Outcome got = Crmctl(As({"get", name.substr(9), "--json"}));
  ASSERT_EQ(got.exit_code, 0) << got.err;
  v1::Contact contact;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(got.out, &contact).ok())
      << got.out;
  EXPECT_EQ(contact.name(), name);
  EXPECT_EQ(contact.given_name(), "Ada");
  EXPECT_EQ(contact.emails(0).address(), "ada@example.com");

  const Outcome listed = Crmctl(As({"list"}));
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("NAME"));
  EXPECT_THAT(listed.out, HasSubstr(name));
  EXPECT_THAT(listed.out, HasSubstr("Lovelace"));
}

TEST_F(CrmctlTest, HistoryOfAnAccountAndOfAnActivity) {
  v1::CreateAccountRequest create_account;
  create_account.mutable_account()->set_display_name("Acme");
  v1::CreateAccountResponse account;
  ASSERT_TRUE(
      stub_->CreateAccount(Context().get(), create_account, &account).ok());
  v1::UpdateAccountRequest update;
  update.mutable_account()->set_name(account.account().name());
  update.mutable_account()->set_industry("mining");
  update.mutable_update_mask()->add_paths("industry");
  v1::UpdateAccountResponse updated;
  ASSERT_TRUE(
      stub_->UpdateAccount(Context("acme", "u2").get(), update, &updated).ok());

  const Outcome history = Crmctl(As({"history", account.account().name()}));
  ASSERT_EQ(history.exit_code, 0) << history.err;
  EXPECT_THAT(history.out, HasSubstr("crm.contact.v1.AccountCreated"));
  EXPECT_THAT(history.out, HasSubstr("crm.contact.v1.AccountUpdated"));
  EXPECT_THAT(history.out, HasSubstr("industry"));
  EXPECT_THAT(history.out, HasSubstr("u2"));

  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::CreateActivityRequest log;
  log.mutable_activity()->set_kind(v1::ACTIVITY_KIND_TASK);
  log.mutable_activity()->set_contact(ada.name());
  log.mutable_activity()->set_subject("Send the offer");
  v1::CreateActivityResponse activity;
  ASSERT_TRUE(stub_->CreateActivity(Context().get(), log, &activity).ok());

  const Outcome json =
      Crmctl(As({"--json", "history", activity.activity().name()}));
  ASSERT_EQ(json.exit_code, 0) << json.err;
  v1::HistoryEntry entry;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json.out, &entry).ok())
      << json.out;
  EXPECT_EQ(entry.version(), 1);
  EXPECT_EQ(entry.event_type(), "crm.contact.v1.ActivityLogged");
}

TEST_F(CrmctlTest, ImportReportsTheBadRowAndExitsTwo) {
  const std::string csv = WriteCsv(
      "given_name,family_name,email\n"
      "Ada,Lovelace,ada@example.com\n"
      ",,not-an-email\n"
      "\"Grace, Rear Admiral\",Hopper,grace@example.com\n");
  const Outcome first = Crmctl(As({"import", csv, "--import-id", "csv-1"}));
  EXPECT_EQ(first.exit_code, 2) << first.err;
  EXPECT_THAT(first.out, HasSubstr("3 rows sent, 2 created, 0 updated, 0 "
                                   "skipped, 1 failed"));
  EXPECT_THAT(first.err, HasSubstr("row 3 refused"));
  EXPECT_THAT(first.err, HasSubstr("contact.emails[0].address"));

  const Outcome again = Crmctl(As({"import", csv, "--import-id", "csv-1"}));
  EXPECT_EQ(again.exit_code, 2) << again.err;
  EXPECT_THAT(again.out, HasSubstr("0 created, 0 updated, 2 skipped"));

  const Outcome listed = Crmctl(As({"list", "--json"}));
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("Grace, Rear Admiral"));
}

TEST_F(CrmctlTest, ImportOfGoodRowsExitsZero) {
  const std::string csv =
      WriteCsv("first_name,last_name\nAda,Lovelace\nAlan,Turing\n");
  const Outcome run = Crmctl(As({"import", csv, "--import-id", "ok"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("2 created"));
}

TEST_F(CrmctlTest, ServerRefusalPrintsTheCodeAndExitsTwo) {
  const Outcome run = Crmctl({"--server", Server(), "get", "not-a-uuid"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("UNAUTHENTICATED"));
  const Outcome bad = Crmctl(As({"get", "not-a-uuid"}));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(bad.err, HasSubstr("name:"));
}

TEST_F(CrmctlTest, UnreachableServerExitsThree) {
  // A port nobody listens on: bound, then closed.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
            0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(fd);
  const Outcome run =
      Crmctl({"--server", fmt::format("127.0.0.1:{}", ntohs(address.sin_port)),
              "--tenant", "acme", "--actor", "u1", "--timeout", "1", "list"});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_THAT(run.err, HasSubstr("cannot reach"));
}

TEST_F(CrmctlTest, UsageErrorsExitOne) {
  EXPECT_EQ(Crmctl({"list", "--no-such-flag"}).exit_code, 1);
  EXPECT_EQ(Crmctl({}).exit_code, 1);
  const Outcome help = Crmctl({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("import"));
}

}  // namespace
}  // namespace crm::crmctl
