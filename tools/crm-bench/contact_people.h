// Synthetic people for `crm-bench contact`: the same index gives the same
// person in every run, so the stored data, the filters' selectivity and the
// ids a read asks for are reproducible.
//
// Names: the family name is two syllables of kSyllables (16 x 16 family
// names; the first syllable picks 1/16 of the people), the given name one
// of kGivenNames (none starts like a family name). Owner: one of kOwners
// users, round robin. Email: unique per index.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "fmt/format.h"

namespace crm::bench {

inline constexpr int kOwners = 10;

inline constexpr std::array<const char*, 16> kSyllables = {
    "Ka", "Lo", "Mi", "Su", "Te", "Ra", "No", "Vi",
    "Be", "Do", "Fa", "Gu", "Ho", "Ji", "Pe", "Wu"};

inline constexpr std::array<const char*, 16> kGivenNames = {
    "Anna", "Carl",  "Clara", "Emil", "Ida",   "Oscar", "Olga", "Yann",
    "Ines", "Carla", "Eva",   "Ugo",  "Agnes", "Otto",  "Ulla", "Elif"};

struct SyntheticPerson {
  std::string given_name;
  std::string family_name;
  std::string email;
  std::string owner;
};

// The owner user id of owner number `n` (0 <= n < kOwners).
inline std::string OwnerName(uint64_t n) { return fmt::format("owner-{}", n); }

// `run` keeps the emails of two sets of people (two phases of one run)
// apart.
inline SyntheticPerson PersonAt(uint64_t index, const std::string& run) {
  SyntheticPerson person;
  person.given_name = kGivenNames[(index / 7) % kGivenNames.size()];
  // Two syllables, the second in lower case: "Kalo", "Kami", ...
  std::string second = kSyllables[(index / 16) % kSyllables.size()];
  second[0] = static_cast<char>(second[0] - 'A' + 'a');
  person.family_name = kSyllables[index % kSyllables.size()] + second;
  person.email = fmt::format("p{}.{}@bench.example.org", index, run);
  person.owner = OwnerName(index % kOwners);
  return person;
}

// A canonical UUID made from `index` (the same index, the same id), for
// contacts the bench stores directly.
inline std::string ContactIdAt(uint64_t index) {
  return fmt::format("00000000-0000-4000-8000-{:012x}", index);
}

}  // namespace crm::bench
