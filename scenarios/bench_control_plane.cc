#include "scenarios/bench_control_plane.h"

#include <fmt/format.h>

#include <utility>

#include "cluster/api/codec.h"
#include "cluster/api/core.pb.h"
#include "cluster/apiserver/apiserver.h"
#include "cluster/controllers/controller_manager.h"
#include "cluster/store/server/store_server.h"
#include "sim/host.h"

namespace ksim::scenarios {

namespace {

constexpr uint16_t kStorePort = 2379;
constexpr uint16_t kApiPort = 6443;
const std::string kBenchToken = "bench-token";
constexpr int kPageSize = 500;

class Holder : public Process {
 public:
  void Start() override {}
};

}  // namespace

const api::KindInfo& BenchKind(const char* group, const char* resource) {
  return *api::Registry::Default().ByGroupResource(group, resource);
}

BenchControlPlane::BenchControlPlane(uint64_t seed) : world_(seed) {}

BenchControlPlane::~BenchControlPlane() { client_.reset(); }

const std::string& BenchControlPlane::token() const { return kBenchToken; }

std::string BenchControlPlane::NodeName(int i) { return fmt::format("node-{:05}", i); }

bool BenchControlPlane::RunUntil(const std::function<bool()>& done, Nanos within) {
  return world_.RunUntilCondition(done, world_.now() + within);
}

Status BenchControlPlane::Boot() {
  const Address store = fmt::format("etcd1:{}", kStorePort);
  storeserver::StoreServerOptions so;
  so.id = 1;
  so.members = {{1, store}};
  so.port = kStorePort;
  so.snapshot_every_entries = 20000;
  so.auto_compact_retain_revisions = 400000;
  world_.AddHost("etcd1").AddProcess("store",
                                     [so](Env& env) { return std::make_unique<storeserver::StoreServer>(env, so); });
  apiserver::ApiServerOptions ao;
  ao.port = kApiPort;
  ao.store_members = {store};
  ao.service_account_admission = false;  // no serviceaccount controller makes `default`
  ao.token_file = kBenchToken + ",bench,uid-bench,\"system:masters\"\n";
  world_.AddHost("api1").AddProcess("apiserver",
                                    [ao](Env& env) { return std::make_unique<apiserver::ApiServer>(env, ao); });
  endpoints_ = {fmt::format("api1:{}", kApiPort)};
  world_.AddHost("bench").AddProcess("bench", [this](Env& env) {
    client_env_ = &env;
    return std::make_unique<Holder>();
  });
  world_.RunFor(Seconds(3));  // the store elects itself
  client::ApiClientOptions co;
  co.endpoints = endpoints_;
  co.token = kBenchToken;
  client_ = std::make_unique<client::ApiClient>(*client_env_, co);
  return CreateAll(BenchKind("", "namespaces"), 1, [](int) {
    auto ns = std::make_unique<api::Namespace>();
    ns->mutable_metadata()->set_name(kNamespace);
    return ns;
  });
}

Status BenchControlPlane::CreateAll(const api::KindInfo& kind, int count,
                                    const std::function<std::unique_ptr<google::protobuf::Message>(int)>& make) {
  int next = 0;
  int done = 0;
  Status first = Status::Ok();
  std::function<void()> one = [&] {
    if (next >= count) return;
    auto object = make(next++);
    client_->Create(kind, *object, [&](const client::ApiResult& r) {
      ++done;
      if (!r.ok() && first.ok()) first = Status::Unavailable(fmt::format("create {}: {}", kind.resource, r.Describe()));
      one();
    });
  };
  for (int i = 0; i < kWindow; ++i) one();
  if (!RunUntil([&] { return done >= count; }, Seconds(3600))) {
    return Status::Timeout(fmt::format("create {}: {} of {} answered", kind.resource, done, count));
  }
  return first;
}

Status BenchControlPlane::CreateNodes(int nodes) {
  return CreateAll(BenchKind("", "nodes"), nodes, [](int i) {
    auto n = std::make_unique<api::Node>();
    n->mutable_metadata()->set_name(NodeName(i));
    (*n->mutable_metadata()->mutable_labels())["kubernetes.io/hostname"] = NodeName(i);
    auto& alloc = *n->mutable_status()->mutable_allocatable();
    alloc["cpu"] = "4";
    alloc["memory"] = "32Gi";
    alloc["pods"] = "110";
    *n->mutable_status()->mutable_capacity() = alloc;
    auto* ready = n->mutable_status()->add_conditions();
    ready->set_type("Ready");
    ready->set_status("True");
    return n;
  });
}

Status BenchControlPlane::ListAll(const api::KindInfo& kind, std::vector<std::string>* items) {
  bool done = false;
  Status status = Status::Ok();
  std::string cont;
  std::function<void()> page = [&] {
    std::map<std::string, std::string> q{{"limit", std::to_string(kPageSize)}};
    if (!cont.empty()) q["continue"] = cont;
    client_->List(kind, kNamespace, q, [&](const client::ApiResult& r) {
      apiserver::ObjectList l;
      if (!r.ok() || !l.ParseFromString(r.body)) {
        status = Status::Unavailable(fmt::format("list {}: {}", kind.resource, r.Describe()));
        done = true;
        return;
      }
      for (auto& item : *l.mutable_items()) items->push_back(std::move(item));
      cont = l.metadata().continue_();
      if (cont.empty()) {
        done = true;
      } else {
        page();
      }
    });
  };
  page();
  if (!RunUntil([&done] { return done; }, Seconds(600))) return Status::Timeout("list: no answer");
  return status;
}

Status BenchControlPlane::StartControllerManager(std::vector<std::string> controllers,
                                                 std::function<void(const apiserver::Request&)> on_write) {
  controllers::ControllerManagerOptions o;
  o.apiservers = endpoints_;
  o.token = kBenchToken;
  o.controllers = std::move(controllers);
  o.on_write = [on_write = std::move(on_write)](const std::string&, bool, const apiserver::Request& r) {
    if (on_write) on_write(r);
  };
  world_.AddHost("cm").AddProcess("controller-manager", [this, o](Env& env) {
    auto cm = std::make_unique<controllers::ControllerManager>(env, o);
    manager_ = cm.get();
    return cm;
  });
  if (!RunUntil([this] { return manager_ != nullptr && manager_->IsLeader() && manager_->HasSynced(); },
                Seconds(120))) {
    return Status::Timeout("the controller-manager did not lead with synced informers within 120 simulated s");
  }
  return manager_->config_status();
}

}  // namespace ksim::scenarios
