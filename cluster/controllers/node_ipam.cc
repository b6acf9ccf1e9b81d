#include "cluster/controllers/node_ipam.h"

#include <fmt/format.h>

#include <utility>

#include "cluster/api/registry.h"

namespace ksim::controllers {
namespace {

const api::KindInfo& NodesKind() { return *api::Registry::Default().ByGroupResource("", "nodes"); }

const api::Node& AsNode(const client::ObjectPtr& o) { return static_cast<const api::Node&>(*o); }

// The CIDRs a node holds: spec.podCIDRs, or spec.podCIDR alone (older writers).
std::vector<std::string> NodeCidrs(const api::Node& node) {
  std::vector<std::string> out(node.spec().pod_cidrs().begin(), node.spec().pod_cidrs().end());
  if (out.empty() && !node.spec().pod_cidr().empty()) out.push_back(node.spec().pod_cidr());
  return out;
}

}  // namespace

std::unique_ptr<NodeIpamController> NodeIpamController::Create(ControllerContext& ctx, Status* error) {
  CidrSet set;
  *error = CidrSet::Create(ctx.options.cluster_cidr, ctx.options.node_cidr_mask_size, &set);
  if (!error->ok()) return nullptr;
  return std::make_unique<NodeIpamController>(ctx, std::move(set));
}

NodeIpamController::NodeIpamController(ControllerContext& ctx, CidrSet set)
    : ctx_(ctx), empty_set_(set), set_(std::move(set)), nodes_(ctx.informers->For(NodesKind())) {
  recorder_ = ctx_.NewRecorder("cidrAllocator");
  loop_ = std::make_unique<ReconcileLoop>(
      ctx_, "nodeipam", [this](const std::string& key, std::function<void(Status)> done) { Sync(key, std::move(done)); });
  loop_->OnSynced([this] { Rebuild(); });
  nodes_->AddHandlers({[this](const client::ObjectPtr& o) { OnNode(o); },
                       [this](const client::ObjectPtr&, const client::ObjectPtr& o) { OnNode(o); },
                       [this](const client::ObjectPtr& o) { OnNodeDelete(o); }});
}

NodeIpamController::~NodeIpamController() {
  *alive_ = false;
  if (settle_timer_ != 0) ctx_.env.clock->Cancel(settle_timer_);
}

void NodeIpamController::Start() {
  // Wait out the previous leader's writes before reading the nodes (see the header).
  if (settle_timer_ != 0) return;
  settle_timer_ = ctx_.env.clock->Schedule(ctx_.options.request_timeout + Seconds(2), [this, alive = alive_] {
    if (!*alive) return;
    settle_timer_ = 0;
    loop_->Start();
  });
}

void NodeIpamController::Stop() {
  if (settle_timer_ != 0) ctx_.env.clock->Cancel(settle_timer_);
  settle_timer_ = 0;
  loop_->Stop();
}

void NodeIpamController::Rebuild() {
  ++stats_.rebuilds;
  set_ = empty_set_;
  reserved_.clear();
  for (const auto& object : nodes_->List()) {
    const api::Node& node = AsNode(object);
    for (const auto& cidr : NodeCidrs(node)) {
      if (Status s = set_.Occupy(cidr); !s.ok() && ctx_.env.log != nullptr) {
        ctx_.env.log->Log(LogLevel::kWarning, "nodeipam", fmt::format("node {}: {}", node.metadata().name(), s.message()));
      }
    }
    if (NodeCidrs(node).empty()) loop_->Add(node.metadata().name());
  }
}

void NodeIpamController::OnNode(const client::ObjectPtr& object) {
  const api::Node& node = AsNode(object);
  const std::string& name = node.metadata().name();
  const auto cidrs = NodeCidrs(node);
  if (cidrs.empty()) {
    loop_->Add(name);
    return;
  }
  if (!loop_->synced()) return;  // the set is rebuilt from the informer when leading starts
  for (const auto& cidr : cidrs) (void)set_.Occupy(cidr);
  auto it = reserved_.find(name);
  if (it != reserved_.end()) {
    // The node holds a CIDR: ours landed, or another writer's did (then ours is free again).
    bool ours = false;
    for (const auto& cidr : cidrs) ours = ours || cidr == it->second;
    if (!ours) set_.Release(it->second);
    reserved_.erase(it);
  }
}

void NodeIpamController::OnNodeDelete(const client::ObjectPtr& object) {
  const api::Node& node = AsNode(object);
  if (!loop_->synced()) return;
  for (const auto& cidr : NodeCidrs(node)) set_.Release(cidr);
  auto it = reserved_.find(node.metadata().name());
  if (it != reserved_.end()) {
    set_.Release(it->second);
    reserved_.erase(it);
  }
}

void NodeIpamController::Sync(const std::string& key, std::function<void(Status)> done) {
  client::ObjectPtr object = nodes_->Get(key);
  if (object == nullptr || !NodeCidrs(AsNode(object)).empty()) {
    done(Status::Ok());
    return;
  }
  const api::Node& node = AsNode(object);
  std::string cidr;
  if (auto it = reserved_.find(key); it != reserved_.end()) {
    cidr = it->second;
  } else if (auto next = set_.AllocateNext()) {
    cidr = *next;
    reserved_[key] = cidr;
  } else {
    ++stats_.exhausted;
    recorder_->Event(node, "Normal", "CIDRNotAvailable", fmt::format("Node {} status is now: CIDRNotAvailable", key));
    done(Status::Unavailable("no pod CIDR available"));
    return;
  }
  api::Node updated = node;
  updated.mutable_spec()->set_pod_cidr(cidr);
  updated.mutable_spec()->clear_pod_cidrs();
  updated.mutable_spec()->add_pod_cidrs(cidr);
  ctx_.client->Update(NodesKind(), updated, [this, alive = alive_, done = std::move(done), key, cidr](const client::ApiResult& r) {
    if (!*alive) return;
    if (r.ok()) {
      ++stats_.allocations;
      done(Status::Ok());
      return;
    }
    ++stats_.write_failures;
    if (ctx_.env.log != nullptr) {
      ctx_.env.log->Log(LogLevel::kInfo, "nodeipam", fmt::format("node {}: podCIDR {} not written: {}", key, cidr, r.Describe()));
    }
    done(Status::Unavailable(r.Describe()));
  });
}

}  // namespace ksim::controllers
