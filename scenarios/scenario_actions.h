// The timeline's API actions, as kubectl would send them, through the SimCluster's admin
// client. Asynchronous: the world keeps running while a call is out (a drain may take
// minutes), and the outcome reaches `log` when it arrives.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "scenarios/scenario.h"
#include "scenarios/sim_cluster.h"

namespace ksim::client {
class Drainer;
}

namespace ksim::scenarios {

class ApiActions {
 public:
  // `log(line, failed)` records an outcome in the run's event log.
  ApiActions(SimCluster& cluster, std::function<void(const std::string&, bool failed)> log);
  ~ApiActions();
  ApiActions(const ApiActions&) = delete;
  ApiActions& operator=(const ApiActions&) = delete;

  // Starts the action of `entry` (REQUIRES: !entry.is_fault).
  void Start(const TimelineEntry& entry);

 private:
  void Apply(const TimelineEntry& entry);
  void Drain(const TimelineEntry& entry);
  void Patch(const std::string& what, const std::string& kind, const std::string& ns, const std::string& name,
             const std::string& content_type, const std::string& body);

  SimCluster& cluster_;
  std::function<void(const std::string&, bool)> log_;
  std::vector<std::unique_ptr<client::Drainer>> drainers_;  // alive until the run ends
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::scenarios
