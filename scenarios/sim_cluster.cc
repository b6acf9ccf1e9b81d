#include "scenarios/sim_cluster.h"

#include <fmt/format.h>

#include <cassert>
#include <optional>

#include "cluster/api/codec.h"
#include "cluster/api/machinery/quantity.h"
#include "cluster/apiserver/apiserver.h"
#include "cluster/apiserver/auth/jwt.h"
#include "cluster/controllers/cert_signer.h"
#include "cluster/env/wire.h"
#include "cluster/kubelet/kubelet.h"
#include "cluster/controllers/controller_manager.h"
#include "cluster/scheduler/scheduler.h"
#include "cluster/store/server/store_server.h"
#include "scenarios/sim_cluster_internal.h"
#include "sim/host.h"
#include "sim/load_balancer.h"
#include "sim/network.h"

namespace ksim::scenarios {

namespace {

constexpr char kSchedulerToken[] = "sim-scheduler-token";
constexpr char kControllerManagerToken[] = "sim-controller-manager-token";
constexpr char kProxyToken[] = "sim-proxy-token";
constexpr char kHealthToken[] = "sim-lb-health-token";
constexpr char kDnsToken[] = "sim-coredns-token";
constexpr int kMaxWorkers = 60000;  // node IPs come from 172.18.0.0/16
constexpr int kMaxCidrWorkers = 32768;

// A process that only lends its Env to objects the cluster drives directly.
class Holder : public Process {
 public:
  void Start() override {}
};

const api::KindInfo& Kind(const char* resource) { return *api::Registry::Default().ByGroupResource("", resource); }

// Kubernetes' static token file: token,user,uid,"group1,group2".
std::string TokenFile(const std::vector<std::string>& workers) {
  std::string f;
  f += fmt::format("{},kubernetes-admin,uid-admin,\"system:masters\"\n", kSimClusterAdminToken);
  f += fmt::format("{},system:kube-scheduler,uid-kube-scheduler,\n", kSchedulerToken);
  f += fmt::format("{},system:kube-controller-manager,uid-kube-controller-manager,\n", kControllerManagerToken);
  f += fmt::format("{},system:kube-proxy,uid-kube-proxy,\n", kProxyToken);
  f += fmt::format("{},system:coredns,uid-coredns,\n", kDnsToken);
  // HAProxy's check must see a quorum read succeed; the user only ever reads one namespace.
  f += fmt::format("{},system:lb-health,uid-lb-health,\"system:masters\"\n", kHealthToken);
  for (const std::string& w : workers) {
    f += fmt::format("node-token-{0},system:node:{0},uid-node-{0},\"system:nodes\"\n", w);
  }
  return f;
}

// The load balancer's check: GET namespaces/kube-system must answer 200.
std::string HealthCheckFrame() {
  apiserver::Request r;
  r.set_id(1);
  r.set_verb("get");
  r.set_version("v1");
  r.set_resource("namespaces");
  r.set_name("kube-system");
  r.set_token(kHealthToken);
  return SerializeDeterministic(r);
}

bool HealthCheckPassed(std::string_view reply) {
  apiserver::Response r;
  return r.ParseFromArray(reply.data(), static_cast<int>(reply.size())) && r.id() == 1 && r.code() == 200;
}

// A /24 per node from the cluster CIDR: 10.244.0.0/16 (kubeadm's usual podSubnet) holds 256
// nodes; larger clusters get 10.128.0.0/9, as a cluster of thousands of nodes must be
// configured with a larger podSubnet. Node IPAM's job once the controller-manager runs.
std::string PodCidr(const SimClusterOptions& o, int i) {
  if (o.workers <= 256) return fmt::format("10.244.{}.0/24", i);
  return fmt::format("10.{}.{}.0/24", 128 + i / 256, i % 256);
}

const WorkerSpec& SpecOf(const SimClusterOptions& o, int i) {
  return static_cast<size_t>(i) < o.worker_specs.size() ? o.worker_specs[static_cast<size_t>(i)] : o.worker;
}

api::Node WorkerNode(const SimClusterOptions& o, const std::string& name, int i) {
  const WorkerSpec& spec = SpecOf(o, i);
  api::Node n;
  n.mutable_metadata()->set_name(name);
  auto& labels = *n.mutable_metadata()->mutable_labels();
  labels = {spec.labels.begin(), spec.labels.end()};
  labels["kubernetes.io/hostname"] = name;
  labels["kubernetes.io/os"] = "linux";
  labels["kubernetes.io/arch"] = "amd64";
  std::string zone = spec.zone;
  if (zone.empty() && !o.zones.empty()) zone = o.zones[static_cast<size_t>(i) % o.zones.size()];
  if (!zone.empty()) labels["topology.kubernetes.io/zone"] = zone;
  auto& capacity = *n.mutable_status()->mutable_capacity();
  capacity["cpu"] = spec.cpu;
  capacity["memory"] = spec.memory;
  capacity["pods"] = std::to_string(spec.pods);
  *n.mutable_status()->mutable_allocatable() = capacity;
  auto* ip = n.mutable_status()->add_addresses();
  ip->set_type("InternalIP");
  ip->set_address(WorkerNodeIp(i));
  auto* host = n.mutable_status()->add_addresses();
  host->set_type("Hostname");
  host->set_address(name);
  n.mutable_spec()->set_pod_cidr(PodCidr(o, i));
  auto* ready = n.mutable_status()->add_conditions();
  ready->set_type("Ready");
  ready->set_status("True");
  ready->set_reason("KubeletReady");
  return n;
}

int64_t ParsedOr(const std::string& text, bool milli, int64_t fallback) {
  api::Quantity q;
  if (!api::Quantity::Parse(text, &q).ok()) return fallback;
  return milli ? q.MilliValue() : q.Value();
}

// A kubelet per worker, through the load balancer as kubeadm's kubelet.conf points it.
void StartKubelets(SimCluster::State& s) {
  for (size_t i = 0; i < s.workers.size(); ++i) {
    const WorkerSpec& spec = SpecOf(s.options, static_cast<int>(i));
    kubelet::KubeletOptions ko;
    ko.node_name = s.workers[i];
    ko.node_ip = WorkerNodeIp(static_cast<int>(i));
    ko.apiservers = {fmt::format("{}:{}", SimCluster::kLoadBalancerHost, SimCluster::kApiPort)};
    ko.token = fmt::format("node-token-{}", s.workers[i]);
    ko.capacity_cpu_millis = ParsedOr(spec.cpu, true, ko.capacity_cpu_millis);
    ko.capacity_memory_bytes = ParsedOr(spec.memory, false, ko.capacity_memory_bytes);
    ko.max_pods = spec.pods;
    ko.static_pod_dir = SimCluster::kStaticPodDir;
    sim::Host* host = s.world.FindHost(s.workers[i]);
    for (const auto& [file, yaml] : spec.static_pods) {
      const std::string path = fmt::format("{}/{}", SimCluster::kStaticPodDir, file);
      [[maybe_unused]] const Status written = host->disk().WriteFile(path, yaml);
      host->disk().Sync(path, [](Status) {});
    }
    host->AddProcess("kubelet", [ko](Env& env) {
      return std::make_unique<kubelet::Kubelet>(env, ko);
    });
  }
}

}  // namespace

std::string ControlPlaneIp(int index) { return fmt::format("172.19.0.{}", index + 2); }

std::string WorkerNodeIp(int index) {
  const int n = index + 2;  // .0.0 is the network, .0.1 the gateway
  return fmt::format("172.18.{}.{}", n / 256, n % 256);
}

Status ValidateSimClusterOptions(const SimClusterOptions& o) {
  if (o.control_plane < 1 || o.control_plane > 7) return Status::InvalidArgument("control_plane: must be in 1..7");
  if (o.workers < 0 || o.workers > kMaxWorkers) {
    return Status::InvalidArgument(fmt::format("workers: must be in 0..{}", kMaxWorkers));
  }
  if (o.workers > kMaxCidrWorkers) {
    return Status::InvalidArgument(fmt::format("workers: at most {} (a /24 each from 10.128.0.0/9)", kMaxCidrWorkers));
  }
  if (o.worker_specs.size() > static_cast<size_t>(o.workers)) {
    return Status::InvalidArgument(
        fmt::format("worker_specs: {} specs for {} workers", o.worker_specs.size(), o.workers));
  }
  for (size_t i = 0; i <= o.worker_specs.size(); ++i) {
    const WorkerSpec& spec = i < o.worker_specs.size() ? o.worker_specs[i] : o.worker;
    if (spec.pods < 1 || spec.pods > 10000) {
      return Status::InvalidArgument(fmt::format("worker_specs[{}].pods: must be in 1..10000", i));
    }
  }
  return Status::Ok();
}

namespace {
// The cluster's service-account signing key and root CA, from their own stream of the
// seed (so adding them moved no other draw). The CA is valid from an hour before the
// world's wall-clock epoch for ten years.
void DrawClusterKeys(SimCluster::State& s) {
  SeededEntropy entropy(s.options.seed ^ 0x5a17c0de5eed0001ULL);
  s.service_account_key_pem = apiserver::JwtKey::Ed25519FromEntropy(entropy)->PrivateKeyPem();
  const int64_t epoch_s = sim::WorldOptions{}.wall_epoch.count() / 1'000'000'000;
  std::string ca_key_pem;
  [[maybe_unused]] const Status ca =
      controllers::GenerateCa(entropy, "kubernetes", epoch_s - 3600, 3650, &s.root_ca_pem, &ca_key_pem);
  assert(ca.ok());
}
}  // namespace

client::ApiResult SimCluster::State::Call(const std::function<void(client::ApiClient::Done)>& start, Nanos timeout) {
  std::optional<client::ApiResult> r;
  start([&r](const client::ApiResult& result) { r = result; });
  world.RunUntilCondition([&r] { return r.has_value(); }, world.now() + timeout);
  if (r.has_value()) return *r;
  client::ApiResult none;
  none.status = Status::Timeout("no answer within the simulated timeout");
  return none;
}

SimCluster::SimCluster(SimClusterOptions options) {
  assert(ValidateSimClusterOptions(options).ok());
  sim::WorldOptions wo;
  wo.echo_log = options.echo_log;
  sim::NetworkOptions no;
  no.default_link = options.link;
  s_ = std::make_unique<State>(std::move(options), wo, no);
  State& s = *s_;
  const SimClusterOptions& o = s.options;
  for (int i = 1; i <= o.control_plane; ++i) s.control_plane.push_back(fmt::format("cp-{}", i));
  for (int i = 1; i <= o.workers; ++i) s.workers.push_back(fmt::format("worker-{}", i));
  std::map<uint64_t, Address> members;
  for (size_t i = 0; i < s.control_plane.size(); ++i) {
    members[i + 1] = fmt::format("{}:{}", s.control_plane[i], kStorePort);
    s.store_members.push_back(members[i + 1]);
    s.apiservers.push_back(fmt::format("{}:{}", s.control_plane[i], kApiPort));
  }
  s.token_file = TokenFile(s.workers);
  DrawClusterKeys(s);
  for (size_t i = 0; i < s.control_plane.size(); ++i) {
    sim::Host& host = s.world.AddHost(s.control_plane[i]);
    [[maybe_unused]] const Status aliased = s.world.network().AddAlias(ControlPlaneIp(static_cast<int>(i)), host.id());
    assert(aliased.ok());
    storeserver::StoreServerOptions so;
    so.id = i + 1;
    so.members = members;
    so.port = kStorePort;
    so.snapshot_every_entries = o.snapshot_every_entries;
    so.auto_compact_retain_revisions = o.auto_compact_retain_revisions;
    host.AddProcess("store", [so](Env& env) { return std::make_unique<storeserver::StoreServer>(env, so); });
    apiserver::ApiServerOptions ao;
    ao.port = kApiPort;
    ao.store_members = s.store_members;
    ao.token_file = s.token_file;
    ao.service_account_signing_key_pem = s.service_account_key_pem;
    // Without a controller-manager nothing makes the `default` accounts the plugin needs.
    ao.service_account_admission = o.controller_manager;
    host.AddProcess("apiserver", [ao](Env& env) { return std::make_unique<apiserver::ApiServer>(env, ao); });
  }
  sim::LoadBalancerOptions lo;
  lo.port = kApiPort;
  lo.backends = s.apiservers;
  lo.check_send = HealthCheckFrame();
  lo.check_expect = HealthCheckPassed;
  s.world.AddHost(kLoadBalancerHost).AddProcess("haproxy", [lo](Env& env) {
    return std::make_unique<sim::LoadBalancer>(env, lo);
  });
  for (size_t i = 0; i < s.workers.size(); ++i) {
    sim::Host& host = s.world.AddHost(s.workers[i]);
    const std::string ip = WorkerNodeIp(static_cast<int>(i));
    [[maybe_unused]] const Status aliased = s.world.network().AddAlias(ip, host.id());
    assert(aliased.ok());
  }
  s.world.AddHost(kClientHost).AddProcess("kubectl", [&s](Env& env) {
    s.client_env = &env;
    return std::make_unique<Holder>();
  });
}

SimCluster::~SimCluster() {
  if (s_) s_->admin.reset();
}

Status SimCluster::Bootstrap(Nanos timeout) {
  State& s = *s_;
  const Nanos deadline = s.world.now() + timeout;
  client::ApiClientOptions co;
  co.endpoints = {fmt::format("{}:{}", kLoadBalancerHost, kApiPort)};
  co.token = kSimClusterAdminToken;
  s.admin = std::make_unique<client::ApiClient>(*s.client_env, co);
  // Every apiserver answers a quorum read (the store elected a leader) on its own address.
  for (const Address& endpoint : s.apiservers) {
    client::ApiClientOptions one = co;
    one.endpoints = {endpoint};
    client::ApiClient probe(*s.client_env, one);
    bool up = false;
    while (!up && s.world.now() < deadline) {
      const client::ApiResult r = s.Call(
          [&probe](client::ApiClient::Done done) { probe.Get(Kind("namespaces"), "", "kube-system", std::move(done)); },
          Seconds(10));
      up = r.ok();
      if (!up) s.world.RunFor(Milliseconds(200));
    }
    if (!up) return Status::Unavailable(fmt::format("SimCluster bootstrap: apiserver {} never answered", endpoint));
  }
  if (s.options.scheduler) {
    for (const std::string& cp : s.control_plane) {
      scheduler::SchedulerOptions so;
      so.apiservers = {fmt::format("{}:{}", cp, kApiPort)};
      so.token = kSchedulerToken;
      if (s.options.on_scheduler_bind) {
        so.on_bind = [hook = s.options.on_scheduler_bind, cp](const std::string& identity, bool acting,
                                                            const apiserver::Request& r) { hook(cp, identity, acting, r); };
      }
      s.world.FindHost(cp)->AddProcess("scheduler", [so](Env& env) { return std::make_unique<scheduler::Scheduler>(env, so); });
    }
  }
  if (s.options.controller_manager) {
    for (const std::string& cp : s.control_plane) {
      controllers::ControllerManagerOptions cmo;
      cmo.apiservers = {fmt::format("{}:{}", cp, kApiPort)};
      cmo.token = kControllerManagerToken;
      if (s.options.on_controller_write) {
        cmo.on_write = [hook = s.options.on_controller_write, cp](const std::string& identity, bool acting,
                                                                  const apiserver::Request& r) {
          hook(cp, identity, acting, r);
        };
      }
      cmo.root_ca_pem = s.root_ca_pem;
      s.world.FindHost(cp)->AddProcess("controller-manager", [cmo](Env& env) {
        return std::make_unique<controllers::ControllerManager>(env, cmo);
      });
    }
  }
  // Nodes, with a window of creates in flight (thousands of workers register at once).
  const int total = static_cast<int>(s.workers.size());
  int next = 0;
  int done = 0;
  std::string failure;
  std::function<void()> one = [&] {
    if (next >= total) return;
    const int i = next++;
    s.admin->Create(Kind("nodes"), WorkerNode(s.options, s.workers[static_cast<size_t>(i)], i),
                    [&, i](const client::ApiResult& r) {
                      ++done;
                      if (!r.ok() && failure.empty()) {
                        failure = fmt::format("node {}: {}", s.workers[static_cast<size_t>(i)], r.Describe());
                      }
                      one();
                    });
  };
  for (int i = 0; i < 256; ++i) one();
  s.world.RunUntilCondition([&] { return done >= total; }, deadline);
  if (done < total) return Status::Unavailable(fmt::format("SimCluster bootstrap: {} of {} Nodes registered", done, total));
  if (!failure.empty()) return Status::Unavailable("SimCluster bootstrap: registering " + failure);
  if (s.options.kubelets) StartKubelets(s);
  if (s.options.service_network) {
    std::vector<std::string> dns_ips;
    for (size_t i = 0; i < s.control_plane.size(); ++i) dns_ips.push_back(ControlPlaneIp(static_cast<int>(i)));
    if (Status st = Apply(DnsManifests(dns_ips), "kube-dns.yaml"); !st.ok()) return st;
    StartNetworkAddons(s, kProxyToken, kDnsToken);
  }
  // Pods are refused until their namespace's `default` account exists (ServiceAccount
  // admission): a bootstrapped cluster has it, as kubeadm's does by the time it is used.
  if (s.options.controller_manager) {
    bool account = false;
    while (!account && s.world.now() < deadline) {
      account = s.Call([&s](client::ApiClient::Done answered) {
                   s.admin->Get(Kind("serviceaccounts"), "default", "default", std::move(answered));
                 }, Seconds(10)).ok();
      if (!account) s.world.RunFor(Milliseconds(200));
    }
    if (!account) return Status::Unavailable("SimCluster bootstrap: no default ServiceAccount in namespace default");
  }
  return Status::Ok();
}

sim::World& SimCluster::world() { return s_->world; }
sim::LoadBalancer& SimCluster::load_balancer() {
  auto* lb = s_->world.FindHost(kLoadBalancerHost)->Find<sim::LoadBalancer>("haproxy");
  assert(lb != nullptr);
  return *lb;
}
client::ApiClient& SimCluster::admin() { return *s_->admin; }
Env& SimCluster::client_env() { return *s_->client_env; }
bool SimCluster::runs_kubelets() const { return s_->options.kubelets; }
const SimClusterOptions& SimCluster::options() const { return s_->options; }
const std::vector<std::string>& SimCluster::control_plane_hosts() const { return s_->control_plane; }
const std::vector<std::string>& SimCluster::worker_hosts() const { return s_->workers; }
bool SimCluster::RunUntil(const std::function<bool()>& done, Nanos timeout) {
  return s_->world.RunUntilCondition(done, s_->world.now() + timeout);
}
void SimCluster::RunFor(Nanos duration) { s_->world.RunFor(duration); }
Nanos SimCluster::now() const { return s_->world.now(); }
uint64_t SimCluster::trace_hash() const { return s_->world.trace().hash(); }
const std::vector<std::string>& SimCluster::fault_log() const { return s_->fault_log; }

Status SimCluster::Inject(const faults::Fault& fault) {
  Status st = faults::ApplyFault(s_->world, fault);
  if (st.ok()) s_->fault_log.push_back(faults::TimedFault{s_->world.now(), fault}.Describe());
  return st;
}

namespace {
faults::Fault HostFault(faults::FaultKind kind, const std::string& host, const std::string& process = "") {
  faults::Fault f;
  f.kind = kind;
  f.host = host;
  f.process = process;
  return f;
}
}  // namespace

Status SimCluster::CrashProcess(const std::string& host, const std::string& process) {
  return Inject(HostFault(faults::FaultKind::kCrashProcess, host, process));
}
Status SimCluster::RestartProcess(const std::string& host, const std::string& process) {
  return Inject(HostFault(faults::FaultKind::kRestartProcess, host, process));
}
Status SimCluster::PowerOff(const std::string& host) { return Inject(HostFault(faults::FaultKind::kPowerOff, host)); }
Status SimCluster::PowerOn(const std::string& host) { return Inject(HostFault(faults::FaultKind::kPowerOn, host)); }
Status SimCluster::Isolate(const std::string& host) { return Inject(HostFault(faults::FaultKind::kIsolate, host)); }
Status SimCluster::Partition(const std::vector<std::vector<std::string>>& groups) {
  faults::Fault f;
  f.kind = faults::FaultKind::kPartition;
  f.groups = groups;
  return Inject(f);
}
Status SimCluster::Heal() {
  faults::Fault f;
  f.kind = faults::FaultKind::kHeal;
  return Inject(f);
}

}  // namespace ksim::scenarios
