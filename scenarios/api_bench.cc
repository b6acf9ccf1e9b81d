#include "scenarios/api_bench.h"

#include <fmt/format.h>

#include <map>
#include <optional>
#include <vector>

#include "cluster/api/codec.h"
#include "cluster/api/core.pb.h"
#include "cluster/api/machinery/quantity.h"
#include "cluster/apiserver/apiserver.h"
#include "cluster/client/api_client.h"
#include "cluster/client/informer.h"
#include "cluster/store/server/store_server.h"
#include "sim/host.h"
#include "sim/network.h"
#include "sim/world.h"

namespace ksim::scenarios {

namespace {

constexpr uint16_t kStorePort = 2379;
constexpr uint16_t kApiPort = 6443;
constexpr char kAdminToken[] = "bench-admin-token";
// The tenant's service-account token, stored in its Secret.
constexpr char kTenantToken[] = "bench-loader-token";

// What a cluster admin would apply for a tenant: {pods} is the benchmark's pod count, so
// the quota allows exactly the creates the benchmark makes and a charge lost or counted
// twice shows up as failed creates or a wrong status.used.
constexpr char kTenantManifests[] = R"(
apiVersion: v1
kind: ServiceAccount
metadata: {{name: loader, namespace: bench}}
---
apiVersion: v1
kind: Secret
metadata:
  name: loader-token
  namespace: bench
  annotations: {{kubernetes.io/service-account.name: loader}}
type: kubernetes.io/service-account-token
stringData: {{token: {token}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: pod-loader, namespace: bench}}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [create, get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: pod-loader, namespace: bench}}
subjects:
- {{kind: ServiceAccount, name: loader, namespace: bench}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-loader}}
---
apiVersion: v1
kind: ResourceQuota
metadata: {{name: bench-quota, namespace: bench}}
spec:
  hard:
    pods: "{pods}"
    requests.cpu: "{cpu_millis}m"
    requests.memory: "{memory_mi}Mi"
    limits.cpu: "{limit_cpu_millis}m"
    limits.memory: "{limit_memory_mi}Mi"
---
apiVersion: v1
kind: LimitRange
metadata: {{name: bench-limits, namespace: bench}}
spec:
  limits:
  - type: Container
    default: {{cpu: 200m, memory: 1Gi}}
    defaultRequest: {{cpu: 100m, memory: 500Mi}}
    max: {{cpu: "2", memory: 4Gi}}
)";


const api::KindInfo& Pods() { return *api::Registry::Default().ByGroupResource("", "pods"); }

// A pod shaped like scheduler_perf's default template.
api::Pod BenchPod(int i) {
  api::Pod p;
  p.mutable_metadata()->set_namespace_("bench");
  p.mutable_metadata()->set_name(fmt::format("pod-{:06}", i));
  (*p.mutable_metadata()->mutable_labels())["app"] = "bench";
  (*p.mutable_metadata()->mutable_labels())["shard"] = std::to_string(i % 16);
  auto* c = p.mutable_spec()->add_containers();
  c->set_name("pause");
  c->set_image("registry.k8s.io/pause:3.9");
  (*c->mutable_resources()->mutable_requests())["cpu"] = "100m";
  (*c->mutable_resources()->mutable_requests())["memory"] = "500Mi";
  auto* port = c->add_ports();
  port->set_container_port(8080);
  return p;
}

// A closed-loop creator: keeps `in_flight` creates outstanding until the shared counter
// reaches the total.
class Creator : public Process {
 public:
  Creator(Env& env, std::vector<Address> endpoints, std::string token, int in_flight, int* next, int total,
          ApiBenchResult* result)
      : env_(env), in_flight_(in_flight), next_(next), total_(total), result_(result) {
    client::ApiClientOptions o;
    o.endpoints = std::move(endpoints);
    o.token = std::move(token);
    client_ = std::make_unique<client::ApiClient>(env, o);
  }
  void Start() override {}
  void Go() {
    for (int i = 0; i < in_flight_; ++i) Next();
  }

 private:
  void Next() {
    if (*next_ >= total_) return;
    const int i = (*next_)++;
    // One pod rewritten per create: a load generator should spend its time on the
    // request, not on building and freeing a fresh message each time.
    pod_.mutable_metadata()->set_name(fmt::format("pod-{:06}", i));
    (*pod_.mutable_metadata()->mutable_labels())["shard"] = std::to_string(i % 16);
    client_->Create(Pods(), pod_, [this](const client::ApiResult& r) {
      if (r.ok()) {
        ++result_->created;
      } else {
        ++result_->failed;
        if (result_->first_failure.empty()) {
          api::ApiStatus st;
          st.ParseFromString(r.body);
          result_->first_failure = fmt::format("{} {}: {}", r.code, st.reason(), st.message());
        }
      }
      Next();
    });
  }
  Env& env_;
  int in_flight_;
  int* next_;
  int total_;
  ApiBenchResult* result_;
  std::unique_ptr<client::ApiClient> client_;
  api::Pod pod_ = BenchPod(0);
};

std::string ClientToken(const ApiBenchOptions& o) { return o.as_admin ? kAdminToken : kTenantToken; }

// A process that only lends its Env to objects the benchmark drives directly.
class Holder : public Process {
 public:
  void Start() override {}
};

}  // namespace

struct ApiBench::State {
  explicit State(ApiBenchOptions o) : options(o), world(o.seed) {}
  ApiBenchOptions options;
  sim::World world;
  std::vector<Address> store_members;
  std::vector<Address> endpoints;
  std::vector<Creator*> creators;
  std::unique_ptr<client::ApiClient> informer_client;
  std::unique_ptr<client::Informer> informer;
  std::unique_ptr<client::ApiClient> lister;
  std::unique_ptr<client::ApiClient> admin;
  int next = 0;
  ApiBenchResult result;
};

ApiBench::ApiBench(ApiBenchOptions options) : s_(std::make_unique<State>(options)) {}

ApiBench::~ApiBench() {
  if (s_) {
    s_->informer.reset();
    s_->informer_client.reset();
    s_->lister.reset();
    s_->admin.reset();
  }
}

const ApiBenchResult& ApiBench::result() const { return s_->result; }

Status ApiBench::Setup() {
  State& s = *s_;
  std::map<uint64_t, Address> addrs;
  for (int i = 1; i <= 3; ++i) {
    addrs[static_cast<uint64_t>(i)] = fmt::format("etcd{}:{}", i, kStorePort);
    s.store_members.push_back(addrs[static_cast<uint64_t>(i)]);
  }
  for (int i = 1; i <= 3; ++i) {
    storeserver::StoreServerOptions so;
    so.id = static_cast<uint64_t>(i);
    so.members = addrs;
    so.port = kStorePort;
    so.snapshot_every_entries = 20000;
    so.auto_compact_retain_revisions = 100000;  // the watch caches' windows fit within it
    s.world.AddHost(fmt::format("etcd{}", i)).AddProcess("store", [so](Env& env) {
      return std::make_unique<storeserver::StoreServer>(env, so);
    });
  }
  for (int i = 1; i <= s.options.apiservers; ++i) {
    apiserver::ApiServerOptions ao;
    ao.port = kApiPort;
    ao.store_members = s.store_members;
    ao.service_account_admission = false;  // no serviceaccount controller makes `default`
    ao.token_file = std::string(kAdminToken) + ",bench-admin,uid-bench-admin,\"system:masters\"\n";
    s.world.AddHost(fmt::format("api{}", i)).AddProcess("apiserver", [ao](Env& env) {
      return std::make_unique<apiserver::ApiServer>(env, ao);
    });
    s.endpoints.push_back(fmt::format("api{}:{}", i, kApiPort));
  }
  s.creators.reserve(static_cast<size_t>(s.options.creators));  // slots are pointed to below
  for (int c = 0; c < s.options.creators; ++c) {
    const int in_flight = s.options.in_flight_per_creator;
    auto endpoints = s.endpoints;
    State* st = &s;
    Creator** slot = &s.creators.emplace_back(nullptr);
    const std::string token = ClientToken(s.options);
    s.world.AddHost(fmt::format("load{}", c)).AddProcess("creator", [endpoints, token, in_flight, st, slot](Env& env) {
      auto p = std::make_unique<Creator>(env, endpoints, token, in_flight, &st->next, st->options.pods, &st->result);
      *slot = p.get();
      return p;
    });
  }
  Env* informer_env = nullptr;
  s.world.AddHost("informer").AddProcess("informer", [&informer_env](Env& env) {
    informer_env = &env;
    return std::make_unique<Holder>();
  });
  Env* lister_env = nullptr;
  s.world.AddHost("kubectl").AddProcess("kubectl", [&lister_env](Env& env) {
    lister_env = &env;
    return std::make_unique<Holder>();
  });
  s.world.RunFor(Seconds(3));  // the store elects a leader
  client::ApiClientOptions co;
  co.endpoints = s.endpoints;
  co.token = kAdminToken;
  s.admin = std::make_unique<client::ApiClient>(*lister_env, co);
  std::vector<api::Object> objects;
  api::Object& ns = objects.emplace_back();
  ns.info = api::Registry::Default().ByGroupResource("", "namespaces");
  auto namespace_ = std::make_unique<api::Namespace>();
  namespace_->mutable_metadata()->set_name("bench");
  ns.message = std::move(namespace_);
  if (!s.options.as_admin) {
    const int64_t pods = s.options.pods;
    const std::string manifests =
        fmt::format(kTenantManifests, fmt::arg("token", kTenantToken), fmt::arg("pods", pods),
                    fmt::arg("cpu_millis", 100 * pods), fmt::arg("memory_mi", 500 * pods),
                    fmt::arg("limit_cpu_millis", 200 * pods), fmt::arg("limit_memory_mi", 1024 * pods));
    if (Status decoded = api::DecodeYaml(manifests, "api_bench tenant manifests", &objects); !decoded.ok()) {
      return decoded;
    }
  }
  for (const api::Object& o : objects) {  // in order: the namespace first
    std::optional<client::ApiResult> r;
    s.admin->Create(*o.info, *o.message, [&r](const client::ApiResult& result) { r = result; });
    s.world.RunUntilCondition([&r] { return r.has_value(); }, s.world.now() + Seconds(30));
    if (!r.has_value() || !r->ok()) {
      return Status::Unavailable(
          fmt::format("api_bench setup: creating {} failed: {}", o.info->kind, r.has_value() ? r->body : "no answer"));
    }
  }
  co.token = ClientToken(s.options);
  // Every apiserver learns the token, the binding and the quota from its watch caches:
  // the benchmark starts once each of them lets the client list pods.
  for (const Address& endpoint : s.endpoints) {
    client::ApiClientOptions one = co;
    one.endpoints = {endpoint};
    client::ApiClient probe(*lister_env, one);
    bool allowed = false;
    for (int attempt = 0; attempt < 100 && !allowed; ++attempt) {
      std::optional<client::ApiResult> r;
      probe.List(Pods(), "bench", {{"limit", "1"}}, [&r](const client::ApiResult& result) { r = result; });
      s.world.RunUntilCondition([&r] { return r.has_value(); }, s.world.now() + Seconds(30));
      allowed = r.has_value() && r->ok();
      if (!allowed) s.world.RunFor(Milliseconds(100));
    }
    if (!allowed) {
      return Status::Unavailable(fmt::format("api_bench setup: {} never authorized the benchmark's client", endpoint));
    }
  }
  s.lister = std::make_unique<client::ApiClient>(*lister_env, co);
  s.informer_client = std::make_unique<client::ApiClient>(*informer_env, co);
  client::InformerOptions io;
  io.namespace_ = "bench";  // the tenant may read pods only in its own namespace
  s.informer = std::make_unique<client::Informer>(*informer_env, s.informer_client.get(), Pods(), io);
  s.informer->Start();
  s.world.RunUntilCondition([&s] { return s.informer->HasSynced(); }, s.world.now() + Seconds(30));
  if (!s.informer->HasSynced()) return Status::Unavailable("api_bench setup: the informer did not sync");
  return Status::Ok();
}

void ApiBench::RunCreates() {
  State& s = *s_;
  const Nanos start = s.world.now();
  const uint64_t events_before = s.world.events_run();
  const sim::NetworkStats net_before = s.world.network().stats();
  for (Creator* c : s.creators) c->Go();
  const uint64_t total = static_cast<uint64_t>(s.options.pods);
  s.world.RunUntilCondition(
      [&s, total] { return s.result.created + s.result.failed >= total && s.informer->size() >= s.result.created; },
      s.world.now() + Seconds(3600));
  s.result.create_sim_seconds = static_cast<double>((s.world.now() - start).count()) / 1e9;
  s.result.create_events = s.world.events_run() - events_before;
  s.result.create_frames = s.world.network().stats().frames_delivered - net_before.frames_delivered;
  s.result.create_bytes = s.world.network().stats().bytes_delivered - net_before.bytes_delivered;
  s.result.informer_events = s.informer->stats().events;
  s.result.informer_objects = s.informer->size();
  if (!s.options.as_admin) {
    // What the quota says was charged: one pod per acknowledged create, no more, no less.
    std::optional<client::ApiResult> r;
    s.admin->Get(*api::Registry::Default().ByGroupResource("", "resourcequotas"), "bench", "bench-quota",
                 [&r](const client::ApiResult& result) { r = result; });
    s.world.RunUntilCondition([&r] { return r.has_value(); }, s.world.now() + Seconds(30));
    api::ResourceQuota quota;
    if (r.has_value() && r->ok() && quota.ParseFromString(r->body)) {
      const auto used = quota.status().used().find("pods");
      api::Quantity q;
      if (used != quota.status().used().end() && api::Quantity::Parse(used->second, &q).ok()) {
        s.result.quota_pods_used = static_cast<uint64_t>(q.Value());
      }
    }
  }
}

void ApiBench::RunList() {
  State& s = *s_;
  const Nanos start = s.world.now();
  bool done = false;
  std::string cont;
  std::function<void()> page = [&] {
    std::map<std::string, std::string> q{{"limit", "500"}};
    if (!cont.empty()) q["continue"] = cont;
    s.lister->List(Pods(), "bench", q, [&](const client::ApiResult& r) {
      apiserver::ObjectList l;
      if (!r.ok() || !l.ParseFromString(r.body)) {
        done = true;
        return;
      }
      ++s.result.list_pages;
      s.result.listed += static_cast<uint64_t>(l.items_size());
      cont = l.metadata().continue_();
      if (cont.empty()) {
        done = true;
      } else {
        page();
      }
    });
  };
  page();
  s.world.RunUntilCondition([&done] { return done; }, s.world.now() + Seconds(3600));
  s.result.list_sim_seconds = static_cast<double>((s.world.now() - start).count()) / 1e9;
  s.result.trace_hash = s.world.trace().hash();
}

}  // namespace ksim::scenarios
