#include "staged_writes.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "crm/base/status_macros.h"
#include "crm/eventstore/rocksdb_status.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace crm::projection {
namespace {

// The table slot and allocator overhead of one staged key, roughly.
constexpr size_t kEntryOverhead = 96;

absl::string_view ToAbsl(std::string_view view) {
  return absl::string_view(view.data(), view.size());
}

}  // namespace

const std::optional<std::string>* StagedWrites::Find(
    std::string_view key) const {
  auto it = writes_.find(ToAbsl(key));
  return it == writes_.end() ? nullptr : &it->second;
}

void StagedWrites::Put(std::string_view key, std::string_view value) {
  auto it = writes_.find(ToAbsl(key));
  if (it == writes_.end()) {
    writes_.emplace(std::string(key), std::string(value));
    bytes_ += key.size() + value.size() + kEntryOverhead;
    return;
  }
  std::optional<std::string>& staged = it->second;
  if (staged.has_value()) {
    bytes_ -= staged->size();
    staged->assign(value.data(), value.size());  // Reuses its capacity.
  } else {
    staged.emplace(value);
  }
  bytes_ += value.size();
}

void StagedWrites::Delete(std::string_view key) {
  auto it = writes_.find(ToAbsl(key));
  if (it == writes_.end()) {
    writes_.emplace(std::string(key), std::nullopt);
    bytes_ += key.size() + kEntryOverhead;
    return;
  }
  if (it->second.has_value()) bytes_ -= it->second->size();
  it->second.reset();
}

void StagedWrites::AppendTo(rocksdb::WriteBatch& batch,
                            rocksdb::ColumnFamilyHandle* family) const {
  using Write = std::pair<const std::string, std::optional<std::string>>;
  std::vector<const Write*> sorted;
  sorted.reserve(writes_.size());
  for (const Write& write : writes_) sorted.push_back(&write);
  std::sort(sorted.begin(), sorted.end(),
            [](const Write* a, const Write* b) { return a->first < b->first; });
  for (const Write* write : sorted) {
    if (write->second.has_value()) {
      batch.Put(family, write->first, *write->second);
    } else {
      batch.Delete(family, write->first);
    }
  }
}

void StagedWrites::Clear() {
  writes_.clear();
  bytes_ = 0;
}

absl::StatusOr<std::optional<std::string>> StagingWriter::Get(
    std::string_view key) const {
  if (const std::optional<std::string>* staged = staged_.Find(key)) {
    return *staged;
  }
  std::string value;
  rocksdb::Status status =
      db_.Get(rocksdb::ReadOptions(), &family_, key, &value);
  if (status.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(eventstore::FromRocksDb(status, "reading a projection"));
  return value;
}

}  // namespace crm::projection
