// A minimal EndpointSlice controller, kept for the proxy and DNS unit tests (a standalone
// class with Idle()); clusters run Kubernetes' own in the controller-manager
// (cluster/controllers/endpointslice.h):
// for every Service with a selector, EndpointSlices listing the matching pods that have an
// IP — conditions ready/serving/terminating from the pod's Ready condition and
// deletionTimestamp, ports from each Service port's targetPort (numbers, or names looked
// up in the pod's container ports), nodeName, zone, at most 100 endpoints per slice,
// labelled kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by. Slices
// of deleted or selector-less Services are deleted. docs/NETWORKING.md.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/api/discovery.pb.h"
#include "cluster/client/api_client.h"
#include "cluster/client/informer.h"
#include "cluster/client/workqueue.h"
#include "cluster/env/env.h"

namespace ksim::proxy {

inline constexpr char kServiceNameLabel[] = "kubernetes.io/service-name";
inline constexpr char kManagedByLabel[] = "endpointslice.kubernetes.io/managed-by";
inline constexpr char kManagedBy[] = "endpointslice-controller.k8s.io";
inline constexpr char kZoneLabel[] = "topology.kubernetes.io/zone";

// The slices `service` should have, given the pods of its namespace (any order) and the
// zone of each node. Named <service>-<n> in a stable order; endpoints sorted by pod.
std::vector<api::EndpointSlice> DesiredEndpointSlices(const api::Service& service,
                                                      const std::vector<const api::Pod*>& pods,
                                                      const std::map<std::string, std::string>& node_zones,
                                                      size_t max_endpoints_per_slice = 100);

struct EndpointSliceControllerOptions {
  size_t max_endpoints_per_slice = 100;  // Kubernetes' --max-endpoints-per-slice default
  size_t max_queued_services = 100000;
};

class EndpointSliceController {
 public:
  // REQUIRES: env and client outlive the controller.
  EndpointSliceController(Env& env, client::ApiClient* client, EndpointSliceControllerOptions options = {});
  ~EndpointSliceController();
  void Start();

  // Every informer has listed, no Service waits (queued or backing off after a failed
  // write) and no write is in flight.
  bool Idle() const;
  uint64_t writes() const { return writes_; }

 private:
  void EnqueueService(const std::string& key);
  void EnqueueForPod(const api::Pod& pod);
  void Work();
  void Reconcile(const std::string& key);
  void Finished(const std::string& key, bool ok);

  Env& env_;
  client::ApiClient* client_;
  EndpointSliceControllerOptions options_;
  std::unique_ptr<client::Informer> services_;
  std::unique_ptr<client::Informer> pods_;
  std::unique_ptr<client::Informer> slices_;
  std::unique_ptr<client::Informer> nodes_;
  client::WorkQueue queue_;
  int in_flight_ = 0;  // services being written
  std::set<std::string> backing_off_;
  uint64_t writes_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::proxy
