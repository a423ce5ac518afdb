// ListContacts and ListAccounts over the secondary indexes of contact_list
// and account_list (email, phone, owner, account, given name, update time;
// account domain): each filter alone and combined, the orders, page tokens,
// values that change, erasure, merges and tenancy. The raw key spaces are
// read through the projection views to prove that no stale entry is left.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "crm/contact/api/grpc_status.h"
#include "crm/contact/domain/field_violation.h"
#include "crm/contact/projections/account_projections.h"
#include "crm/contact/projections/contact_projections.h"
#include "crm/testing/status_matchers.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "records_test_support.h"

namespace crm::contact::api {
namespace {

using ::crm::testing::IsOkAndHolds;
using ::crm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class ListApiTest : public RecordsApiFixture {
 protected:
  static v1::Contact Full(const std::string& given, const std::string& family,
                          const std::string& email, const std::string& phone,
                          const std::string& owner,
                          const std::string& account = "") {
    v1::Contact contact = Person(given, family, email);
    if (!phone.empty()) contact.add_phones()->set_number(phone);
    contact.set_owner(owner);
    contact.set_account(account);
    return contact;
  }

  // The given names of every page (page_size each), in list order.
  std::vector<std::string> Given(v1::ListContactsRequest request, int page_size,
                                 const std::string& tenant = "acme") {
    std::vector<std::string> given;
    request.mutable_page()->set_page_size(page_size);
    for (int page = 0; page < 100; ++page) {
      v1::ListContactsResponse response;
      const grpc::Status status =
          stub_->ListContacts(Context(tenant).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      for (const v1::Contact& c : response.contacts())
        given.push_back(c.given_name());
      if (response.page().next_page_token().empty()) break;
      request.mutable_page()->set_page_token(response.page().next_page_token());
    }
    return given;
  }

  grpc::Status List(const v1::ListContactsRequest& request,
                    v1::ListContactsResponse* response) {
    return stub_->ListContacts(Context().get(), request, response);
  }

  // Every key of `tenant` in the contact_list projection.
  std::vector<std::string> ListKeys(const std::string& tenant = "acme") {
    std::vector<std::string> keys;
    auto view = engine_->View(projections::kContactListProjection);
    EXPECT_OK(view.status());
    if (!view.ok()) return keys;
    auto entries = (*view)->Scan(tenant + "/", "", 10'000);
    EXPECT_OK(entries.status());
    if (!entries.ok()) return keys;
    for (const auto& [key, value] : *entries) keys.push_back(key);
    return keys;
  }

  // The keys of ListKeys in key space `space` ('e', 'p' ...) holding `text`.
  std::vector<std::string> KeysWith(char space, const std::string& text) {
    std::vector<std::string> found;
    const std::string prefix = fmt::format("acme/{}/", space);
    for (const std::string& key : ListKeys()) {
      if (key.starts_with(prefix) && key.find(text) != std::string::npos) {
        found.push_back(key);
      }
    }
    return found;
  }

  v1::Contact Update(const v1::Contact& contact,
                     const std::vector<std::string>& paths) {
    v1::UpdateContactRequest request;
    *request.mutable_contact() = contact;
    for (const std::string& path : paths)
      request.mutable_update_mask()->add_paths(path);
    v1::UpdateContactResponse response;
    const grpc::Status status =
        stub_->UpdateContact(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.contact();
  }
};

TEST_F(ListApiTest, EachFilterAloneAndCombined) {
  const v1::Account a = MustCreateAccount(Company("Analytical Engines"));
  const v1::Account b = MustCreateAccount(Company("Bureau of Ships"));
  v1::Contact ada = Full("Ada", "Lovelace", "ada@example.com",
                         "+44 20 7946 0958", "u1", a.name());
  ada.add_tags("vip");
  MustCreate(ada);
  MustCreate(Full("Alan", "Turing", "alan@example.com", "+44 20 7946 0959",
                  "u2", a.name()));
  v1::Contact grace =
      Full("Grace", "Hopper", "grace@example.com", "", "u2", b.name());
  grace.add_tags("vip");
  MustCreate(grace);
  MustCreate(Full("Anna", "Adams", "anna@example.com", "", "u1"));

  v1::ListContactsRequest list;
  EXPECT_THAT(Given(list, 3), ElementsAre("Anna", "Grace", "Ada", "Alan"));
  list.set_email("ADA@Example.com");
  EXPECT_THAT(Given(list, 1), ElementsAre("Ada"));
  list = {};
  list.set_phone("+44 (20) 7946-0958");
  EXPECT_THAT(Given(list, 1), ElementsAre("Ada"));
  list = {};
  list.set_owner("u2");
  EXPECT_THAT(Given(list, 1), ElementsAre("Grace", "Alan"));  // Family order.
  list = {};
  list.set_account(a.name());
  EXPECT_THAT(Given(list, 1), ElementsAre("Ada", "Alan"));
  list = {};
  list.add_tags("vip");
  EXPECT_THAT(Given(list, 1), ElementsAre("Grace", "Ada"));
  // By the name that matched, then the list order; Anna Adams matches by
  // both names and is listed once.
  list = {};
  list.set_name_prefix("A");
  EXPECT_THAT(Given(list, 1), ElementsAre("Ada", "Anna", "Alan"));
  EXPECT_THAT(Given(list, 2), ElementsAre("Ada", "Anna", "Alan"));
  list.set_name_prefix("Tur");
  EXPECT_THAT(Given(list, 1), ElementsAre("Alan"));

  // Combined: the most selective index, the other filters on each entry.
  list = {};
  list.set_owner("u2");
  list.add_tags("vip");
  EXPECT_THAT(Given(list, 1), ElementsAre("Grace"));
  list = {};
  list.set_account(a.name());
  list.set_name_prefix("al");
  EXPECT_THAT(Given(list, 1), ElementsAre("Alan"));
  list = {};
  list.set_name_prefix("a");
  list.set_owner("u1");
  EXPECT_THAT(Given(list, 1), ElementsAre("Anna", "Ada"));
  list = {};
  list.set_email("ada@example.com");
  list.set_owner("u2");
  EXPECT_THAT(Given(list, 1), IsEmpty());
  list = {};
  list.set_phone("+442079460959");
  list.set_account(b.name());
  EXPECT_THAT(Given(list, 1), IsEmpty());
  list.set_account(a.name());
  list.set_name_prefix("alan");
  EXPECT_THAT(Given(list, 1), ElementsAre("Alan"));
}

TEST_F(ListApiTest, BadPhoneIsInvalidArgumentNamingPhone) {
  for (const char* phone : {"not a phone", "020 7946 0958", "+1"}) {
    v1::ListContactsRequest list;
    list.set_phone(phone);
    v1::ListContactsResponse response;
    const grpc::Status status = List(list, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << phone;
    EXPECT_THAT(BadRequestViolations(status),
                ElementsAre(Field(&FieldViolation::field, "phone")))
        << phone;
  }
  v1::ListContactsRequest list;
  list.set_order_by(static_cast<v1::ContactOrder>(7));
  v1::ListContactsResponse response;
  const grpc::Status status = List(list, &response);
  EXPECT_THAT(BadRequestViolations(status),
              ElementsAre(Field(&FieldViolation::field, "order_by")));
}

TEST_F(ListApiTest, OrderByUpdateTimeIsOldestFirstAndSeeksUpdatedSince) {
  const v1::Contact first = MustCreate(Person("First", "Zed"));
  const v1::Contact second = MustCreate(Person("Second", "Young"));
  const v1::Contact third = MustCreate(Person("Third", "Xavier"));
  v1::Contact changed = first;
  changed.set_owner("u9");
  Update(changed, {"owner"});  // Now the most recently changed.

  v1::ListContactsRequest list;
  list.set_order_by(v1::CONTACT_ORDER_UPDATE_TIME);
  EXPECT_THAT(Given(list, 1), ElementsAre("Second", "Third", "First"));
  EXPECT_THAT(Given(list, 5), ElementsAre("Second", "Third", "First"));
  *list.mutable_updated_since() = third.update_time();
  EXPECT_THAT(Given(list, 1), ElementsAre("Third", "First"));
  list.set_owner("u9");
  EXPECT_THAT(Given(list, 1), ElementsAre("First"));
  // Without the order, the same filters list by name.
  list.clear_owner();
  list.set_order_by(v1::CONTACT_ORDER_UNSPECIFIED);
  EXPECT_THAT(Given(list, 1), ElementsAre("Third", "First"));
}

TEST_F(ListApiTest, PageTokenOfAnotherOrderOrFilterIsRejected) {
  for (int i = 0; i < 3; ++i) {
    MustCreate(Full(fmt::format("P{}", i), "Smith", "", "", "u1"));
  }
  v1::ListContactsRequest by_name;
  by_name.mutable_page()->set_page_size(1);
  v1::ListContactsResponse page;
  ASSERT_TRUE(List(by_name, &page).ok());
  ASSERT_FALSE(page.page().next_page_token().empty());
  v1::ListContactsRequest by_time = by_name;
  by_time.set_order_by(v1::CONTACT_ORDER_UPDATE_TIME);
  by_time.mutable_page()->set_page_token(page.page().next_page_token());
  const grpc::Status status = List(by_time, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadRequestViolations(status),
              ElementsAre(Field(&FieldViolation::field, "page.page_token")));

  // The read model itself refuses a position of another key space.
  ASSERT_OK_AND_ASSIGN(auto view,
                       engine_->View(projections::kContactListProjection));
  projections::ContactListQuery query;
  query.tenant = "acme";
  query.page_size = 1;
  ASSERT_OK_AND_ASSIGN(projections::ContactListPage first,
                       projections::ListContactIds(*view, query));
  ASSERT_FALSE(first.resume_after.empty());
  for (auto change : std::vector<void (*)(projections::ContactListQuery&)>{
           [](projections::ContactListQuery& q) { q.owner = "u1"; },
           [](projections::ContactListQuery& q) {
             q.order = projections::ContactListOrder::kUpdateTime;
           },
           [](projections::ContactListQuery& q) { q.name_prefix = "p"; },
           [](projections::ContactListQuery& q) { q.tenant = "globex"; },
       }) {
    projections::ContactListQuery other = query;
    other.start_after = first.resume_after;
    change(other);
    EXPECT_THAT(projections::ListContactIds(*view, other),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  query.name_prefix = "p";
  ASSERT_OK_AND_ASSIGN(projections::ContactListPage merged,
                       projections::ListContactIds(*view, query));
  ASSERT_FALSE(merged.resume_after.empty());
  query.start_after = merged.resume_after;
  query.name_prefix = "q";  // Another prefix.
  EXPECT_THAT(projections::ListContactIds(*view, query),
              StatusIs(absl::StatusCode::kInvalidArgument));
  query.name_prefix.clear();
  EXPECT_THAT(projections::ListContactIds(*view, query),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ListApiTest, PagesStayStableWhileOtherWritesLand) {
  std::vector<std::string> before;
  for (int i = 0; i < 9; ++i) {
    // Matching "p" by family name (Pratt) or by given name.
    const v1::Contact c = MustCreate(
        i % 2 == 0 ? Full(fmt::format("Q{}", i), "Pratt", "", "", "u3")
                   : Full(fmt::format("P{}", i), "Smith", "", "", "u3"));
    before.push_back(c.given_name());
  }
  std::vector<v1::ListContactsRequest> lists(3);
  lists[0].set_name_prefix("p");
  lists[1].set_owner("u3");
  lists[2].set_order_by(v1::CONTACT_ORDER_UPDATE_TIME);
  int write = 0;
  for (v1::ListContactsRequest& request : lists) {
    request.mutable_page()->set_page_size(2);
    std::vector<std::string> seen;
    for (int page = 0; page < 100; ++page) {
      v1::ListContactsResponse response;
      ASSERT_TRUE(List(request, &response).ok());
      for (const v1::Contact& c : response.contacts())
        seen.push_back(c.given_name());
      // New matching contacts before and after the cursor, in each index.
      // (On the first pages only, so that every list reaches its end.)
      if (page < 4) {
        ++write;
        MustCreate(Full(fmt::format("Pa{}", write), "Aaron", "", "", "u3"));
        MustCreate(Full(fmt::format("Pz{}", write), "Zed", "", "", "u3"));
        MustCreate(Full(fmt::format("Qa{}", write), "Paa", "", "", "u3"));
        MustCreate(Full(fmt::format("Qz{}", write), "Pzz", "", "", "u3"));
      }
      if (response.page().next_page_token().empty()) break;
      request.mutable_page()->set_page_token(response.page().next_page_token());
    }
    const std::set<std::string> unique(seen.begin(), seen.end());
    EXPECT_EQ(unique.size(), seen.size())
        << "a contact was listed twice: " << request.ShortDebugString();
    for (const std::string& given : before) {
      EXPECT_TRUE(unique.count(given))
          << given << " was skipped: " << request.ShortDebugString();
    }
  }
}

TEST_F(ListApiTest, ChangedValuesMoveBetweenIndexEntries) {
  const v1::Account a = MustCreateAccount(Company("Analytical Engines"));
  const v1::Account b = MustCreateAccount(Company("Bureau of Ships"));
  const v1::Contact created =
      MustCreate(Full("Ada", "Lovelace", "ada.old@example.com",
                      "+44 20 7946 0958", "u1", a.name()));
  v1::Contact changed = Full("Augusta", "King", "ada.new@example.com",
                             "+44 20 7946 0111", "u2", b.name());
  changed.set_name(created.name());
  Update(changed,
         {"given_name", "family_name", "emails", "phones", "owner", "account"});

  const auto only_ada = ElementsAre("Augusta");
  v1::ListContactsRequest list;
  list.set_email("ada.old@example.com");
  EXPECT_THAT(Given(list, 5), IsEmpty());
  list.set_email("ada.new@example.com");
  EXPECT_THAT(Given(list, 5), only_ada);
  list = {};
  list.set_phone("+442079460958");
  EXPECT_THAT(Given(list, 5), IsEmpty());
  list.set_phone("+442079460111");
  EXPECT_THAT(Given(list, 5), only_ada);
  list = {};
  list.set_owner("u1");
  EXPECT_THAT(Given(list, 5), IsEmpty());
  list.set_owner("u2");
  EXPECT_THAT(Given(list, 5), only_ada);
  list = {};
  list.set_account(a.name());
  EXPECT_THAT(Given(list, 5), IsEmpty());
  list.set_account(b.name());
  EXPECT_THAT(Given(list, 5), only_ada);
  for (const char* gone : {"ada", "lov"}) {
    list = {};
    list.set_name_prefix(gone);
    EXPECT_THAT(Given(list, 5), IsEmpty()) << gone;
  }
  for (const char* now : {"aug", "kin"}) {
    list = {};
    list.set_name_prefix(now);
    EXPECT_THAT(Given(list, 5), only_ada) << now;
  }
  // No stale key in any key space: one entry per value and per index.
  for (const char* stale : {"ada.old", "+442079460958", "lovelace"}) {
    for (char space : {'e', 'p', 'o', 'a', 'g', 'n', 'u'}) {
      EXPECT_THAT(KeysWith(space, stale), IsEmpty()) << space << " " << stale;
    }
  }
  EXPECT_THAT(KeysWith('o', "/o/u1"), IsEmpty());
  EXPECT_THAT(KeysWith('e', "ada.new"), SizeIs(1));
  EXPECT_THAT(KeysWith('p', "+442079460111"), SizeIs(1));
  EXPECT_THAT(KeysWith('o', "u2"), SizeIs(1));
  EXPECT_THAT(KeysWith('a', IdIn(b.name())), SizeIs(1));
  EXPECT_THAT(KeysWith('a', IdIn(a.name())), IsEmpty());
  EXPECT_THAT(KeysWith('g', "augusta"), SizeIs(1));
  EXPECT_THAT(KeysWith('u', IdIn(created.name())), SizeIs(1));
}

TEST_F(ListApiTest, ErasedOrMergedContactVanishesFromEveryIndex) {
  const v1::Account a = MustCreateAccount(Company("Analytical Engines"));
  const v1::Contact ada = MustCreate(Full("Ada", "Lovelace", "ada@example.com",
                                          "+44 20 7946 0958", "u1", a.name()));
  const v1::Contact twin = MustCreate(Full("Ada", "Lovelace", "ada@example.com",
                                           "+44 20 7946 0958", "u1", a.name()));
  const v1::Contact grace = MustCreate(
      Full("Grace", "Hopper", "grace@example.com", "+1 202 555 0143", "u1"));
  const uint64_t merged = Merge(ada.name(), twin.name());
  ASSERT_OK(engine_->WaitForPosition(projections::kContactListProjection,
                                     merged, absl::Seconds(5)));

  v1::EraseContactRequest erase;
  erase.set_name(grace.name());
  erase.set_reason("gdpr_art17_request");
  v1::EraseContactResponse erased;
  const grpc::Status status =
      stub_->EraseContact(Context().get(), erase, &erased);
  ASSERT_TRUE(status.ok()) << status.error_message();

  std::vector<v1::ListContactsRequest> lists(7);
  lists[0].set_email("grace@example.com");
  lists[1].set_phone("+12025550143");
  lists[2].set_owner("u1");
  lists[3].set_name_prefix("g");
  lists[4].set_name_prefix("h");
  lists[5].set_order_by(v1::CONTACT_ORDER_UPDATE_TIME);
  lists[6].set_show_deleted(true);
  for (const v1::ListContactsRequest& list : lists) {
    for (const std::string& given : Given(list, 2)) {
      EXPECT_NE(given, "Grace") << list.ShortDebugString();
    }
  }
  // The merged twin: only the survivor is listed, by every index.
  for (const v1::ListContactsRequest& list : {lists[2], lists[5], lists[6]}) {
    EXPECT_THAT(Given(list, 2), ElementsAre("Ada")) << list.ShortDebugString();
  }
  v1::ListContactsRequest by_account;
  by_account.set_account(a.name());
  EXPECT_THAT(Given(by_account, 2), ElementsAre("Ada"));

  // Of the erased and the merged, only /r/, /k/ and the /n/ entry remain.
  for (const std::string& name : {grace.name(), twin.name()}) {
    const std::string id = IdIn(name);
    for (const std::string& key : ListKeys()) {
      if (key.find(id) == std::string::npos) continue;
      EXPECT_TRUE(key.starts_with("acme/r/") || key.starts_with("acme/k/") ||
                  key.starts_with("acme/n/"))
          << key;
    }
  }
  EXPECT_THAT(KeysWith('n', "grace"), IsEmpty());
  EXPECT_THAT(KeysWith('g', "grace"), IsEmpty());
  EXPECT_THAT(KeysWith('e', "grace@"), IsEmpty());
  EXPECT_THAT(KeysWith('p', "+12025550143"), IsEmpty());
}

TEST_F(ListApiTest, AnotherTenantsContactsAreNeverListed) {
  const v1::Account a = MustCreateAccount(Company("Analytical Engines"));
  MustCreate(
      Full("Ada", "Lovelace", "ada@example.com", "+44 20 7946 0958", "u1"),
      "globex");
  v1::Contact ours = Full("Alan", "Turing", "alan@example.com",
                          "+44 20 7946 0959", "u1", a.name());
  MustCreate(ours);
  std::vector<v1::ListContactsRequest> lists(7);
  lists[1].set_email("ada@example.com");
  lists[2].set_phone("+442079460958");
  lists[3].set_owner("u1");
  lists[4].set_account(a.name());
  lists[5].set_name_prefix("a");
  lists[6].set_order_by(v1::CONTACT_ORDER_UPDATE_TIME);
  for (const v1::ListContactsRequest& list : lists) {
    for (const std::string& given : Given(list, 1)) {
      EXPECT_EQ(given, "Alan") << list.ShortDebugString();
    }
  }
  EXPECT_THAT(Given(lists[5], 1, "globex"), ElementsAre("Ada"));
  EXPECT_THAT(Given(lists[3], 1, "globex"), ElementsAre("Ada"));
}

TEST_F(ListApiTest, FindContactIdsByEmailReturnsActiveContactsOfTheTenant) {
  const v1::Contact one = MustCreate(Person("Ada", "One", "ada@example.com"));
  const v1::Contact two = MustCreate(Person("Ada", "Two", "ada@example.com"));
  const v1::Contact gone = MustCreate(Person("Ada", "Gone", "ada@example.com"));
  MustCreate(Person("Ada", "Elsewhere", "ada@example.com"), "globex");
  v1::DeleteContactRequest del;
  del.set_name(gone.name());
  v1::DeleteContactResponse deleted;
  ASSERT_TRUE(stub_->DeleteContact(Context().get(), del, &deleted).ok());

  ASSERT_OK_AND_ASSIGN(auto view,
                       engine_->View(projections::kContactListProjection));
  ASSERT_OK_AND_ASSIGN(
      std::vector<std::string> ids,
      projections::FindContactIdsByEmail(*view, "acme", "ada@example.com", 10));
  std::vector<std::string> want = {IdIn(one.name()), IdIn(two.name())};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ids, want);
  EXPECT_THAT(
      projections::FindContactIdsByEmail(*view, "acme", "ada@example.com", 1),
      IsOkAndHolds(SizeIs(1)));
  EXPECT_THAT(projections::FindContactIdsByEmail(*view, "acme",
                                                 "nobody@example.com", 5),
              IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(projections::FindContactIdsByEmail(*view, "initech",
                                                 "ada@example.com", 5),
              IsOkAndHolds(IsEmpty()));
}

TEST_F(ListApiTest, ListAccountsByDomainFollowsAChangedWebsite) {
  const v1::Account acme =
      MustCreateAccount(Company("Acme", "https://www.acme.example/shop"));
  MustCreateAccount(Company("Acme Labs", "acme.example"));
  MustCreateAccount(Company("Globex", "globex.example"));
  MustCreateAccount(Company("Acme Elsewhere", "acme.example"), "globex");

  auto names = [&](const std::string& domain, int page_size) {
    v1::ListAccountsRequest request;
    request.set_domain(domain);
    request.mutable_page()->set_page_size(page_size);
    std::vector<std::string> out;
    for (int page = 0; page < 100; ++page) {
      v1::ListAccountsResponse response;
      const grpc::Status status =
          stub_->ListAccounts(Context().get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      for (const v1::Account& a : response.accounts())
        out.push_back(a.display_name());
      if (response.page().next_page_token().empty()) break;
      request.mutable_page()->set_page_token(response.page().next_page_token());
    }
    std::sort(out.begin(), out.end());  // Id order: sort to compare.
    return out;
  };
  EXPECT_THAT(names("WWW.ACME.example", 1), ElementsAre("Acme", "Acme Labs"));
  EXPECT_THAT(names("globex.example", 5), ElementsAre("Globex"));

  v1::UpdateAccountRequest update;
  *update.mutable_account() = Company("Acme", "https://initech.example");
  update.mutable_account()->set_name(acme.name());
  update.mutable_update_mask()->add_paths("website");
  v1::UpdateAccountResponse updated;
  const grpc::Status status =
      stub_->UpdateAccount(Context().get(), update, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(names("acme.example", 5), ElementsAre("Acme Labs"));
  EXPECT_THAT(names("initech.example", 5), ElementsAre("Acme"));

  ASSERT_OK_AND_ASSIGN(auto view,
                       engine_->View(projections::kAccountListProjection));
  EXPECT_THAT(
      projections::FindAccountIdsByDomain(*view, "acme", "initech.example", 5),
      IsOkAndHolds(ElementsAre(IdIn(acme.name()))));
  EXPECT_THAT(
      projections::FindAccountIdsByDomain(*view, "acme", "acme.example", 5),
      IsOkAndHolds(SizeIs(1)));
  EXPECT_THAT(
      projections::FindAccountIdsByDomain(*view, "initech", "acme.example", 5),
      IsOkAndHolds(IsEmpty()));
  ASSERT_OK_AND_ASSIGN(auto keys, view->Scan("acme/d/", "", 100));
  EXPECT_THAT(keys, SizeIs(3));  // acme, labs, globex: the old one deleted.
}

}  // namespace
}  // namespace crm::contact::api
