// create, get, list, update, delete, undelete, history.
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

// The writable fields of a contact as flags; update changes only the ones
// given.
struct ContactFlags {
  std::string given_name, family_name, job_title, birth_date, notes, account,
      owner;
  std::vector<std::string> emails, phones, tags;
  // The flag of each field path, to tell which were given.
  std::vector<std::pair<std::string, CLI::Option*>> options;

  void Add(CLI::App* command) {
    auto add = [&](const char* path, const char* flag, auto& target,
                   const char* help) {
      options.emplace_back(path, command->add_option(flag, target, help));
    };
    add("given_name", "--given-name", given_name, "given (first) name");
    add("family_name", "--family-name", family_name, "family (last) name");
    add("emails", "--email", emails, "email address (repeat for more)");
    add("phones", "--phone", phones, "phone number (repeat for more)");
    add("job_title", "--job-title", job_title, "job title");
    add("birth_date", "--birth-date", birth_date, "birth date, YYYY-MM-DD");
    add("notes", "--notes", notes, "free-text notes");
    add("account", "--account", account, "primary account: accounts/<id>");
    add("owner", "--owner", owner, "owning user id");
    add("tags", "--tag", tags, "tag (repeat for more)");
  }

  v1::Contact ToContact() const {
    v1::Contact c;
    c.set_given_name(given_name);
    c.set_family_name(family_name);
    for (const auto& e : emails) c.add_emails()->set_address(e);
    for (const auto& p : phones) c.add_phones()->set_number(p);
    c.set_job_title(job_title);
    c.set_birth_date(birth_date);
    c.set_notes(notes);
    c.set_account(account);
    c.set_owner(owner);
    for (const auto& t : tags) c.add_tags(t);
    return c;
  }

  std::vector<std::string> GivenPaths() const {
    std::vector<std::string> paths;
    for (const auto& [path, option] : options) {
      if (option->count() > 0) paths.push_back(path);
    }
    return paths;
  }
};

void PrintWritten(Client& client, const v1::Contact& contact,
                  const common::v1::WriteResult& result,
                  const google::protobuf::Message& response) {
  if (client.options().json) {
    PrintJson(response, std::cout);
    return;
  }
  PrintContact(contact, std::cout);
  std::cout << fmt::format("{:<14}{}\n", "position:", result.global_position());
}

void AddCreate(CLI::App& app, Action& action) {
  CLI::App* command = app.add_subcommand("create", "create a contact");
  auto flags = std::make_shared<ContactFlags>();
  auto id = std::make_shared<std::string>();
  auto request_id = std::make_shared<std::string>();
  flags->Add(command);
  command->add_option("--id", *id, "the new contact's id (a UUID); optional");
  command->add_option("--request-id", *request_id,
                      "idempotency key: a retry with it creates nothing twice");
  command->callback([&action, flags, id, request_id] {
    action = [flags, id, request_id](Client& client) {
      v1::CreateContactRequest request;
      *request.mutable_contact() = flags->ToContact();
      request.set_contact_id(*id);
      request.mutable_context()->set_request_id(*request_id);
      v1::CreateContactResponse response;
      const grpc::Status status = client.stub().CreateContact(
          client.Context().get(), request, &response);
      if (!status.ok()) return client.ReportError(status);
      PrintWritten(client, response.contact(), response.result(), response);
      return kExitOk;
    };
  });
}

void AddGet(CLI::App& app, Action& action) {
  CLI::App* command = app.add_subcommand("get", "show one contact");
  auto name = std::make_shared<std::string>();
  auto min_position = std::make_shared<uint64_t>(0);
  auto no_redirect = std::make_shared<bool>(false);
  command->add_option("contact", *name, "contacts/<id> or <id>")->required();
  command->add_option("--min-position", *min_position,
                      "wait until the read model shows this write position");
  command->add_flag("--no-redirect", *no_redirect,
                    "show a merged contact itself, not its survivor");
  command->callback([&action, name, min_position, no_redirect] {
    action = [name, min_position, no_redirect](Client& client) {
      v1::GetContactRequest request;
      request.set_name(ContactName(*name));
      request.set_min_position(*min_position);
      request.set_no_redirect(*no_redirect);
      v1::Contact contact;
      const grpc::Status status =
          client.stub().GetContact(client.Context().get(), request, &contact);
      if (!status.ok()) return client.ReportError(status);
      if (client.options().json) {
        PrintJson(contact, std::cout);
      } else {
        PrintContact(contact, std::cout);
      }
      return kExitOk;
    };
  });
}

struct ListFlags {
  std::string name_prefix, email, owner, account, page_token;
  std::vector<std::string> tags;
  bool show_deleted = false;
  bool all = false;
  int32_t page_size = 0;
  uint64_t min_position = 0;
};

// Pages --all follows at most.
constexpr int kMaxPages = 100'000;

void AddList(CLI::App& app, Action& action) {
  CLI::App* command = app.add_subcommand("list", "list contacts");
  auto f = std::make_shared<ListFlags>();
  command->add_option("--name-prefix", f->name_prefix,
                      "given or family name starts with");
  command->add_option("--email", f->email, "has this email address");
  command->add_option("--owner", f->owner, "owned by this user id");
  command->add_option("--account", f->account, "primary account accounts/<id>");
  command->add_option("--tag", f->tags, "has this tag (repeat: every one)");
  command->add_flag("--show-deleted", f->show_deleted,
                    "include soft-deleted contacts");
  command->add_option("--page-size", f->page_size,
                      "contacts per page (server default 50, at most 1000)");
  command->add_option("--page-token", f->page_token,
                      "continue after a previous page");
  command->add_flag("--all", f->all, "follow every page to the end");
  command->add_option("--min-position", f->min_position,
                      "wait until the read model shows this write position");
  command->callback([&action, f] {
    action = [f](Client& client) {
      v1::ListContactsRequest request;
      request.set_name_prefix(f->name_prefix);
      request.set_email(f->email);
      request.set_owner(f->owner);
      request.set_account(f->account);
      for (const auto& t : f->tags) request.add_tags(t);
      request.set_show_deleted(f->show_deleted);
      request.set_min_position(f->min_position);
      request.mutable_page()->set_page_size(f->page_size);
      request.mutable_page()->set_page_token(f->page_token);
      Table table(ContactColumns());
      std::string next;
      for (int page = 0; page < kMaxPages; ++page) {
        v1::ListContactsResponse response;
        const grpc::Status status = client.stub().ListContacts(
            client.Context().get(), request, &response);
        if (!status.ok()) return client.ReportError(status);
        for (const v1::Contact& c : response.contacts()) {
          if (client.options().json) {
            PrintJson(c, std::cout);
          } else {
            table.AddRow(ContactRow(c));
          }
        }
        next = response.page().next_page_token();
        if (!f->all || next.empty()) break;
        request.mutable_page()->set_page_token(next);
      }
      if (!client.options().json) table.Print(std::cout);
      if (!next.empty()) {
        std::cerr << fmt::format("more: --page-token {}\n", next);
      }
      return kExitOk;
    };
  });
}

void AddUpdate(CLI::App& app, Action& action) {
  CLI::App* command =
      app.add_subcommand("update", "change the fields given as flags");
  auto name = std::make_shared<std::string>();
  auto etag = std::make_shared<std::string>();
  auto request_id = std::make_shared<std::string>();
  auto flags = std::make_shared<ContactFlags>();
  command->add_option("contact", *name, "contacts/<id> or <id>")->required();
  command->add_option("--etag", *etag,
                      "refuse if the contact changed since this etag");
  command->add_option("--request-id", *request_id, "idempotency key");
  flags->Add(command);
  command->callback([&action, name, etag, request_id, flags] {
    action = [name, etag, request_id, flags](Client& client) {
      v1::UpdateContactRequest request;
      *request.mutable_contact() = flags->ToContact();
      request.mutable_contact()->set_name(ContactName(*name));
      for (const auto& path : flags->GivenPaths()) {
        request.mutable_update_mask()->add_paths(path);
      }
      request.set_etag(*etag);
      request.mutable_context()->set_request_id(*request_id);
      v1::UpdateContactResponse response;
      const grpc::Status status = client.stub().UpdateContact(
          client.Context().get(), request, &response);
      if (!status.ok()) return client.ReportError(status);
      PrintWritten(client, response.contact(), response.result(), response);
      return kExitOk;
    };
  });
}

// delete and undelete: the same flags, another RPC.
template <typename Request, typename Response, typename Call>
void AddLifecycle(CLI::App& app, Action& action, const char* verb,
                  const char* help, Call call) {
  CLI::App* command = app.add_subcommand(verb, help);
  auto name = std::make_shared<std::string>();
  auto etag = std::make_shared<std::string>();
  auto request_id = std::make_shared<std::string>();
  command->add_option("contact", *name, "contacts/<id> or <id>")->required();
  command->add_option("--etag", *etag,
                      "refuse if the contact changed since this etag");
  command->add_option("--request-id", *request_id, "idempotency key");
  command->callback([&action, name, etag, request_id, call] {
    action = [name, etag, request_id, call](Client& client) {
      Request request;
      request.set_name(ContactName(*name));
      request.set_etag(*etag);
      request.mutable_context()->set_request_id(*request_id);
      Response response;
      const grpc::Status status =
          call(client.stub(), client.Context().get(), request, &response);
      if (!status.ok()) return client.ReportError(status);
      PrintWritten(client, response.contact(), response.result(), response);
      return kExitOk;
    };
  });
}

void AddHistory(CLI::App& app, Action& action) {
  CLI::App* command =
      app.add_subcommand("history",
                         "every change of a contact, account or activity, "
                         "oldest first");
  auto name = std::make_shared<std::string>();
  auto page_size = std::make_shared<int32_t>(0);
  command
      ->add_option("record", *name,
                   "contacts/<id>, accounts/<id>, activities/<id>, or a "
                   "contact's <id>")
      ->required();
  command->add_option("--page-size", *page_size, "entries per call");
  command->callback([&action, name, page_size] {
    action = [name, page_size](Client& client) {
      v1::ListHistoryRequest request;
      request.set_name(ContactName(*name));
      request.mutable_page()->set_page_size(*page_size);
      Table table({"VERSION", "TIME", "ACTOR", "EVENT", "CHANGED"});
      for (int page = 0; page < kMaxPages; ++page) {
        v1::ListHistoryResponse response;
        const grpc::Status status = client.stub().ListHistory(
            client.Context().get(), request, &response);
        if (!status.ok()) return client.ReportError(status);
        for (const v1::HistoryEntry& e : response.entries()) {
          if (client.options().json) {
            PrintJson(e, std::cout);
            continue;
          }
          std::string changed;
          for (const auto& change : e.changes()) {
            changed += (changed.empty() ? "" : ",") + change.field();
          }
          table.AddRow({std::to_string(e.version()), FormatTime(e.occur_time()),
                        e.actor(), e.event_type(), changed});
        }
        if (response.page().next_page_token().empty()) break;
        request.mutable_page()->set_page_token(
            response.page().next_page_token());
      }
      if (!client.options().json) table.Print(std::cout);
      return kExitOk;
    };
  });
}

}  // namespace

void AddRecordCommands(CLI::App& app, Action& action) {
  AddCreate(app, action);
  AddGet(app, action);
  AddList(app, action);
  AddUpdate(app, action);
  AddLifecycle<v1::DeleteContactRequest, v1::DeleteContactResponse>(
      app, action, "delete", "soft-delete a contact",
      [](v1::ContactService::Stub& stub, grpc::ClientContext* context,
         const v1::DeleteContactRequest& request,
         v1::DeleteContactResponse* response) {
        return stub.DeleteContact(context, request, response);
      });
  AddLifecycle<v1::UndeleteContactRequest, v1::UndeleteContactResponse>(
      app, action, "undelete", "restore a soft-deleted contact",
      [](v1::ContactService::Stub& stub, grpc::ClientContext* context,
         const v1::UndeleteContactRequest& request,
         v1::UndeleteContactResponse* response) {
        return stub.UndeleteContact(context, request, response);
      });
  AddHistory(app, action);
}

}  // namespace crm::crmctl
