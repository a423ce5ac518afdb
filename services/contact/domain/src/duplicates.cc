#include "crm/contact/domain/duplicates.h"

#include <algorithm>

#include "crm/contact/domain/normalize.h"
#include "fmt/format.h"
#include "unicode/unistr.h"

namespace crm::contact {
namespace {

constexpr double kEmailScore = 0.95;
constexpr double kContactPhoneScore = 0.85;
constexpr double kDomainScore = 0.90;
constexpr double kAccountPhoneScore = 0.70;
constexpr double kNameOnlyScore = 0.30;

std::vector<UChar32> CodePoints(std::string_view s) {
  icu::UnicodeString text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
  std::vector<UChar32> out;
  out.reserve(static_cast<size_t>(text.length()));
  for (int32_t i = 0; i < text.length();) {
    UChar32 c = text.char32At(i);
    out.push_back(c);
    i += U16_LENGTH(c);
  }
  return out;
}

std::string SortedWords(std::string_view name) {
  std::vector<std::string> words;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find(' ', start);
    if (end == std::string_view::npos) end = name.size();
    if (end > start) words.emplace_back(name.substr(start, end - start));
    start = end + 1;
  }
  std::sort(words.begin(), words.end());
  std::string out;
  for (const std::string& word : words) {
    if (!out.empty()) out.push_back(' ');
    out += word;
  }
  return out;
}

bool ShareAny(const std::vector<std::string>& a,
              const std::vector<std::string>& b) {
  for (const std::string& x : a) {
    if (!x.empty() && std::find(b.begin(), b.end(), x) != b.end()) return true;
  }
  return false;
}

DuplicateScore Combine(std::vector<DuplicateReason> reasons) {
  std::sort(reasons.begin(), reasons.end(),
            [](const DuplicateReason& x, const DuplicateReason& y) {
              return x.score > y.score;
            });
  double none = 1.0;
  for (const DuplicateReason& reason : reasons) none *= 1.0 - reason.score;
  DuplicateScore result;
  result.score = reasons.empty() ? 0.0 : 1.0 - none;
  result.reasons = std::move(reasons);
  return result;
}

// Linear from `low` at similarity `from` to `high` at similarity 1.
double Scale(double similarity, double from, double low, double high) {
  return low + (high - low) * (similarity - from) / (1.0 - from);
}

}  // namespace

double JaroWinkler(std::string_view a_text, std::string_view b_text) {
  std::vector<UChar32> a = CodePoints(a_text);
  std::vector<UChar32> b = CodePoints(b_text);
  if (a.empty() || b.empty()) return 0.0;
  if (a == b) return 1.0;
  size_t window = std::max(a.size(), b.size()) / 2;
  window = window > 0 ? window - 1 : 0;
  std::vector<bool> a_matched(a.size(), false);
  std::vector<bool> b_matched(b.size(), false);
  size_t matches = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    size_t from = i > window ? i - window : 0;
    size_t to = std::min(b.size(), i + window + 1);
    for (size_t j = from; j < to; ++j) {
      if (b_matched[j] || a[i] != b[j]) continue;
      a_matched[i] = b_matched[j] = true;
      ++matches;
      break;
    }
  }
  if (matches == 0) return 0.0;
  size_t transpositions = 0;
  for (size_t i = 0, j = 0; i < a.size(); ++i) {
    if (!a_matched[i]) continue;
    while (!b_matched[j]) ++j;
    if (a[i] != b[j]) ++transpositions;
    ++j;
  }
  double m = static_cast<double>(matches);
  double jaro =
      (m / static_cast<double>(a.size()) + m / static_cast<double>(b.size()) +
       (m - static_cast<double>(transpositions) / 2.0) / m) /
      3.0;
  size_t prefix = 0;
  while (prefix < 4 && prefix < a.size() && prefix < b.size() &&
         a[prefix] == b[prefix]) {
    ++prefix;
  }
  return jaro + static_cast<double>(prefix) * 0.1 * (1.0 - jaro);
}

double NameSimilarity(std::string_view name_key_a,
                      std::string_view name_key_b) {
  return std::max(
      JaroWinkler(name_key_a, name_key_b),
      JaroWinkler(SortedWords(name_key_a), SortedWords(name_key_b)));
}

ContactMatchProfile ContactMatchProfileOf(std::string_view id,
                                          const v1::ContactPersonalData& data,
                                          std::string_view account_id,
                                          std::string_view company_name) {
  ContactMatchProfile profile;
  profile.id = std::string(id);
  profile.name_key = NormalizeNameForMatching(
      fmt::format("{} {}", data.given_name(), data.family_name()));
  for (const v1::EmailAddress& email : data.emails()) {
    if (!email.normalized().empty())
      profile.emails.push_back(email.normalized());
  }
  for (const v1::PhoneNumber& phone : data.phones()) {
    if (!phone.e164().empty()) profile.phones.push_back(phone.e164());
  }
  profile.account_id = std::string(account_id);
  profile.company_key = NormalizeCompanyNameForMatching(company_name);
  return profile;
}

AccountMatchProfile AccountMatchProfileOf(std::string_view id,
                                          const v1::AccountProfile& profile) {
  AccountMatchProfile out;
  out.id = std::string(id);
  out.name_key = NormalizeCompanyNameForMatching(profile.display_name());
  out.domain = profile.domain();
  for (const v1::PhoneNumber& phone : profile.phones()) {
    if (!phone.e164().empty()) out.phones.push_back(phone.e164());
  }
  return out;
}

DuplicateScore ScoreContactPair(const ContactMatchProfile& a,
                                const ContactMatchProfile& b) {
  std::vector<DuplicateReason> reasons;
  if (ShareAny(a.emails, b.emails)) {
    reasons.push_back(
        {DuplicateEvidence::kEmail, kEmailScore, "same email address"});
  }
  if (ShareAny(a.phones, b.phones)) {
    reasons.push_back(
        {DuplicateEvidence::kPhone, kContactPhoneScore, "same phone number"});
  }
  double similarity = NameSimilarity(a.name_key, b.name_key);
  bool same_account = !a.account_id.empty() && a.account_id == b.account_id;
  bool same_company = same_account || (!a.company_key.empty() &&
                                       a.company_key == b.company_key);
  bool company_unknown = (a.account_id.empty() && a.company_key.empty()) ||
                         (b.account_id.empty() && b.company_key.empty());
  if (same_company && similarity >= 0.85) {
    reasons.push_back({DuplicateEvidence::kNameAndCompany,
                       Scale(similarity, 0.85, 0.50, 0.85),
                       fmt::format("names {:.2f} similar, same {}", similarity,
                                   same_account ? "account" : "company")});
  } else if (company_unknown && similarity >= 0.95) {
    reasons.push_back({DuplicateEvidence::kName, kNameOnlyScore,
                       fmt::format("names {:.2f} similar", similarity)});
  }
  return Combine(std::move(reasons));
}

DuplicateScore ScoreAccountPair(const AccountMatchProfile& a,
                                const AccountMatchProfile& b) {
  std::vector<DuplicateReason> reasons;
  if (!a.domain.empty() && a.domain == b.domain) {
    reasons.push_back(
        {DuplicateEvidence::kDomain, kDomainScore, "same web domain"});
  }
  if (ShareAny(a.phones, b.phones)) {
    reasons.push_back(
        {DuplicateEvidence::kPhone, kAccountPhoneScore, "same phone number"});
  }
  double similarity = JaroWinkler(a.name_key, b.name_key);
  if (similarity >= 0.90) {
    reasons.push_back({DuplicateEvidence::kName,
                       Scale(similarity, 0.90, 0.40, 0.85),
                       fmt::format("names {:.2f} similar", similarity)});
  }
  return Combine(std::move(reasons));
}

}  // namespace crm::contact
