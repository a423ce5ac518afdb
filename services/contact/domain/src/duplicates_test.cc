#include "crm/contact/domain/duplicates.h"

#include "crm/testing/status_matchers.h"
#include "domain_test_util.h"

namespace crm::contact {
namespace {

using ::crm::contact::testing::ParseText;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::Field;

class DuplicatesTest : public ::testing::Test {
 protected:
  ContactMatchProfile Profile(std::string_view personal,
                              std::string_view account_id = "",
                              std::string_view company = "") {
    return ContactMatchProfileOf(
        "x", ParseText<v1::ContactPersonalData>(personal), account_id, company);
  }
};

TEST_F(DuplicatesTest, JaroWinklerMatchesKnownValues) {
  EXPECT_NEAR(JaroWinkler("martha", "marhta"), 0.961, 0.001);
  EXPECT_NEAR(JaroWinkler("dixon", "dicksonx"), 0.813, 0.001);
  EXPECT_DOUBLE_EQ(JaroWinkler("ada", "ada"), 1.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("", ""), 0.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("abc", "xyz"), 0.0);
  EXPECT_NEAR(NameSimilarity("lovelace ada", "ada lovelace"), 1.0, 1e-9);
}

TEST_F(DuplicatesTest, SameEmailScoresHigh) {
  DuplicateScore score = ScoreContactPair(
      Profile("given_name: 'Ada' emails { normalized: 'ada@example.com' }"),
      Profile("given_name: 'Grace' emails { normalized: 'ada@example.com' }"));
  EXPECT_THAT(score.score, DoubleNear(0.95, 1e-9));
  EXPECT_THAT(score.reasons, ElementsAre(Field(&DuplicateReason::evidence,
                                               DuplicateEvidence::kEmail)));
}

TEST_F(DuplicatesTest, SignalsCombineAndAreOrderedByStrength) {
  DuplicateScore score = ScoreContactPair(
      Profile("given_name: 'Ada' family_name: 'Lovelace' phones { e164: "
              "'+49301234567' } emails { normalized: 'a@x.example' }",
              "acct-1"),
      Profile("given_name: 'Ada' family_name: 'Lovelace' phones { e164: "
              "'+49301234567' } emails { normalized: 'a@x.example' }",
              "acct-1"));
  EXPECT_THAT(
      score.reasons,
      ElementsAre(Field(&DuplicateReason::evidence, DuplicateEvidence::kEmail),
                  Field(&DuplicateReason::evidence, DuplicateEvidence::kPhone),
                  Field(&DuplicateReason::evidence,
                        DuplicateEvidence::kNameAndCompany)));
  EXPECT_THAT(score.score, DoubleNear(1 - 0.05 * 0.15 * 0.15, 1e-9));
}

TEST_F(DuplicatesTest, SimilarNamesAtTheSameCompanyScoreMedium) {
  DuplicateScore score = ScoreContactPair(
      Profile("given_name: 'Zoë' family_name: 'Müller'", "", "Acme GmbH"),
      Profile("given_name: 'Zoe' family_name: 'Mueller'", "", "ACME"));
  ASSERT_EQ(score.reasons.size(), 1u);
  EXPECT_EQ(score.reasons[0].evidence, DuplicateEvidence::kNameAndCompany);
  EXPECT_GE(score.score, 0.5);
  EXPECT_LE(score.score, 0.85);
}

TEST_F(DuplicatesTest, SimilarNamesAtDifferentCompaniesAreNoEvidence) {
  DuplicateScore score = ScoreContactPair(
      Profile("given_name: 'Ada' family_name: 'Lovelace'", "acct-1"),
      Profile("given_name: 'Ada' family_name: 'Lovelace'", "acct-2"));
  EXPECT_EQ(score.score, 0.0);
  EXPECT_TRUE(score.reasons.empty());
}

TEST_F(DuplicatesTest, EqualNamesWithUnknownCompanyAreWeakEvidence) {
  DuplicateScore score =
      ScoreContactPair(Profile("given_name: 'Ada' family_name: 'Lovelace'"),
                       Profile("given_name: 'ADA' family_name: 'LOVELACE'"));
  EXPECT_THAT(score.score, DoubleNear(0.30, 1e-9));
  EXPECT_THAT(score.reasons, ElementsAre(Field(&DuplicateReason::evidence,
                                               DuplicateEvidence::kName)));
}

TEST_F(DuplicatesTest, AccountsMatchByDomainPhoneAndName) {
  AccountMatchProfile a = AccountMatchProfileOf(
      "a", ParseText<v1::AccountProfile>(
               "display_name: 'Acme GmbH' domain: 'acme.example' phones { "
               "e164: '+49301234567' }"));
  AccountMatchProfile b = AccountMatchProfileOf(
      "b", ParseText<v1::AccountProfile>(
               "display_name: 'ACME' domain: 'acme.example'"));
  DuplicateScore score = ScoreAccountPair(a, b);
  EXPECT_THAT(
      score.reasons,
      ElementsAre(Field(&DuplicateReason::evidence, DuplicateEvidence::kDomain),
                  Field(&DuplicateReason::evidence, DuplicateEvidence::kName)));
  EXPECT_THAT(score.score, DoubleNear(1 - 0.10 * 0.15, 1e-9));
  AccountMatchProfile c = AccountMatchProfileOf(
      "c", ParseText<v1::AccountProfile>("display_name: 'Globex'"));
  EXPECT_EQ(ScoreAccountPair(a, c).score, 0.0);
}

}  // namespace
}  // namespace crm::contact
