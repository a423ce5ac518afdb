#include "crm/contact/domain/normalize.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "fmt/format.h"
#include "normalize_internal.h"
#include "phonenumbers/phonenumber.pb.h"
#include "phonenumbers/phonenumberutil.h"
#include "unicode/idna.h"
#include "unicode/normalizer2.h"
#include "unicode/translit.h"
#include "unicode/uchar.h"
#include "unicode/unistr.h"

namespace crm::contact {
namespace {

using ::i18n::phonenumbers::PhoneNumberUtil;

constexpr size_t kMaxEmailBytes = 254;
constexpr size_t kMaxPhoneBytes = 64;

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

std::string_view TrimAscii(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

// UTS #46 processing, non-transitional, with the STD3 host name rules. The
// instance is immutable and thread-safe; it lives as long as the process.
const icu::IDNA* Uts46() {
  static const icu::IDNA* const idna = [] {
    UErrorCode error = U_ZERO_ERROR;
    icu::IDNA* created = icu::IDNA::createUTS46Instance(
        UIDNA_NONTRANSITIONAL_TO_ASCII | UIDNA_USE_STD3_RULES |
            UIDNA_CHECK_BIDI,
        error);
    return U_SUCCESS(error) ? created : nullptr;
  }();
  return idna;
}

// The domain in ASCII (punycode), lower-case, or empty when IDNA refuses it.
std::string DomainToAscii(std::string_view domain) {
  const icu::IDNA* idna = Uts46();
  if (idna == nullptr || domain.empty()) return "";
  std::string ascii;
  icu::StringByteSink<std::string> sink(&ascii);
  icu::IDNAInfo info;
  UErrorCode error = U_ZERO_ERROR;
  idna->nameToASCII_UTF8(
      icu::StringPiece(domain.data(), static_cast<int32_t>(domain.size())),
      sink, info, error);
  if (U_FAILURE(error) || info.hasErrors()) return "";
  return ascii;
}

icu::UnicodeString FromUtf8(std::string_view s) {
  return icu::UnicodeString::fromUTF8(
      icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
}

std::string ToUtf8(const icu::UnicodeString& s) {
  std::string out;
  s.toUTF8String(out);
  return out;
}

// ICU transliterators are not documented as safe for concurrent use: one
// per thread. Null when ICU's data lacks the rules.
icu::Transliterator* ToAsciiTransliterator() {
  thread_local std::unique_ptr<icu::Transliterator> transliterator = [] {
    UErrorCode error = U_ZERO_ERROR;
    std::unique_ptr<icu::Transliterator> created(
        icu::Transliterator::createInstance("Any-Latin; Latin-ASCII",
                                            UTRANS_FORWARD, error));
    if (U_FAILURE(error)) created.reset();
    return created;
  }();
  return transliterator.get();
}

bool IsApostrophe(UChar32 c) {
  return c == '\'' || c == 0x2019 || c == 0x02BC || c == 0x2018 || c == '`';
}

}  // namespace

absl::StatusOr<std::string> NormalizeEmail(std::string_view address) {
  std::string_view trimmed = TrimAscii(address);
  if (trimmed.empty()) {
    return absl::InvalidArgumentError("an email address is required");
  }
  if (trimmed.size() > kMaxEmailBytes) {
    return absl::InvalidArgumentError(
        fmt::format("an email address has at most {} bytes", kMaxEmailBytes));
  }
  for (char c : trimmed) {
    if (IsAsciiSpace(c) || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          "an email address has no spaces or control characters");
    }
  }
  size_t at = trimmed.find('@');
  if (at == std::string_view::npos ||
      trimmed.find('@', at + 1) != std::string_view::npos) {
    return absl::InvalidArgumentError(
        "an email address has exactly one '@', as in name@example.com");
  }
  std::string_view local = trimmed.substr(0, at);
  std::string_view domain = trimmed.substr(at + 1);
  if (local.empty() || domain.empty()) {
    return absl::InvalidArgumentError(
        "an email address has a name before and a domain after the '@'");
  }
  std::string ascii_domain = DomainToAscii(domain);
  if (ascii_domain.empty() || ascii_domain.find('.') == std::string::npos ||
      ascii_domain.front() == '.' || ascii_domain.back() == '.') {
    return absl::InvalidArgumentError(
        "the domain of an email address must be a valid host name with a dot, "
        "such as example.com");
  }
  icu::UnicodeString folded = FromUtf8(local);
  folded.foldCase();
  return fmt::format("{}@{}", ToUtf8(folded), ascii_domain);
}

bool IsKnownPhoneRegion(std::string_view region) {
  if (region.size() != 2) return false;
  return PhoneNumberUtil::GetInstance()->GetCountryCodeForRegion(
             std::string(region)) != 0;
}

absl::StatusOr<std::string> NormalizePhoneE164(
    std::string_view number, std::string_view default_region) {
  std::string_view trimmed = TrimAscii(number);
  if (trimmed.empty()) {
    return absl::InvalidArgumentError("a phone number is required");
  }
  if (trimmed.size() > kMaxPhoneBytes) {
    return absl::InvalidArgumentError(
        fmt::format("a phone number has at most {} bytes", kMaxPhoneBytes));
  }
  bool international = trimmed.front() == '+';
  if (!international && default_region.empty()) {
    return absl::InvalidArgumentError(
        "the phone number has no country code: write it as +<country> "
        "<number>, or configure the tenant's default region");
  }
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  std::string region =
      default_region.empty() ? "ZZ" : std::string(default_region);
  ::i18n::phonenumbers::PhoneNumber parsed;
  if (util->Parse(std::string(trimmed), region, &parsed) !=
      PhoneNumberUtil::NO_PARSING_ERROR) {
    return absl::InvalidArgumentError(
        "the phone number cannot be parsed: use digits, spaces and an optional "
        "leading +<country code>");
  }
  if (!util->IsValidNumber(parsed)) {
    return absl::InvalidArgumentError(
        "the phone number is not a valid number of its country: check the "
        "digits and the country code");
  }
  std::string e164;
  util->Format(parsed, PhoneNumberUtil::E164, &e164);
  return e164;
}

std::string NormalizeNameForMatchingWithIcu(std::string_view name) {
  icu::UnicodeString text = FromUtf8(name);
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc_cf =
      icu::Normalizer2::getNFKCCasefoldInstance(error);
  if (U_SUCCESS(error) && nfkc_cf != nullptr) {
    icu::UnicodeString folded = nfkc_cf->normalize(text, error);
    if (U_SUCCESS(error)) text = folded;
  }
  if (icu::Transliterator* transliterator = ToAsciiTransliterator()) {
    transliterator->transliterate(text);
  }
  icu::UnicodeString cleaned;
  bool pending_space = false;
  for (int32_t i = 0; i < text.length();) {
    UChar32 c = text.char32At(i);
    i += U16_LENGTH(c);
    if (IsApostrophe(c)) continue;
    if (u_isalnum(c)) {
      if (pending_space && !cleaned.isEmpty()) cleaned.append(UChar32{' '});
      pending_space = false;
      cleaned.append(u_tolower(c));
    } else {
      pending_space = true;
    }
  }
  return ToUtf8(cleaned);
}

std::string NormalizeNameForMatching(std::string_view name) {
  // ASCII text, most names, needs none of ICU's work (most of the cost of a
  // new contact's match keys): NFKC case folding of ASCII is lower-casing,
  // and "Any-Latin; Latin-ASCII" leaves ASCII as it is. The loop below is
  // the cleaning step of the ICU path, byte by byte.
  std::string cleaned;
  cleaned.reserve(name.size());
  bool pending_space = false;
  for (const char c : name) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return NormalizeNameForMatchingWithIcu(name);
    }
    if (IsApostrophe(static_cast<unsigned char>(c))) continue;
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      if (pending_space && !cleaned.empty()) cleaned.push_back(' ');
      pending_space = false;
      cleaned.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    } else {
      pending_space = true;
    }
  }
  return cleaned;
}

std::string NormalizeCompanyNameForMatching(std::string_view name) {
  static const std::vector<std::string_view> kLegalForms = {
      "ab",   "ag",          "aps", "as",      "bv",   "co",  "company",
      "corp", "corporation", "ev",  "gbr",     "gmbh", "inc", "incorporated",
      "kg",   "kgaa",        "kk",  "limited", "llc",  "llp", "lp",
      "ltd",  "mbh",         "nv",  "oy",      "plc",  "pte", "pty",
      "sa",   "sarl",        "sas", "se",      "spa",  "srl", "ug"};
  std::string normalized = NormalizeNameForMatching(name);
  std::vector<std::string> words;
  size_t start = 0;
  while (start < normalized.size()) {
    size_t end = normalized.find(' ', start);
    if (end == std::string::npos) end = normalized.size();
    words.emplace_back(normalized.substr(start, end - start));
    start = end + 1;
  }
  while (words.size() > 1 && std::find(kLegalForms.begin(), kLegalForms.end(),
                                       words.back()) != kLegalForms.end()) {
    words.pop_back();
  }
  std::string out;
  for (const std::string& word : words) {
    if (!out.empty()) out.push_back(' ');
    out += word;
  }
  return out;
}

absl::StatusOr<std::string> NormalizeWebDomain(std::string_view website) {
  std::string_view rest = TrimAscii(website);
  size_t scheme = rest.find("://");
  if (scheme != std::string_view::npos) rest.remove_prefix(scheme + 3);
  size_t end = rest.find_first_of("/?#");
  if (end != std::string_view::npos) rest = rest.substr(0, end);
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest.remove_prefix(at + 1);
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos) rest = rest.substr(0, colon);
  while (!rest.empty() && rest.back() == '.') rest.remove_suffix(1);
  std::string ascii = DomainToAscii(rest);
  if (ascii.substr(0, 4) == "www.") ascii.erase(0, 4);
  if (ascii.empty() || ascii.find('.') == std::string::npos ||
      ascii.front() == '.') {
    return absl::InvalidArgumentError(
        "the web site has no valid domain: write it as example.com or "
        "https://www.example.com");
  }
  return ascii;
}

}  // namespace crm::contact
