// SimCluster's service network: kube-proxy on every worker (and on the client host, so the
// admin's host reaches ClusterIPs as a node does), cluster DNS on the control-plane hosts
// behind the kube-dns Service (10.96.0.10), and requests to Services and DNS names from the
// client host.
#include <fmt/format.h>

#include <memory>
#include <optional>

#include "cluster/dns/resolver.h"
#include "cluster/dns/server.h"
#include "cluster/net/http1.h"
#include "cluster/proxy/proxy.h"
#include "scenarios/sim_cluster_internal.h"
#include "sim/host.h"
#include "sim/network.h"

namespace ksim::scenarios {

// CoreDNS's ClusterRole as kubeadm's addon installs it, its identity, and the kube-dns
// Service with a hand-kept EndpointSlice naming the control-plane hosts (the DNS servers
// are host processes here, not pods, so no selector picks them).
std::string DnsManifests(const std::vector<std::string>& dns_ips) {
  std::string endpoints;
  for (const std::string& ip : dns_ips) {
    endpoints += fmt::format("- addresses: [\"{}\"]\n  conditions: {{ready: true}}\n", ip);
  }
  return fmt::format(R"(apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: "system:coredns"}}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: "system:coredns"}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:coredns"}}
---
apiVersion: v1
kind: Service
metadata: {{name: kube-dns, namespace: kube-system, labels: {{k8s-app: kube-dns}}}}
spec:
  clusterIP: {}
  ports: [{{name: dns-tcp, port: 53, targetPort: 53, protocol: TCP}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-hosts
  namespace: kube-system
  labels: {{kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: sim-cluster}}
addressType: IPv4
ports: [{{name: dns-tcp, port: 53, protocol: TCP}}]
endpoints:
{})",
                     SimCluster::kClusterDnsIp, endpoints);
}

void StartNetworkAddons(SimCluster::State& s, const std::string& proxy_token, const std::string& dns_token) {
  proxy::ProxyOptions po;
  po.api_endpoints = {fmt::format("{}:{}", SimCluster::kLoadBalancerHost, SimCluster::kApiPort)};
  po.token = proxy_token;
  for (const std::string& host : s.workers) {
    s.world.FindHost(host)->AddProcess("kube-proxy", [po](Env& env) { return std::make_unique<proxy::ServiceProxy>(env, po); });
  }
  s.world.FindHost(SimCluster::kClientHost)->AddProcess("kube-proxy", [po](Env& env) {
    return std::make_unique<proxy::ServiceProxy>(env, po);
  });
  for (const std::string& cp : s.control_plane) {
    dns::DnsServerOptions dso;
    dso.api_endpoints = {fmt::format("{}:{}", cp, SimCluster::kApiPort)};
    dso.token = dns_token;
    s.world.FindHost(cp)->AddProcess("coredns", [dso](Env& env) { return std::make_unique<dns::DnsServer>(env, dso); });
  }
}

std::optional<std::string> SimCluster::CallService(const std::string& address, const std::string& path, Nanos timeout) {
  State& s = *s_;
  struct Outcome {
    bool done = false;
    std::optional<std::string> body;
  };
  auto outcome = std::make_shared<Outcome>();
  ConnectionHandlers h;
  h.on_frame = [outcome](std::string_view frame) {
    http1::Response r;
    if (http1::ParseResponse(frame, &r).ok() && r.status == 200) outcome->body = r.body;
    outcome->done = true;
  };
  h.on_closed = [outcome](const Status&) { outcome->done = true; };
  std::shared_ptr<Connection> conn = s.client_env->transport->Connect(address, std::move(h), nullptr);
  if (conn == nullptr) return std::nullopt;
  (void)conn->Send(http1::FormatRequest(http1::Get(address, path)));
  s.world.RunUntilCondition([&] { return outcome->done; }, s.world.now() + timeout);
  conn->Close();
  return outcome->body;
}

std::optional<std::string> SimCluster::ResolveName(const std::string& name, Nanos timeout) {
  State& s = *s_;
  dns::DnsConfig config;
  config.servers = {std::string(kClusterDnsIp)};
  dns::Resolver resolver(*s.client_env, config, timeout);
  bool done = false;
  std::optional<std::string> answer;
  resolver.Resolve(name, dns::kTypeA, [&](Status st, const dns::Resolution& r) {
    done = true;
    for (const dns::ResourceRecord& rr : r.answers) {
      if (!st.ok() || rr.type != dns::kTypeA || rr.rdata.size() != 4) continue;
      const auto* b = reinterpret_cast<const unsigned char*>(rr.rdata.data());
      answer = fmt::format("{}.{}.{}.{}", b[0], b[1], b[2], b[3]);
      break;
    }
  });
  s.world.RunUntilCondition([&] { return done; }, s.world.now() + timeout + Seconds(1));
  return answer;
}

}  // namespace ksim::scenarios
