// DnsServer: cluster DNS (the kube-dns Service's backend), answering RFC 1035 queries, one
// message per Transport frame on port 53, from informers of Services, EndpointSlices and
// Pods, after Kubernetes' DNS specification for Services and Pods:
//   <svc>.<ns>.svc.<zone>              A: the ClusterIP; headless: the ready endpoints;
//                                      ExternalName: a CNAME
//   <host>.<svc>.<ns>.svc.<zone>       A: a headless Service's endpoint (hostname or a-b-c-d)
//   _<port>._<proto>.<svc>.<ns>.svc.<zone>  SRV for named ports (headless: one per endpoint)
//   <a-b-c-d>.<ns>.pod.<zone>          A: that IP, if a pod of the namespace has it
// Names that exist without records of the asked type answer NOERROR with no answers;
// names that do not exist NXDOMAIN (both with the zone's SOA for negative caching); names
// outside the zone REFUSED. docs/NETWORKING.md ("DNS").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/client/api_client.h"
#include "cluster/client/informer.h"
#include "cluster/dns/message.h"
#include "cluster/env/env.h"
#include "cluster/env/process.h"

namespace ksim::dns {

struct DnsServerOptions {
  std::vector<Address> api_endpoints;
  std::string token;
  uint16_t port = 53;
  std::string zone = "cluster.local";
  uint32_t ttl_seconds = 5;  // CoreDNS' kubernetes plugin default
  bool verify_pods = true;   // pod names answer only for IPs a pod of the namespace has
  size_t max_connections = 10000;
};

struct DnsServerStats {
  uint64_t queries = 0;
  uint64_t malformed = 0;
};

class DnsServer : public Process {
 public:
  // REQUIRES: options.api_endpoints non-empty.
  DnsServer(Env& env, DnsServerOptions options);
  ~DnsServer() override;
  void Start() override;

  // The answer to `query` from what the informers hold now.
  Message Answer(const Message& query) const;
  // Every informer has listed.
  bool Ready() const;
  const DnsServerStats& stats() const { return stats_; }

 private:
  void OnFrame(uint64_t conn, std::string_view frame);
  void AnswerService(const std::vector<std::string>& labels, const Question& q, Message* reply) const;
  std::vector<std::pair<std::string, uint32_t>> ReadyEndpoints(const std::string& ns, const std::string& svc,
                                                               const std::string& port_name,
                                                               std::vector<uint16_t>* ports) const;

  Env& env_;
  DnsServerOptions options_;
  std::unique_ptr<client::ApiClient> client_;
  std::unique_ptr<client::Informer> services_;
  std::unique_ptr<client::Informer> slices_;
  std::unique_ptr<client::Informer> pods_;
  std::map<uint64_t, std::shared_ptr<Connection>> conns_;
  uint64_t next_conn_ = 1;
  DnsServerStats stats_;
};

}  // namespace ksim::dns
