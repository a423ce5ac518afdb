// PayloadPool: random bytes to cut payloads from, so that writers send
// incompressible data without paying for a random generator per byte.
//
//   PayloadPool payloads(/*max_payload_bytes=*/256);
//   std::string_view payload = payloads.Take(rng, 256);
//
// Thread safety: Take() is const and may be called from many threads, each
// with its own generator.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace crm::bench {

class PayloadPool {
 public:
  explicit PayloadPool(size_t max_payload_bytes)
      : bytes_(std::max<size_t>(kMinPoolBytes, 2 * max_payload_bytes), '\0') {
    std::mt19937_64 rng(0x5eed);
    for (char& byte : bytes_) byte = static_cast<char>(rng());
  }

  // `size` bytes starting at a random offset. REQUIRES: size <= the
  // max_payload_bytes given to the constructor.
  template <typename Rng>
  std::string_view Take(Rng& rng, size_t size) const {
    const size_t offset =
        std::uniform_int_distribution<size_t>(0, bytes_.size() - size)(rng);
    return std::string_view(bytes_).substr(offset, size);
  }

 private:
  static constexpr size_t kMinPoolBytes = 1 << 20;

  std::string bytes_;
};

}  // namespace crm::bench
