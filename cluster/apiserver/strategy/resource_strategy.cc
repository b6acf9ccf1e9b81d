// The table of per-kind verb behaviour. Each entry names its kind's message type; kinds
// not listed get ResourceStrategy{}.
#include "cluster/apiserver/strategy/resource_strategy.h"

#include <fmt/format.h>

#include <map>
#include <utility>

#include "cluster/api/apps.pb.h"
#include "cluster/api/metrics.pb.h"
#include "cluster/api/rbac.pb.h"
#include "cluster/apiserver/admission.h"
#include "cluster/apiserver/pod_projection.h"
#include "cluster/apiserver/strategy/message_cast.h"
#include "cluster/apiserver/strategy/service_allocation.h"

namespace ksim::apiserver {
namespace {

using google::protobuf::Message;

// --- Pod ---

// Kubernetes' BindingREST: a pod being deleted, already bound or still gated is not
// bound; otherwise it gets the node, the binding's annotations and PodScheduled=True.
std::optional<Refusal> BindPod(const api::Binding& binding, Message& target, Nanos now) {
  api::Pod& pod = AsMutable<api::Pod>(target);
  const std::string& name = pod.metadata().name();
  auto refuse = [&name](const std::string& why) {
    return Refusal{409, "Conflict", fmt::format("Operation cannot be fulfilled on pods/binding \"{}\": {}", name, why)};
  };
  if (pod.metadata().has_deletion_timestamp()) {
    return refuse(fmt::format("pod {} is being deleted, cannot be assigned to a host", name));
  }
  if (!pod.spec().node_name().empty()) {
    return refuse(fmt::format("pod {} is already assigned to node \"{}\"", name, pod.spec().node_name()));
  }
  if (pod.spec().scheduling_gates_size() > 0) {
    return refuse(fmt::format("pod {} has non-empty .spec.schedulingGates", name));
  }
  pod.mutable_spec()->set_node_name(binding.target().name());
  const std::map<std::string, std::string> annotations(binding.metadata().annotations().begin(),
                                                       binding.metadata().annotations().end());
  for (const auto& [key, value] : annotations) (*pod.mutable_metadata()->mutable_annotations())[key] = value;
  // Kubernetes' UpdatePodCondition: the condition is replaced; its transition time moves
  // only when its status changes.
  api::PodCondition scheduled;
  scheduled.set_type("PodScheduled");
  scheduled.set_status("True");
  scheduled.mutable_last_transition_time()->set_seconds(now.count() / 1'000'000'000);
  for (api::PodCondition& c : *pod.mutable_status()->mutable_conditions()) {
    if (c.type() != "PodScheduled") continue;
    if (c.status() == "True") *scheduled.mutable_last_transition_time() = c.last_transition_time();
    c = std::move(scheduled);
    return std::nullopt;
  }
  *pod.mutable_status()->add_conditions() = std::move(scheduled);
  return std::nullopt;
}

// Kubernetes' CheckGracefulDelete for pods: a pod on a node is stopped by its kubelet
// first; an unbound or terminal one goes at once; a negative request means 1 second.
int64_t PodGracePeriod(const Message& object, std::optional<int64_t> requested_seconds) {
  const api::Pod& pod = As<api::Pod>(object);
  if (pod.spec().node_name().empty()) return 0;
  if (pod.status().phase() == "Succeeded" || pod.status().phase() == "Failed") return 0;
  int64_t period = 30;
  if (requested_seconds.has_value()) {
    period = *requested_seconds;
  } else if (pod.spec().has_termination_grace_period_seconds()) {
    period = pod.spec().termination_grace_period_seconds();
  }
  return period < 0 ? 1 : period;
}

void AdmitPod(const std::vector<api::LimitRange>& ranges, Message& object) {
  api::Pod& pod = AsMutable<api::Pod>(object);
  ApplyLimitRangeDefaults(ranges, pod.mutable_spec());
  ApplyDefaultTolerationSeconds(pod.mutable_spec());
}

std::string CheckPodAdmission(const std::vector<api::LimitRange>& ranges, const Message& object) {
  return CheckLimitRanges(ranges, As<api::Pod>(object).spec());
}

ServiceAccountPlan PreparePodServiceAccount(Message& object) { return PrepareServiceAccount(AsMutable<api::Pod>(object)); }

void ApplyPodServiceAccount(const api::ServiceAccount& account,
                            const std::function<std::string(const std::string&)>& draw_name, Message& object) {
  ApplyServiceAccount(account, draw_name, AsMutable<api::Pod>(object).mutable_spec());
}

bool ProjectPodHook(std::string_view bytes, CachedObject* out) { return ProjectPod(bytes, out); }

// --- Namespace ---

// A namespace with spec.finalizers becomes Terminating: no new content, and the
// namespace controller empties it before removing its finalizer.
bool BeginNamespaceTermination(Message& object, bool* changed) {
  api::Namespace& ns = AsMutable<api::Namespace>(object);
  if (ns.spec().finalizers_size() == 0) return false;
  if (ns.status().phase() != "Terminating") {
    ns.mutable_status()->set_phase("Terminating");
    *changed = true;
  }
  return true;
}

void FinalizeNamespace(const Message& requested, Message& target) {
  *AsMutable<api::Namespace>(target).mutable_spec()->mutable_finalizers() =
      As<api::Namespace>(requested).spec().finalizers();
}

bool NamespaceFinalized(const Message& object) { return As<api::Namespace>(object).spec().finalizers_size() == 0; }

// --- what authentication and authorization read ---

// Withdraws what `name` contributed, then adds what `bytes` holds, if it parses.
template <typename T, auto kRemove, auto kAdd>
void Feed(AuthSinks& sinks, const std::string& ns, const std::string& name, const std::string* bytes) {
  kRemove(sinks, ns, name);
  T object;
  if (bytes != nullptr && object.ParseFromString(*bytes)) kAdd(sinks, object);
}

void FeedSecret(AuthSinks& s, const std::string& ns, const std::string& name, const std::string* bytes) {
  Feed<api::Secret, [](AuthSinks& k, const std::string& n, const std::string& m) { k.authenticator->RemoveSecret(n, m); },
       [](AuthSinks& k, const api::Secret& o) { k.authenticator->AddSecret(o); }>(s, ns, name, bytes);
}
void FeedRole(AuthSinks& s, const std::string& ns, const std::string& name, const std::string* bytes) {
  Feed<api::Role, [](AuthSinks& k, const std::string& n, const std::string& m) { k.authorizer->RemoveRole(n, m); },
       [](AuthSinks& k, const api::Role& o) { k.authorizer->AddRole(o); }>(s, ns, name, bytes);
}
void FeedClusterRole(AuthSinks& s, const std::string& ns, const std::string& name, const std::string* bytes) {
  Feed<api::ClusterRole, [](AuthSinks& k, const std::string&, const std::string& m) { k.authorizer->RemoveClusterRole(m); },
       [](AuthSinks& k, const api::ClusterRole& o) { k.authorizer->AddClusterRole(o); }>(s, ns, name, bytes);
}
void FeedRoleBinding(AuthSinks& s, const std::string& ns, const std::string& name, const std::string* bytes) {
  Feed<api::RoleBinding,
       [](AuthSinks& k, const std::string& n, const std::string& m) { k.authorizer->RemoveRoleBinding(n, m); },
       [](AuthSinks& k, const api::RoleBinding& o) { k.authorizer->AddRoleBinding(o); }>(s, ns, name, bytes);
}
void FeedClusterRoleBinding(AuthSinks& s, const std::string& ns, const std::string& name, const std::string* bytes) {
  Feed<api::ClusterRoleBinding,
       [](AuthSinks& k, const std::string&, const std::string& m) { k.authorizer->RemoveClusterRoleBinding(m); },
       [](AuthSinks& k, const api::ClusterRoleBinding& o) { k.authorizer->AddClusterRoleBinding(o); }>(s, ns, name,
                                                                                                     bytes);
}

ResourceStrategy Scalable() {
  ResourceStrategy s;
  s.scale = true;
  return s;
}

// The table, in declaration order (the order AuthInputKinds reports, which is the order
// an apiserver loads those caches at start).
struct Entry {
  const google::protobuf::Descriptor* descriptor;
  ResourceStrategy strategy;
};

const std::vector<Entry>& Table() {
  static const std::vector<Entry>* const table = [] {
    auto* t = new std::vector<Entry>();
    auto add = [t](const google::protobuf::Descriptor* d, ResourceStrategy s) { t->push_back({d, s}); };
    {
      ResourceStrategy pod;
      pod.bind = BindPod;
      pod.grace_period_seconds = PodGracePeriod;
      pod.admit = AdmitPod;
      pod.check_admission = CheckPodAdmission;
      pod.prepare_service_account = PreparePodServiceAccount;
      pod.apply_service_account = ApplyPodServiceAccount;
      pod.project = ProjectPodHook;
      add(api::Pod::descriptor(), pod);
    }
    {
      ResourceStrategy ns;
      ns.begin_termination = BeginNamespaceTermination;
      ns.finalize = FinalizeNamespace;
      ns.keep_finalizers = [](const Message& old, Message& updated) { FinalizeNamespace(old, updated); };
      ns.finalized = NamespaceFinalized;
      add(api::Namespace::descriptor(), ns);
    }
    {
      ResourceStrategy event;
      event.ttl_seconds = 3600;  // kube-apiserver's --event-ttl default
      add(api::Event::descriptor(), event);
    }
    {
      ResourceStrategy quota;
      quota.releases_quota = false;
      add(api::ResourceQuota::descriptor(), quota);
    }
    {
      ResourceStrategy service;
      service.carry_allocations = CarryServiceAllocations;
      service.allocate = AllocateService;
      service.release_allocations = ReleaseServiceAllocations;
      add(api::Service::descriptor(), service);
    }
    {
      ResourceStrategy metrics;
      metrics.source = ResourceStrategy::Source::kPodMetrics;
      add(api::PodMetrics::descriptor(), metrics);
      metrics.source = ResourceStrategy::Source::kNodeMetrics;
      add(api::NodeMetrics::descriptor(), metrics);
    }
    add(api::Deployment::descriptor(), Scalable());
    add(api::ReplicaSet::descriptor(), Scalable());
    add(api::StatefulSet::descriptor(), Scalable());
    add(api::ReplicationController::descriptor(), Scalable());
    auto auth = [&add](const google::protobuf::Descriptor* d, decltype(ResourceStrategy::feed_auth) feed) {
      ResourceStrategy s;
      s.feed_auth = feed;
      add(d, s);
    };
    auth(api::Secret::descriptor(), FeedSecret);
    auth(api::Role::descriptor(), FeedRole);
    auth(api::ClusterRole::descriptor(), FeedClusterRole);
    auth(api::RoleBinding::descriptor(), FeedRoleBinding);
    auth(api::ClusterRoleBinding::descriptor(), FeedClusterRoleBinding);
    return t;
  }();
  return *table;
}

// By message type name (views of the descriptors' names, which live as long as the process).
const std::map<std::string_view, const ResourceStrategy*>& Index() {
  static const auto* const index = [] {
    auto* m = new std::map<std::string_view, const ResourceStrategy*>();
    for (const Entry& e : Table()) m->emplace(e.descriptor->full_name(), &e.strategy);
    return m;
  }();
  return *index;
}

}  // namespace

const ResourceStrategy& ResourceStrategyOf(const api::KindInfo& info) {
  static const ResourceStrategy kOrdinary;
  auto it = Index().find(info.descriptor->full_name());
  return it == Index().end() ? kOrdinary : *it->second;
}

std::vector<const api::KindInfo*> AuthInputKinds() {
  std::vector<const api::KindInfo*> kinds;
  for (const Entry& e : Table()) {
    if (e.strategy.feed_auth != nullptr) kinds.push_back(api::Registry::Default().ByDescriptor(e.descriptor));
  }
  return kinds;
}

}  // namespace ksim::apiserver
