// ContactService over gRPC in process: relationships
// (relationship_service.cc).
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

class RelationshipApiTest : public RecordsApiFixture {
 protected:
  grpc::Status Relate(const std::string& contact, const std::string& account,
                      const std::vector<std::string>& roles,
                      v1::CreateRelationshipResponse* response,
                      const std::string& tenant = "acme",
                      const std::string& request_id = "") {
    v1::CreateRelationshipRequest request;
    request.set_parent(contact);
    request.mutable_relationship()->set_account(account);
    for (const std::string& role : roles) {
      request.mutable_relationship()->add_roles(role);
    }
    request.mutable_context()->set_request_id(request_id);
    return stub_->CreateRelationship(Context(tenant).get(), request, response);
  }

  v1::ContactRelationship MustRelate(const std::string& contact,
                                     const std::string& account,
                                     const std::vector<std::string>& roles) {
    v1::CreateRelationshipResponse response;
    const grpc::Status status = Relate(contact, account, roles, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.relationship();
  }

  // The names of every page ("contacts/<c>/relationships/<a>"), at most 100
  // pages.
  std::vector<std::string> ListAll(const std::string& parent, int page_size,
                                   const std::string& role = "",
                                   uint64_t min_position = 0) {
    v1::ListRelationshipsRequest request;
    request.set_parent(parent);
    request.set_role(role);
    request.set_min_position(min_position);
    request.mutable_page()->set_page_size(page_size);
    std::vector<std::string> names;
    for (int page = 0; page < 100; ++page) {
      v1::ListRelationshipsResponse response;
      const grpc::Status status =
          stub_->ListRelationships(Context().get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      for (const v1::ContactRelationship& r : response.relationships()) {
        names.push_back(r.name());
      }
      if (response.page().next_page_token().empty()) break;
      request.mutable_page()->set_page_token(response.page().next_page_token());
    }
    return names;
  }

  static std::string NameOf(const v1::Contact& contact,
                            const v1::Account& account) {
    return fmt::format("{}/relationships/{}", contact.name(),
                       IdIn(account.name()));
  }
};

TEST_F(RelationshipApiTest, CreateThenListBothWays) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Contact grace = MustCreate(Person("Grace", "Hopper"));
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  const v1::Account globex = MustCreateAccount(Company("Globex"));

  v1::CreateRelationshipResponse created;
  ASSERT_TRUE(
      Relate(ada.name(), acme.name(), {"Decision_Maker"}, &created).ok());
  EXPECT_EQ(created.relationship().name(), NameOf(ada, acme));
  EXPECT_EQ(created.relationship().contact(), ada.name());
  EXPECT_EQ(created.relationship().account(), acme.name());
  EXPECT_THAT(created.relationship().roles(), ElementsAre("decision_maker"));
  EXPECT_TRUE(created.relationship().has_create_time());
  EXPECT_EQ(created.result().etag(), "2");  // The contact's version.
  MustRelate(ada.name(), globex.name(), {});
  MustRelate(grace.name(), acme.name(), {"champion"});

  EXPECT_THAT(ListAll(ada.name(), 1), SizeIs(2));
  EXPECT_THAT(
      ListAll(acme.name(), 1),
      ::testing::UnorderedElementsAre(NameOf(ada, acme), NameOf(grace, acme)));
  EXPECT_THAT(ListAll(acme.name(), 5, "champion"),
              ElementsAre(NameOf(grace, acme)));
  EXPECT_THAT(ListAll(globex.name(), 5), ElementsAre(NameOf(ada, globex)));
}

TEST_F(RelationshipApiTest, CreateErrors) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  const uint64_t last = store_->LastPosition();
  v1::CreateRelationshipResponse response;

  const grpc::Status no_account = Relate(ada.name(), "", {}, &response);
  EXPECT_EQ(no_account.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(
      BadRequestViolations(no_account),
      ElementsAre(Field(&FieldViolation::field, "relationship.account")));
  const grpc::Status bad_parent =
      Relate("people/1", acme.name(), {}, &response);
  EXPECT_THAT(BadRequestViolations(bad_parent),
              ElementsAre(Field(&FieldViolation::field, "parent")));
  const grpc::Status bad_role =
      Relate(ada.name(), acme.name(), {"no spaces"}, &response);
  EXPECT_EQ(bad_role.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_THAT(BadRequestViolations(bad_role), SizeIs(1));
  EXPECT_TRUE(
      BadRequestViolations(bad_role)[0].field.starts_with("relationship.roles"))
      << BadRequestViolations(bad_role)[0].field;

  // The account must exist in the caller's tenant.
  const grpc::Status unknown_account =
      Relate(ada.name(), "accounts/6f1c0b1e-0000-4000-8000-000000000009", {},
             &response);
  EXPECT_EQ(unknown_account.error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(unknown_account.error_message(),
              ::testing::HasSubstr("6f1c0b1e-0000-4000-8000-000000000009"));
  const v1::Account other = MustCreateAccount(Company("Other"), "globex");
  EXPECT_EQ(Relate(ada.name(), other.name(), {}, &response).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(store_->LastPosition(), last + 1);  // Only globex's account.

  // Unknown contact, and another tenant's contact.
  EXPECT_EQ(Relate("contacts/6f1c0b1e-0000-4000-8000-000000000001", acme.name(),
                   {}, &response)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(
      Relate(ada.name(), other.name(), {}, &response, "globex").error_code(),
      grpc::StatusCode::NOT_FOUND);

  // Related already.
  MustRelate(ada.name(), acme.name(), {});
  EXPECT_EQ(Relate(ada.name(), acme.name(), {}, &response).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(RelationshipApiTest, DeletedAccountCannotBeRelated) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  v1::DeleteAccountRequest del;
  del.set_name(acme.name());
  v1::DeleteAccountResponse deleted;
  ASSERT_TRUE(stub_->DeleteAccount(Context().get(), del, &deleted).ok());
  v1::CreateRelationshipResponse response;
  const grpc::Status status = Relate(ada.name(), acme.name(), {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("undelete"));
}

TEST_F(RelationshipApiTest, UpdateReplacesRolesWithEtag) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  const v1::ContactRelationship created =
      MustRelate(ada.name(), acme.name(), {"user"});

  v1::UpdateRelationshipRequest request;
  request.mutable_relationship()->set_name(created.name());
  request.mutable_relationship()->add_roles("champion");
  request.mutable_relationship()->add_roles("user");
  request.set_etag("2");
  v1::UpdateRelationshipResponse updated;
  ASSERT_TRUE(
      stub_->UpdateRelationship(Context().get(), request, &updated).ok());
  EXPECT_THAT(updated.relationship().roles(), ElementsAre("champion", "user"));
  EXPECT_EQ(updated.relationship().create_time().seconds(),
            created.create_time().seconds());
  EXPECT_EQ(updated.result().etag(), "3");

  // Stale etag.
  EXPECT_EQ(stub_->UpdateRelationship(Context().get(), request, &updated)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // Bad names, unknown relationship, another tenant.
  request.clear_etag();
  request.mutable_relationship()->set_name(ada.name());
  const grpc::Status bad =
      stub_->UpdateRelationship(Context().get(), request, &updated);
  EXPECT_THAT(BadRequestViolations(bad),
              ElementsAre(Field(&FieldViolation::field, "relationship.name")));
  const v1::Account globex = MustCreateAccount(Company("Globex"));
  request.mutable_relationship()->set_name(NameOf(ada, globex));
  EXPECT_EQ(stub_->UpdateRelationship(Context().get(), request, &updated)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  request.mutable_relationship()->set_name(created.name());
  EXPECT_EQ(
      stub_->UpdateRelationship(Context("globex").get(), request, &updated)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);

  EXPECT_THAT(ListAll(acme.name(), 5, "champion"), SizeIs(1));
}

TEST_F(RelationshipApiTest, DeleteEndsTheRelationship) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  const v1::ContactRelationship created =
      MustRelate(ada.name(), acme.name(), {});
  v1::DeleteRelationshipRequest request;
  request.set_name(created.name());
  v1::DeleteRelationshipResponse deleted;
  EXPECT_EQ(
      stub_->DeleteRelationship(Context("globex").get(), request, &deleted)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(
      stub_->DeleteRelationship(Context().get(), request, &deleted).ok());
  EXPECT_EQ(deleted.result().etag(), "3");
  EXPECT_THAT(ListAll(ada.name(), 5), IsEmpty());
  EXPECT_THAT(ListAll(acme.name(), 5), IsEmpty());
  EXPECT_EQ(stub_->DeleteRelationship(Context().get(), request, &deleted)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  request.set_name("contacts/x/relationships/y");
  const grpc::Status bad =
      stub_->DeleteRelationship(Context().get(), request, &deleted);
  EXPECT_THAT(BadRequestViolations(bad),
              ElementsAre(Field(&FieldViolation::field, "name")));
}

TEST_F(RelationshipApiTest, ListErrorsAndTenancy) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  MustRelate(ada.name(), acme.name(), {});
  v1::ListRelationshipsRequest request;
  v1::ListRelationshipsResponse response;
  request.set_parent("activities/x");
  const grpc::Status bad =
      stub_->ListRelationships(Context().get(), request, &response);
  EXPECT_THAT(BadRequestViolations(bad),
              ElementsAre(Field(&FieldViolation::field, "parent")));
  request.set_parent(acme.name());
  EXPECT_EQ(
      stub_->ListRelationships(Context("globex").get(), request, &response)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);
  request.set_parent(ada.name());
  EXPECT_EQ(
      stub_->ListRelationships(Context("globex").get(), request, &response)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);
  request.set_parent("contacts/6f1c0b1e-0000-4000-8000-000000000001");
  EXPECT_EQ(stub_->ListRelationships(Context().get(), request, &response)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(RelationshipApiTest, RetryWithSameRequestIdReturnsFirstResult) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  v1::CreateRelationshipResponse first;
  ASSERT_TRUE(
      Relate(ada.name(), acme.name(), {"user"}, &first, "acme", "rel-1").ok());
  const uint64_t last = store_->LastPosition();
  v1::CreateRelationshipResponse again;
  const grpc::Status status =
      Relate(ada.name(), acme.name(), {"user"}, &again, "acme", "rel-1");
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(again.relationship().name(), first.relationship().name());
  EXPECT_EQ(again.result().global_position(), first.result().global_position());
  EXPECT_EQ(store_->LastPosition(), last);
}

TEST_F(RelationshipApiTest, ConcurrentRelatesOfOneContactOneWinsOthersAborted) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  constexpr int kWriters = 5;
  std::vector<v1::Account> accounts;
  for (int i = 0; i < kWriters; ++i) {
    accounts.push_back(MustCreateAccount(Company(fmt::format("A{}", i))));
  }
  std::vector<grpc::Status> results(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      v1::CreateRelationshipResponse response;
      results[i] = Relate(ada.name(), accounts[i].name(), {}, &response);
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
  EXPECT_THAT(ListAll(ada.name(), 10), SizeIs(ok));
}

TEST_F(RelationshipApiTest, PaginationIsStableUnderConcurrentWrites) {
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  std::set<std::string> before;
  for (int i = 0; i < 9; ++i) {
    const v1::Contact c = MustCreate(Person(fmt::format("P{}", i), "Smith"));
    before.insert(MustRelate(c.name(), acme.name(), {}).name());
  }
  v1::ListRelationshipsRequest request;
  request.set_parent(acme.name());
  request.mutable_page()->set_page_size(2);
  std::vector<std::string> seen;
  for (int page = 0; page < 100; ++page) {
    v1::ListRelationshipsResponse response;
    ASSERT_TRUE(
        stub_->ListRelationships(Context().get(), request, &response).ok());
    for (const v1::ContactRelationship& r : response.relationships()) {
      seen.push_back(r.name());
    }
    const v1::Contact c = MustCreate(Person(fmt::format("N{}", page), "New"));
    MustRelate(c.name(), acme.name(), {});
    if (response.page().next_page_token().empty()) break;
    request.mutable_page()->set_page_token(response.page().next_page_token());
  }
  const std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "a relationship was listed twice";
  for (const std::string& name : before) {
    EXPECT_TRUE(unique.count(name)) << name << " was skipped";
  }
}

TEST_F(RelationshipApiTest, MergeMovesRelationshipsUnmergeReturnsThem) {
  const v1::Contact survivor = MustCreate(Person("Ada", "Lovelace"));
  const v1::Contact merged = MustCreate(Person("Ada", "King"));
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  const v1::Account globex = MustCreateAccount(Company("Globex"));
  MustRelate(survivor.name(), acme.name(), {});
  MustRelate(merged.name(), acme.name(), {});
  const v1::ContactRelationship moved =
      MustRelate(merged.name(), globex.name(), {"user"});

  uint64_t position = Merge(survivor.name(), merged.name());
  EXPECT_THAT(ListAll(survivor.name(), 5, "", position), SizeIs(2));
  EXPECT_THAT(ListAll(merged.name(), 5, "", position), IsEmpty());
  // Each account lists the survivor only.
  EXPECT_THAT(ListAll(acme.name(), 5, "", position),
              ElementsAre(NameOf(survivor, acme)));
  EXPECT_THAT(ListAll(globex.name(), 5, "", position),
              ElementsAre(NameOf(survivor, globex)));

  position = Merge(survivor.name(), merged.name(), /*undo=*/true);
  EXPECT_THAT(ListAll(survivor.name(), 5, "", position),
              ElementsAre(NameOf(survivor, acme)));
  EXPECT_THAT(ListAll(merged.name(), 5, "", position), SizeIs(2));
  EXPECT_THAT(ListAll(globex.name(), 5, "", position),
              ElementsAre(moved.name()));
}

TEST_F(RelationshipApiTest, RestartKeepsRelationships) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  const v1::ContactRelationship created =
      MustRelate(ada.name(), acme.name(), {"user"});
  Stop();
  Start(1);
  EXPECT_THAT(ListAll(acme.name(), 5, "user", store_->LastPosition()),
              ElementsAre(created.name()));
}

}  // namespace
}  // namespace crm::contact::api
