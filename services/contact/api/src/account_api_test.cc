// ContactService over gRPC in process: accounts (account_service.cc).
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crm/contact/api/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "records_test_support.h"

namespace crm::contact::api {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class AccountApiTest : public RecordsApiFixture {
 protected:
  grpc::Status GetAccount(const std::string& name, v1::Account* account,
                          const std::string& tenant = "acme") {
    v1::GetAccountRequest request;
    request.set_name(name);
    return stub_->GetAccount(Context(tenant).get(), request, account);
  }

  // Every page of a list, at most 100 pages.
  std::vector<std::string> ListAllAccounts(v1::ListAccountsRequest request,
                                           int page_size) {
    std::vector<std::string> names;
    request.mutable_page()->set_page_size(page_size);
    for (int page = 0; page < 100; ++page) {
      v1::ListAccountsResponse response;
      const grpc::Status status =
          stub_->ListAccounts(Context().get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      for (const v1::Account& a : response.accounts()) {
        names.push_back(a.display_name());
      }
      if (response.page().next_page_token().empty()) break;
      request.mutable_page()->set_page_token(response.page().next_page_token());
    }
    return names;
  }
};

TEST_F(AccountApiTest, CreateThenGetReturnsTheAccount) {
  v1::CreateAccountResponse created;
  ASSERT_TRUE(
      CreateAccount(Company("Acme Widgets", "https://www.acme.example/shop"),
                    &created)
          .ok());
  EXPECT_EQ(created.account().display_name(), "Acme Widgets");
  EXPECT_EQ(created.account().domain(), "acme.example");
  EXPECT_EQ(created.account().state(), v1::RECORD_STATE_ACTIVE);
  EXPECT_EQ(created.account().owner(), "u1");
  EXPECT_EQ(created.result().etag(), "1");
  EXPECT_GT(created.result().global_position(), 0u);

  v1::Account got;
  ASSERT_TRUE(GetAccount(created.account().name(), &got).ok());
  EXPECT_EQ(got.display_name(), "Acme Widgets");
  EXPECT_EQ(got.etag(), "1");
  EXPECT_TRUE(got.has_create_time());
}

TEST_F(AccountApiTest, CreateWithTakenIdIsAlreadyExists) {
  v1::CreateAccountRequest request;
  *request.mutable_account() = Company("Acme");
  request.set_account_id("6f1c0b1e-0000-4000-8000-0000000000a1");
  v1::CreateAccountResponse response;
  ASSERT_TRUE(stub_->CreateAccount(Context().get(), request, &response).ok());
  EXPECT_EQ(response.account().name(),
            "accounts/6f1c0b1e-0000-4000-8000-0000000000a1");
  EXPECT_EQ(
      stub_->CreateAccount(Context().get(), request, &response).error_code(),
      grpc::StatusCode::ALREADY_EXISTS);
  // Ids are global: another tenant cannot take it either.
  EXPECT_EQ(stub_->CreateAccount(Context("globex").get(), request, &response)
                .error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(AccountApiTest, InvalidAccountNamesTheFieldAndAppendsNothing) {
  const uint64_t last = store_->LastPosition();
  v1::CreateAccountResponse created;
  const grpc::Status nameless = CreateAccount(Company(""), &created);
  EXPECT_EQ(nameless.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(
      BadRequestViolations(nameless),
      ElementsAre(Field(&FieldViolation::field, "account.display_name")));

  v1::Account bad_parent = Company("Acme");
  bad_parent.set_parent_account("companies/1");
  const grpc::Status parent = CreateAccount(bad_parent, &created);
  EXPECT_EQ(parent.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(
      BadRequestViolations(parent),
      ElementsAre(Field(&FieldViolation::field, "account.parent_account")));
  EXPECT_EQ(store_->LastPosition(), last);
}

TEST_F(AccountApiTest, GetUnknownOrMalformedName) {
  v1::Account account;
  EXPECT_EQ(
      GetAccount("accounts/6f1c0b1e-0000-4000-8000-000000000001", &account)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);
  const grpc::Status bad = GetAccount("contacts/x", &account);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadRequestViolations(bad),
              ElementsAre(Field(&FieldViolation::field, "name")));
}

TEST_F(AccountApiTest, OtherTenantCannotSeeOrChangeTheAccount) {
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  v1::Account got;
  EXPECT_EQ(GetAccount(acme.name(), &got, "globex").error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::UpdateAccountRequest update;
  update.mutable_account()->set_name(acme.name());
  update.mutable_account()->set_industry("mining");
  update.mutable_update_mask()->add_paths("industry");
  v1::UpdateAccountResponse updated;
  EXPECT_EQ(stub_->UpdateAccount(Context("globex").get(), update, &updated)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::DeleteAccountRequest del;
  del.set_name(acme.name());
  v1::DeleteAccountResponse deleted;
  EXPECT_EQ(
      stub_->DeleteAccount(Context("globex").get(), del, &deleted).error_code(),
      grpc::StatusCode::NOT_FOUND);
  v1::ListAccountsRequest list;
  v1::ListAccountsResponse listed;
  ASSERT_TRUE(stub_->ListAccounts(Context("globex").get(), list, &listed).ok());
  EXPECT_THAT(listed.accounts(), IsEmpty());
}

TEST_F(AccountApiTest, UpdateWithMaskAndEtag) {
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  v1::UpdateAccountRequest request;
  request.mutable_account()->set_name(acme.name());
  request.mutable_account()->set_industry("Manufacturing");
  request.mutable_account()->set_display_name("ignored, not in the mask");
  request.mutable_update_mask()->add_paths("industry");
  request.set_etag(acme.etag());
  v1::UpdateAccountResponse updated;
  ASSERT_TRUE(stub_->UpdateAccount(Context().get(), request, &updated).ok());
  EXPECT_EQ(updated.account().industry(), "Manufacturing");
  EXPECT_EQ(updated.account().display_name(), "Acme");
  EXPECT_EQ(updated.result().etag(), "2");

  v1::UpdateAccountResponse stale;
  EXPECT_EQ(stub_->UpdateAccount(Context().get(), request, &stale).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  request.clear_update_mask();
  request.clear_etag();
  const grpc::Status no_mask =
      stub_->UpdateAccount(Context().get(), request, &stale);
  EXPECT_EQ(no_mask.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadRequestViolations(no_mask),
              ElementsAre(Field(&FieldViolation::field, "update_mask")));

  request.set_etag("not-a-version");
  request.mutable_update_mask()->add_paths("industry");
  const grpc::Status bad_etag =
      stub_->UpdateAccount(Context().get(), request, &stale);
  EXPECT_EQ(bad_etag.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadRequestViolations(bad_etag),
              ElementsAre(Field(&FieldViolation::field, "etag")));
}

TEST_F(AccountApiTest, RenameMovesTheAccountInTheList) {
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  MustCreateAccount(Company("Globex"));
  v1::UpdateAccountRequest request;
  request.mutable_account()->set_name(acme.name());
  request.mutable_account()->set_display_name("Zeta");
  request.mutable_update_mask()->add_paths("display_name");
  v1::UpdateAccountResponse updated;
  ASSERT_TRUE(stub_->UpdateAccount(Context().get(), request, &updated).ok());
  EXPECT_THAT(ListAllAccounts(v1::ListAccountsRequest(), 10),
              ElementsAre("Globex", "Zeta"));
}

TEST_F(AccountApiTest, ConcurrentWritesOneWinsOthersAborted) {
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  constexpr int kWriters = 6;
  std::vector<grpc::Status> results(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      v1::UpdateAccountRequest request;
      request.mutable_account()->set_name(acme.name());
      request.mutable_account()->set_industry(fmt::format("industry {}", i));
      request.mutable_update_mask()->add_paths("industry");
      v1::UpdateAccountResponse response;
      results[i] = stub_->UpdateAccount(Context().get(), request, &response);
    });
  }
  for (std::thread& t : threads) t.join();
  int ok = 0;
  for (const grpc::Status& s : results) {
    if (s.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
    }
  }
  EXPECT_GE(ok, 1);
  v1::Account got;
  ASSERT_TRUE(GetAccount(acme.name(), &got).ok());
  EXPECT_EQ(got.etag(), std::to_string(1 + ok));
}

TEST_F(AccountApiTest, RetryWithSameRequestIdReturnsFirstResult) {
  v1::CreateAccountResponse first;
  ASSERT_TRUE(CreateAccount(Company("Acme"), &first, "acme", "req-1").ok());
  const uint64_t last = store_->LastPosition();
  v1::CreateAccountResponse again;
  ASSERT_TRUE(CreateAccount(Company("Acme"), &again, "acme", "req-1").ok());
  EXPECT_EQ(again.account().name(), first.account().name());
  EXPECT_EQ(again.result().global_position(), first.result().global_position());
  EXPECT_EQ(store_->LastPosition(), last);
  EXPECT_THAT(ListAllAccounts(v1::ListAccountsRequest(), 10), SizeIs(1));
}

TEST_F(AccountApiTest, DeleteHidesFromListUndeleteRestores) {
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  MustCreateAccount(Company("Globex"));
  v1::DeleteAccountRequest del;
  del.set_name(acme.name());
  v1::DeleteAccountResponse deleted;
  ASSERT_TRUE(stub_->DeleteAccount(Context().get(), del, &deleted).ok());
  EXPECT_EQ(deleted.account().state(), v1::RECORD_STATE_DELETED);
  EXPECT_TRUE(deleted.account().has_delete_time());
  EXPECT_EQ(stub_->DeleteAccount(Context().get(), del, &deleted).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  v1::ListAccountsRequest list;
  EXPECT_THAT(ListAllAccounts(list, 10), ElementsAre("Globex"));
  list.set_show_deleted(true);
  EXPECT_THAT(ListAllAccounts(list, 10), ElementsAre("Acme", "Globex"));

  v1::UndeleteAccountRequest undel;
  undel.set_name(acme.name());
  undel.set_etag("1");  // Stale: the delete made it 2.
  v1::UndeleteAccountResponse undeleted;
  EXPECT_EQ(
      stub_->UndeleteAccount(Context().get(), undel, &undeleted).error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);
  undel.set_etag("2");
  ASSERT_TRUE(stub_->UndeleteAccount(Context().get(), undel, &undeleted).ok());
  EXPECT_EQ(undeleted.account().state(), v1::RECORD_STATE_ACTIVE);
  EXPECT_EQ(undeleted.result().etag(), "3");
  EXPECT_EQ(
      stub_->UndeleteAccount(Context().get(), undel, &undeleted).error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(AccountApiTest, ListFiltersByNamePrefixDomainOwnerAndTags) {
  MustCreateAccount(Company("Acme Widgets", "https://acme.example"));
  v1::Account acorn = Company("Acorn Ltd", "acorn.example");
  acorn.add_tags("partner");
  MustCreateAccount(acorn);
  v1::Account globex = Company("Globex");
  globex.set_owner("u2");
  globex.add_tags("partner");
  globex.add_tags("gold");
  MustCreateAccount(globex);

  v1::ListAccountsRequest list;
  EXPECT_THAT(ListAllAccounts(list, 2),
              ElementsAre("Acme Widgets", "Acorn Ltd", "Globex"));
  list.set_name_prefix("AC");
  EXPECT_THAT(ListAllAccounts(list, 1),
              ElementsAre("Acme Widgets", "Acorn Ltd"));
  list.clear_name_prefix();
  list.set_domain("https://www.ACME.example/");
  EXPECT_THAT(ListAllAccounts(list, 5), ElementsAre("Acme Widgets"));
  list.clear_domain();
  list.set_owner("u2");
  EXPECT_THAT(ListAllAccounts(list, 5), ElementsAre("Globex"));
  list.clear_owner();
  list.add_tags("partner");
  EXPECT_THAT(ListAllAccounts(list, 5), ElementsAre("Acorn Ltd", "Globex"));
  list.add_tags("gold");
  EXPECT_THAT(ListAllAccounts(list, 5), ElementsAre("Globex"));
  list.clear_tags();
  *list.mutable_updated_since() = ToTimestamp(absl::Now() + absl::Hours(1));
  EXPECT_THAT(ListAllAccounts(list, 5), IsEmpty());

  v1::ListAccountsRequest bad;
  bad.set_domain("no domain here");
  v1::ListAccountsResponse page;
  const grpc::Status bad_domain =
      stub_->ListAccounts(Context().get(), bad, &page);
  EXPECT_EQ(bad_domain.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadRequestViolations(bad_domain),
              ElementsAre(Field(&FieldViolation::field, "domain")));

  // A token is bound to its filters.
  v1::ListAccountsRequest first;
  first.mutable_page()->set_page_size(1);
  ASSERT_TRUE(stub_->ListAccounts(Context().get(), first, &page).ok());
  ASSERT_FALSE(page.page().next_page_token().empty());
  first.mutable_page()->set_page_token(page.page().next_page_token());
  first.set_owner("u1");
  const grpc::Status other = stub_->ListAccounts(Context().get(), first, &page);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadRequestViolations(other),
              ElementsAre(Field(&FieldViolation::field, "page.page_token")));
}

TEST_F(AccountApiTest, PaginationIsStableUnderConcurrentWrites) {
  std::set<std::string> before;
  for (int i = 0; i < 12; ++i) {
    before.insert(MustCreateAccount(Company(fmt::format("M{:02}", i))).name());
  }
  v1::ListAccountsRequest request;
  request.mutable_page()->set_page_size(3);
  std::vector<std::string> seen;
  for (int page = 0; page < 100; ++page) {
    v1::ListAccountsResponse response;
    ASSERT_TRUE(stub_->ListAccounts(Context().get(), request, &response).ok());
    for (const v1::Account& a : response.accounts()) seen.push_back(a.name());
    // Writes between pages: new accounts before and after the cursor.
    MustCreateAccount(Company(fmt::format("A{}", page)));
    MustCreateAccount(Company(fmt::format("Z{}", page)));
    if (response.page().next_page_token().empty()) break;
    request.mutable_page()->set_page_token(response.page().next_page_token());
  }
  const std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "an account was listed twice";
  for (const std::string& name : before) {
    EXPECT_TRUE(unique.count(name)) << name << " was skipped";
  }
}

TEST_F(AccountApiTest, GetOfMergedAccountFollowsTheRedirect) {
  const v1::Account survivor = MustCreateAccount(Company("Acme"));
  const v1::Account merged = MustCreateAccount(Company("ACME Inc"));
  const uint64_t position = Merge(survivor.name(), merged.name());
  ASSERT_GT(position, 0u);
  v1::GetAccountRequest request;
  request.set_name(merged.name());
  request.set_min_position(position);
  v1::Account got;
  ASSERT_TRUE(stub_->GetAccount(Context().get(), request, &got).ok());
  EXPECT_EQ(got.name(), survivor.name());
  request.set_no_redirect(true);
  ASSERT_TRUE(stub_->GetAccount(Context().get(), request, &got).ok());
  EXPECT_EQ(got.name(), merged.name());
  EXPECT_EQ(got.state(), v1::RECORD_STATE_MERGED);
  EXPECT_EQ(got.merged_into(), survivor.name());
  // A merged account is not listed, even with show_deleted.
  v1::ListAccountsRequest list;
  list.set_show_deleted(true);
  EXPECT_THAT(ListAllAccounts(list, 5), ElementsAre("Acme"));
}

TEST_F(AccountApiTest, RestartKeepsAccounts) {
  const v1::Account acme =
      MustCreateAccount(Company("Acme", "https://acme.example"));
  Stop();
  Start(1);
  v1::GetAccountRequest request;
  request.set_name(acme.name());
  request.set_min_position(store_->LastPosition());
  v1::Account got;
  const grpc::Status status = stub_->GetAccount(Context().get(), request, &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.display_name(), "Acme");
  EXPECT_EQ(got.domain(), "acme.example");
  v1::ListAccountsRequest list;
  list.set_min_position(store_->LastPosition());
  EXPECT_THAT(ListAllAccounts(list, 5), ElementsAre("Acme"));
}

}  // namespace
}  // namespace crm::contact::api
