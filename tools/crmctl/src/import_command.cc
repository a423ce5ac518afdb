// import: a CSV file streamed to ImportContacts.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "commands.h"
#include "csv_rows.h"
#include "fmt/format.h"
#include "output.h"

namespace crm::crmctl {
namespace {

namespace v1 = contact::v1;

struct ImportFlags {
  std::string file;
  std::string import_id;
  std::string dedupe = "none";
  double min_score = 0;
  bool dry_run = false;
  bool no_progress = false;
};

const std::map<std::string, v1::ImportDedupeRule>& DedupeRules() {
  static const auto* rules = new std::map<std::string, v1::ImportDedupeRule>{
      {"none", v1::IMPORT_DEDUPE_RULE_UNSPECIFIED},
      {"update-by-email", v1::IMPORT_DEDUPE_RULE_UPDATE_BY_EMAIL},
      {"skip-by-email", v1::IMPORT_DEDUPE_RULE_SKIP_BY_EMAIL},
      {"skip-likely-duplicates",
       v1::IMPORT_DEDUPE_RULE_SKIP_LIKELY_DUPLICATES}};
  return *rules;
}

std::string NewImportId() {
  absl::BitGen gen;
  return fmt::format("crmctl-{:016x}", absl::Uniform<uint64_t>(gen));
}

// What the server reported so far; shared by the reading thread and the
// progress bar.
class ImportStatus {
 public:
  explicit ImportStatus(bool json) : json_(json) {}

  void Add(const v1::ImportContactsResponse& response) {
    absl::MutexLock lock(&mutex_);
    progress_ = response.progress();
    for (const v1::ImportRowResult& result : response.row_results()) {
      if (result.outcome() == v1::IMPORT_ROW_OUTCOME_FAILED) Report(result);
    }
  }

  // A row refused before it was sent (it does not fit the header).
  void AddLocalFailure(const std::string& message) {
    absl::MutexLock lock(&mutex_);
    ++local_failures_;
    if (json_) {
      v1::ImportRowResult result;
      result.set_outcome(v1::IMPORT_ROW_OUTCOME_FAILED);
      result.set_error_code(static_cast<int>(grpc::INVALID_ARGUMENT));
      result.set_error_message(message);
      PrintJson(result, std::cout);
    } else {
      ClearBar();
      std::cerr << "crmctl: not sent: " << message << '\n';
    }
  }

  v1::ImportProgress progress() const {
    absl::MutexLock lock(&mutex_);
    return progress_;
  }
  int64_t local_failures() const {
    absl::MutexLock lock(&mutex_);
    return local_failures_;
  }

  void DrawBar(uint64_t done, uint64_t total) {
    absl::MutexLock lock(&mutex_);
    const int percent =
        total == 0
            ? 100
            : static_cast<int>(done * 100 / std::max<uint64_t>(total, 1));
    const int filled = percent * 30 / 100;
    std::cerr << fmt::format(
        "\r[{}{}] {:3}%  sent {}  created {}  updated {}  skipped {}  failed "
        "{}",
        std::string(filled, '#'), std::string(30 - filled, '.'), percent,
        progress_.rows_received(), progress_.rows_created(),
        progress_.rows_updated(), progress_.rows_skipped(),
        progress_.rows_failed() + local_failures_);
    bar_shown_ = true;
  }

  void EndBar() {
    absl::MutexLock lock(&mutex_);
    ClearBar();
  }

 private:
  void ClearBar() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (bar_shown_) std::cerr << "\r\033[K";
    bar_shown_ = false;
  }

  void Report(const v1::ImportRowResult& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (json_) {
      PrintJson(result, std::cout);
      return;
    }
    ClearBar();
    std::cerr << fmt::format("crmctl: row {} refused: {}\n", result.row_key(),
                             result.error_message());
    for (const auto& v : result.field_violations()) {
      std::cerr << fmt::format("  {}: {}\n", v.field(), v.description());
    }
  }

  const bool json_;
  mutable absl::Mutex mutex_;
  v1::ImportProgress progress_ ABSL_GUARDED_BY(mutex_);
  int64_t local_failures_ ABSL_GUARDED_BY(mutex_) = 0;
  bool bar_shown_ ABSL_GUARDED_BY(mutex_) = false;
};

int RunImport(Client& client, const ImportFlags& flags) {
  absl::StatusOr<std::unique_ptr<CsvReader>> reader =
      CsvReader::Open(flags.file);
  if (!reader.ok()) {
    std::cerr << "crmctl: " << reader.status().message() << '\n';
    return kExitUsage;
  }
  absl::StatusOr<std::optional<std::vector<std::string>>> header_record =
      (*reader)->Next();
  if (!header_record.ok() || !header_record->has_value()) {
    std::cerr << "crmctl: "
              << (header_record.ok() ? "the file is empty; its first line "
                                       "must name the columns"
                                     : header_record.status().message())
              << '\n';
    return kExitUsage;
  }
  absl::StatusOr<CsvColumns> columns = CsvColumns::FromHeader(**header_record);
  if (!columns.ok()) {
    std::cerr << "crmctl: " << columns.status().message() << '\n';
    return kExitUsage;
  }

  const std::string import_id =
      flags.import_id.empty() ? NewImportId() : flags.import_id;
  if (!client.options().json) {
    std::cerr << fmt::format(
        "crmctl: import id {} (run again with --import-id {} to resume)\n",
        import_id, import_id);
  }
  const bool bar = !flags.no_progress && !client.options().json &&
                   isatty(STDERR_FILENO) != 0;
  ImportStatus status(client.options().json);
  auto context = client.Context(/*streaming=*/true);
  auto stream = client.stub().ImportContacts(context.get());
  std::thread responses([&] {
    v1::ImportContactsResponse response;
    while (stream->Read(&response)) status.Add(response);
  });

  v1::ImportContactsRequest request;
  v1::ImportHeader& header = *request.mutable_header();
  header.set_import_id(import_id);
  header.set_dedupe_rule(DedupeRules().at(flags.dedupe));
  header.set_min_duplicate_score(flags.min_score);
  header.set_dry_run(flags.dry_run);
  bool open = stream->Write(request);
  int64_t record = 1;  // The header.
  absl::Status csv_error;
  while (open) {
    absl::StatusOr<std::optional<std::vector<std::string>>> fields =
        (*reader)->Next();
    if (!fields.ok()) {
      csv_error = fields.status();
      break;
    }
    if (!fields->has_value()) break;
    ++record;
    absl::StatusOr<v1::ImportRow> row = columns->Map(**fields, record);
    if (!row.ok()) {
      status.AddLocalFailure(std::string(row.status().message()));
      continue;
    }
    *request.mutable_row() = *std::move(row);
    open = stream->Write(request);
    if (bar && record % 1000 == 0) {
      status.DrawBar((*reader)->bytes_read(), (*reader)->file_size());
    }
  }
  if (!csv_error.ok()) {
    context->TryCancel();
  } else {
    stream->WritesDone();
  }
  responses.join();
  const grpc::Status finished = stream->Finish();
  if (bar) status.EndBar();
  if (!csv_error.ok()) {
    std::cerr << fmt::format(
        "crmctl: {}; the rows before it that the server committed stay "
        "imported: fix the file and run again with --import-id {}\n",
        std::string(csv_error.message()), import_id);
    return kExitUsage;
  }
  if (!finished.ok()) return client.ReportError(finished);

  const v1::ImportProgress progress = status.progress();
  const int64_t failed = progress.rows_failed() + status.local_failures();
  if (client.options().json) {
    PrintJson(progress, std::cout);
  } else {
    std::cout << fmt::format(
        "import {}{}: {} rows sent, {} created, {} updated, {} skipped, {} "
        "failed\n",
        import_id, flags.dry_run ? " (dry run, nothing written)" : "",
        progress.rows_received(), progress.rows_created(),
        progress.rows_updated(), progress.rows_skipped(), failed);
  }
  return failed > 0 ? kExitRefused : kExitOk;
}

}  // namespace

void AddImportCommand(CLI::App& app, Action& action) {
  CLI::App* command = app.add_subcommand(
      "import", "import contacts from a CSV file with a header row");
  auto flags = std::make_shared<ImportFlags>();
  command->add_option("file", flags->file, "the CSV file")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("--import-id", flags->import_id,
                      "name of the import; the same id again resumes it "
                      "(rows imported before are skipped)");
  std::vector<std::string> rules;
  for (const auto& [name, rule] : DedupeRules()) rules.push_back(name);
  command->add_option("--dedupe", flags->dedupe, "rows matching a contact")
      ->check(CLI::IsMember(rules))
      ->capture_default_str();
  command->add_option("--min-score", flags->min_score,
                      "for skip-likely-duplicates (0: 0.8)");
  command->add_flag("--dry-run", flags->dry_run,
                    "validate and report only; write nothing");
  command->add_flag("--no-progress", flags->no_progress,
                    "no progress bar on a terminal");
  command->callback([&action, flags] {
    action = [flags](Client& client) { return RunImport(client, *flags); };
  });
}

}  // namespace crm::crmctl
