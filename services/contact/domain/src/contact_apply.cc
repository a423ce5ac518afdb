// Apply for contact events: pure folding into ContactState.
#include <algorithm>

#include "crm/contact/domain/contact.h"
#include "validation.h"

namespace crm::contact {
namespace {

std::vector<std::string> ToVector(
    const google::protobuf::RepeatedPtrField<std::string>& values) {
  return {values.begin(), values.end()};
}

// Later changes of `paths` mean an earlier merge may no longer revert them.
void TouchMerges(ContactState& state,
                 const google::protobuf::RepeatedPtrField<std::string>& paths) {
  for (ContactMergeRecord& merge : state.merges) {
    merge.touched_since.insert(paths.begin(), paths.end());
  }
}

class ContactApplier {
 public:
  ContactApplier(ContactState& state, const EventMeta& meta)
      : state_(state), meta_(meta) {}

  void operator()(const v1::ContactCreated& e) {
    state_.id = e.contact_id();
    state_.tenant = meta_.tenant;
    state_.owner = e.owner();
    state_.tags = ToVector(e.tags());
    state_.account_id = e.account_id();
    state_.source = e.source();
    state_.sealed_personal = e.sealed_personal();
    state_.create_time = meta_.occurred_at;
  }

  void operator()(const v1::ContactUpdated& e) {
    for (const std::string& path : e.changed_fields()) {
      if (path == "owner") state_.owner = e.owner();
      if (path == "tags") state_.tags = ToVector(e.tags());
      if (path == "account") state_.account_id = e.account_id();
    }
    if (e.has_sealed_personal()) state_.sealed_personal = e.sealed_personal();
    TouchMerges(state_, e.changed_fields());
  }

  void operator()(const v1::ContactDeleted&) {
    state_.deleted = true;
    state_.delete_time = meta_.occurred_at;
  }

  void operator()(const v1::ContactUndeleted&) {
    state_.deleted = false;
    state_.delete_time.reset();
  }

  void operator()(const v1::ContactMerged& e) {
    TouchMerges(state_, e.changed_fields());
    ContactMergeRecord merge;
    merge.merged_id = e.merged_contact_id();
    merge.changed_fields = ToVector(e.changed_fields());
    merge.previous_owner = state_.owner;
    merge.previous_tags = state_.tags;
    merge.previous_account_id = state_.account_id;
    merge.previous_sealed_personal = state_.sealed_personal;
    merge.moved_relationships.assign(e.moved_relationships().begin(),
                                     e.moved_relationships().end());
    merge.key_ids = ToVector(e.merged_key_ids());
    state_.merges.push_back(std::move(merge));
    for (const std::string& path : e.changed_fields()) {
      if (path == "owner") state_.owner = e.owner();
      if (path == "tags") state_.tags = ToVector(e.tags());
      if (path == "account") state_.account_id = e.account_id();
    }
    if (e.has_sealed_personal()) state_.sealed_personal = e.sealed_personal();
    for (const v1::Relationship& relationship : e.moved_relationships()) {
      state_.relationships[relationship.account_id()] = relationship;
    }
  }

  void operator()(const v1::ContactMergedInto& e) {
    state_.merged_into = e.survivor_contact_id();
  }

  void operator()(const v1::ContactUnmerged& e) {
    for (const std::string& path : e.reverted_fields()) {
      if (path == "owner") state_.owner = e.owner();
      if (path == "tags") state_.tags = ToVector(e.tags());
      if (path == "account") state_.account_id = e.account_id();
    }
    if (e.has_sealed_personal()) state_.sealed_personal = e.sealed_personal();
    for (const std::string& account_id :
         e.returned_relationship_account_ids()) {
      state_.relationships.erase(account_id);
    }
    std::erase_if(state_.merges, [&](const ContactMergeRecord& merge) {
      return merge.merged_id == e.unmerged_contact_id();
    });
    TouchMerges(state_, e.reverted_fields());
  }

  void operator()(const v1::ContactUnmergedFrom&) {
    state_.merged_into.clear();
  }

  void operator()(const v1::ContactErased&) {
    state_.erased = true;
    state_.erase_time = meta_.occurred_at;
    state_.sealed_personal.Clear();
    for (ContactMergeRecord& merge : state_.merges) {
      merge.previous_sealed_personal.Clear();
    }
  }

  void operator()(const v1::RelationshipAdded& e) {
    state_.relationships[e.relationship().account_id()] = e.relationship();
  }

  void operator()(const v1::RelationshipUpdated& e) {
    state_.relationships[e.relationship().account_id()] = e.relationship();
  }

  void operator()(const v1::RelationshipRemoved& e) {
    state_.relationships.erase(e.account_id());
  }

  void operator()(const v1::ConsentGiven& e) {
    ConsentState& consent = state_.consents[{e.purpose(), e.channel()}];
    consent.granted = true;
    consent.legal_basis = e.legal_basis();
    consent.source = e.source();
    consent.give_time = meta_.occurred_at;
    if (e.has_expire_time()) {
      consent.expire_time = FromTimestamp(e.expire_time());
    } else {
      consent.expire_time.reset();
    }
  }

  void operator()(const v1::ConsentWithdrawn& e) {
    ConsentState& consent = state_.consents[{e.purpose(), e.channel()}];
    consent.granted = false;
    consent.source = e.source();
    consent.withdraw_time = meta_.occurred_at;
  }

 private:
  ContactState& state_;
  const EventMeta& meta_;
};

}  // namespace

ContactState Apply(ContactState state, const ContactEvent& event,
                   const EventMeta& meta) {
  std::visit(ContactApplier(state, meta), event);
  state.version += 1;
  state.update_time = meta.occurred_at;
  return state;
}

}  // namespace crm::contact
