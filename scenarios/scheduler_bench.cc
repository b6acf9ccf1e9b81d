#include "scenarios/scheduler_bench.h"

#include <fmt/format.h>

#include <cassert>
#include <functional>
#include <map>
#include <set>

#include "cluster/api/codec.h"
#include "cluster/api/core.pb.h"
#include "cluster/apiserver/apiserver.h"
#include "cluster/client/api_client.h"
#include "cluster/env/random.h"
#include "cluster/scheduler/scheduler.h"
#include "cluster/store/server/store_server.h"
#include "sim/host.h"
#include "sim/world.h"

namespace ksim::scenarios {

namespace {

constexpr uint16_t kStorePort = 2379;
constexpr uint16_t kApiPort = 6443;
constexpr char kBenchToken[] = "bench-token";
constexpr char kZoneKey[] = "topology.kubernetes.io/zone";
constexpr char kHostnameKey[] = "kubernetes.io/hostname";
constexpr int kDefaultInitialPods = 1000;
constexpr int64_t kNodeMilliCpu = 4000;
constexpr int64_t kNodeMemoryBytes = 32LL << 30;
constexpr int kNodePods = 110;

const api::KindInfo& Kind(const char* resource) { return *api::Registry::Default().ByGroupResource("", resource); }

class Holder : public Process {
 public:
  void Start() override {}
};

int Zones(const std::string& workload) {
  if (workload == "node-affinity") return 4;
  if (workload == "pod-affinity") return 10;
  if (workload == "topology-spread") return 3;
  return 0;
}

int InitialPods(const SchedulerBenchOptions& o) {
  if (o.workload == "preemption") return o.nodes;  // one low-priority pod fills each node
  if (o.workload == "pod-anti-affinity") return std::min(kDefaultInitialPods, o.nodes - o.pods);
  if (o.workload == "topology-spread" || o.workload == "node-affinity") return 0;
  return kDefaultInitialPods;
}

std::string NodeName(int i) { return fmt::format("node-{:05}", i); }

api::Node BenchNode(const SchedulerBenchOptions& o, int i) {
  api::Node n;
  n.mutable_metadata()->set_name(NodeName(i));
  auto& labels = *n.mutable_metadata()->mutable_labels();
  labels[kHostnameKey] = NodeName(i);
  if (int zones = Zones(o.workload); zones > 0) labels[kZoneKey] = fmt::format("zone-{}", i % zones);
  auto& alloc = *n.mutable_status()->mutable_allocatable();
  alloc["cpu"] = "4";
  alloc["memory"] = "32Gi";
  alloc["pods"] = std::to_string(kNodePods);
  *n.mutable_status()->mutable_capacity() = alloc;
  auto* ready = n.mutable_status()->add_conditions();
  ready->set_type("Ready");
  ready->set_status("True");
  return n;
}

api::Pod BasePod(const std::string& name, const std::string& cpu, const std::string& memory) {
  api::Pod p;
  p.mutable_metadata()->set_namespace_("bench");
  p.mutable_metadata()->set_name(name);
  auto* c = p.mutable_spec()->add_containers();
  c->set_name("pause");
  c->set_image("registry.k8s.io/pause:3.9");
  (*c->mutable_resources()->mutable_requests())["cpu"] = cpu;
  (*c->mutable_resources()->mutable_requests())["memory"] = memory;
  return p;
}

void RequireTerm(api::PodAffinityTerm* term, const std::string& color, const std::string& topology_key) {
  (*term->mutable_label_selector()->mutable_match_labels())["color"] = color;
  term->set_topology_key(topology_key);
}

api::Pod InitialPod(const SchedulerBenchOptions& o, int i) {
  const std::string& w = o.workload;
  api::Pod p = w == "preemption" ? BasePod(fmt::format("init-{:06}", i), "4", "1Gi")
                                 : BasePod(fmt::format("init-{:06}", i), "100m", "500Mi");
  p.mutable_spec()->set_node_name(NodeName(i % o.nodes));
  auto& labels = *p.mutable_metadata()->mutable_labels();
  if (w == "pod-affinity") labels["color"] = "blue";
  if (w == "pod-anti-affinity") {
    labels["color"] = "green";
    RequireTerm(p.mutable_spec()->mutable_affinity()->mutable_pod_anti_affinity()
                    ->add_required_during_scheduling_ignored_during_execution(),
                "green", kHostnameKey);
  }
  if (w == "preemption") {
    p.mutable_spec()->set_priority(0);
    p.mutable_spec()->set_termination_grace_period_seconds(0);
  }
  return p;
}

api::Pod MeasuredPod(const SchedulerBenchOptions& o, int i) {
  const std::string& w = o.workload;
  api::Pod p = w == "preemption" ? BasePod(fmt::format("pod-{:06}", i), "3", "1Gi")
                                 : BasePod(fmt::format("pod-{:06}", i), "100m", "500Mi");
  auto& labels = *p.mutable_metadata()->mutable_labels();
  auto* affinity = p.mutable_spec()->mutable_affinity();
  if (w == "node-affinity") {
    auto* term = affinity->mutable_node_affinity()
                     ->mutable_required_during_scheduling_ignored_during_execution()
                     ->add_node_selector_terms();
    auto* req = term->add_match_expressions();
    req->set_key(kZoneKey);
    req->set_operator_("In");
    req->add_values("zone-0");
    req->add_values("zone-1");
  } else if (w == "pod-affinity") {
    labels["color"] = "blue";
    RequireTerm(affinity->mutable_pod_affinity()->add_required_during_scheduling_ignored_during_execution(), "blue",
                kZoneKey);
  } else if (w == "pod-anti-affinity") {
    labels["color"] = "green";
    RequireTerm(affinity->mutable_pod_anti_affinity()->add_required_during_scheduling_ignored_during_execution(),
                "green", kHostnameKey);
  } else if (w == "topology-spread") {
    labels["color"] = "spread";
    auto* c = p.mutable_spec()->add_topology_spread_constraints();
    c->set_max_skew(1);
    c->set_topology_key(kZoneKey);
    c->set_when_unsatisfiable("DoNotSchedule");
    (*c->mutable_label_selector()->mutable_match_labels())["color"] = "spread";
  } else if (w == "preemption") {
    p.mutable_spec()->set_priority(1000);
  }
  if (!p.spec().affinity().has_node_affinity() && !p.spec().affinity().has_pod_affinity() &&
      !p.spec().affinity().has_pod_anti_affinity()) {
    p.mutable_spec()->clear_affinity();
  }
  return p;
}

}  // namespace

const std::vector<std::string>& SchedulerBenchWorkloads() {
  static const std::vector<std::string> kWorkloads = {"basic",          "node-affinity",   "pod-affinity",
                                                      "pod-anti-affinity", "topology-spread", "preemption"};
  return kWorkloads;
}

Status ValidateSchedulerBenchOptions(const SchedulerBenchOptions& o) {
  const auto& w = SchedulerBenchWorkloads();
  if (std::find(w.begin(), w.end(), o.workload) == w.end()) {
    return Status::InvalidArgument(
        fmt::format("--workload: unknown workload \"{}\" (one of: {})", o.workload, fmt::join(w, ", ")));
  }
  if (o.nodes < 1 || o.nodes > 100000) return Status::InvalidArgument("--nodes: must be in 1..100000");
  if (o.pods < 1 || o.pods > 1000000) return Status::InvalidArgument("--pods: must be in 1..1000000");
  if (o.workload == "pod-anti-affinity" && o.pods > o.nodes) {
    return Status::InvalidArgument(fmt::format(
        "--pods: pod-anti-affinity places at most one pod per node, so --pods ({}) must not exceed --nodes ({})",
        o.pods, o.nodes));
  }
  if (o.workload == "preemption" && o.pods > o.nodes) {
    return Status::InvalidArgument(fmt::format(
        "--pods: preemption makes room for one pod per node, so --pods ({}) must not exceed --nodes ({})", o.pods,
        o.nodes));
  }
  const int64_t capacity = static_cast<int64_t>(o.nodes) * kNodePods;
  if (o.pods + InitialPods(o) > capacity) {
    return Status::InvalidArgument(
        fmt::format("--pods: {} pods do not fit on {} nodes of {} pods", o.pods, o.nodes, kNodePods));
  }
  return Status::Ok();
}

struct SchedulerBench::State {
  explicit State(SchedulerBenchOptions o) : options(std::move(o)), world(options.seed) {}
  SchedulerBenchOptions options;
  sim::World world;
  std::vector<Address> endpoints;
  Env* client_env = nullptr;
  std::unique_ptr<client::ApiClient> client;
  scheduler::Scheduler* scheduler = nullptr;
  SchedulerBenchResult result;
};

SchedulerBench::SchedulerBench(SchedulerBenchOptions options) : s_(std::make_unique<State>(std::move(options))) {
  assert(ValidateSchedulerBenchOptions(s_->options).ok());
}

SchedulerBench::~SchedulerBench() {
  if (s_) s_->client.reset();
}

const SchedulerBenchResult& SchedulerBench::result() const { return s_->result; }

void SchedulerBench::Setup() {
  State& s = *s_;
  const Address store = fmt::format("etcd1:{}", kStorePort);
  storeserver::StoreServerOptions so;
  so.id = 1;
  so.members = {{1, store}};
  so.port = kStorePort;
  so.snapshot_every_entries = 20000;
  so.auto_compact_retain_revisions = 200000;
  s.world.AddHost("etcd1").AddProcess("store", [so](Env& env) { return std::make_unique<storeserver::StoreServer>(env, so); });
  apiserver::ApiServerOptions ao;
  ao.port = kApiPort;
  ao.store_members = {store};
  ao.service_account_admission = false;  // no serviceaccount controller makes `default`
  ao.token_file = std::string(kBenchToken) + ",bench,uid-bench,\"system:masters\"\n";
  s.world.AddHost("api1").AddProcess("apiserver", [ao](Env& env) { return std::make_unique<apiserver::ApiServer>(env, ao); });
  s.endpoints = {fmt::format("api1:{}", kApiPort)};
  s.world.AddHost("bench").AddProcess("bench", [&s](Env& env) {
    s.client_env = &env;
    return std::make_unique<Holder>();
  });
  s.world.RunFor(Seconds(3));  // the store elects itself
  client::ApiClientOptions co;
  co.endpoints = s.endpoints;
  co.token = kBenchToken;
  s.client = std::make_unique<client::ApiClient>(*s.client_env, co);

  // Creates objects with a window of requests in flight; every create must succeed.
  auto create_all = [&s](const api::KindInfo& kind, int count, const std::function<void(int, google::protobuf::Message*)>& make,
                         const std::function<std::unique_ptr<google::protobuf::Message>()>& blank) {
    int next = 0;
    int done = 0;
    int failed = 0;
    std::function<void()> one = [&] {
      if (next >= count) return;
      auto object = blank();
      make(next++, object.get());
      s.client->Create(kind, *object, [&](const client::ApiResult& r) {
        ++done;
        if (!r.ok()) {
          ++failed;
          if (s.result.first_violation.empty()) s.result.first_violation = "setup create failed: " + r.Describe();
        }
        one();
      });
    };
    for (int i = 0; i < 256; ++i) one();
    s.world.RunUntilCondition([&] { return done >= count; }, s.world.now() + Seconds(3600));
    s.result.violations += static_cast<uint64_t>(failed);
  };
  api::Namespace ns;
  ns.mutable_metadata()->set_name("bench");
  create_all(Kind("namespaces"), 1, [&ns](int, google::protobuf::Message* m) { m->CopyFrom(ns); },
             [] { return std::make_unique<api::Namespace>(); });
  const SchedulerBenchOptions& o = s.options;
  create_all(Kind("nodes"), o.nodes, [&o](int i, google::protobuf::Message* m) { m->CopyFrom(BenchNode(o, i)); },
             [] { return std::make_unique<api::Node>(); });
  const int initial = InitialPods(o);
  create_all(Kind("pods"), initial, [&o](int i, google::protobuf::Message* m) { m->CopyFrom(InitialPod(o, i)); },
             [] { return std::make_unique<api::Pod>(); });
  create_all(Kind("pods"), o.pods, [&o](int i, google::protobuf::Message* m) { m->CopyFrom(MeasuredPod(o, i)); },
             [] { return std::make_unique<api::Pod>(); });
  s.result.initial_pods = static_cast<uint64_t>(initial);
  s.result.measured_pods = static_cast<uint64_t>(o.pods);
}

void SchedulerBench::RunScheduling() {
  State& s = *s_;
  const Nanos start = s.world.now();
  scheduler::SchedulerOptions so;
  so.apiservers = s.endpoints;
  so.token = kBenchToken;
  s.world.AddHost("scheduler").AddProcess("scheduler", [&s, so](Env& env) {
    auto p = std::make_unique<scheduler::Scheduler>(env, so);
    s.scheduler = p.get();
    return p;
  });
  const uint64_t want = s.result.measured_pods;
  uint64_t last_progress = 0;
  Nanos last_progress_at = s.world.now();
  s.world.RunUntilCondition(
      [&] {
        const uint64_t scheduled = s.scheduler->stats().scheduled;
        if (scheduled != last_progress) {
          last_progress = scheduled;
          last_progress_at = s.world.now();
        }
        return scheduled >= want || s.world.now() - last_progress_at > Seconds(60);
      },
      s.world.now() + Seconds(3600));
  const auto& st = s.scheduler->stats();
  s.result.cycles = st.cycles;
  s.result.unschedulable_cycles = st.unschedulable;
  s.result.preemptions = st.preemptions;
  s.result.victims = st.victims;
  s.result.bind_failures = st.bind_failures;
  s.result.nodes_evaluated = st.nodes_evaluated;
  s.result.schedule_sim_seconds = static_cast<double>((s.world.now() - start).count()) / 1e9;
}

void SchedulerBench::Verify() {
  State& s = *s_;
  const SchedulerBenchOptions& o = s.options;
  std::vector<api::Pod> pods;
  bool done = false;
  std::string cont;
  std::function<void()> page = [&] {
    std::map<std::string, std::string> q{{"limit", "500"}};
    if (!cont.empty()) q["continue"] = cont;
    s.client->List(Kind("pods"), "bench", q, [&](const client::ApiResult& r) {
      apiserver::ObjectList l;
      if (!r.ok() || !l.ParseFromString(r.body)) {
        done = true;
        return;
      }
      for (const auto& item : l.items()) {
        api::Pod p;
        if (p.ParseFromString(item)) pods.push_back(std::move(p));
      }
      cont = l.metadata().continue_();
      if (cont.empty()) {
        done = true;
      } else {
        page();
      }
    });
  };
  page();
  s.world.RunUntilCondition([&done] { return done; }, s.world.now() + Seconds(600));

  auto violation = [&s](std::string what) {
    ++s.result.violations;
    if (s.result.first_violation.empty()) s.result.first_violation = std::move(what);
  };
  struct NodeUse {
    int64_t milli_cpu = 0;
    int64_t memory_bytes = 0;
    int pods = 0;
    int green = 0;
  };
  std::map<std::string, NodeUse> use;
  std::map<std::string, int> spread_per_zone;
  for (int z = 0; z < Zones(o.workload); ++z) spread_per_zone[fmt::format("zone-{}", z)] = 0;
  uint64_t hash = 0;
  for (const api::Pod& p : pods) {
    const std::string& node = p.spec().node_name();
    const bool measured = p.metadata().name().rfind("pod-", 0) == 0;
    if (measured) {
      hash = Random::HashString(p.metadata().name() + "=" + node + ";", hash);
      if (!node.empty()) ++s.result.bound;
    }
    if (node.empty() || p.metadata().has_deletion_timestamp()) continue;
    const int index = std::stoi(node.substr(5));
    const std::string zone = Zones(o.workload) > 0 ? fmt::format("zone-{}", index % Zones(o.workload)) : "";
    NodeUse& u = use[node];
    const api::Pod expect = measured ? MeasuredPod(o, 0) : InitialPod(o, 0);
    const auto& req = expect.spec().containers(0).resources().requests();
    u.milli_cpu += req.at("cpu") == "4" ? 4000 : (req.at("cpu") == "3" ? 3000 : 100);
    u.memory_bytes += req.at("memory") == "1Gi" ? (1LL << 30) : (500LL << 20);
    ++u.pods;
    if (p.metadata().labels().count("color") != 0 && p.metadata().labels().at("color") == "green") ++u.green;
    if (measured && o.workload == "node-affinity" && zone != "zone-0" && zone != "zone-1") {
      violation(fmt::format("{} on {} outside zone-0/zone-1", p.metadata().name(), node));
    }
    if (measured && o.workload == "topology-spread") ++spread_per_zone[zone];
  }
  for (const auto& [node, u] : use) {
    if (u.milli_cpu > kNodeMilliCpu || u.memory_bytes > kNodeMemoryBytes || u.pods > kNodePods) {
      violation(fmt::format("node {} over allocatable: {}m cpu, {} bytes, {} pods", node, u.milli_cpu, u.memory_bytes,
                            u.pods));
    }
    if (u.green > 1) violation(fmt::format("node {} holds {} anti-affine pods", node, u.green));
  }
  if (!spread_per_zone.empty() && o.workload == "topology-spread") {
    int lo = INT32_MAX;
    int hi = 0;
    for (const auto& [zone, n] : spread_per_zone) {
      lo = std::min(lo, n);
      hi = std::max(hi, n);
    }
    if (hi - lo > 1) violation(fmt::format("zone skew {} > maxSkew 1", hi - lo));
  }
  s.result.placement_hash = hash;
  s.result.trace_hash = s.world.trace().hash();
}

}  // namespace ksim::scenarios
