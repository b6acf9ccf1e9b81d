// For the proxy and DNS tests: the controller-manager's EndpointSlice controller
// (cluster/controllers/endpointslice.h) on its own host, and a check that the slices in the
// API say what the pods say. The check is computed here from the pods and Services the API
// shows, independently of the controller's code.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cluster/api/discovery.pb.h"
#include "cluster/controllers/controller_manager.h"
#include "cluster/controllers/endpointslice.h"
#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::proxy::testing {

// A controller-manager running only the EndpointSlice controller, on host `host`. Without
// leader election: it is the only one.
inline void StartEndpointSliceManager(apiserver::testing::ApiCluster& api, const std::string& host = "cm") {
  controllers::ControllerManagerOptions o;
  o.apiservers = api.endpoints;
  o.token = apiserver::testing::kAdminToken;
  o.leader_elect = false;
  o.controllers = {controllers::kEndpointSliceControllerName};
  api.store.world.AddHost(host).AddProcess(
      "controller-manager", [o](Env& env) { return std::make_unique<controllers::ControllerManager>(env, o); });
}

// Pod name -> (address, ready) as a Service's endpoints should list it.
using EndpointView = std::map<std::string, std::pair<std::string, bool>>;

// True when, in `ns`, every Service with a selector (not ExternalName) has slices listing
// exactly its selected pods that have an IP and have not ended (ready: Ready and not being
// deleted), and no slice is left for a Service that is gone or has no selector.
inline bool SlicesCaughtUp(apiserver::testing::ApiCluster& api, client::ApiClient* admin, const std::string& ns = "default") {
  using apiserver::testing::Kind;
  const auto list = [&](const api::KindInfo& kind, apiserver::ObjectList* out) {
    const client::ApiResult r = api.Await([&](client::ApiClient::Done d) { admin->List(kind, ns, {}, d); });
    return r.ok() && out->ParseFromString(r.body);
  };
  apiserver::ObjectList services, pods, slices;
  if (!list(Kind("", "services"), &services) || !list(Kind("", "pods"), &pods) ||
      !list(Kind("discovery.k8s.io", "endpointslices"), &slices)) {
    return false;
  }
  std::map<std::string, EndpointView> expected;  // Service name -> endpoints
  std::set<std::string> wanted;                   // Services that should have slices
  for (const std::string& bytes : services.items()) {
    api::Service svc;
    if (!svc.ParseFromString(bytes) || svc.spec().selector().empty() || svc.spec().type() == "ExternalName") continue;
    wanted.insert(svc.metadata().name());
    EndpointView& view = expected[svc.metadata().name()];
    for (const std::string& pod_bytes : pods.items()) {
      api::Pod p;
      if (!p.ParseFromString(pod_bytes) || p.status().pod_ip().empty()) continue;
      if (p.status().phase() == "Succeeded" || p.status().phase() == "Failed") continue;
      bool selected = true;
      for (const auto& [k, v] : svc.spec().selector()) {
        auto it = p.metadata().labels().find(k);
        selected = selected && it != p.metadata().labels().end() && it->second == v;
      }
      if (!selected) continue;
      bool ready = false;
      for (const auto& c : p.status().conditions()) ready = ready || (c.type() == "Ready" && c.status() == "True");
      view[p.metadata().name()] = {p.status().pod_ip(), ready && !p.metadata().has_deletion_timestamp()};
    }
  }
  std::map<std::string, EndpointView> actual;
  for (const std::string& bytes : slices.items()) {
    api::EndpointSlice s;
    if (!s.ParseFromString(bytes)) return false;
    auto it = s.metadata().labels().find("kubernetes.io/service-name");
    if (it == s.metadata().labels().end()) continue;
    if (wanted.count(it->second) == 0) return false;  // its Service is gone: not deleted yet
    EndpointView& view = actual[it->second];
    for (const auto& e : s.endpoints()) {
      if (e.addresses().empty()) return false;
      if (!view.emplace(e.target_ref().name(), std::make_pair(e.addresses(0), e.conditions().ready())).second) {
        return false;  // listed twice
      }
    }
  }
  // A Service with no endpoints may have no slice or an empty one; both are caught up.
  for (auto it = actual.begin(); it != actual.end();) it = it->second.empty() ? actual.erase(it) : std::next(it);
  for (auto it = expected.begin(); it != expected.end();) it = it->second.empty() ? expected.erase(it) : std::next(it);
  return actual == expected;
}

}  // namespace ksim::proxy::testing
