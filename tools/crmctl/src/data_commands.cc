// duplicates, merge, unmerge, erase, export, watch.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "fmt/format.h"
#include "output.h"

namespace crm::crmctl {
namespace {

namespace v1 = contact::v1;

// Pages followed at most.
constexpr int kMaxPages = 100'000;

void AddDuplicates(CLI::App& app, Action& action) {
  CLI::App* command = app.add_subcommand(
      "duplicates",
      "likely duplicates of a contact, or (no contact) pairs in the tenant");
  auto name = std::make_shared<std::string>();
  auto min_score = std::make_shared<double>(0);
  auto page_size = std::make_shared<int32_t>(0);
  command->add_option("contact", *name, "contacts/<id> or <id>; optional");
  command->add_option("--min-score", *min_score,
                      "only candidates scoring at least this (0..1)");
  command->add_option("--page-size", *page_size, "candidates per call");
  command->callback([&action, name, min_score, page_size] {
    action = [name, min_score, page_size](Client& client) {
      v1::FindDuplicateContactsRequest request;
      if (!name->empty()) request.set_name(ContactName(*name));
      request.set_min_score(*min_score);
      request.mutable_page()->set_page_size(*page_size);
      v1::FindDuplicateContactsResponse response;
      const grpc::Status status = client.stub().FindDuplicateContacts(
          client.Context().get(), request, &response);
      if (!status.ok()) return client.ReportError(status);
      Table table({"RECORD", "OTHER", "SCORE", "REASONS"});
      for (const v1::DuplicateCandidate& c : response.candidates()) {
        if (client.options().json) {
          PrintJson(c, std::cout);
          continue;
        }
        std::string reasons;
        for (const auto& r : c.reasons()) {
          reasons += fmt::format("{}{}", reasons.empty() ? "" : ",",
                                 v1::DuplicateReasonKind_Name(r.kind()));
        }
        table.AddRow({c.record(), c.other_record(),
                      fmt::format("{:.2f}", c.score()), reasons});
      }
      if (!client.options().json) table.Print(std::cout);
      if (!response.page().next_page_token().empty()) {
        std::cerr << "more candidates: raise --page-size\n";
      }
      return kExitOk;
    };
  });
}

void AddMerge(CLI::App& app, Action& action) {
  CLI::App* command =
      app.add_subcommand("merge", "merge one contact into another");
  auto survivor = std::make_shared<std::string>();
  auto merged = std::make_shared<std::string>();
  auto survivor_etag = std::make_shared<std::string>();
  auto merged_etag = std::make_shared<std::string>();
  auto request_id = std::make_shared<std::string>();
  command->add_option("survivor", *survivor, "the contact that stays")
      ->required();
  command->add_option("merged", *merged, "the contact merged into it")
      ->required();
  command->add_option("--survivor-etag", *survivor_etag,
                      "refuse if the survivor changed since");
  command->add_option("--merged-etag", *merged_etag,
                      "refuse if the merged contact changed since");
  command->add_option("--request-id", *request_id, "idempotency key");
  command->callback(
      [&action, survivor, merged, survivor_etag, merged_etag, request_id] {
        action = [=](Client& client) {
          v1::MergeContactsRequest request;
          request.set_survivor(ContactName(*survivor));
          request.set_merged(ContactName(*merged));
          request.set_survivor_etag(*survivor_etag);
          request.set_merged_etag(*merged_etag);
          request.mutable_context()->set_request_id(*request_id);
          v1::MergeContactsResponse response;
          const grpc::Status status = client.stub().MergeContacts(
              client.Context().get(), request, &response);
          if (!status.ok()) return client.ReportError(status);
          if (client.options().json) {
            PrintJson(response, std::cout);
          } else {
            PrintContact(response.survivor(), std::cout);
          }
          return kExitOk;
        };
      });
}

void AddUnmerge(CLI::App& app, Action& action) {
  CLI::App* command = app.add_subcommand("unmerge", "undo a merge");
  auto survivor = std::make_shared<std::string>();
  auto merged = std::make_shared<std::string>();
  auto request_id = std::make_shared<std::string>();
  command->add_option("survivor", *survivor, "the surviving contact")
      ->required();
  command->add_option("merged", *merged, "the contact merged into it")
      ->required();
  command->add_option("--request-id", *request_id, "idempotency key");
  command->callback([&action, survivor, merged, request_id] {
    action = [=](Client& client) {
      v1::UnmergeContactsRequest request;
      request.set_survivor(ContactName(*survivor));
      request.set_merged(ContactName(*merged));
      request.mutable_context()->set_request_id(*request_id);
      v1::UnmergeContactsResponse response;
      const grpc::Status status = client.stub().UnmergeContacts(
          client.Context().get(), request, &response);
      if (!status.ok()) return client.ReportError(status);
      if (client.options().json) {
        PrintJson(response, std::cout);
      } else {
        PrintContact(response.survivor(), std::cout);
        std::cout << '\n';
        PrintContact(response.restored(), std::cout);
      }
      return kExitOk;
    };
  });
}

void AddErase(CLI::App& app, Action& action) {
  CLI::App* command = app.add_subcommand(
      "erase", "erase a person's data for good (crypto-shredding)");
  auto name = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  auto request_id = std::make_shared<std::string>();
  auto yes = std::make_shared<bool>(false);
  command->add_option("contact", *name, "contacts/<id> or <id>")->required();
  command->add_option("--reason", *reason,
                      "why, [a-z0-9_], not personal (e.g. gdpr_request)");
  command->add_option("--request-id", *request_id, "idempotency key");
  command->add_flag("--yes", *yes, "confirm: erasure cannot be undone")
      ->required();
  // `yes` is captured though unread: CLI11 parses into it after this
  // function has returned.
  command->callback([&action, name, reason, request_id, yes] {
    action = [=](Client& client) {
      v1::EraseContactRequest request;
      request.set_name(ContactName(*name));
      request.set_reason(*reason);
      request.mutable_context()->set_request_id(*request_id);
      v1::EraseContactResponse response;
      const grpc::Status status = client.stub().EraseContact(
          client.Context().get(), request, &response);
      if (!status.ok()) return client.ReportError(status);
      if (client.options().json) {
        PrintJson(response, std::cout);
      } else {
        PrintContact(response.contact(), std::cout);
      }
      return kExitOk;
    };
  });
}

// Prints one part of a personal data export.
void PrintPart(const v1::PersonalDataExportPart& part, Table& table) {
  switch (part.part_case()) {
    case v1::PersonalDataExportPart::kContact:
      PrintContact(part.contact(), std::cout);
      break;
    case v1::PersonalDataExportPart::kRelationship:
      table.AddRow({"relationship", part.relationship().name()});
      break;
    case v1::PersonalDataExportPart::kActivity:
      table.AddRow({"activity", part.activity().name()});
      break;
    case v1::PersonalDataExportPart::kConsent:
      table.AddRow({"consent", part.consent().name()});
      break;
    case v1::PersonalDataExportPart::kHistoryEntry:
      table.AddRow(
          {"history", fmt::format("{} {} {}", part.history_entry().version(),
                                  part.history_entry().event_type(),
                                  part.history_entry().actor())});
      break;
    case v1::PersonalDataExportPart::PART_NOT_SET:
      break;
  }
}

void AddExport(CLI::App& app, Action& action) {
  CLI::App* command = app.add_subcommand(
      "export", "everything stored about a person (right of access)");
  auto name = std::make_shared<std::string>();
  command->add_option("contact", *name, "contacts/<id> or <id>")->required();
  command->callback([&action, name] {
    action = [name](Client& client) {
      v1::ExportPersonalDataRequest request;
      request.set_name(ContactName(*name));
      auto context = client.Context();
      auto reader = client.stub().ExportPersonalData(context.get(), request);
      v1::PersonalDataExportPart part;
      Table table({"PART", "WHAT"});
      while (reader->Read(&part)) {
        if (client.options().json) {
          PrintJson(part, std::cout);
        } else {
          PrintPart(part, table);
        }
      }
      const grpc::Status status = reader->Finish();
      if (!client.options().json && table.size() > 0) table.Print(std::cout);
      if (!status.ok()) return client.ReportError(status);
      return kExitOk;
    };
  });
}

void AddWatch(CLI::App& app, Action& action) {
  CLI::App* command = app.add_subcommand(
      "watch", "follow the tenant's events as they happen (Ctrl-C stops)");
  auto after = std::make_shared<uint64_t>(0);
  auto types = std::make_shared<std::vector<std::string>>();
  auto streams = std::make_shared<std::vector<std::string>>();
  auto count = std::make_shared<uint64_t>(0);
  command->add_option("--after", *after,
                      "start after this global position (0: the beginning)");
  command->add_option("--type", *types,
                      "only this event type, e.g. "
                      "crm.contact.v1.ContactCreated (repeat for more)");
  command->add_option("--stream", *streams,
                      "only this stream, e.g. contact-<id> (repeat for more)");
  command->add_option("--count", *count, "stop after this many events");
  command->callback([&action, after, types, streams, count] {
    action = [=](Client& client) {
      v1::WatchEventsRequest request;
      request.set_after_position(*after);
      for (const auto& t : *types) request.add_types(t);
      for (const auto& s : *streams) request.add_streams(s);
      auto context = client.Context(/*streaming=*/true);
      auto reader = client.stub().WatchEvents(context.get(), request);
      v1::WatchEventsResponse response;
      uint64_t seen = 0;
      while ((*count == 0 || seen < *count) && reader->Read(&response)) {
        if (!response.has_event()) continue;  // A heartbeat.
        ++seen;
        const auto& e = response.event();
        if (client.options().json) {
          PrintJson(e, std::cout);
        } else {
          std::cout << fmt::format("{:>10}  {}  {}  v{}  {}  {}\n",
                                   e.global_position(),
                                   FormatTime(e.recorded_at()), e.stream(),
                                   e.stream_version(), e.type(), e.actor());
        }
        std::cout.flush();
      }
      if (*count != 0 && seen >= *count) {
        context->TryCancel();
        reader->Finish().IgnoreError();  // CANCELLED by us.
        return kExitOk;
      }
      const grpc::Status status = reader->Finish();
      if (!status.ok()) return client.ReportError(status);
      return kExitOk;
    };
  });
}

}  // namespace

void AddDataCommands(CLI::App& app, Action& action) {
  AddDuplicates(app, action);
  AddMerge(app, action);
  AddUnmerge(app, action);
  AddErase(app, action);
  AddExport(app, action);
  AddWatch(app, action);
}

}  // namespace crm::crmctl
