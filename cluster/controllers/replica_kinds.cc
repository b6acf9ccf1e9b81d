// The two kinds behind ReplicaController, and the pod helpers it ranks and counts with.
#include <charconv>
#include <map>
#include <tuple>

#include "cluster/api/apps.pb.h"
#include "cluster/api/label_selector.h"
#include "cluster/api/registry.h"
#include "cluster/controllers/replica_set.h"

namespace ksim::controllers {
namespace {

int PhaseRank(const std::string& phase) {
  if (phase == "Pending") return 0;
  if (phase == "Unknown") return 1;
  if (phase == "Running") return 2;
  return 3;
}

int32_t Restarts(const api::Pod& pod) {
  int32_t n = 0;
  for (const auto& c : pod.status().container_statuses()) n = std::max(n, c.restart_count());
  return n;
}

// Both kinds' status and condition messages have the same fields.
template <typename Obj>
ReplicaStatus ReadStatus(const Obj& o) {
  ReplicaStatus s;
  s.replicas = o.status().replicas();
  s.fully_labeled_replicas = o.status().fully_labeled_replicas();
  s.ready_replicas = o.status().ready_replicas();
  s.available_replicas = o.status().available_replicas();
  s.observed_generation = o.status().observed_generation();
  if constexpr (requires { o.status().terminating_replicas(); }) s.terminating_replicas = o.status().terminating_replicas();
  for (const auto& c : o.status().conditions()) {
    if (c.type() != "ReplicaFailure" || c.status() != "True") continue;
    s.failure = true;
    s.failure_reason = c.reason();
    s.failure_message = c.message();
  }
  return s;
}

template <typename Obj>
std::unique_ptr<google::protobuf::Message> WriteStatus(const Obj& in, const ReplicaStatus& s,
                                                       const google::protobuf::Timestamp& now) {
  auto out = std::make_unique<Obj>(in);
  auto* st = out->mutable_status();
  st->set_replicas(s.replicas);
  st->set_fully_labeled_replicas(s.fully_labeled_replicas);
  st->set_ready_replicas(s.ready_replicas);
  st->set_available_replicas(s.available_replicas);
  st->set_observed_generation(s.observed_generation);
  if constexpr (requires { st->set_terminating_replicas(0); }) st->set_terminating_replicas(s.terminating_replicas);
  auto* conds = st->mutable_conditions();
  for (int i = 0; i < conds->size(); ++i) {
    if (conds->Get(i).type() != "ReplicaFailure") continue;
    if (!s.failure) {
      conds->DeleteSubrange(i, 1);
      return out;
    }
    auto* c = conds->Mutable(i);
    if (c->status() != "True") *c->mutable_last_transition_time() = now;
    c->set_status("True");
    c->set_reason(s.failure_reason);
    c->set_message(s.failure_message);
    return out;
  }
  if (s.failure) {
    auto* c = conds->Add();
    c->set_type("ReplicaFailure");
    c->set_status("True");
    c->set_reason(s.failure_reason);
    c->set_message(s.failure_message);
    *c->mutable_last_transition_time() = now;
  }
  return out;
}

template <typename Obj>
class KindBase : public ReplicaKind {
 public:
  KindBase(const char* group, const char* resource) : info_(*api::Registry::Default().ByGroupResource(group, resource)) {}
  const api::KindInfo& kind() const override { return info_; }
  int32_t Replicas(const google::protobuf::Message& m) const override {
    const auto& o = static_cast<const Obj&>(m);
    return o.spec().has_replicas() ? o.spec().replicas() : 1;
  }
  int32_t MinReadySeconds(const google::protobuf::Message& m) const override {
    return static_cast<const Obj&>(m).spec().min_ready_seconds();
  }
  const api::PodTemplateSpec& Template(const google::protobuf::Message& m) const override {
    return static_cast<const Obj&>(m).spec().template_();
  }
  ReplicaStatus GetStatus(const google::protobuf::Message& m) const override { return ReadStatus(static_cast<const Obj&>(m)); }
  std::unique_ptr<google::protobuf::Message> WithStatus(const google::protobuf::Message& m, const ReplicaStatus& s,
                                                        const google::protobuf::Timestamp& now) const override {
    return WriteStatus(static_cast<const Obj&>(m), s, now);
  }

 private:
  const api::KindInfo& info_;
};

class ReplicaSetKind final : public KindBase<api::ReplicaSet> {
 public:
  ReplicaSetKind() : KindBase("apps", "replicasets") {}
  std::string controller_name() const override { return kReplicaSetControllerName; }
  std::string component() const override { return "replicaset-controller"; }
  std::string api_version() const override { return "apps/v1"; }
  std::string kind_name() const override { return "ReplicaSet"; }
  int workers(const ControllerManagerOptions& o) const override { return o.concurrent_replicaset_syncs; }
  Status Selector(const google::protobuf::Message& m, api::LabelMatcher* out) const override {
    const auto& rs = static_cast<const api::ReplicaSet&>(m);
    // A null selector matches nothing (validation rejects it; be safe anyway).
    return api::LabelMatcherFromProto(rs.spec().has_selector(), rs.spec().selector(), "spec.selector", out);
  }
};

class ReplicationControllerKind final : public KindBase<api::ReplicationController> {
 public:
  ReplicationControllerKind() : KindBase("", "replicationcontrollers") {}
  std::string controller_name() const override { return kReplicationControllerName; }
  std::string component() const override { return "replication-controller"; }
  std::string api_version() const override { return "v1"; }
  std::string kind_name() const override { return "ReplicationController"; }
  int workers(const ControllerManagerOptions& o) const override { return o.concurrent_rc_syncs; }
  Status Selector(const google::protobuf::Message& m, api::LabelMatcher* out) const override {
    const auto& rc = static_cast<const api::ReplicationController&>(m);
    // An RC's selector defaults to its template's labels (the apiserver defaults it too).
    const auto& sel = rc.spec().selector().empty() ? rc.spec().template_().metadata().labels() : rc.spec().selector();
    if (sel.empty()) {
      *out = api::LabelMatcher::Nothing();
      return Status::Ok();
    }
    return api::LabelMatcher::FromMap(std::map<std::string, std::string>(sel.begin(), sel.end()), out);
  }
};

}  // namespace

std::unique_ptr<ReplicaKind> NewReplicaSetKind() { return std::make_unique<ReplicaSetKind>(); }
std::unique_ptr<ReplicaKind> NewReplicationControllerKind() { return std::make_unique<ReplicationControllerKind>(); }

bool PodReady(const api::Pod& pod) {
  for (const auto& c : pod.status().conditions()) {
    if (c.type() == "Ready") return c.status() == "True";
  }
  return false;
}

bool PodAvailable(const api::Pod& pod, int32_t min_ready, int64_t now_seconds) {
  for (const auto& c : pod.status().conditions()) {
    if (c.type() != "Ready") continue;
    if (c.status() != "True") return false;
    return min_ready == 0 || c.last_transition_time().seconds() + min_ready <= now_seconds;
  }
  return false;
}

bool PodActive(const api::Pod& pod) {
  const std::string& p = pod.status().phase();
  return p != "Succeeded" && p != "Failed" && !pod.metadata().has_deletion_timestamp();
}

const api::OwnerReference* ControllerRef(const api::ObjectMeta& meta) {
  for (const auto& r : meta.owner_references()) {
    if (r.has_controller() && r.controller()) return &r;
  }
  return nullptr;
}

int32_t PodDeletionCost(const api::Pod& pod) {
  auto it = pod.metadata().annotations().find(kPodDeletionCostAnnotation);
  if (it == pod.metadata().annotations().end()) return 0;
  int32_t cost = 0;
  const std::string& v = it->second;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), cost);
  return ec == std::errc() && end == v.data() + v.size() ? cost : 0;
}

bool DeleteBefore(const api::Pod& a, const api::Pod& b, int co_located_a, int co_located_b) {
  // When a pod became Ready (0 when not ready): more recently ready goes first.
  const auto ready_since = [](const api::Pod& p) -> int64_t {
    for (const auto& c : p.status().conditions()) {
      if (c.type() == "Ready" && c.status() == "True") return c.last_transition_time().seconds();
    }
    return 0;
  };
  // Each tuple orders "delete first" as smaller.
  const auto rank = [&ready_since](const api::Pod& p, int co_located) {
    const auto& ts = p.metadata().creation_timestamp();
    return std::make_tuple(!p.spec().node_name().empty(), PhaseRank(p.status().phase()), PodReady(p),
                           PodDeletionCost(p), -co_located, -ready_since(p), -Restarts(p), -ts.seconds(),
                           -static_cast<int64_t>(ts.nanos()), p.metadata().name());
  };
  return rank(a, co_located_a) < rank(b, co_located_b);
}

}  // namespace ksim::controllers
