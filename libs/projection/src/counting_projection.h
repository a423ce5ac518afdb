// A projection for tests: counts events per stream ("count/<stream>") and in
// total ("total"), and keeps each stream's last payload ("last/<stream>").
// Named "counts" unless told otherwise.
// Counting makes a double-applied or skipped event visible. Test-only.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "crm/base/status_macros.h"
#include "crm/projection/projection.h"

namespace crm::projection::test_util {

class CountingProjection final : public Projection {
 public:
  // Counts Apply calls in `*applied` when given; fails on an event whose
  // payload is `fail_on` when that is not empty.
  explicit CountingProjection(uint32_t version,
                              std::atomic<int>* applied = nullptr,
                              std::string fail_on = "",
                              std::string name = "counts")
      : version_(version),
        applied_(applied),
        fail_on_(std::move(fail_on)),
        name_(std::move(name)) {}

  std::string name() const override { return name_; }
  uint32_t version() const override { return version_; }

  absl::Status Apply(const Envelope& event, ProjectionWriter& writer) override {
    if (!fail_on_.empty() && event.payload() == fail_on_) {
      return absl::InvalidArgumentError("poison payload");
    }
    if (applied_ != nullptr) ++*applied_;
    for (const std::string& key :
         {"count/" + event.stream(), std::string("total")}) {
      ASSIGN_OR_RETURN(std::optional<std::string> value, writer.Get(key));
      uint64_t count = 0;
      if (value.has_value() && !absl::SimpleAtoi(*value, &count)) {
        return absl::DataLossError("bad count");
      }
      writer.Put(key, absl::StrCat(count + 1));
    }
    writer.Put("last/" + event.stream(), event.payload());
    return absl::OkStatus();
  }

 private:
  uint32_t version_;
  std::atomic<int>* applied_;
  std::string fail_on_;
  std::string name_;
};

}  // namespace crm::projection::test_util
