// Test fixture: a 3-member store, A apiservers (api1..apiA) and API clients, all simulated.
// Calls are driven synchronously: Call() sends a request and runs the world until the
// answer arrives (or a simulated deadline passes).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/api/codec.h"
#include "cluster/api/core.pb.h"
#include "cluster/apiserver/apiserver.h"
#include "cluster/client/api_client.h"
#include "cluster/client/informer.h"
#include "tests/cluster/store_server/store_cluster.h"

namespace ksim::apiserver::testing {

inline constexpr uint16_t kApiPort = 6443;
// Static tokens every test cluster starts with: an administrator and two plain users.
inline constexpr char kTokenFile[] =
    "admin-token,admin,uid-admin,\"system:masters\"\n"
    "bob-token,bob,uid-bob\n"
    "carol-token,carol,uid-carol,\"team-a\"\n";
inline constexpr char kAdminToken[] = "admin-token";

class ApiCluster {
 public:
  explicit ApiCluster(int apiservers = 1, uint64_t seed = 1,
                      std::function<void(ApiServerOptions&)> tweak = nullptr,
                      std::function<void(storeserver::StoreServerOptions&)> store_tweak = nullptr)
      : store(3, seed, std::move(store_tweak)) {
    for (int i = 1; i <= apiservers; ++i) {
      ApiServerOptions o;
      o.port = kApiPort;
      o.store_members = store.addresses;
      o.token_file = kTokenFile;
      o.system_namespaces = false;  // tests create the namespaces they use
      // No controller-manager makes `default` accounts here; tests that want the
      // ServiceAccount plugin turn it on (docs/APISERVER.md "ServiceAccount admission").
      o.service_account_admission = false;
      if (tweak) tweak(o);
      const std::string host = "api" + std::to_string(i);
      store.world.AddHost(host).AddProcess("apiserver", [o](Env& env) { return std::make_unique<ApiServer>(env, o); });
      endpoints.push_back(host + ":" + std::to_string(kApiPort));
    }
    store.WaitForLeader(Seconds(10));
  }
  ~ApiCluster() {
    for (auto& i : informers_) i->reset();
    for (auto& c : clients_) c->reset();
  }

  ApiServer* Server(int i) {
    return store.world.host(static_cast<uint32_t>(3 + i - 1)).Find<ApiServer>("apiserver");
  }

  // Fault: every running apiserver forgets its watch windows (as after a compaction of the
  // store's history); every watch ends with 410 and its client re-lists. Returns the
  // number of watches ended.
  size_t ExpireWatchWindows() {
    size_t ended = 0;
    for (int i = 1; i <= static_cast<int>(endpoints.size()); ++i) {
      if (ApiServer* s = Server(i)) ended += s->handler().ExpireWatchWindows();
    }
    return ended;
  }

  // A client process on its own host talking to `only` (1-based) or to every apiserver.
  client::ApiClient* AddClient(const std::string& name, int only = 0, std::string token = kAdminToken) {
    auto holder = std::make_shared<std::unique_ptr<client::ApiClient>>();
    clients_.push_back(holder);
    client::ApiClientOptions o;
    o.endpoints = only == 0 ? endpoints : std::vector<Address>{endpoints[static_cast<size_t>(only - 1)]};
    o.token = std::move(token);
    store.world.AddHost(name).AddProcess("client", sim::testing::Scripted([holder, o](sim::testing::ScriptedProcess& p) {
      *holder = std::make_unique<client::ApiClient>(p.env(), o);
    }));
    store.world.RunFor(Milliseconds(1));
    return holder->get();
  }

  // An informer in its own client process.
  client::Informer* AddInformer(const std::string& name, const api::KindInfo& info, client::InformerOptions io = {},
                                std::function<void(client::Informer&)> setup = nullptr) {
    auto c = std::make_shared<std::unique_ptr<client::ApiClient>>();
    auto inf = std::make_shared<std::unique_ptr<client::Informer>>();
    clients_.push_back(c);
    informers_.push_back(inf);
    client::ApiClientOptions o;
    o.endpoints = endpoints;
    o.token = kAdminToken;
    const api::KindInfo* kind = &info;
    store.world.AddHost(name).AddProcess(
        "informer", sim::testing::Scripted([c, inf, o, kind, io, setup](sim::testing::ScriptedProcess& p) {
          *c = std::make_unique<client::ApiClient>(p.env(), o);
          *inf = std::make_unique<client::Informer>(p.env(), c->get(), *kind, io);
          if (setup) setup(**inf);
          (*inf)->Start();
        }));
    store.world.RunFor(Milliseconds(1));
    return inf->get();
  }

  // Runs the world until `done` has been called or `within` passes.
  client::ApiResult Await(const std::function<void(client::ApiClient::Done)>& start, Nanos within = Seconds(60)) {
    std::optional<client::ApiResult> result;
    start([&result](const client::ApiResult& r) { result = r; });
    store.world.RunUntilCondition([&result] { return result.has_value(); }, store.world.now() + within);
    if (!result) {
      client::ApiResult r;
      r.status = Status::Timeout("no answer in simulated time");
      return r;
    }
    return *result;
  }

  storeserver::testing::StoreCluster store;
  std::vector<Address> endpoints;

 private:
  std::vector<std::shared_ptr<std::unique_ptr<client::ApiClient>>> clients_;
  std::vector<std::shared_ptr<std::unique_ptr<client::Informer>>> informers_;
};

inline const api::KindInfo& Kind(const std::string& group, const std::string& resource) {
  return *api::Registry::Default().ByGroupResource(group, resource);
}

inline api::Pod MakePod(const std::string& ns, const std::string& name, std::map<std::string, std::string> labels = {},
                        const std::string& node = "") {
  api::Pod p;
  p.mutable_metadata()->set_namespace_(ns);
  p.mutable_metadata()->set_name(name);
  for (auto& [k, v] : labels) (*p.mutable_metadata()->mutable_labels())[k] = v;
  auto* c = p.mutable_spec()->add_containers();
  c->set_name("app");
  c->set_image("nginx:1.25");
  if (!node.empty()) p.mutable_spec()->set_node_name(node);
  return p;
}

inline api::Namespace MakeNamespace(const std::string& name) {
  api::Namespace n;
  n.mutable_metadata()->set_name(name);
  return n;
}

// A one-apiserver cluster with a client and the "default" namespace: the fixture of tests
// of single verbs.
class ApiVerbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c = cluster.AddClient("client");
    ASSERT_EQ(Await([&](client::ApiClient::Done d) { c->Create(Kind("", "namespaces"), MakeNamespace("default"), d); })
                  .code,
              201);
  }
  client::ApiResult Await(const std::function<void(client::ApiClient::Done)>& start) { return cluster.Await(start); }
  ApiCluster cluster;
  client::ApiClient* c = nullptr;
};

}  // namespace ksim::apiserver::testing
