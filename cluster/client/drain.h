// The eviction API from the client side (`kubectl drain`'s part): EvictPod POSTs a
// policy/v1 Eviction to pods/<name>/eviction; Drainer cordons a node and evicts its pods
// (all but DaemonSet and mirror pods), retrying refusals by a disruption budget (429)
// every retry_interval until timeout, then waits for the evicted pods to be gone. As
// kubectl, it evicts nothing when a pod no controller manages is there (unless `force`)
// or a pod with an emptyDir volume (unless `delete_emptydir_data`).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/client/api_client.h"

namespace ksim::client {

// POST pods/<name>/eviction. 201: the pod is being deleted; 429 TooManyRequests: its
// disruption budget does not allow it now (try again); 500: several budgets match it.
void EvictPod(ApiClient& client, const std::string& ns, const std::string& name, const api::DeleteOptions& options,
              ApiClient::Done done);

struct DrainOptions {
  Nanos retry_interval = Seconds(5);  // kubectl drain retries a 429 after 5 s
  Nanos timeout = Seconds(0);         // --timeout; 0: no limit
  Nanos poll = Seconds(1);            // how often the pods' deletion is checked
  api::DeleteOptions delete_options;  // --grace-period as gracePeriodSeconds
  bool force = false;                 // --force: evict pods no controller manages too
  bool delete_emptydir_data = false;  // --delete-emptydir-data: evict pods with emptyDir volumes
};

struct DrainResult {
  Status status;                      // OK: every pod evicted and gone
  std::vector<std::string> evicted;   // "ns/name", in the order their evictions succeeded
  std::vector<std::string> skipped;   // DaemonSet and mirror pods
  int refusals = 0;                   // 429s retried
};

// One drain of one node. Deterministic: no threads, timers on the env's clock.
class Drainer {
 public:
  Drainer(Env& env, ApiClient* client, DrainOptions options = {});
  ~Drainer();
  Drainer(const Drainer&) = delete;
  Drainer& operator=(const Drainer&) = delete;

  // Cordons `node` (spec.unschedulable), then evicts its pods; `done` is called once.
  void Drain(const std::string& node, std::function<void(const DrainResult&)> done);

 private:
  void Cordon(int attempt);
  void ListPods();
  void Evict(const api::Pod& pod);
  void WaitGone();
  void Finish(Status s);
  bool TimedOut() const;

  Env& env_;
  ApiClient* client_;
  DrainOptions options_;
  std::string node_;
  Nanos deadline_{0};
  std::function<void(const DrainResult&)> done_;
  DrainResult result_;
  int evicting_ = 0;                                  // evictions not yet answered 201/404
  std::map<std::string, std::string> waiting_gone_;   // "ns/name" -> uid
  bool finished_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// kubectl drain's filters: a pod controlled by a DaemonSet or a mirror pod of a static
// pod is left where it is.
bool DrainSkips(const api::Pod& pod);
// Why kubectl drain refuses to evict `pod` with these options ("" when it may): a pod not
// Succeeded/Failed that has an emptyDir volume (without delete_emptydir_data) or no
// controller (without force).
std::string DrainRefusal(const api::Pod& pod, const DrainOptions& options);

}  // namespace ksim::client
