// Node IPAM controller (Kubernetes' nodeipam with the RangeAllocator): gives every Node a
// pod CIDR (spec.podCIDR and spec.podCIDRs) cut from --cluster-cidr, never the same one to
// two nodes, and takes it back when the node is deleted. When the range is exhausted the
// node gets a CIDRNotAvailable Event and is retried with back-off.
//
// Uniqueness across failovers: the set of used CIDRs is rebuilt from the nodes' own
// spec.podCIDRs every time this replica starts leading, before any allocation, and only
// after waiting request_timeout (+2 s) so that a write the previous leader sent has
// landed (and been seen) or failed. A CIDR picked for a node stays reserved for it until
// the node shows a CIDR or is deleted, so a write whose outcome is unknown is never
// given to another node.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "cluster/api/core.pb.h"
#include "cluster/client/event_recorder.h"
#include "cluster/controllers/cidr_set.h"
#include "cluster/controllers/controller.h"

namespace ksim::controllers {

struct NodeIpamStats {
  uint64_t allocations = 0;      // podCIDR writes acknowledged
  uint64_t write_failures = 0;
  uint64_t exhausted = 0;        // times no CIDR was free
  uint64_t rebuilds = 0;         // used set rebuilt from the nodes (once per leadership)
};

class NodeIpamController : public Controller {
 public:
  // nullptr and *error (naming the flag) when the CIDR options are invalid.
  static std::unique_ptr<NodeIpamController> Create(ControllerContext& ctx, Status* error);
  NodeIpamController(ControllerContext& ctx, CidrSet set);
  ~NodeIpamController() override;

  void Start() override;
  void Stop() override;
  const NodeIpamStats& stats() const { return stats_; }
  const CidrSet& cidrs() const { return set_; }

 private:
  void OnNode(const client::ObjectPtr& object);
  void OnNodeDelete(const client::ObjectPtr& object);
  void Rebuild();
  void Sync(const std::string& key, std::function<void(Status)> done);

  ControllerContext& ctx_;
  const CidrSet empty_set_;
  CidrSet set_;
  client::Informer* nodes_;
  std::unique_ptr<client::EventRecorder> recorder_;
  std::unique_ptr<ReconcileLoop> loop_;
  std::map<std::string, std::string> reserved_;  // node -> CIDR picked, write not yet seen
  TimerId settle_timer_ = 0;
  NodeIpamStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::controllers
