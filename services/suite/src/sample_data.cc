#include "crm/suite/sample_data.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/domain/ids.h"
#include "fmt/format.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/grpcpp.h"

namespace crm::suite {
namespace {

namespace v1 = contact::v1;
using contact::DeriveId;
using contact::RecordType;
using contact::ResourceName;

// Ids and request ids: fixed keys under the sample tenant's namespace.
constexpr std::string_view kNamespace = "demo/sample-data";

std::string SampleId(std::string_view kind, int index) {
  return DeriveId(kNamespace, fmt::format("{}/{}", kind, index));
}
std::string RequestId(std::string_view what, int index) {
  return fmt::format("sample-data/v1/{}/{}", what, index);
}

struct SampleAccount {
  const char* display_name;
  const char* domain;
  const char* industry;
  int employees;
};
constexpr std::array<SampleAccount, kSampleAccounts> kAccounts = {{
    {"Anvil & Sons Sample Co.", "anvils.example.com", "Manufacturing", 120},
    {"Example Logistics Ltd", "logistics.example.com", "Transport", 45},
    {"Placeholder Software GmbH", "software.example.com", "Software", 300},
    {"Demo Bakery Cooperative", "bakery.example.com", "Food", 12},
}};

constexpr std::array<const char*, 16> kGivenNames = {
    "Ada", "Bram", "Cleo", "Dara", "Emil", "Fay", "Gus",  "Hana",
    "Ivo", "Juno", "Kai",  "Lena", "Milo", "Nia", "Otto", "Pia"};
constexpr std::array<const char*, 2> kFamilyNames = {"Sample", "Example"};
constexpr std::array<const char*, 6> kJobTitles = {
    "Head of Purchasing", "Operations Manager", "CTO",
    "Office Manager",     "Account Executive",  "Finance Lead"};
// Roles are codes: a-z, 0-9, '_', '-'.
constexpr std::array<const char*, 4> kRoles = {"decision-maker", "champion",
                                               "user", "billing"};
// The user who owns the sample records.
constexpr char kSampleOwner[] = "sample-user";
static_assert(kGivenNames.size() * kFamilyNames.size() == kSampleContacts);

// Fixed times, so that a second run writes the same requests.
google::protobuf::Timestamp SampleTime(int day, int hour) {
  google::protobuf::Timestamp timestamp;
  // 2026-01-05T00:00:00Z, a Monday.
  timestamp.set_seconds(1767571200 + int64_t{day} * 86400 + hour * 3600);
  return timestamp;
}

// One sample call: metadata, deadline, and the outcome as the summary
// counts it.
class Writer {
 public:
  Writer(v1::ContactService::StubInterface& stub,
         const std::function<bool()>& cancelled, absl::Duration call_timeout)
      : stub_(stub), cancelled_(cancelled), call_timeout_(call_timeout) {}

  // OK when written or already there; otherwise the call's status (the
  // caller skips an area on UNIMPLEMENTED).
  template <typename Request, typename Response, typename Call>
  absl::Status Write(std::string_view what, const Request& request, Call call) {
    if (cancelled_()) {
      return absl::CancelledError(
          "the sample data was not finished: the process is shutting down; "
          "it is completed on the next start");
    }
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + call_timeout_));
    context.AddMetadata(contact::api::kTenantKey, kSampleTenant);
    context.AddMetadata(contact::api::kActorKey, kSampleActor);
    Response response;
    const grpc::Status status = (stub_.*call)(&context, request, &response);
    if (status.ok() || status.error_code() == grpc::ALREADY_EXISTS) {
      return absl::OkStatus();
    }
    return absl::Status(
        static_cast<absl::StatusCode>(status.error_code()),
        fmt::format("writing the sample {}: {}", what, status.error_message()));
  }

 private:
  v1::ContactService::StubInterface& stub_;
  const std::function<bool()>& cancelled_;
  absl::Duration call_timeout_;
};

bool Unimplemented(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnimplemented;
}

v1::CreateAccountRequest AccountRequest(int index) {
  const SampleAccount& sample = kAccounts[static_cast<size_t>(index)];
  v1::CreateAccountRequest request;
  request.mutable_context()->set_request_id(RequestId("account", index));
  request.set_account_id(SampleId("account", index));
  v1::Account& account = *request.mutable_account();
  account.set_display_name(sample.display_name);
  account.set_domain(sample.domain);
  account.set_website(fmt::format("https://{}", sample.domain));
  account.set_industry(sample.industry);
  account.set_employee_count(sample.employees);
  account.set_description("Sample data: a fictitious company.");
  account.set_owner(kSampleOwner);
  account.add_tags("sample");
  return request;
}

v1::CreateContactRequest ContactRequest(int index, bool with_account) {
  const size_t given = static_cast<size_t>(index) % kGivenNames.size();
  const size_t family = static_cast<size_t>(index) / kGivenNames.size();
  v1::CreateContactRequest request;
  request.mutable_context()->set_request_id(RequestId("contact", index));
  request.set_contact_id(SampleId("contact", index));
  v1::Contact& contact = *request.mutable_contact();
  contact.set_given_name(kGivenNames[given]);
  contact.set_family_name(kFamilyNames[family]);
  v1::EmailAddress& email = *contact.add_emails();
  email.set_address(fmt::format("{}.{}@example.com", kGivenNames[given],
                                kFamilyNames[family]));
  email.set_label("work");
  // +44 20 7946 0xxx: reserved by Ofcom for drama, never a real line.
  v1::PhoneNumber& phone = *contact.add_phones();
  phone.set_number(fmt::format("+44 20 7946 0{:03d}", index));
  phone.set_label("work");
  contact.set_job_title(
      kJobTitles[static_cast<size_t>(index) % kJobTitles.size()]);
  if (with_account) {
    contact.set_account(ResourceName(
        RecordType::kAccount, SampleId("account", index % kSampleAccounts)));
  }
  contact.set_owner(kSampleOwner);
  contact.add_tags("sample");
  if (index % 3 == 0) contact.add_tags("newsletter");
  return request;
}

v1::CreateRelationshipRequest RelationshipRequest(int index, int account,
                                                  const char* role,
                                                  int request_index) {
  v1::CreateRelationshipRequest request;
  request.mutable_context()->set_request_id(
      RequestId("relationship", request_index));
  request.set_parent(SampleContactName(index));
  v1::ContactRelationship& relationship = *request.mutable_relationship();
  relationship.set_account(
      ResourceName(RecordType::kAccount, SampleId("account", account)));
  relationship.add_roles(role);
  return request;
}

v1::CreateActivityRequest ActivityRequest(int index, bool with_account) {
  v1::CreateActivityRequest request;
  request.mutable_context()->set_request_id(RequestId("activity", index));
  request.set_activity_id(SampleId("activity", index));
  v1::Activity& activity = *request.mutable_activity();
  const int contact = index % kSampleContacts;
  activity.set_contact(SampleContactName(contact));
  if (with_account) {
    activity.set_account(ResourceName(
        RecordType::kAccount, SampleId("account", contact % kSampleAccounts)));
  }
  activity.set_owner(kSampleOwner);
  switch (index % 4) {
    case 0:
      activity.set_kind(v1::ACTIVITY_KIND_CALL);
      activity.set_subject("Introductory call");
      activity.set_direction(v1::ACTIVITY_DIRECTION_OUTBOUND);
      *activity.mutable_start_time() = SampleTime(index, 9);
      *activity.mutable_end_time() = SampleTime(index, 10);
      break;
    case 1:
      activity.set_kind(v1::ACTIVITY_KIND_MEETING);
      activity.set_subject("Quarterly review");
      activity.set_location("Meeting room B (sample)");
      *activity.mutable_start_time() = SampleTime(index, 14);
      *activity.mutable_end_time() = SampleTime(index, 15);
      break;
    case 2:
      activity.set_kind(v1::ACTIVITY_KIND_TASK);
      activity.set_subject("Send the sample price list");
      *activity.mutable_due_time() = SampleTime(index + 7, 17);
      break;
    default:
      activity.set_kind(v1::ACTIVITY_KIND_NOTE);
      activity.set_body("Sample note: prefers email to phone calls.");
      break;
  }
  return request;
}

}  // namespace

std::string SampleContactName(int index) {
  return ResourceName(RecordType::kContact, SampleId("contact", index));
}

absl::StatusOr<SampleDataSummary> WriteSampleData(
    v1::ContactService::StubInterface& stub,
    const std::function<bool()>& cancelled, absl::Duration call_timeout) {
  using Stub = v1::ContactService::StubInterface;
  Writer writer(stub, cancelled, call_timeout);
  SampleDataSummary summary;

  bool accounts = true;
  for (int i = 0; i < kSampleAccounts && accounts; ++i) {
    const absl::Status status =
        writer.Write<v1::CreateAccountRequest, v1::CreateAccountResponse>(
            "account", AccountRequest(i), &Stub::CreateAccount);
    if (Unimplemented(status)) {
      accounts = false;
      summary.skipped_areas.push_back("accounts");
      break;
    }
    if (!status.ok()) return status;
    ++summary.accounts;
  }

  for (int i = 0; i < kSampleContacts; ++i) {
    const absl::Status status =
        writer.Write<v1::CreateContactRequest, v1::CreateContactResponse>(
            "contact", ContactRequest(i, accounts), &Stub::CreateContact);
    if (!status.ok()) return status;
    ++summary.contacts;
  }

  if (!accounts) {
    summary.skipped_areas.push_back("relationships");
  } else {
    // Every contact works at its account; every fourth also advises the
    // next one.
    int request_index = 0;
    for (int i = 0; i < kSampleContacts; ++i) {
      std::vector<std::pair<int, const char*>> links = {
          {i % kSampleAccounts,
           kRoles[static_cast<size_t>(i) % kRoles.size()]}};
      if (i % 4 == 0) links.emplace_back((i + 1) % kSampleAccounts, "advisor");
      bool skipped = false;
      for (const auto& [account, role] : links) {
        const absl::Status status =
            writer.Write<v1::CreateRelationshipRequest,
                         v1::CreateRelationshipResponse>(
                "relationship",
                RelationshipRequest(i, account, role, request_index++),
                &Stub::CreateRelationship);
        if (Unimplemented(status)) {
          skipped = true;
          break;
        }
        if (!status.ok()) return status;
        ++summary.relationships;
      }
      if (skipped) {
        summary.skipped_areas.push_back("relationships");
        break;
      }
    }
  }

  // One activity per contact: calls, meetings, tasks and notes in turn.
  for (int i = 0; i < kSampleContacts; ++i) {
    const absl::Status status =
        writer.Write<v1::CreateActivityRequest, v1::CreateActivityResponse>(
            "activity", ActivityRequest(i, accounts), &Stub::CreateActivity);
    if (Unimplemented(status)) {
      summary.skipped_areas.push_back("activities");
      break;
    }
    if (!status.ok()) return status;
    ++summary.activities;
  }
  return summary;
}

}  // namespace crm::suite
