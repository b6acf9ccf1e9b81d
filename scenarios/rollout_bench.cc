#include "scenarios/rollout_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <map>
#include <vector>

#include "cluster/api/apps.pb.h"
#include "cluster/api/codec.h"
#include "cluster/api/core.pb.h"
#include "cluster/client/informer.h"
#include "cluster/controllers/deployment.h"
#include "cluster/controllers/replica_set.h"
#include "cluster/env/random.h"
#include "scenarios/bench_control_plane.h"
#include "scenarios/bench_pod_runner.h"
#include "sim/host.h"

namespace ksim::scenarios {

namespace {

constexpr char kNs[] = "bench";
constexpr char kName[] = "web";
constexpr char kOldImage[] = "registry.k8s.io/e2e-test-images/agnhost:v1";
constexpr char kNewImage[] = "registry.k8s.io/e2e-test-images/agnhost:v2";

api::Deployment BenchDeployment(int replicas) {
  api::Deployment d;
  d.mutable_metadata()->set_name(kName);
  d.mutable_metadata()->set_namespace_(kNs);
  d.mutable_spec()->set_replicas(replicas);
  (*d.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = kName;
  auto* t = d.mutable_spec()->mutable_template_();
  (*t->mutable_metadata()->mutable_labels())["app"] = kName;
  auto* c = t->mutable_spec()->add_containers();
  c->set_name("web");
  c->set_image(kOldImage);
  (*c->mutable_resources()->mutable_requests())["cpu"] = "100m";
  (*c->mutable_resources()->mutable_requests())["memory"] = "100Mi";
  // RollingUpdate with maxSurge and maxUnavailable left to their 25% defaults.
  return d;
}

bool RolledOut(const api::Deployment& d, int64_t generation) {
  const auto& s = d.status();
  const int32_t want = d.spec().replicas();
  return d.metadata().generation() >= generation && s.observed_generation() >= d.metadata().generation() &&
         s.updated_replicas() == want && s.replicas() == want && s.available_replicas() == want;
}

const api::Pod& AsPod(const client::ObjectPtr& o) { return static_cast<const api::Pod&>(*o); }

bool Active(const api::Pod& p) {
  return !p.metadata().has_deletion_timestamp() && p.status().phase() != "Succeeded" && p.status().phase() != "Failed";
}

}  // namespace

Status ValidateRolloutBenchOptions(const RolloutBenchOptions& o) {
  if (o.replicas < 1 || o.replicas > 200000) return Status::InvalidArgument("--replicas: must be in 1..200000");
  if (o.nodes < 1 || o.nodes > 100000) return Status::InvalidArgument("--nodes: must be in 1..100000");
  return Status::Ok();
}

struct RolloutBench::State {
  explicit State(const RolloutBenchOptions& o) : options(o), cp(o.seed) {}
  api::Deployment Current() const {
    client::ObjectPtr o = deployments->Get(std::string(kNs) + "/" + kName);
    return o != nullptr ? static_cast<const api::Deployment&>(*o) : api::Deployment();
  }
  void Track(const api::Pod& p, bool present) {
    PodState& st = pods_state[p.metadata().uid()];
    active -= st.active ? 1 : 0;
    ready -= st.active && st.ready ? 1 : 0;
    st.active = present && Active(p);
    st.ready = present && controllers::PodReady(p);
    active += st.active ? 1 : 0;
    ready += st.active && st.ready ? 1 : 0;
    if (!present) pods_state.erase(p.metadata().uid());
    if (!checking) return;
    ++result.states_checked;
    result.most_active = std::max(result.most_active, active);
    result.fewest_ready = std::min(result.fewest_ready, ready);
    const int r = options.replicas;
    if (active > r + result.max_surge && result.violations++ == 0) {
      result.first_violation = fmt::format("{} active pods > {} + maxSurge {}", active, r, result.max_surge);
    }
    if (ready < r - result.max_unavailable && result.violations++ == 0) {
      result.first_violation = fmt::format("{} Ready pods < {} - maxUnavailable {}", ready, r, result.max_unavailable);
    }
  }
  struct PodState {
    bool active = false;
    bool ready = false;
  };
  RolloutBenchOptions options;
  BenchControlPlane cp;
  std::unique_ptr<client::Informer> deployments;
  std::unique_ptr<client::Informer> pods;
  BenchPodRunner* runner = nullptr;
  std::map<std::string, PodState> pods_state;  // uid -> counted as
  int active = 0;
  int ready = 0;
  bool checking = false;
  RolloutBenchResult result;
};

RolloutBench::RolloutBench(RolloutBenchOptions options) : s_(std::make_unique<State>(options)) {
  assert(ValidateRolloutBenchOptions(options).ok());
  // Kubernetes resolves a percentage maxSurge rounding up and maxUnavailable rounding down.
  s_->result.max_surge = (options.replicas + 3) / 4;
  s_->result.max_unavailable = options.replicas / 4;
}

RolloutBench::~RolloutBench() {
  if (s_) {
    s_->pods.reset();
    s_->deployments.reset();
  }
}

const RolloutBenchResult& RolloutBench::result() const { return s_->result; }

Status RolloutBench::Setup() {
  State& s = *s_;
  if (Status st = s.cp.Boot(); !st.ok()) return st;
  if (Status st = s.cp.CreateNodes(s.options.nodes); !st.ok()) return st;
  if (Status st = s.cp.StartControllerManager(
          {controllers::kReplicaSetControllerName, controllers::kDeploymentControllerName}, nullptr);
      !st.ok()) {
    return st;
  }
  BenchPodRunnerOptions ro;
  ro.client.endpoints = s.cp.endpoints();
  ro.client.token = s.cp.token();
  ro.namespace_ = kNs;
  ro.nodes = s.options.nodes;
  s.cp.world().AddHost("nodes").AddProcess("pod-runner", [&s, ro](Env& env) {
    auto p = std::make_unique<BenchPodRunner>(env, ro);
    s.runner = p.get();
    return p;
  });
  client::InformerOptions io;
  io.namespace_ = kNs;
  s.deployments =
      std::make_unique<client::Informer>(s.cp.client_env(), &s.cp.client(), BenchKind("apps", "deployments"), io);
  s.pods = std::make_unique<client::Informer>(s.cp.client_env(), &s.cp.client(), BenchKind("", "pods"), io);
  s.pods->AddHandlers({[&s](const client::ObjectPtr& o) { s.Track(AsPod(o), true); },
                       [&s](const client::ObjectPtr&, const client::ObjectPtr& o) { s.Track(AsPod(o), true); },
                       [&s](const client::ObjectPtr& o) { s.Track(AsPod(o), false); }});
  s.deployments->Start();
  s.pods->Start();
  const Nanos start = s.cp.world().now();
  if (Status st = s.cp.CreateAll(BenchKind("apps", "deployments"), 1,
                                 [&s](int) { return std::make_unique<api::Deployment>(BenchDeployment(s.options.replicas)); });
      !st.ok()) {
    return st;
  }
  if (!s.cp.RunUntil([&s] { return RolledOut(s.Current(), 1); }, Seconds(3600))) {
    return Status::Timeout(fmt::format("the first rollout did not finish: status {}", api::EncodeJson(s.Current().status())));
  }
  s.result.setup_sim_seconds = static_cast<double>((s.cp.world().now() - start).count()) / 1e9;
  return Status::Ok();
}

bool RolloutBench::RunRollout() {
  State& s = *s_;
  sim::World& world = s.cp.world();
  const Nanos start = world.now();
  const uint64_t events = world.events_run();
  s.result.most_active = s.active;
  s.result.fewest_ready = s.ready;
  s.checking = true;
  // `kubectl set image`: read, change the image, write; again on a conflict.
  bool updated = false;
  for (int attempt = 0; attempt < 10 && !updated; ++attempt) {
    bool answered = false;
    api::Deployment d = s.Current();
    d.mutable_spec()->mutable_template_()->mutable_spec()->mutable_containers(0)->set_image(kNewImage);
    s.cp.client().Update(BenchKind("apps", "deployments"), d, [&](const client::ApiResult& r) {
      answered = true;
      updated = r.ok();
    });
    s.cp.RunUntil([&answered] { return answered; }, Seconds(60));
    if (!updated) s.cp.RunUntil([] { return false; }, Milliseconds(100));  // a newer copy arrives
  }
  const bool done = updated && s.cp.RunUntil([&s] { return RolledOut(s.Current(), 2); }, Seconds(3600));
  s.checking = false;
  s.result.rollout_sim_seconds = static_cast<double>((world.now() - start).count()) / 1e9;
  s.result.events = world.events_run() - events;
  if (!updated && s.result.violations++ == 0) s.result.first_violation = "the image update never succeeded";
  return done;
}

void RolloutBench::Verify() {
  State& s = *s_;
  auto violation = [&s](std::string what) {
    if (s.result.violations++ == 0) s.result.first_violation = std::move(what);
  };
  const size_t want = static_cast<size_t>(s.options.replicas);
  // The old pods finish terminating (a second after their deletionTimestamp).
  if (!s.cp.RunUntil([&] { return s.pods->size() == want && s.active == s.options.replicas; }, Seconds(600))) {
    violation(fmt::format("{} pods ({} active) long after the rollout, want {}", s.pods->size(), s.active, want));
  }
  s.cp.world().RunFor(Seconds(10));
  if (s.runner != nullptr) {
    s.result.binds = s.runner->stats().binds;
    s.result.ready_writes = s.runner->stats().ready_writes;
    s.result.removals = s.runner->stats().removals;
  }
  std::vector<std::string> items;
  if (Status st = s.cp.ListAll(BenchKind("apps", "replicasets"), &items); !st.ok()) return violation(st.message());
  std::string new_uid;
  std::vector<std::string> rs_names;
  for (const auto& item : items) {
    api::ReplicaSet rs;
    if (!rs.ParseFromString(item)) return violation("a ReplicaSet did not parse");
    rs_names.push_back(rs.metadata().name());
    const bool is_new = rs.spec().template_().spec().containers(0).image() == kNewImage;
    const int want_replicas = is_new ? s.options.replicas : 0;
    if (rs.spec().replicas() != want_replicas || rs.status().replicas() != want_replicas) {
      violation(fmt::format("ReplicaSet {} ({}): spec {} status {}, want {}", rs.metadata().name(),
                            is_new ? "new" : "old", rs.spec().replicas(), rs.status().replicas(), want_replicas));
    }
    if (is_new) new_uid = rs.metadata().uid();
  }
  if (items.size() != 2) violation(fmt::format("{} ReplicaSets, want 2 (old and new)", items.size()));
  items.clear();
  if (Status st = s.cp.ListAll(BenchKind("", "pods"), &items); !st.ok()) return violation(st.message());
  s.result.pods_listed = items.size();
  std::vector<std::string> names;
  for (const auto& item : items) {
    api::Pod p;
    if (!p.ParseFromString(item)) return violation("a pod did not parse");
    const auto* ref = controllers::ControllerRef(p.metadata());
    if (ref == nullptr || ref->uid() != new_uid) violation(fmt::format("pod {} not owned by the new ReplicaSet", p.metadata().name()));
    if (p.spec().containers(0).image() != kNewImage) violation(fmt::format("pod {} runs the old image", p.metadata().name()));
    if (!Active(p) || !controllers::PodReady(p)) violation(fmt::format("pod {} not active and Ready", p.metadata().name()));
    names.push_back(p.metadata().name());
  }
  if (items.size() != want) violation(fmt::format("{} pods listed, want {}", items.size(), want));
  std::sort(names.begin(), names.end());
  std::sort(rs_names.begin(), rs_names.end());
  uint64_t hash = 0;
  for (const auto& n : rs_names) hash = Random::HashString(n + ";", hash);
  for (const auto& n : names) hash = Random::HashString(n + ",", hash);
  s.result.result_hash = hash;
  s.result.trace_hash = s.cp.world().trace().hash();
}

}  // namespace ksim::scenarios
