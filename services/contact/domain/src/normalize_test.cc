#include "crm/contact/domain/normalize.h"

#include <random>
#include <string>

#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "normalize_internal.h"

namespace crm::contact {
namespace {

using ::crm::testing::IsOkAndHolds;
using ::crm::testing::StatusIs;
using Code = absl::StatusCode;

class NormalizeTest : public ::testing::Test {};

TEST_F(NormalizeTest, EmailIsTrimmedLowerCasedAndItsDomainIdnaEncoded) {
  EXPECT_THAT(NormalizeEmail("  Ada.Lovelace@Example.COM "),
              IsOkAndHolds("ada.lovelace@example.com"));
  EXPECT_THAT(NormalizeEmail("Jürgen@Bücher.example"),
              IsOkAndHolds("jürgen@xn--bcher-kva.example"));
}

TEST_F(NormalizeTest, EmailRejectsWhatIsNoAddress) {
  for (const char* bad :
       {"", "ada", "ada@", "@example.com", "a@b@example.com", "a b@example.com",
        "ada@localhost", "ada@exa_mple.com"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(NormalizeEmail(bad), StatusIs(Code::kInvalidArgument));
  }
  EXPECT_THAT(NormalizeEmail(std::string(250, 'a') + "@example.com"),
              StatusIs(Code::kInvalidArgument));
}

TEST_F(NormalizeTest, PhoneBecomesE164InTheDefaultRegion) {
  EXPECT_THAT(NormalizePhoneE164("030 1234567", "DE"),
              IsOkAndHolds("+49301234567"));
  EXPECT_THAT(NormalizePhoneE164("+44 20 7946 0958", ""),
              IsOkAndHolds("+442079460958"));
  EXPECT_THAT(NormalizePhoneE164("(650) 253-0000", "US"),
              IsOkAndHolds("+16502530000"));
  EXPECT_THAT(NormalizePhoneE164("0044 20 7946 0958", "DE"),
              IsOkAndHolds("+442079460958"));
}

TEST_F(NormalizeTest, PhoneRejectsNumbersItCannotPlace) {
  EXPECT_THAT(NormalizePhoneE164("030 1234567", ""),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(NormalizePhoneE164("12", "DE"), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(NormalizePhoneE164("call me", "DE"),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(NormalizePhoneE164("", "DE"), StatusIs(Code::kInvalidArgument));
  EXPECT_TRUE(IsKnownPhoneRegion("DE"));
  EXPECT_FALSE(IsKnownPhoneRegion("XX"));
  EXPECT_FALSE(IsKnownPhoneRegion("de1"));
}

TEST_F(NormalizeTest, NamesAreFoldedTransliteratedAndCleaned) {
  EXPECT_EQ(NormalizeNameForMatching("  Zoë  O'Brien-Smith "),
            "zoe obrien smith");
  EXPECT_EQ(NormalizeNameForMatching("Владимир Набоков"), "vladimir nabokov");
  EXPECT_EQ(NormalizeNameForMatching("STRAẞE"), "strasse");
  EXPECT_EQ(NormalizeNameForMatching("Ｆｕｌｌｗｉｄｔｈ"), "fullwidth");
  EXPECT_EQ(NormalizeNameForMatching(""), "");
}

TEST_F(NormalizeTest, AsciiNamesTakeAShortcutThatAgreesWithIcu) {
  // Every printable ASCII character, control characters and apostrophes,
  // in random names of up to 24 bytes: the byte-wise path for ASCII and
  // the ICU path give the same key.
  std::mt19937 random(20261208);
  std::uniform_int_distribution<int> byte(0, 127);
  std::uniform_int_distribution<size_t> length(0, 24);
  for (int i = 0; i < 5000; ++i) {
    std::string name(length(random), ' ');
    for (char& c : name) c = static_cast<char>(byte(random));
    ASSERT_EQ(NormalizeNameForMatching(name),
              NormalizeNameForMatchingWithIcu(name))
        << "name bytes: " << ::testing::PrintToString(name);
  }
  for (const char* name : {"O'Brien", "d`Arc", "  Ada   LOVELACE  ", "a--b",
                           "X Æ A-12", "Zoë", "\t\n"}) {
    EXPECT_EQ(NormalizeNameForMatching(name),
              NormalizeNameForMatchingWithIcu(name))
        << name;
  }
  EXPECT_EQ(NormalizeNameForMatching("  Ada   LOVELACE-King "),
            "ada lovelace king");
}

TEST_F(NormalizeTest, CompanyNamesLoseTrailingLegalForms) {
  EXPECT_EQ(NormalizeCompanyNameForMatching("ACME Widgets GmbH & Co. KG"),
            "acme widgets");
  EXPECT_EQ(NormalizeCompanyNameForMatching("Acme, Inc."), "acme");
  EXPECT_EQ(NormalizeCompanyNameForMatching("AG"), "ag");
}

TEST_F(NormalizeTest, WebDomainIsTheBareHost) {
  EXPECT_THAT(NormalizeWebDomain("https://www.Bücher.example/shop?x=1"),
              IsOkAndHolds("xn--bcher-kva.example"));
  EXPECT_THAT(NormalizeWebDomain("acme.example"), IsOkAndHolds("acme.example"));
  EXPECT_THAT(NormalizeWebDomain("http://user@acme.example:8080/"),
              IsOkAndHolds("acme.example"));
  EXPECT_THAT(NormalizeWebDomain("https://localhost/"),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(NormalizeWebDomain(""), StatusIs(Code::kInvalidArgument));
}

}  // namespace
}  // namespace crm::contact
