#include "scenarios/controllers_bench.h"

#include <fmt/format.h>

#include <cassert>
#include <functional>
#include <map>
#include <vector>

#include "cluster/api/apps.pb.h"
#include "cluster/api/autoscaling.pb.h"
#include "cluster/api/codec.h"
#include "cluster/api/core.pb.h"
#include "cluster/client/informer.h"
#include "cluster/controllers/replica_set.h"
#include "cluster/env/random.h"
#include "cluster/env/wire.h"
#include "scenarios/bench_control_plane.h"

namespace ksim::scenarios {

namespace {

constexpr char kNs[] = "bench";

std::string RsName(int i) { return fmt::format("rs-{:05}", i); }

std::unique_ptr<api::ReplicaSet> BenchReplicaSet(int i) {
  auto rs = std::make_unique<api::ReplicaSet>();
  rs->mutable_metadata()->set_name(RsName(i));
  rs->mutable_metadata()->set_namespace_(kNs);
  rs->mutable_spec()->set_replicas(0);
  (*rs->mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = RsName(i);
  auto* t = rs->mutable_spec()->mutable_template_();
  (*t->mutable_metadata()->mutable_labels())["app"] = RsName(i);
  auto* c = t->mutable_spec()->add_containers();
  c->set_name("pause");
  c->set_image("registry.k8s.io/pause:3.9");
  (*c->mutable_resources()->mutable_requests())["cpu"] = "100m";
  (*c->mutable_resources()->mutable_requests())["memory"] = "500Mi";
  return rs;
}

const api::ReplicaSet& AsRs(const client::ObjectPtr& o) { return static_cast<const api::ReplicaSet&>(*o); }

// Synced: the controller has seen this generation and counts exactly spec.replicas pods.
bool Settled(const api::ReplicaSet& rs) {
  return rs.status().observed_generation() >= rs.metadata().generation() &&
         rs.status().replicas() == rs.spec().replicas();
}

}  // namespace

Status ValidateControllersBenchOptions(const ControllersBenchOptions& o) {
  if (o.replicasets < 1 || o.replicasets > 100000) return Status::InvalidArgument("--replicasets: must be in 1..100000");
  if (o.pods < 0 || o.pods > 2000000) return Status::InvalidArgument("--pods: must be in 0..2000000");
  if (o.nodes < 0 || o.nodes > 100000) return Status::InvalidArgument("--nodes: must be in 0..100000");
  return Status::Ok();
}

struct ControllersBench::State {
  explicit State(const ControllersBenchOptions& o) : options(o), cp(o.seed) {}
  int Replicas(int i) const {
    const int base = options.pods / options.replicasets;
    return base + (i < options.pods % options.replicasets ? 1 : 0);
  }
  void CountPod(const api::Pod& p) {
    const auto* ref = controllers::ControllerRef(p.metadata());
    if (ref == nullptr || ref->name().size() != 8 || ref->name().rfind("rs-", 0) != 0) return;  // Verify reports it
    const int i = std::stoi(ref->name().substr(3));
    if (i < 0 || i >= options.replicasets) return;
    const int n = ++pods_per_rs[static_cast<size_t>(i)];
    if (n > Replicas(i) && result.violations++ == 0) {
      result.first_violation = fmt::format("{} had {} pods at once, wants {}", ref->name(), n, Replicas(i));
    }
  }
  ControllersBenchOptions options;
  BenchControlPlane cp;
  std::vector<int> pods_per_rs;  // pods the informer has seen created, by ReplicaSet index
  std::unique_ptr<client::Informer> pods;
  std::unique_ptr<client::Informer> rss;
  std::map<std::string, bool> settled;  // ReplicaSet name -> Settled
  int settled_count = 0;
  ControllersBenchResult result;
};

ControllersBench::ControllersBench(ControllersBenchOptions options) : s_(std::make_unique<State>(options)) {
  assert(ValidateControllersBenchOptions(options).ok());
  s_->result.pods_wanted = static_cast<uint64_t>(options.pods);
}

ControllersBench::~ControllersBench() {
  if (s_) {
    s_->pods.reset();
    s_->rss.reset();
  }
}

const ControllersBenchResult& ControllersBench::result() const { return s_->result; }

Status ControllersBench::Setup() {
  State& s = *s_;
  if (Status st = s.cp.Boot(); !st.ok()) return st;
  if (Status st = s.cp.CreateNodes(s.options.nodes); !st.ok()) return st;
  if (Status st = s.cp.CreateAll(BenchKind("apps", "replicasets"), s.options.replicasets,
                                 [](int i) -> std::unique_ptr<google::protobuf::Message> { return BenchReplicaSet(i); });
      !st.ok()) {
    return st;
  }
  // The benchmark's watchers (`kubectl get -w`): pods to count, ReplicaSets to settle.
  client::InformerOptions io;
  io.namespace_ = kNs;
  s.pods = std::make_unique<client::Informer>(s.cp.client_env(), &s.cp.client(), BenchKind("", "pods"), io);
  s.rss = std::make_unique<client::Informer>(s.cp.client_env(), &s.cp.client(), BenchKind("apps", "replicasets"), io);
  auto track = [&s](const client::ObjectPtr& o) {
    bool& was = s.settled[AsRs(o).metadata().name()];
    const bool now = Settled(AsRs(o));
    s.settled_count += (now ? 1 : 0) - (was ? 1 : 0);
    was = now;
  };
  s.rss->AddHandlers({track, [track](const client::ObjectPtr&, const client::ObjectPtr& o) { track(o); }, nullptr});
  // Every store state the informer shows: a ReplicaSet scaled up from 0 never has more
  // pods than its replicas, and none is deleted (a repeated create would show here even if
  // the surplus were deleted again before the end).
  s.pods_per_rs.assign(static_cast<size_t>(s.options.replicasets), 0);
  s.pods->AddHandlers({[&s](const client::ObjectPtr& o) { s.CountPod(static_cast<const api::Pod&>(*o)); }, nullptr,
                       [&s](const client::ObjectPtr& o) {
                         if (s.result.violations++ == 0) {
                           s.result.first_violation =
                               fmt::format("pod {} deleted during a scale-up", api::GetMeta(*o)->name());
                         }
                       }});
  s.pods->Start();
  s.rss->Start();
  if (Status st = s.cp.StartControllerManager({controllers::kReplicaSetControllerName},
                                              [&s](const apiserver::Request& r) {
                                                if (r.resource() == "pods" && r.verb() == "create") {
                                                  ++s.result.creates_sent;
                                                } else {
                                                  ++s.result.other_writes;
                                                }
                                              });
      !st.ok()) {
    return st;
  }
  const int want = s.options.replicasets;
  if (!s.cp.RunUntil([&] { return s.pods->HasSynced() && s.settled_count >= want; }, Seconds(600))) {
    return Status::Timeout(fmt::format("{} of {} ReplicaSets synced at replicas 0", s.settled_count, want));
  }
  return Status::Ok();
}

bool ControllersBench::RunScaleUp() {
  State& s = *s_;
  sim::World& world = s.cp.world();
  const Nanos start = world.now();
  const uint64_t events = world.events_run();
  const int count = s.options.replicasets;
  int next = 0;
  int answered = 0;
  // `kubectl scale rs/NAME --replicas=N` for each: an update of the scale subresource.
  std::function<void()> one = [&] {
    if (next >= count) return;
    const int i = next++;
    api::Scale scale;
    scale.mutable_metadata()->set_name(RsName(i));
    scale.mutable_metadata()->set_namespace_(kNs);
    scale.mutable_spec()->set_replicas(s.Replicas(i));
    apiserver::Request r;
    r.set_verb("update");
    r.set_group("apps");
    r.set_version("v1");
    r.set_resource("replicasets");
    r.set_namespace_(kNs);
    r.set_name(RsName(i));
    r.set_subresource("scale");
    SerializeDeterministic(scale, r.mutable_body());
    s.cp.client().Do(std::move(r), [&, i](const client::ApiResult& res) {
      ++answered;
      if (!res.ok() && s.result.first_violation.empty()) {
        ++s.result.violations;
        s.result.first_violation = fmt::format("scale {}: {}", RsName(i), res.Describe());
      }
      one();
    });
  };
  for (int i = 0; i < BenchControlPlane::kWindow; ++i) one();
  const size_t want = static_cast<size_t>(s.options.pods);
  size_t last = 0;
  Nanos last_progress = world.now();
  s.cp.RunUntil(
      [&] {
        const size_t seen = s.pods->size();
        if (seen != last) {
          last = seen;
          last_progress = world.now();
        }
        return (answered >= count && seen >= want) || world.now() - last_progress > Seconds(60);
      },
      Seconds(24 * 3600));
  s.result.pods_seen = s.pods->size();
  s.result.scale_sim_seconds = static_cast<double>((world.now() - start).count()) / 1e9;
  s.result.events = world.events_run() - events;
  return answered >= count && s.result.pods_seen >= want;
}

void ControllersBench::Verify() {
  State& s = *s_;
  sim::World& world = s.cp.world();
  auto violation = [&s](std::string what) {
    if (s.result.violations++ == 0) s.result.first_violation = std::move(what);
  };
  const Nanos start = world.now();
  if (!s.cp.RunUntil([&] { return s.settled_count >= s.options.replicasets; }, Seconds(600))) {
    violation(fmt::format("{} of {} ReplicaSets never reported their replicas", s.options.replicasets - s.settled_count,
                          s.options.replicasets));
  }
  world.RunFor(Seconds(30));  // time for any extra create to land
  s.result.settle_sim_seconds = static_cast<double>((world.now() - start).count()) / 1e9;

  std::vector<std::string> items;
  if (Status st = s.cp.ListAll(BenchKind("apps", "replicasets"), &items); !st.ok()) return violation(st.message());
  std::map<std::string, std::pair<std::string, int>> by_uid;  // uid -> (name, spec.replicas)
  for (const auto& item : items) {
    api::ReplicaSet rs;
    if (!rs.ParseFromString(item)) return violation("a ReplicaSet did not parse");
    by_uid[rs.metadata().uid()] = {rs.metadata().name(), rs.spec().replicas()};
    const int i = std::stoi(rs.metadata().name().substr(3));
    if (rs.spec().replicas() != s.Replicas(i)) {
      violation(fmt::format("{}: spec.replicas {} != {}", rs.metadata().name(), rs.spec().replicas(), s.Replicas(i)));
    }
  }
  if (by_uid.size() != static_cast<size_t>(s.options.replicasets)) {
    violation(fmt::format("{} ReplicaSets listed, {} created", by_uid.size(), s.options.replicasets));
  }
  items.clear();
  if (Status st = s.cp.ListAll(BenchKind("", "pods"), &items); !st.ok()) return violation(st.message());
  s.result.pods_listed = items.size();
  std::map<std::string, std::vector<std::string>> pods_of;  // ReplicaSet name -> pod names
  for (const auto& item : items) {
    api::Pod p;
    if (!p.ParseFromString(item)) return violation("a pod did not parse");
    const auto* ref = controllers::ControllerRef(p.metadata());
    auto owner = ref != nullptr ? by_uid.find(ref->uid()) : by_uid.end();
    if (owner == by_uid.end()) {
      violation(fmt::format("pod {} has no ReplicaSet for its controllerRef", p.metadata().name()));
      continue;
    }
    if (p.metadata().has_deletion_timestamp()) violation(fmt::format("pod {} is being deleted", p.metadata().name()));
    const auto& labels = p.metadata().labels();
    auto app = labels.find("app");
    if (app == labels.end() || app->second != owner->second.first) {
      violation(fmt::format("pod {} lacks its ReplicaSet's labels", p.metadata().name()));
    }
    pods_of[owner->second.first].push_back(p.metadata().name());
  }
  uint64_t hash = 0;
  for (const auto& [uid, rs] : by_uid) {
    std::vector<std::string>& names = pods_of[rs.first];
    if (static_cast<int>(names.size()) != rs.second) {
      violation(fmt::format("{} owns {} pods, wants {}", rs.first, names.size(), rs.second));
    }
  }
  for (auto& [rs, names] : pods_of) {
    std::sort(names.begin(), names.end());
    hash = Random::HashString(rs + ":", hash);
    for (const auto& n : names) hash = Random::HashString(n + ",", hash);
  }
  // A create that failed is sent again; the pods listed above are what must be exact.
  items.clear();
  if (Status st = s.cp.ListAll(BenchKind("", "events"), &items); !st.ok()) return violation(st.message());
  for (const auto& item : items) {
    api::Event e;
    if (!e.ParseFromString(item) || e.reason() != "FailedCreate") continue;
    s.result.failed_create_events += static_cast<uint64_t>(std::max(1, e.count()));
    if (s.result.first_failed_create.empty()) s.result.first_failed_create = e.message();
  }
  s.result.result_hash = hash;
  s.result.trace_hash = world.trace().hash();
}

}  // namespace ksim::scenarios
