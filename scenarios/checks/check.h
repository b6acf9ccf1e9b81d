// The checkers a scenario run drives (docs/SCENARIOS.md, "The runner"). A condition
// (`eventually:`, `atEnd:`) is a predicate on one moment; an invariant (`always:`) reports
// what is wrong at each observation. Both read a ClusterView: informers on the client host
// (the API's view) and the simulated world (what really runs), and the hooks the runner
// set in the SimCluster before it was built.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/client/informer.h"
#include "cluster/env/status.h"
#include "scenarios/scenario.h"
#include "scenarios/sim_cluster.h"

namespace ksim::scenarios::checks {

// Written by SimCluster hooks while the world runs; read (and drained) by invariants.
struct WorldHooks {
  // "cp-2/controller-manager wrote while not acting: update deployments default/web"
  std::vector<std::string> controller_writes_not_acting;
  // Every controller-manager write as it is sent (host, request), in send order; the
  // workload invariants (invariants_workloads.cc) add listeners when they are made.
  std::vector<std::function<void(const std::string& host, const apiserver::Request&)>> controller_write_listeners;
  // "cp-2_scheduler (cp-2) bound while not acting: bind pod default/web-1"
  std::vector<std::string> scheduler_binds_not_acting;
};

// Informers on the client host through the admin client's load balancer, started once
// the cluster is bootstrapped. Lists are bounded by the informers' pages.
class ClusterView {
 public:
  ClusterView(SimCluster& cluster, WorldHooks& hooks);
  ~ClusterView();
  ClusterView(const ClusterView&) = delete;
  ClusterView& operator=(const ClusterView&) = delete;

  // Starts every informer and runs the world until all have synced (or `timeout`).
  Status Start(Nanos timeout);

  SimCluster& cluster() { return cluster_; }
  WorldHooks& hooks() { return hooks_; }
  client::Informer& pods() { return *pods_; }
  client::Informer& nodes() { return *nodes_; }
  client::Informer& services() { return *services_; }
  client::Informer& deployments() { return *deployments_; }
  client::Informer& statefulsets() { return *statefulsets_; }
  client::Informer& daemonsets() { return *daemonsets_; }
  client::Informer& jobs() { return *jobs_; }

 private:
  SimCluster& cluster_;
  WorldHooks& hooks_;
  std::unique_ptr<client::Informer> pods_, nodes_, services_, deployments_, statefulsets_, daemonsets_, jobs_;
};

// podsBoundOnce's memory: the node each pod UID was first seen bound to.
class BindingLog {
 public:
  // A message when `uid` was seen bound to another node before ("" otherwise); remembers
  // the new node either way. An empty `node` (not bound yet) is ignored.
  std::string Seen(const std::string& uid, const std::string& pod, const std::string& node);
  void Forget(const std::string& uid) { bound_.erase(uid); }

 private:
  std::map<std::string, std::string> bound_;  // uid -> node
};

// SimClusterOptions::on_scheduler_bind for oneActingScheduler: records a binding sent by a
// scheduler that does not hold the lease, or while another scheduler holds it.
void OnSchedulerBind(SimCluster* cluster, WorldHooks* hooks, const std::string& host, const std::string& identity,
                     bool acting, const apiserver::Request& r);

// storeLinearizable's verdict on its Jepsen history (EDN lines, lincheck's kv model, every
// key initially nil): appends one message when it is not linearizable or cannot be decided.
void JudgeStoreHistory(const std::vector<std::string>& lines, std::vector<std::string>* violations);

class Check {
 public:
  virtual ~Check() = default;
  // Conditions: whether it holds now; `why` says why not (for the violation message).
  virtual bool Holds(ClusterView& view, std::string* why);
  // Invariants: appends what is wrong now (each becomes one violation).
  virtual void Observe(ClusterView& view, std::vector<std::string>* violations);
  // Invariants: once, after the run's last observation (checks judged on a whole history).
  virtual void Finish(ClusterView& view, std::vector<std::string>* violations);
};

// OK if MakeCheck has a checker for `e`; else NotSupported "<file:line:col>: not
// implemented yet: <name>" (checked before the cluster is built).
Status CheckImplemented(const Expectation& e);

// The checker of `e` (its kind of check follows e.when). NotSupported "not implemented
// yet: <name>" for a catalogue entry without one, so a run never passes it silently.
// REQUIRES: view outlives the check; invariants that watch events install their informer
// handlers here, so call before view.Start.
Status MakeCheck(const Expectation& e, ClusterView& view, std::unique_ptr<Check>* out);

}  // namespace ksim::scenarios::checks
