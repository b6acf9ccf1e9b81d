// A cheap node side for controller benchmarks: one process with one pod informer stands in
// for the scheduler and every kubelet. A new pod is bound round-robin to one of `nodes`
// Nodes (a Binding, as the scheduler writes); `ready_after` later its status becomes Running
// and Ready in one status write (a kubelet posts at least two); a bound pod being deleted
// is removed with grace 0 `stop_after` after its deletionTimestamp shows. There are no
// containers, no capacity checks and no node heartbeats: what a Deployment and its
// ReplicaSets see of pods, at the API's cost, and nothing more.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "cluster/client/api_client.h"
#include "cluster/client/informer.h"
#include "cluster/env/process.h"

namespace ksim::scenarios {

struct BenchPodRunnerOptions {
  client::ApiClientOptions client;
  std::string namespace_;
  int nodes = 1;                         // bound to BenchControlPlane::NodeName(0 .. nodes-1)
  Nanos ready_after = Seconds(1);        // from the bind's answer to Running and Ready
  Nanos stop_after = Seconds(1);         // from deletionTimestamp to gone
};

struct BenchPodRunnerStats {
  uint64_t binds = 0;
  uint64_t ready_writes = 0;
  uint64_t conflicts = 0;  // status writes retried on a newer version
  uint64_t removals = 0;
};

class BenchPodRunner : public Process {
 public:
  BenchPodRunner(Env& env, BenchPodRunnerOptions options);
  ~BenchPodRunner() override;
  void Start() override;
  const BenchPodRunnerStats& stats() const { return stats_; }

 private:
  void Observe(const client::ObjectPtr& o);
  void Bind(const std::string& ns, const std::string& name, const std::string& uid);
  void PostReady(const std::string& key, const std::string& uid);
  void After(Nanos d, std::function<void()> fn);

  Env& env_;
  BenchPodRunnerOptions options_;
  client::ApiClient client_;
  client::Informer pods_;
  std::set<std::string> bound_;     // uids bound (or being bound)
  std::set<std::string> readied_;   // uids whose Ready write is scheduled or done
  std::set<std::string> removing_;  // uids whose final delete is scheduled
  uint64_t next_node_ = 0;
  BenchPodRunnerStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::scenarios
