#include "scenarios/cluster_bench.h"

#include <fmt/format.h>

#include <cassert>
#include <functional>
#include <map>

#include "cluster/api/codec.h"
#include "cluster/client/api_client.h"
#include "cluster/client/informer.h"
#include "scenarios/sim_cluster.h"
#include "sim/host.h"
#include "sim/network.h"
#include "sim/world.h"

namespace ksim::scenarios {

namespace {

constexpr char kNamespace[] = "bench";
constexpr int kNodePods = 110;
constexpr int kWindow = 256;  // creates in flight

const api::KindInfo& Kind(const char* resource) { return *api::Registry::Default().ByGroupResource("", resource); }

api::Pod BenchPod() {
  api::Pod p;
  p.mutable_metadata()->set_namespace_(kNamespace);
  (*p.mutable_metadata()->mutable_labels())["app"] = "bench";
  auto* c = p.mutable_spec()->add_containers();
  c->set_name("pause");
  c->set_image("registry.k8s.io/pause:3.9");
  (*c->mutable_resources()->mutable_requests())["cpu"] = "100m";
  (*c->mutable_resources()->mutable_requests())["memory"] = "500Mi";
  return p;
}

}  // namespace

Status ValidateClusterBenchOptions(const ClusterBenchOptions& o) {
  if (o.control_plane < 1 || o.control_plane > 7) return Status::InvalidArgument("--control-plane: must be in 1..7");
  if (o.nodes < 1 || o.nodes > 60000) return Status::InvalidArgument("--nodes: must be in 1..60000");
  if (o.pods < 0 || o.pods > 2000000) return Status::InvalidArgument("--pods: must be in 0..2000000");
  if (static_cast<int64_t>(o.pods) > static_cast<int64_t>(o.nodes) * kNodePods) {
    return Status::InvalidArgument(
        fmt::format("--pods: {} pods do not fit on {} nodes of {} pods", o.pods, o.nodes, kNodePods));
  }
  return Status::Ok();
}

struct ClusterBench::State {
  explicit State(const ClusterBenchOptions& o) : options(o), cluster(ClusterOptions(o)) {}
  static SimClusterOptions ClusterOptions(const ClusterBenchOptions& o) {
    SimClusterOptions co;
    co.seed = o.seed;
    co.control_plane = o.control_plane;
    co.workers = o.nodes;
    co.worker.cpu = "4";
    co.worker.memory = "32Gi";
    co.worker.pods = kNodePods;
    co.zones = {"zone-a", "zone-b", "zone-c"};
    return co;
  }
  bool AtMilestone(const api::Pod& p) const {
    return result.kubelets ? p.status().phase() == "Running" : !p.spec().node_name().empty();
  }
  ClusterBenchOptions options;
  SimCluster cluster;
  std::unique_ptr<client::ApiClient> watcher_client;
  std::unique_ptr<client::Informer> informer;
  std::map<std::string, bool> at_milestone;  // pod name -> reached
  uint64_t reached = 0;
  ClusterBenchResult result;
};

ClusterBench::ClusterBench(ClusterBenchOptions options) : s_(std::make_unique<State>(options)) {
  assert(ValidateClusterBenchOptions(options).ok());
  s_->result.kubelets = s_->cluster.runs_kubelets();
  s_->result.milestone = s_->result.kubelets ? "Running" : "bound";
}

ClusterBench::~ClusterBench() {
  if (s_) {
    s_->informer.reset();
    s_->watcher_client.reset();
  }
}

const ClusterBenchResult& ClusterBench::result() const { return s_->result; }

Status ClusterBench::Setup() {
  State& s = *s_;
  if (Status st = s.cluster.Bootstrap(Seconds(600)); !st.ok()) return st;
  if (Status st = s.cluster.Apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n", "bench.yaml");
      !st.ok()) {
    return st;
  }
  // A watcher on the client host, as `kubectl get pods -w` would be.
  client::ApiClientOptions co;
  co.endpoints = {fmt::format("{}:{}", SimCluster::kLoadBalancerHost, SimCluster::kApiPort)};
  co.token = kSimClusterAdminToken;
  s.watcher_client = std::make_unique<client::ApiClient>(s.cluster.client_env(), co);
  client::InformerOptions io;
  io.namespace_ = kNamespace;
  s.informer = std::make_unique<client::Informer>(s.cluster.client_env(), s.watcher_client.get(), Kind("pods"), io);
  auto track = [&s](const client::ObjectPtr& o) {
    const auto& pod = static_cast<const api::Pod&>(*o);
    bool& was = s.at_milestone[pod.metadata().name()];
    const bool now = s.AtMilestone(pod);
    if (now && !was) ++s.reached;
    if (!now && was) --s.reached;
    was = now;
  };
  s.informer->AddHandlers(client::EventHandlers{
      .on_add = track,
      .on_update = [track](const client::ObjectPtr&, const client::ObjectPtr& o) { track(o); },
      .on_delete =
          [&s](const client::ObjectPtr& o) {
            auto it = s.at_milestone.find(static_cast<const api::Pod&>(*o).metadata().name());
            if (it == s.at_milestone.end()) return;
            if (it->second) --s.reached;
            s.at_milestone.erase(it);
          },
  });
  s.informer->Start();
  if (!s.cluster.RunUntil([&s] { return s.informer->HasSynced(); }, Seconds(60))) {
    return Status::Unavailable("bench cluster: the pod watcher never synced");
  }
  return Status::Ok();
}

bool ClusterBench::RunUntilRunning() {
  State& s = *s_;
  const Nanos start = s.cluster.now();
  const int total = s.options.pods;
  int next = 0;
  int done = 0;
  api::Pod pod = BenchPod();
  std::function<void()> one = [&] {
    if (next >= total) return;
    pod.mutable_metadata()->set_name(fmt::format("pod-{:06}", next++));
    s.cluster.admin().Create(Kind("pods"), pod, [&](const client::ApiResult& r) {
      ++done;
      if (r.ok()) {
        ++s.result.created;
      } else if (s.result.create_failures++ == 0) {
        s.result.first_failure = r.Describe();
      }
      one();
    });
  };
  for (int i = 0; i < kWindow; ++i) one();
  uint64_t last = 0;
  Nanos last_progress = s.cluster.now();
  const uint64_t want = static_cast<uint64_t>(total);
  s.cluster.RunUntil(
      [&] {
        if (s.reached != last) {
          last = s.reached;
          last_progress = s.cluster.now();
        }
        return (done >= total && s.reached >= want) || s.cluster.now() - last_progress > Seconds(60);
      },
      Seconds(24 * 3600));
  s.result.reached = s.reached;
  s.result.to_milestone_sim_seconds = static_cast<double>((s.cluster.now() - start).count()) / 1e9;
  s.result.trace_hash = s.cluster.trace_hash();
  return s.reached >= want;
}

void ClusterBench::RunSteady(Nanos duration) {
  State& s = *s_;
  const uint64_t events = s.cluster.world().events_run();
  const uint64_t frames = s.cluster.world().network().stats().frames_delivered;
  s.cluster.RunFor(duration);
  s.result.steady_sim_seconds = static_cast<double>(duration.count()) / 1e9;
  s.result.steady_events = s.cluster.world().events_run() - events;
  s.result.steady_frames = s.cluster.world().network().stats().frames_delivered - frames;
  s.result.still_at_milestone = s.reached;
  s.result.trace_hash = s.cluster.trace_hash();
}

}  // namespace ksim::scenarios
