// SimCluster's state, shared by its .cc files (not an interface).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cluster/client/api_client.h"
#include "cluster/env/env.h"
#include "scenarios/sim_cluster.h"
#include "sim/world.h"

namespace ksim::scenarios {

struct SimCluster::State {
  State(SimClusterOptions o, const sim::WorldOptions& wo, const sim::NetworkOptions& no)
      : options(std::move(o)), world(options.seed, wo, no) {}
  SimClusterOptions options;
  sim::World world;
  std::vector<std::string> control_plane;
  std::vector<std::string> workers;
  std::vector<Address> store_members;
  std::vector<Address> apiservers;
  std::string token_file;
  // Drawn once from the seed and shared: every apiserver signs and checks service-account
  // tokens with this key; the controller-manager publishes this root CA (kube-root-ca.crt).
  std::string service_account_key_pem;
  std::string root_ca_pem;
  Env* client_env = nullptr;
  std::unique_ptr<client::ApiClient> admin;
  std::vector<std::string> fault_log;

  // Runs the world until `start`'s callback answered (at most `timeout`); a result whose
  // status is Timeout if it never did.
  client::ApiResult Call(const std::function<void(client::ApiClient::Done)>& start, Nanos timeout = Seconds(60));
};

// The service network's manifests (CoreDNS's RBAC, the kube-dns Service and its slice)
// and processes (kube-proxy, DNS servers); sim_cluster_network.cc.
std::string DnsManifests(const std::vector<std::string>& dns_ips);
void StartNetworkAddons(SimCluster::State& s, const std::string& proxy_token, const std::string& dns_token);

// "172.19.0.x": control-plane host i's address, i from 0.
std::string ControlPlaneIp(int index);

// "172.18.x.y": worker i's node IP (InternalIP), i from 0.
std::string WorkerNodeIp(int index);

}  // namespace ksim::scenarios
