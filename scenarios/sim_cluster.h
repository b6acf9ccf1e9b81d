// SimCluster: a whole cluster in one simulated world, built the way kubeadm builds an HA
// cluster. Every test, benchmark and scenario that needs "a cluster" starts here.
//
//   cp-1..cp-N   control-plane hosts: a store member, an apiserver, a scheduler (and the
//                controller-manager); the scheduler and controller-manager talk to the apiserver
//                on its own host, as kubeadm's scheduler.conf does
//   lb           a LoadBalancer (simulated HAProxy) on :6443 in front of the apiservers,
//                checking each with a quorum read of namespace kube-system
//   worker-1..M  worker hosts, each a kubelet on the host's simulated runtime, with node IP
//                172.18.x.y as an alias; their Nodes are created at bootstrap (capacity,
//                labels, Ready, podCIDR) and adopted by the kubelets
//   client       a host whose process lends its Env to the cluster's own admin client
//                (kubectl's role): Apply, queries and Call go through the load balancer
//
// Every synchronous helper runs the world until its answer arrives (bounded by a
// simulated timeout), so a test reads as a sequence of steps.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/env/env.h"
#include "cluster/env/status.h"
#include "cluster/env/time.h"
#include "faults/fault.h"
#include "sim/network.h"

namespace ksim::sim {
class World;
class LoadBalancer;
}  // namespace ksim::sim
namespace ksim::apiserver {
class Request;
}
namespace ksim::client {
class ApiClient;
struct PodLogOptions;
}
namespace ksim::scenarios {

struct WorkerSpec {
  std::string cpu = "4";
  std::string memory = "16Gi";
  int pods = 110;
  std::string zone;                          // topology.kubernetes.io/zone; empty: none
  std::map<std::string, std::string> labels;  // extra Node labels
  // Static pod manifests: file name -> YAML, written to the worker's Disk under
  // kStaticPodDir before its kubelet starts (kubeadm's /etc/kubernetes/manifests).
  std::map<std::string, std::string> static_pods;
};

struct SimClusterOptions {
  uint64_t seed = 1;
  int control_plane = 3;  // 1..7 hosts, each a store member + apiserver + scheduler
  int workers = 3;        // 0..100000
  WorkerSpec worker;      // every worker, unless worker_specs names it
  std::vector<WorkerSpec> worker_specs;  // optional: worker i gets worker_specs[i] if present
  std::vector<std::string> zones;        // workers without a zone get zones[i % size]
  sim::LinkParams link;                  // every link's latency (and loss, if any)
  bool scheduler = true;
  // A controller-manager on every control-plane host (one acts, by Lease election): node
  // IPAM and node lifecycle (Unknown after 50 s without heartbeats, taints, eviction).
  bool controller_manager = true;
  // Workers run a kubelet on their host's simulated container runtime. Their Nodes are
  // still created at bootstrap, with spec.podCIDR 10.244.<i>.0/24 (node IPAM's job once the
  // controller-manager runs); the kubelet adopts its Node.
  bool kubelets = true;
  // kube-proxy on every worker (and the client host), cluster DNS on the control-plane hosts
  // behind kube-dns (10.96.0.10). (The controller-manager's EndpointSlice and Endpoints
  // controllers are built-ins and run either way.)
  bool service_network = true;
  bool echo_log = false;
  // Every write a controller-manager's controllers send (ControllerManagerOptions::on_write),
  // with the control-plane host it runs on: the scenario checkers' "one acting
  // controller-manager" reads it.
  std::function<void(const std::string& host, const std::string& identity, bool acting, const apiserver::Request&)>
      on_controller_write;
  // Every binding a scheduler sends (SchedulerOptions::on_bind), with its control-plane host:
  // the scenario checkers' "one acting scheduler" reads it.
  std::function<void(const std::string& host, const std::string& identity, bool acting, const apiserver::Request&)>
      on_scheduler_bind;
  // Store tuning for large runs (see PERFORMANCE.md).
  uint64_t snapshot_every_entries = 20000;
  int64_t auto_compact_retain_revisions = 200000;
};

// InvalidArgument naming the field for counts out of range or a worker_specs longer than
// workers.
Status ValidateSimClusterOptions(const SimClusterOptions& options);

class SimCluster {
 public:
  // Builds every host and process; nothing runs until Bootstrap.
  // REQUIRES: ValidateSimClusterOptions(options).ok().
  explicit SimCluster(SimClusterOptions options);
  ~SimCluster();
  SimCluster(const SimCluster&) = delete;
  SimCluster& operator=(const SimCluster&) = delete;

  // Runs until the store elected a leader and every apiserver answers through the load
  // balancer, then registers the workers' Nodes. Unavailable naming what never came up.
  Status Bootstrap(Nanos timeout = Seconds(60));

  sim::World& world();
  sim::LoadBalancer& load_balancer();  // REQUIRES: the lb process is running
  client::ApiClient& admin();          // the admin client, through the load balancer
  // The client host's Env, for more clients and informers of a test or benchmark.
  Env& client_env();
  // Whether workers run kubelets (pods reach Running).
  bool runs_kubelets() const;
  const SimClusterOptions& options() const;

  // Host names.
  const std::vector<std::string>& control_plane_hosts() const;
  const std::vector<std::string>& worker_hosts() const;
  static constexpr char kLoadBalancerHost[] = "lb";
  static constexpr char kClientHost[] = "client";
  static constexpr char kClusterDnsIp[] = "10.96.0.10";
  static constexpr char kStaticPodDir[] = "etc/kubernetes/manifests";  // on each worker's Disk

  // An HTTP GET of `path` at `address` ("ip:port": a ClusterIP, NodePort or pod IP) from
  // the client host, run until answered: the body of a 200 answer (the simulated images
  // answer with their pod's name), or nullopt if refused, failed or not answered in time.
  std::optional<std::string> CallService(const std::string& address, const std::string& path = "/",
                                         Nanos timeout = Seconds(5));
  // An A lookup of `name` through the kube-dns Service from the client host: the first
  // address, or nullopt.
  std::optional<std::string> ResolveName(const std::string& name, Nanos timeout = Seconds(5));
  static constexpr uint16_t kApiPort = 6443;
  static constexpr uint16_t kStorePort = 2379;

  // Runs until `done()` holds or `timeout` of simulated time passed; whether it held.
  bool RunUntil(const std::function<bool()>& done, Nanos timeout);
  void RunFor(Nanos duration);
  Nanos now() const;

  // --- the API, as kubectl would use it (synchronous, through the load balancer) ---
  // Creates every object of a multi-document manifest in order (`kubectl create -f`);
  // namespaced objects without a namespace go to "default". Stops at the first failure
  // with an error naming the source, the document's line, kind and name, and the reason.
  Status Apply(const std::string& yaml, const std::string& source = "manifest");
  // Pods of a namespace ("" = every namespace), optionally by label selector.
  Status ListPods(const std::string& ns, const std::string& label_selector, std::vector<api::Pod>* out);
  Status GetPod(const std::string& ns, const std::string& name, api::Pod* out);
  Status ListNodes(std::vector<api::Node>* out);
  Status DeletePod(const std::string& ns, const std::string& name);
  // `kubectl logs` and `kubectl exec`: pods/log and pods/exec, which the apiserver proxies to
  // the pod's kubelet (cluster/client/pod_exec.h). A refusal is NotFound (404),
  // InvalidArgument (400) or Unavailable, naming the code, reason and message.
  Status PodLogs(const std::string& ns, const std::string& name, const client::PodLogOptions& options,
                 std::string* out);
  Status Exec(const std::string& ns, const std::string& name, const std::vector<std::string>& command,
              int* exit_code, std::string* output, const std::string& container = "");

  // --- faults, by host and process name; each is logged in fault_log() ---
  Status Inject(const faults::Fault& fault);
  Status CrashProcess(const std::string& host, const std::string& process);
  Status RestartProcess(const std::string& host, const std::string& process);
  Status PowerOff(const std::string& host);
  Status PowerOn(const std::string& host);
  Status Partition(const std::vector<std::vector<std::string>>& groups);
  Status Isolate(const std::string& host);
  Status Heal();
  const std::vector<std::string>& fault_log() const;

  uint64_t trace_hash() const;

  struct State;  // defined in sim_cluster_internal.h, for SimCluster's own .cc files

 private:
  std::unique_ptr<State> s_;
};

// The token every SimCluster's admin client (system:masters) uses.
inline constexpr char kSimClusterAdminToken[] = "sim-admin-token";

}  // namespace ksim::scenarios
