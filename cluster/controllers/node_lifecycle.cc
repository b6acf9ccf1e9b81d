#include "cluster/controllers/node_lifecycle.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "cluster/api/coordination.pb.h"
#include "cluster/api/options.pb.h"
#include "cluster/api/registry.h"

namespace ksim::controllers {
namespace {

const api::KindInfo& Kind(const char* group, const char* resource) {
  return *api::Registry::Default().ByGroupResource(group, resource);
}

std::string TsKey(const google::protobuf::Timestamp& t) { return fmt::format("{}.{}", t.seconds(), t.nanos()); }

google::protobuf::Timestamp WallTs(const Env& env) {
  google::protobuf::Timestamp t;
  t.set_seconds(env.clock->WallNow().count() / 1'000'000'000);
  return t;
}

// One node per interval at `rate` nodes per second; 0 = never.
Nanos Interval(double rate) {
  if (!(rate > 0)) return Nanos(0);
  return Nanos(static_cast<int64_t>(std::llround(1e9 / rate)));
}

api::ObjectReference PodRef(const api::Pod& pod) {
  api::ObjectReference ref;
  ref.set_kind("Pod");
  ref.set_api_version("v1");
  ref.set_namespace_(pod.metadata().namespace_());
  ref.set_name(pod.metadata().name());
  ref.set_uid(pod.metadata().uid());
  return ref;
}

constexpr const char* kConditionTypes[] = {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"};

}  // namespace

std::unique_ptr<NodeLifecycleController> NodeLifecycleController::Create(ControllerContext& ctx, Status* error) {
  const ControllerManagerOptions& o = ctx.options;
  auto bad = [error](std::string message) {
    *error = Status::InvalidArgument(std::move(message));
    return nullptr;
  };
  if (o.node_monitor_period <= Nanos(0)) return bad("--node-monitor-period must be positive");
  if (o.node_monitor_grace_period <= Nanos(0)) return bad("--node-monitor-grace-period must be positive");
  if (o.node_startup_grace_period <= Nanos(0)) return bad("--node-startup-grace-period must be positive");
  if (!(o.node_eviction_rate >= 0)) return bad("--node-eviction-rate must not be negative");
  if (!(o.secondary_node_eviction_rate >= 0)) return bad("--secondary-node-eviction-rate must not be negative");
  if (!(o.unhealthy_zone_threshold > 0 && o.unhealthy_zone_threshold <= 1)) {
    return bad("--unhealthy-zone-threshold must be in (0, 1]");
  }
  *error = Status::Ok();
  return std::make_unique<NodeLifecycleController>(ctx);
}

NodeLifecycleController::NodeLifecycleController(ControllerContext& ctx)
    : ctx_(ctx),
      nodes_(ctx.informers->For(Kind("", "nodes"))),
      leases_(ctx.informers->For(Kind("coordination.k8s.io", "leases"))),
      pods_(ctx.informers->For(Kind("", "pods"))) {
  recorder_ = ctx_.NewRecorder("node-controller");
  pods_->AddIndex("spec.nodeName", [](const google::protobuf::Message& m) {
    const auto& pod = static_cast<const api::Pod&>(m);
    return pod.spec().node_name().empty() ? std::vector<std::string>{} : std::vector<std::string>{pod.spec().node_name()};
  });
  nodes_->AddHandlers({nullptr,
                       [this](const client::ObjectPtr& old_object, const client::ObjectPtr& new_object) {
                         const auto& a = static_cast<const api::Node&>(*old_object);
                         const auto& b = static_cast<const api::Node&>(*new_object);
                         if (synced_ && Acting() && NoExecuteTaints(a).size() + NoExecuteTaints(b).size() > 0) {
                           ReconcileEvictions(b);
                         }
                       },
                       [this](const client::ObjectPtr& o) { health_.erase(static_cast<const api::Node&>(*o).metadata().name()); }});
  auto on_pod = [this](const client::ObjectPtr& o) {
    const auto& pod = static_cast<const api::Pod&>(*o);
    if (!synced_ || !Acting() || pod.spec().node_name().empty()) return;
    client::ObjectPtr node = nodes_->Get(pod.spec().node_name());
    if (node != nullptr && !NoExecuteTaints(static_cast<const api::Node&>(*node)).empty()) {
      ReconcileEvictions(static_cast<const api::Node&>(*node));
    }
  };
  pods_->AddHandlers({on_pod, [on_pod](const client::ObjectPtr&, const client::ObjectPtr& o) { on_pod(o); },
                      [this](const client::ObjectPtr& o) { evictions_.erase(client::Informer::KeyOf(*o)); }});
}

NodeLifecycleController::~NodeLifecycleController() {
  *alive_ = false;
  Stop();
}

ZoneState NodeLifecycleController::zone_state(const std::string& zone_key) const {
  auto it = zones_.find(zone_key);
  return it == zones_.end() ? ZoneState::kInitial : it->second.state;
}

void NodeLifecycleController::Start() {
  if (running_) return;
  running_ = true;
  synced_ = false;
  health_.clear();
  zones_.clear();
  evictions_.clear();
  all_disrupted_ = false;
  WaitForSync();
}

void NodeLifecycleController::Stop() {
  running_ = false;
  synced_ = false;
  for (TimerId* t : {&monitor_timer_, &taint_timer_, &eviction_timer_}) {
    if (*t != 0) ctx_.env.clock->Cancel(*t);
    *t = 0;
  }
  evictions_.clear();
  zones_.clear();
}

void NodeLifecycleController::WaitForSync() {
  if (!running_) return;
  if (ctx_.informers->HasSynced()) {
    synced_ = true;
    MonitorPass();
    return;
  }
  monitor_timer_ = ctx_.env.clock->Schedule(Milliseconds(100), [this, alive = alive_] {
    if (!*alive) return;
    monitor_timer_ = 0;
    WaitForSync();
  });
}

void NodeLifecycleController::MonitorPass() {
  monitor_timer_ = ctx_.env.clock->Schedule(ctx_.options.node_monitor_period, [this, alive = alive_] {
    if (!*alive) return;
    monitor_timer_ = 0;
    MonitorPass();
  });
  if (!Acting()) return;
  ++stats_.passes;
  std::map<std::string, std::pair<int, int>> counts;  // zone -> (ready, not ready)
  const auto nodes = nodes_->List();
  for (const auto& object : nodes) {
    const auto& node = static_cast<const api::Node&>(*object);
    const api::NodeCondition* observed = ReadyCondition(node);
    const std::string before = observed == nullptr ? "" : observed->status();
    const std::string current = CheckHealth(node, observed);
    auto& [ready, not_ready] = counts[ZoneKey(node)];
    (current == "True" ? ready : not_ready) += 1;
    if (before == "True" && current != "True") {
      recorder_->Event(node, "Normal", "NodeNotReady", fmt::format("Node {} status is now: NodeNotReady", node.metadata().name()));
      MarkPodsNotReady(node);
    }
    if (!all_disrupted_) ProcessTaints(node, observed);
    ReconcileEvictions(node);
  }
  HandleDisruption(counts);
  TaintPass();
}

std::string NodeLifecycleController::CheckHealth(const api::Node& node, const api::NodeCondition* observed) {
  const std::string& name = node.metadata().name();
  const Nanos now = Now();
  auto [it, fresh] = health_.try_emplace(name);
  Health& h = it->second;
  const std::string heartbeat = observed == nullptr ? "" : TsKey(observed->last_heartbeat_time());
  client::ObjectPtr lease = leases_->Get("kube-node-lease/" + name);
  const std::string lease_version =
      lease == nullptr ? "" : static_cast<const api::Lease&>(*lease).metadata().resource_version();
  if (fresh || heartbeat != h.heartbeat || (!lease_version.empty() && lease_version != h.lease_version)) h.probe = now;
  h.heartbeat = heartbeat;
  h.lease_version = lease_version;
  const Nanos grace = observed != nullptr ? ctx_.options.node_monitor_grace_period : ctx_.options.node_startup_grace_period;
  if (now - h.probe <= grace) return observed == nullptr ? "" : observed->status();
  bool all_unknown = true;
  for (const char* type : kConditionTypes) {
    bool found = false;
    for (const auto& c : node.status().conditions()) {
      if (c.type() == type) found = true, all_unknown = all_unknown && c.status() == "Unknown";
    }
    all_unknown = all_unknown && found;
  }
  if (all_unknown || writes_in_flight_.count(name) != 0) return "Unknown";
  api::Node updated = node;
  const auto wall = WallTs(ctx_.env);
  for (const char* type : kConditionTypes) {
    api::NodeCondition* condition = nullptr;
    for (auto& c : *updated.mutable_status()->mutable_conditions()) {
      if (c.type() == type) condition = &c;
    }
    if (condition == nullptr) {
      condition = updated.mutable_status()->add_conditions();
      condition->set_type(type);
      condition->set_status("Unknown");
      condition->set_reason("NodeStatusNeverUpdated");
      condition->set_message("Kubelet never posted node status.");
      *condition->mutable_last_heartbeat_time() = node.metadata().creation_timestamp();
      *condition->mutable_last_transition_time() = wall;
    } else if (condition->status() != "Unknown") {
      condition->set_status("Unknown");
      condition->set_reason("NodeStatusUnknown");
      condition->set_message("Kubelet stopped posting node status.");
      *condition->mutable_last_transition_time() = wall;
    }
  }
  writes_in_flight_.insert(name);
  ctx_.client->Update(
      Kind("", "nodes"), updated,
      [this, alive = alive_, name](const client::ApiResult& r) {
        if (!*alive) return;
        writes_in_flight_.erase(name);
        if (r.ok()) ++stats_.marked_unknown;
      },
      "status");
  return "Unknown";
}

void NodeLifecycleController::MarkPodsNotReady(const api::Node& node) {
  for (const auto& object : pods_->ByIndex("spec.nodeName", node.metadata().name())) {
    const auto& pod = static_cast<const api::Pod&>(*object);
    bool ready = false;
    for (const auto& c : pod.status().conditions()) ready = ready || (c.type() == "Ready" && c.status() == "True");
    if (!ready) continue;
    api::Pod updated = pod;
    for (auto& c : *updated.mutable_status()->mutable_conditions()) {
      if (c.type() != "Ready") continue;
      c.set_status("False");
      *c.mutable_last_transition_time() = WallTs(ctx_.env);
    }
    recorder_->Event(PodRef(pod), "Warning", "NodeNotReady", "Node is not ready");
    ctx_.client->Update(
        Kind("", "pods"), updated,
        [this, alive = alive_](const client::ApiResult& r) {
          if (*alive && r.ok()) ++stats_.pods_marked_not_ready;
        },
        "status");
  }
}

void NodeLifecycleController::ProcessTaints(const api::Node& node, const api::NodeCondition* observed) {
  if (observed == nullptr) return;
  const std::string& name = node.metadata().name();
  const bool not_ready = HasTaint(node, kTaintNotReady);
  const bool unreachable = HasTaint(node, kTaintUnreachable);
  if (observed->status() == "False") {
    if (unreachable) {
      WriteTaints(name, kTaintNotReady);
    } else if (!not_ready) {
      Enqueue(ZoneKey(node), name);
    }
  } else if (observed->status() == "Unknown") {
    if (not_ready) {
      WriteTaints(name, kTaintUnreachable);
    } else if (!unreachable) {
      Enqueue(ZoneKey(node), name);
    }
  } else if (observed->status() == "True") {
    if (not_ready || unreachable) WriteTaints(name, "");
    auto z = zones_.find(ZoneKey(node));
    if (z != zones_.end() && z->second.queued.erase(name) != 0) {
      auto& q = z->second.nodes;
      q.erase(std::remove(q.begin(), q.end(), name), q.end());
    }
  }
}

void NodeLifecycleController::WriteTaints(const std::string& name, const std::string& add) {
  if (!Acting() || writes_in_flight_.count(name) != 0) return;
  client::ObjectPtr object = nodes_->Get(name);
  if (object == nullptr) return;
  api::Node updated = static_cast<const api::Node&>(*object);
  auto* taints = updated.mutable_spec()->mutable_taints();
  // The two taints exclude each other: setting one removes the other; "" removes both.
  taints->erase(std::remove_if(taints->begin(), taints->end(),
                               [&add](const api::Taint& t) {
                                 return t.effect() == "NoExecute" && t.key() != add &&
                                        (t.key() == kTaintNotReady || t.key() == kTaintUnreachable);
                               }),
                taints->end());
  if (!add.empty() && !HasTaint(updated, add)) {
    api::Taint* t = taints->Add();
    t->set_key(add);
    t->set_effect("NoExecute");
    *t->mutable_time_added() = WallTs(ctx_.env);
  }
  writes_in_flight_.insert(name);
  ctx_.client->Update(Kind("", "nodes"), updated, [this, alive = alive_, name, add](const client::ApiResult& r) {
    if (!*alive) return;
    writes_in_flight_.erase(name);
    if (!r.ok()) return;  // the next pass tries again
    add.empty() ? ++stats_.taints_removed : ++stats_.taints_added;
  });
}

void NodeLifecycleController::Enqueue(const std::string& zone, const std::string& node) {
  auto [it, created] = zones_.try_emplace(zone);
  ZoneQueue& q = it->second;
  if (created) q.interval = Interval(ctx_.options.node_eviction_rate);
  if (q.queued.insert(node).second) q.nodes.push_back(node);
}

void NodeLifecycleController::SetZoneRate(ZoneQueue& queue, ZoneState state, int zone_size) {
  queue.state = state;
  if (state == ZoneState::kPartialDisruption) {
    queue.interval = zone_size > ctx_.options.large_cluster_size_threshold
                         ? Interval(ctx_.options.secondary_node_eviction_rate)
                         : Nanos(0);
  } else {
    queue.interval = Interval(ctx_.options.node_eviction_rate);
  }
}

void NodeLifecycleController::HandleDisruption(const std::map<std::string, std::pair<int, int>>& counts) {
  std::map<std::string, ZoneState> states;
  bool all_now = !counts.empty();
  for (const auto& [zone, c] : counts) {
    states[zone] = ComputeZoneState(c.first, c.second, ctx_.options.unhealthy_zone_threshold);
    all_now = all_now && states[zone] == ZoneState::kFullDisruption;
  }
  for (auto it = zones_.begin(); it != zones_.end();) {
    it = counts.count(it->first) == 0 ? zones_.erase(it) : std::next(it);
  }
  const bool all_was = all_disrupted_;
  if (all_now && !all_was) {
    // Every zone is down: most likely the control plane is cut off, not the nodes.
    all_disrupted_ = true;
    ctx_.env.log->Log(LogLevel::kInfo, "node-controller",
                      "every zone is fully disrupted: no tainting or eviction until a node is Ready");
    for (const auto& object : nodes_->List()) {
      const auto& node = static_cast<const api::Node&>(*object);
      if (HasTaint(node, kTaintNotReady) || HasTaint(node, kTaintUnreachable)) WriteTaints(node.metadata().name(), "");
    }
    for (auto& [zone, state] : states) {
      ZoneQueue& q = zones_[zone];
      q.state = state;
      q.interval = Nanos(0);
    }
    return;
  }
  if (all_was && !all_now) {
    all_disrupted_ = false;
    ctx_.env.log->Log(LogLevel::kInfo, "node-controller", "some nodes are Ready again: leaving full disruption");
    for (auto& [name, h] : health_) h.probe = Now();
  }
  if (all_now) return;
  for (const auto& [zone, state] : states) {
    auto [it, created] = zones_.try_emplace(zone);
    if (created || all_was || it->second.state != state) {
      SetZoneRate(it->second, state, counts.at(zone).first + counts.at(zone).second);
    }
  }
}

void NodeLifecycleController::TaintPass() {
  if (!Acting() || all_disrupted_) return;
  const Nanos now = Now();
  Nanos next = Nanos::max();
  for (auto& [zone, q] : zones_) {
    while (!q.nodes.empty() && q.interval > Nanos(0)) {
      if (q.last_accept >= Nanos(0) && now < q.last_accept + q.interval) {
        next = std::min(next, q.last_accept + q.interval);
        break;
      }
      const std::string name = q.nodes.front();
      q.nodes.pop_front();
      q.queued.erase(name);
      q.last_accept = now;
      client::ObjectPtr object = nodes_->Get(name);
      if (object == nullptr) continue;
      const api::NodeCondition* ready = ReadyCondition(static_cast<const api::Node&>(*object));
      if (ready == nullptr) continue;
      if (ready->status() == "False") WriteTaints(name, kTaintNotReady);
      if (ready->status() == "Unknown") WriteTaints(name, kTaintUnreachable);
    }
  }
  if (next != Nanos::max()) ArmTaintTimer(next);
}

void NodeLifecycleController::ArmTaintTimer(Nanos at) {
  if (taint_timer_ != 0 && taint_timer_at_ <= at) return;
  if (taint_timer_ != 0) ctx_.env.clock->Cancel(taint_timer_);
  taint_timer_at_ = at;
  taint_timer_ = ctx_.env.clock->Schedule(at - Now(), [this, alive = alive_] {
    if (!*alive) return;
    taint_timer_ = 0;
    TaintPass();
  });
}

void NodeLifecycleController::ReconcileEvictions(const api::Node& node) {
  const std::vector<api::Taint> taints = NoExecuteTaints(node);
  if (taints.empty() && evictions_.empty()) return;  // the common case: nothing to schedule or cancel
  for (const auto& object : pods_->ByIndex("spec.nodeName", node.metadata().name())) {
    const auto& pod = static_cast<const api::Pod&>(*object);
    const std::string key = client::Informer::KeyOf(pod);
    auto it = evictions_.find(key);
    if (taints.empty()) {
      if (it != evictions_.end() && !it->second.in_flight) {
        evictions_.erase(it);
        ++stats_.evictions_cancelled;
        recorder_->Event(PodRef(pod), "Normal", "TaintManagerEviction", fmt::format("Cancelling deletion of Pod {}", key));
      }
      continue;
    }
    if (pod.metadata().has_deletion_timestamp()) continue;
    if (it != evictions_.end() && it->second.uid == pod.metadata().uid()) continue;  // keep the earlier deadline
    std::optional<Nanos> tolerated = TolerationTime(pod.spec().tolerations(), taints);
    if (!tolerated) {
      if (it != evictions_.end()) evictions_.erase(it);
      continue;
    }
    evictions_[key] = Eviction{Now() + *tolerated, pod.metadata().uid(), node.metadata().name(), false};
  }
  ArmEvictionTimer();
}

void NodeLifecycleController::ArmEvictionTimer() {
  Nanos earliest = Nanos::max();
  for (const auto& [key, e] : evictions_) {
    if (!e.in_flight) earliest = std::min(earliest, e.at);
  }
  if (earliest == Nanos::max()) return;
  if (eviction_timer_ != 0 && eviction_timer_at_ <= earliest) return;
  if (eviction_timer_ != 0) ctx_.env.clock->Cancel(eviction_timer_);
  eviction_timer_at_ = earliest;
  eviction_timer_ = ctx_.env.clock->Schedule(std::max(Nanos(0), earliest - Now()), [this, alive = alive_] {
    if (!*alive) return;
    eviction_timer_ = 0;
    EvictDue();
  });
}

void NodeLifecycleController::EvictDue() {
  if (!Acting()) return;
  const Nanos now = Now();
  for (auto& [key, e] : evictions_) {
    if (e.in_flight || e.at > now) continue;
    client::ObjectPtr object = pods_->Get(key);
    if (object == nullptr) continue;
    const auto& pod = static_cast<const api::Pod&>(*object);
    e.in_flight = true;
    recorder_->Event(PodRef(pod), "Normal", "TaintManagerEviction", fmt::format("Marking for deletion Pod {}", key));
    api::DeleteOptions options;
    options.mutable_preconditions()->set_uid(e.uid);
    ctx_.client->Delete(Kind("", "pods"), pod.metadata().namespace_(), pod.metadata().name(), options,
                        [this, alive = alive_, key, uid = e.uid](const client::ApiResult& r) {
                          if (!*alive) return;
                          auto it = evictions_.find(key);
                          if (it == evictions_.end() || it->second.uid != uid) return;
                          if (r.ok() || r.code == 404 || r.code == 409) {
                            if (r.ok()) ++stats_.evictions;
                            evictions_.erase(it);
                            return;
                          }
                          it->second.in_flight = false;
                          it->second.at = Now() + Seconds(1);
                          ArmEvictionTimer();
                        });
  }
  ArmEvictionTimer();
}

}  // namespace ksim::controllers
