// Test fixture for the EndpointSlice and Endpoints controllers: a CmCluster whose
// controller-manager replicas run only those two, two nodes (zones a and b), and helpers
// that play the node side by hand — pods are created bound, given an IP and made Ready or
// not by status writes, deleted gracefully (terminating until FinishDelete). The expected
// endpoints are computed here from the pods the API shows, independently of the
// controllers' code.
#pragma once

#include <fmt/format.h>

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "cluster/api/discovery.pb.h"
#include "cluster/controllers/endpointslice.h"
#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::testing {

inline const api::KindInfo& SliceKind() { return Kind("discovery.k8s.io", "endpointslices"); }

// What a slice says of one pod (or what it should say).
struct PodEndpoint {
  bool ready = false;
  bool serving = false;
  bool terminating = false;
  std::string ports;  // "name:port," in the slice's order, sorted
  std::string zone;
  bool operator==(const PodEndpoint&) const = default;
};
inline std::string Show(const PodEndpoint& e) {
  return fmt::format("ready={} serving={} terminating={} ports={} zone={}", e.ready, e.serving, e.terminating, e.ports,
                     e.zone);
}

class EpsFixture {
 public:
  explicit EpsFixture(uint64_t seed = 1, int managers = 1, int apiservers = 1, int max_per_slice = 100,
                     Nanos slice_informer_lag = Nanos(0))
      : c(seed, apiservers) {
    c.AddKubelet("n1", {{"topology.kubernetes.io/zone", "zone-a"}});
    c.AddKubelet("n2", {{"topology.kubernetes.io/zone", "zone-b"}});
    for (int i = 1; i <= managers; ++i) {
      c.AddManager(i, [this, max_per_slice, slice_informer_lag](ControllerManagerOptions& o) {
        o.controllers = {kEndpointSliceControllerName, kEndpointsControllerName};
        if (slice_informer_lag > Nanos(0)) o.informer_event_delay["endpointslices"] = slice_informer_lag;
        o.max_endpoints_per_slice = max_per_slice;
        auto inner = o.on_write;
        o.on_write = [this, inner](const std::string& id, bool acting, const apiserver::Request& r) {
          if (r.resource() == "endpointslices") ++slice_writes[r.verb()];
          if (r.resource() == "endpoints") ++endpoints_writes;
          inner(id, acting, r);
        };
      });
    }
    c.Run(Seconds(12));
  }

  static api::Service MakeService(const std::string& name, std::vector<std::pair<std::string, api::IntOrString>> ports = {
                                                               {"http", api::MakeIntOrString(8080)}}) {
    api::Service s;
    s.mutable_metadata()->set_namespace_("default");
    s.mutable_metadata()->set_name(name);
    (*s.mutable_metadata()->mutable_labels())["team"] = "blue";
    (*s.mutable_spec()->mutable_selector())["app"] = name;
    int port = 80;
    for (auto& [pname, target] : ports) {
      api::ServicePort& p = *s.mutable_spec()->add_ports();
      p.set_name(pname);
      p.set_port(port++);
      p.set_protocol("TCP");
      *p.mutable_target_port() = target;
    }
    return s;
  }

  // A pod of `app` bound to `node`, whose container offers `ports` (name -> number).
  api::Pod MakePod(const std::string& name, const std::string& app, const std::string& node,
                   std::map<std::string, int> ports = {}) {
    api::Pod p;
    p.mutable_metadata()->set_namespace_("default");
    p.mutable_metadata()->set_name(name);
    (*p.mutable_metadata()->mutable_labels())["app"] = app;
    p.mutable_spec()->set_node_name(node);
    api::Container& ctr = *p.mutable_spec()->add_containers();
    ctr.set_name("main");
    ctr.set_image("img");
    for (const auto& [pname, number] : ports) {
      api::ContainerPort& cp = *ctr.add_ports();
      cp.set_name(pname);
      cp.set_container_port(number);
      cp.set_protocol("TCP");
    }
    return p;
  }

  bool AddPod(const api::Pod& p, bool ready) {
    if (!c.Create(p).ok()) return false;
    return SetReady(p.metadata().name(), ready);
  }

  // Running with an IP (10.1.<n>.<n>, from the pod's creation order) and Ready or not.
  bool SetReady(const std::string& name, bool ready) {
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Get(Kind("", "pods"), "default", name, std::move(d)); });
    api::Pod p;
    if (!r.ok() || !p.ParseFromString(r.body)) return false;
    if (p.status().pod_ip().empty()) {
      const int n = ++ips_;
      p.mutable_status()->set_pod_ip(fmt::format("10.1.{}.{}", n / 250, n % 250 + 1));
      p.mutable_status()->add_pod_ips()->set_ip(p.status().pod_ip());
    }
    p.mutable_status()->set_phase("Running");
    p.mutable_status()->clear_conditions();
    auto* cond = p.mutable_status()->add_conditions();
    cond->set_type("Ready");
    cond->set_status(ready ? "True" : "False");
    r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(Kind("", "pods"), p, std::move(d), "status"); });
    return r.ok();
  }
  // A graceful delete: the pod stays, terminating, until FinishDelete.
  bool StartDelete(const std::string& name) {
    api::DeleteOptions o;
    o.set_grace_period_seconds(300);
    return c.api
        .Await([&](client::ApiClient::Done d) { c.kubectl->Delete(Kind("", "pods"), "default", name, o, std::move(d)); })
        .ok();
  }
  bool FinishDelete(const std::string& name) {
    api::DeleteOptions o;
    o.set_grace_period_seconds(0);
    return c.api
        .Await([&](client::ApiClient::Done d) { c.kubectl->Delete(Kind("", "pods"), "default", name, o, std::move(d)); })
        .ok();
  }

  std::vector<api::EndpointSlice> Slices(const std::string& service, bool* ok = nullptr) {
    std::vector<api::EndpointSlice> out;
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->List(SliceKind(), "default", {}, std::move(d)); });
    apiserver::ObjectList l;
    if (ok != nullptr) *ok = r.ok() && l.ParseFromString(r.body);
    if (!r.ok() || !l.ParseFromString(r.body)) return out;
    for (const auto& item : l.items()) {
      api::EndpointSlice s;
      if (!s.ParseFromString(item)) continue;
      auto it = s.metadata().labels().find("kubernetes.io/service-name");
      if (it != s.metadata().labels().end() && it->second == service) out.push_back(s);
    }
    return out;
  }
  std::map<std::string, api::Pod> Pods(bool* ok = nullptr) {
    std::map<std::string, api::Pod> out;
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->List(Kind("", "pods"), "default", {}, std::move(d)); });
    apiserver::ObjectList l;
    if (ok != nullptr) *ok = r.ok() && l.ParseFromString(r.body);
    if (!r.ok() || !l.ParseFromString(r.body)) return out;
    for (const auto& item : l.items()) {
      api::Pod p;
      if (p.ParseFromString(item)) out[p.metadata().name()] = p;
    }
    return out;
  }
  std::optional<api::Endpoints> GetEndpoints(const std::string& name) {
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Get(Kind("", "endpoints"), "default", name, std::move(d)); });
    api::Endpoints e;
    if (!r.ok() || !e.ParseFromString(r.body)) return std::nullopt;
    return e;
  }

  static std::string PortsOf(const api::EndpointSlice& s) {
    std::vector<std::string> ports;
    for (const auto& p : s.ports()) ports.push_back(fmt::format("{}:{}", p.name(), p.port()));
    std::sort(ports.begin(), ports.end());
    std::string out;
    for (const auto& p : ports) out += p + ",";
    return out;
  }

  // Pod name -> what the slices say; `problem` gets a pod listed twice or a slice over max.
  static std::map<std::string, PodEndpoint> Actual(const std::vector<api::EndpointSlice>& slices, size_t max,
                                                   std::string* problem) {
    std::map<std::string, PodEndpoint> out;
    for (const auto& s : slices) {
      if (static_cast<size_t>(s.endpoints_size()) > max && problem->empty()) {
        *problem = fmt::format("slice {} has {} endpoints > {}", s.metadata().name(), s.endpoints_size(), max);
      }
      for (const auto& e : s.endpoints()) {
        PodEndpoint pe{e.conditions().ready(), e.conditions().serving(), e.conditions().terminating(), PortsOf(s),
                       e.zone()};
        if (!out.emplace(e.target_ref().name(), pe).second && problem->empty()) {
          *problem = fmt::format("pod {} is listed twice", e.target_ref().name());
        }
      }
    }
    return out;
  }

  // What Kubernetes' rules give for the pods of `app`: ports are the Service ports whose
  // target the pod offers (a number always, a name if a container port has it).
  static std::map<std::string, PodEndpoint> Expected(const api::Service& svc, const std::map<std::string, api::Pod>& pods) {
    std::map<std::string, PodEndpoint> out;
    for (const auto& [name, p] : pods) {
      if (p.metadata().labels().count("app") == 0 || p.metadata().labels().at("app") != svc.spec().selector().at("app")) continue;
      if (p.status().pod_ip().empty() || p.status().phase() == "Succeeded" || p.status().phase() == "Failed") continue;
      bool ready = false;
      for (const auto& cnd : p.status().conditions()) ready = ready || (cnd.type() == "Ready" && cnd.status() == "True");
      const bool deleting = p.metadata().has_deletion_timestamp();
      std::vector<std::string> ports;
      for (const auto& sp : svc.spec().ports()) {
        if (sp.target_port().value_case() == api::IntOrString::kIntVal) {
          ports.push_back(fmt::format("{}:{}", sp.name(), sp.target_port().int_val()));
          continue;
        }
        for (const auto& cp : p.spec().containers(0).ports()) {
          if (cp.name() == sp.target_port().str_val()) ports.push_back(fmt::format("{}:{}", sp.name(), cp.container_port()));
        }
      }
      std::sort(ports.begin(), ports.end());
      std::string key;
      for (const auto& port : ports) key += port + ",";
      out[name] = PodEndpoint{svc.spec().publish_not_ready_addresses() || (ready && !deleting), ready, deleting, key,
                              p.spec().node_name() == "n1" ? "zone-a" : "zone-b"};
    }
    return out;
  }

  // The Endpoints Kubernetes' rules give: ready (or published) pods in addresses,
  // not-ready ones in notReadyAddresses, terminating ones only when published; as
  // "ports|ready names|not-ready names" per subset, sorted.
  static std::set<std::string> ExpectedSubsets(const api::Service& svc, const std::map<std::string, api::Pod>& pods) {
    std::map<std::string, std::pair<std::set<std::string>, std::set<std::string>>> by_ports;
    for (const auto& [name, e] : Expected(svc, pods)) {
      if (e.terminating && !svc.spec().publish_not_ready_addresses()) continue;
      if (e.ports.empty() && !svc.spec().ports().empty()) continue;  // no port of the Service: no subset
      auto& [ready, not_ready] = by_ports[e.ports];
      (svc.spec().publish_not_ready_addresses() || e.serving ? ready : not_ready).insert(name);
    }
    std::set<std::string> out;
    for (const auto& [ports, sets] : by_ports) out.insert(ports + "|" + Join(sets.first) + "|" + Join(sets.second));
    return out;
  }
  static std::set<std::string> ActualSubsets(const api::Endpoints& ep) {
    std::set<std::string> out;
    for (const auto& s : ep.subsets()) {
      std::vector<std::string> ports;
      for (const auto& p : s.ports()) ports.push_back(fmt::format("{}:{}", p.name(), p.port()));
      std::sort(ports.begin(), ports.end());
      std::string key;
      for (const auto& port : ports) key += port + ",";
      std::set<std::string> ready;
      std::set<std::string> not_ready;
      for (const auto& a : s.addresses()) ready.insert(a.target_ref().name());
      for (const auto& a : s.not_ready_addresses()) not_ready.insert(a.target_ref().name());
      out.insert(key + "|" + Join(ready) + "|" + Join(not_ready));
    }
    return out;
  }
  static std::string Join(const std::set<std::string>& s) {
    std::string out;
    for (const auto& x : s) out += x + " ";
    return out;
  }

  bool RunUntil(const std::function<bool()>& done, Nanos limit, const std::function<void()>& each = nullptr) {
    const Nanos end = c.Now() + limit;
    while (c.Now() < end) {
      c.Run(Milliseconds(100));
      if (each) each();
      if (done()) return true;
    }
    return false;
  }
  // Slices and Endpoints of `svc` match the pods; `why` says how they differ.
  bool Converged(const api::Service& svc, size_t max, std::string* why) {
    bool ok1 = false;
    bool ok2 = false;
    const auto pods = Pods(&ok1);
    const auto slices = Slices(svc.metadata().name(), &ok2);
    if (!ok1 || !ok2) return false;
    std::string problem;
    const auto actual = Actual(slices, max, &problem);
    const auto expected = Expected(svc, pods);
    if (!problem.empty()) return *why = problem, false;
    if (actual != expected) {
      *why = "slices differ:";
      for (const auto& [n, e] : expected) {
        auto it = actual.find(n);
        if (it == actual.end()) *why += " missing " + n;
        else if (!(it->second == e)) *why += " " + n + " has " + Show(it->second) + " wants " + Show(e);
      }
      for (const auto& [n, e] : actual) {
        if (expected.count(n) == 0) *why += " extra " + n;
      }
      return false;
    }
    auto ep = GetEndpoints(svc.metadata().name());
    if (!ep) return *why = "no Endpoints", false;
    if (ActualSubsets(*ep) != ExpectedSubsets(svc, pods)) return *why = "Endpoints differ", false;
    return true;
  }

  CmCluster c;
  std::map<std::string, int> slice_writes;  // verb -> count
  int endpoints_writes = 0;

 private:
  int ips_ = 0;
};

}  // namespace ksim::controllers::testing
