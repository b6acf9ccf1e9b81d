// Test fixture: a fake scheduler + kubelet for controller tests that need pods to run
// without the whole node side. One process watches every pod and, as told by a PodPlan
// chosen per pod, binds it to a node (a Binding, as the scheduler writes), posts Running
// and Ready (as a kubelet does), ends it Succeeded or Failed, and finishes a graceful
// delete (a bound pod with a deletionTimestamp is deleted with grace 0 after stop_after).
// Crashing or isolating its host freezes every pod where it is, as a dead node side does.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "cluster/api/core.pb.h"
#include "cluster/client/informer.h"
#include "cluster/env/process.h"
#include "cluster/env/wire.h"
#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::controllers::testing {

// What the fake node side does with one pod.
struct PodPlan {
  std::string node;                   // "" = leave it unbound (status is still posted)
  Nanos start_after = Seconds(1);     // Running this long after first seen (bound)
  std::optional<Nanos> ready_after = Seconds(0);  // Ready this long after Running; nullopt = never
  std::optional<Nanos> exit_after;    // terminates this long after Running
  int exit_code = 0;                  // 0: Succeeded, else Failed
  Nanos stop_after = Seconds(1);      // a deleting bound pod is removed this long after

  // Bound to `node`, Running after 1 s and Ready at once, gone 1 s after a delete.
  static PodPlan On(std::string node) {
    PodPlan p;
    p.node = std::move(node);
    return p;
  }
};
using PodPlanner = std::function<PodPlan(const api::Pod&)>;

class FakePodRunner : public Process {
 public:
  FakePodRunner(Env& env, client::ApiClientOptions co, PodPlanner planner)
      : env_(env), client_(env, std::move(co)), planner_(std::move(planner)),
        pods_(env, &client_, apiserver::testing::Kind("", "pods")) {}
  ~FakePodRunner() override { *alive_ = false; }

  void Start() override {
    pods_.AddHandlers({.on_add = [this](const client::ObjectPtr& o) { Observe(o); },
                       .on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& o) { Observe(o); },
                       .on_delete = [this](const client::ObjectPtr& o) { Forget(o); }});
    pods_.Start();
  }
  // A slow node side (an overloaded kubelet): every step scheduled from now on waits this
  // much longer (0: back to the plan's times).
  void SetExtraDelay(Nanos extra) { extra_delay_ = extra; }
  // Pods this runner has ended (uid -> phase); tests count completions with it.
  const std::map<std::string, std::string>& ended() const { return ended_; }

 private:
  static const api::Pod& AsPod(const client::ObjectPtr& o) { return static_cast<const api::Pod&>(*o); }

  void Observe(const client::ObjectPtr& o) {
    const api::Pod& pod = AsPod(o);
    const std::string& uid = pod.metadata().uid();
    if (pod.metadata().has_deletion_timestamp()) {
      if (!pod.spec().node_name().empty() && deleting_.insert(uid).second) {
        const Nanos after = planner_(pod).stop_after;
        After(after, [this, ns = pod.metadata().namespace_(), name = pod.metadata().name(), uid] {
          api::DeleteOptions opts;
          opts.set_grace_period_seconds(0);
          opts.mutable_preconditions()->set_uid(uid);
          client_.Delete(apiserver::testing::Kind("", "pods"), ns, name, opts, [](const client::ApiResult&) {});
        });
      }
      return;
    }
    if (!seen_.insert(uid).second) return;
    const PodPlan plan = planner_(pod);
    if (!plan.node.empty() && pod.spec().node_name().empty()) Bind(pod, plan.node);
    After(plan.start_after, [this, key = client::Informer::KeyOf(pod), uid, plan] {
      Post(key, uid, "Running", false);
      if (plan.ready_after) After(*plan.ready_after, [this, key, uid] { Post(key, uid, "Running", true); });
      if (plan.exit_after) {
        After(*plan.exit_after, [this, key, uid, code = plan.exit_code] {
          Post(key, uid, code == 0 ? "Succeeded" : "Failed", false, code);
        });
      }
    });
  }

  void Forget(const client::ObjectPtr& o) {
    seen_.erase(AsPod(o).metadata().uid());
    latest_.erase(AsPod(o).metadata().uid());
    deleting_.erase(AsPod(o).metadata().uid());
  }

  void Bind(const api::Pod& pod, const std::string& node) {
    api::Binding b;
    b.mutable_metadata()->set_name(pod.metadata().name());
    b.mutable_metadata()->set_namespace_(pod.metadata().namespace_());
    b.mutable_metadata()->set_uid(pod.metadata().uid());
    b.mutable_target()->set_kind("Node");
    b.mutable_target()->set_name(node);
    apiserver::Request r;
    r.set_verb("create");
    r.set_version("v1");
    r.set_resource("pods");
    r.set_subresource("binding");
    r.set_namespace_(pod.metadata().namespace_());
    r.set_name(pod.metadata().name());
    SerializeDeterministic(b, r.mutable_body());
    client_.Do(std::move(r), [](const client::ApiResult&) {});
  }

  // Writes phase and readiness onto the pod as the apiserver has it now (if it is still
  // the same pod and not terminal or deleting).
  // A failure other than 404 is retried; a later Post for the pod supersedes an earlier
  // one still retrying (so a retry of "Running" never overwrites "Ready" posted meanwhile).
  void Post(const std::string& key, const std::string& uid, const std::string& phase, bool ready, int exit_code = 0,
            uint64_t seq = 0) {
    if (seq == 0) latest_[uid] = seq = ++posts_;
    if (latest_[uid] != seq) return;
    const auto slash = key.find('/');
    client_.Get(apiserver::testing::Kind("", "pods"), key.substr(0, slash), key.substr(slash + 1),
                [this, alive = alive_, key, uid, phase, ready, exit_code, seq](const client::ApiResult& r) {
                  api::Pod p;
                  if (!*alive || latest_[uid] != seq || r.code == 404) return;
                  if (!r.ok() || !p.ParseFromString(r.body)) {  // e.g. an apiserver restarting
                    After(Milliseconds(100), [this, key, uid, phase, ready, exit_code, seq] {
                      Post(key, uid, phase, ready, exit_code, seq);
                    });
                    return;
                  }
                  Write(std::move(p), key, uid, phase, ready, exit_code, seq);
                });
  }

  void Write(api::Pod p, const std::string& key, const std::string& uid, const std::string& phase, bool ready,
             int exit_code, uint64_t seq) {
    if (p.metadata().uid() != uid || p.metadata().has_deletion_timestamp()) return;
    if (p.status().phase() == "Succeeded" || p.status().phase() == "Failed") return;
    const bool terminal = phase == "Succeeded" || phase == "Failed";
    if (terminal) ended_[uid] = phase;
    google::protobuf::Timestamp now;
    now.set_seconds(env_.clock->WallNow().count() / 1'000'000'000);
    p.mutable_status()->set_phase(phase);
    if (!p.status().has_start_time()) *p.mutable_status()->mutable_start_time() = now;
    p.mutable_status()->clear_conditions();
    for (const char* type : {"PodScheduled", "Initialized", "ContainersReady", "Ready"}) {
      auto* c = p.mutable_status()->add_conditions();
      c->set_type(type);
      const bool is_ready = std::string(type) == "Ready" || std::string(type) == "ContainersReady";
      c->set_status(!is_ready || ready ? "True" : "False");
      if (terminal && is_ready) c->set_reason("PodCompleted");
      *c->mutable_last_transition_time() = now;
    }
    p.mutable_status()->clear_container_statuses();
    for (const auto& container : p.spec().containers()) {
      auto* cs = p.mutable_status()->add_container_statuses();
      cs->set_name(container.name());
      cs->set_image(container.image());
      cs->set_ready(ready);
      cs->set_started(!terminal);
      if (terminal) {
        auto* t = cs->mutable_state()->mutable_terminated();
        t->set_exit_code(exit_code);
        t->set_reason(exit_code == 0 ? "Completed" : "Error");
        *t->mutable_finished_at() = now;
      } else {
        *cs->mutable_state()->mutable_running()->mutable_started_at() = now;
      }
    }
    client_.Update(apiserver::testing::Kind("", "pods"), p,
                   [this, alive = alive_, key, uid, phase, ready, exit_code, seq](const client::ApiResult& r) {
                     if (!*alive || r.ok() || r.code == 404) return;
                     if (phase == "Succeeded" || phase == "Failed") ended_.erase(uid);
                     After(Milliseconds(100), [this, key, uid, phase, ready, exit_code, seq] {
                       Post(key, uid, phase, ready, exit_code, seq);
                     });
                   },
                   "status");
  }

  void After(Nanos d, std::function<void()> fn) {
    env_.clock->Schedule(d + extra_delay_, [alive = alive_, fn = std::move(fn)] {
      if (*alive) fn();
    });
  }

  Env& env_;
  client::ApiClient client_;
  PodPlanner planner_;
  client::Informer pods_;
  std::set<std::string> seen_;      // uids given a plan
  std::set<std::string> deleting_;  // uids whose final delete is scheduled
  std::map<std::string, std::string> ended_;
  std::map<std::string, uint64_t> latest_;  // uid -> the Post that counts
  uint64_t posts_ = 0;
  Nanos extra_delay_ = Nanos(0);
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::controllers::testing
