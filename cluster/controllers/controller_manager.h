// ControllerManager: the kube-controller-manager process. It owns one API client, the
// shared informers, the controllers and a leader elector on the Lease
// kube-system/kube-controller-manager: every replica keeps its informers warm, and only the
// one holding the lease runs its controllers (Start on acquiring, Stop on losing; a replica
// that lost keeps competing). Every mutating call the controllers send is reported through
// options.on_write with this replica's identity and whether it was acting.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/client/api_client.h"
#include "cluster/client/leader_election.h"
#include "cluster/controllers/controller.h"
#include "cluster/controllers/informer_factory.h"
#include "cluster/controllers/options.h"
#include "cluster/env/env.h"
#include "cluster/env/process.h"

namespace ksim::controllers {

struct ControllerManagerStats {
  uint64_t writes = 0;              // mutating calls sent by controllers
  uint64_t writes_not_acting = 0;   // ...of which while not acting (must stay 0)
  uint64_t started_leading = 0;
  uint64_t stopped_leading = 0;
};

class ControllerManager : public Process {
 public:
  ControllerManager(Env& env, ControllerManagerOptions options);
  ~ControllerManager() override;
  ControllerManager(const ControllerManager&) = delete;
  ControllerManager& operator=(const ControllerManager&) = delete;

  void Start() override;

  // Not OK when the options were rejected (the message names the flag); nothing runs then.
  const Status& config_status() const { return config_status_; }
  bool IsLeader() const;
  const std::string& identity() const { return identity_; }
  bool HasSynced() const { return informers_ != nullptr && informers_->HasSynced(); }
  // The controller named `name` ("nodeipam", "nodelifecycle", or an extra one), or null.
  Controller* Find(const std::string& name) const;
  template <typename T>
  T* Get(const std::string& name) const {
    return dynamic_cast<T*>(Find(name));
  }
  const ControllerManagerStats& stats() const { return stats_; }

 private:
  bool Enabled(const std::string& name) const;
  void OnRequest(const apiserver::Request& request);
  void StartControllers();
  void StopControllers();

  Env& env_;
  ControllerManagerOptions options_;
  std::string identity_;
  Status config_status_;
  std::unique_ptr<client::ApiClient> client_;
  std::unique_ptr<SharedInformerFactory> informers_;
  std::unique_ptr<ControllerContext> context_;
  std::vector<std::pair<std::string, std::unique_ptr<Controller>>> controllers_;
  std::unique_ptr<client::LeaderElector> elector_;
  bool leading_ = false;
  ControllerManagerStats stats_;
};

}  // namespace ksim::controllers
