#include "cluster/controllers/history.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "cluster/api/codec.h"
#include "cluster/api/registry.h"

namespace ksim::controllers::history {
namespace {

const api::KindInfo& RevisionsKind() {
  return *api::Registry::Default().ByGroupResource("apps", "controllerrevisions");
}

const api::OwnerReference* ControllerOf(const api::ObjectMeta& meta) {
  for (const auto& ref : meta.owner_references()) {
    if (ref.controller()) return &ref;
  }
  return nullptr;
}

api::OwnerReference MakeRef(const api::ObjectMeta& owner, const std::string& api_version, const std::string& kind) {
  api::OwnerReference ref;
  ref.set_api_version(api_version);
  ref.set_kind(kind);
  ref.set_name(owner.name());
  ref.set_uid(owner.uid());
  ref.set_controller(true);
  ref.set_block_owner_deletion(true);
  return ref;
}

}  // namespace

Status TemplateData(const api::PodTemplateSpec& tmpl, google::protobuf::Struct* out) {
  nlohmann::json t = nlohmann::json::parse(api::EncodeJson(tmpl), nullptr, false);
  if (t.is_discarded() || !t.is_object()) return Status::InvalidArgument("template does not encode as a JSON object");
  t["$patch"] = "replace";
  nlohmann::json data = {{"spec", {{"template", std::move(t)}}}};
  out->Clear();
  if (!google::protobuf::util::JsonStringToMessage(data.dump(), out).ok()) {
    return Status::InvalidArgument("template JSON does not parse as a Struct");
  }
  return Status::Ok();
}

Status TemplateFromData(const google::protobuf::Struct& data, api::PodTemplateSpec* out) {
  nlohmann::json d = nlohmann::json::parse(CanonicalData(data), nullptr, false);
  if (d.is_discarded() || !d.contains("spec") || !d["spec"].is_object() || !d["spec"].contains("template")) {
    return Status::InvalidArgument("revision data has no spec.template");
  }
  nlohmann::json t = d["spec"]["template"];
  if (!t.is_object()) return Status::InvalidArgument("revision spec.template is not an object");
  t.erase("$patch");
  return api::DecodeInto(t.dump(), "controllerrevision data", out);
}

std::string CanonicalData(const google::protobuf::Struct& data) {
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(data, &text).ok()) return "null";
  // The printer walks the Struct's map in hash order; nlohmann's std::map sorts the keys.
  return nlohmann::json::parse(text, nullptr, false).dump();
}

std::string HashRevision(const api::ControllerRevision& revision, std::optional<int32_t> probe) {
  uint32_t h = 2166136261u;  // FNV-1: multiply, then xor
  const auto add = [&h](const std::string& bytes) {
    for (unsigned char c : bytes) {
      h *= 16777619u;
      h ^= c;
    }
  };
  add(CanonicalData(revision.data()));
  if (probe) add(std::to_string(*probe));
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string out = std::to_string(h);
  for (char& c : out) c = kAlphabet[static_cast<unsigned char>(c) % 27];
  return out;
}

std::string RevisionName(const std::string& prefix, const std::string& hash) {
  return (prefix.size() > 223 ? prefix.substr(0, 223) : prefix) + "-" + hash;
}

api::ControllerRevision NewRevision(const api::ObjectMeta& owner, const std::string& owner_api_version,
                                    const std::string& owner_kind, const std::map<std::string, std::string>& labels,
                                    google::protobuf::Struct data, int64_t revision, int32_t collision_count) {
  api::ControllerRevision r;
  auto* meta = r.mutable_metadata();
  meta->set_namespace_(owner.namespace_());
  for (const auto& [k, v] : labels) (*meta->mutable_labels())[k] = v;
  *meta->add_owner_references() = MakeRef(owner, owner_api_version, owner_kind);
  *r.mutable_data() = std::move(data);
  r.set_revision(revision);
  const std::string hash = HashRevision(r, collision_count);
  meta->set_name(RevisionName(owner.name(), hash));
  (*meta->mutable_labels())[kHashLabel] = hash;
  return r;
}

bool EqualRevision(const api::ControllerRevision& a, const api::ControllerRevision& b) {
  const auto& la = a.metadata().labels();
  const auto& lb = b.metadata().labels();
  auto ia = la.find(kHashLabel);
  auto ib = lb.find(kHashLabel);
  if (ia != la.end() && ib != lb.end() && ia->second != ib->second) return false;
  return CanonicalData(a.data()) == CanonicalData(b.data());
}

std::vector<const api::ControllerRevision*> FindEqualRevisions(const std::vector<api::ControllerRevision>& revisions,
                                                               const api::ControllerRevision& needle) {
  std::vector<const api::ControllerRevision*> out;
  for (const auto& r : revisions) {
    if (EqualRevision(r, needle)) out.push_back(&r);
  }
  return out;
}

void SortRevisions(std::vector<api::ControllerRevision>* revisions) {
  std::stable_sort(revisions->begin(), revisions->end(),
                   [](const api::ControllerRevision& a, const api::ControllerRevision& b) {
                     if (a.revision() != b.revision()) return a.revision() < b.revision();
                     const auto& ta = a.metadata().creation_timestamp();
                     const auto& tb = b.metadata().creation_timestamp();
                     if (ta.seconds() != tb.seconds()) return ta.seconds() < tb.seconds();
                     return a.metadata().name() < b.metadata().name();
                   });
}

int64_t NextRevision(const std::vector<api::ControllerRevision>& revisions) {
  int64_t max = 0;
  for (const auto& r : revisions) max = std::max(max, r.revision());
  return max + 1;
}

std::vector<api::ControllerRevision> OwnedBy(const std::vector<api::ControllerRevision>& revisions,
                                             const std::string& owner_uid) {
  std::vector<api::ControllerRevision> out;
  for (const auto& r : revisions) {
    const auto* ref = ControllerOf(r.metadata());
    if (ref != nullptr && ref->uid() == owner_uid) out.push_back(r);
  }
  return out;
}

Claim ClaimRevisions(const std::vector<api::ControllerRevision>& revisions, const api::ObjectMeta& owner,
                     const std::string& owner_api_version, const std::string& owner_kind,
                     const api::LabelMatcher& selector) {
  Claim claim;
  const bool deleting = owner.has_deletion_timestamp();
  for (const auto& r : revisions) {
    const std::map<std::string, std::string> labels(r.metadata().labels().begin(), r.metadata().labels().end());
    const bool matches = selector.Matches(labels);
    const auto* ref = ControllerOf(r.metadata());
    if (ref != nullptr) {
      if (ref->uid() != owner.uid()) continue;
      if (matches || deleting) {
        claim.owned.push_back(r);
        continue;
      }
      api::ControllerRevision released = r;
      auto* refs = released.mutable_metadata()->mutable_owner_references();
      for (int i = 0; i < refs->size(); ++i) {
        if (refs->Get(i).uid() == owner.uid()) {
          refs->DeleteSubrange(i, 1);
          break;
        }
      }
      claim.release.push_back(std::move(released));
    } else if (matches && !deleting && r.metadata().namespace_() == owner.namespace_() &&
               !r.metadata().has_deletion_timestamp()) {
      api::ControllerRevision adopted = r;
      *adopted.mutable_metadata()->add_owner_references() = MakeRef(owner, owner_api_version, owner_kind);
      claim.adopt.push_back(std::move(adopted));
    }
  }
  return claim;
}

std::vector<api::ControllerRevision> TruncatePlan(std::vector<api::ControllerRevision> revisions,
                                                  const std::set<std::string>& live, int32_t limit) {
  SortRevisions(&revisions);
  std::vector<api::ControllerRevision> history;
  for (auto& r : revisions) {
    if (live.count(r.metadata().name()) == 0) history.push_back(std::move(r));
  }
  const size_t keep = static_cast<size_t>(std::max(limit, 0));
  if (history.size() <= keep) return {};
  history.resize(history.size() - keep);  // the oldest go
  return history;
}

void CreateRevision(client::ApiClient* client, const std::string& prefix, api::ControllerRevision revision,
                    int32_t collision_count, CreateDone done) {
  const std::string hash = HashRevision(revision, collision_count);
  revision.mutable_metadata()->set_name(RevisionName(prefix, hash));
  (*revision.mutable_metadata()->mutable_labels())[kHashLabel] = hash;
  auto rev = std::make_shared<api::ControllerRevision>(std::move(revision));
  client->Create(RevisionsKind(), *rev, [client, prefix, rev, collision_count, done](const client::ApiResult& r) {
    if (r.ok()) {
      api::ControllerRevision created;
      if (!created.ParseFromString(r.body)) created = *rev;
      return done(Status::Ok(), std::move(created), collision_count);
    }
    if (r.code != 409) return done(Status::Unavailable("create revision: " + r.Describe()), *rev, collision_count);
    const std::string ns = rev->metadata().namespace_();
    const std::string name = rev->metadata().name();
    client->Get(RevisionsKind(), ns, name, [client, prefix, rev, collision_count, done](const client::ApiResult& g) {
      api::ControllerRevision existing;
      if (!g.ok() || !existing.ParseFromString(g.body)) {
        return done(Status::Unavailable("get revision: " + g.Describe()), *rev, collision_count);
      }
      if (EqualRevision(existing, *rev)) return done(Status::Ok(), std::move(existing), collision_count);
      CreateRevision(client, prefix, *rev, collision_count + 1, done);  // a hash collision
    });
  });
}

}  // namespace ksim::controllers::history
