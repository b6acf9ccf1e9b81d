#include "scenarios/bench_pod_runner.h"

#include <fmt/format.h>

#include "cluster/api/codec.h"
#include "cluster/api/core.pb.h"
#include "cluster/env/wire.h"
#include "scenarios/bench_control_plane.h"

namespace ksim::scenarios {

namespace {

const api::Pod& AsPod(const client::ObjectPtr& o) { return static_cast<const api::Pod&>(*o); }

client::InformerOptions PodInformerOptions(const std::string& ns) {
  client::InformerOptions io;
  io.namespace_ = ns;
  return io;
}

}  // namespace

BenchPodRunner::BenchPodRunner(Env& env, BenchPodRunnerOptions options)
    : env_(env), options_(std::move(options)), client_(env, options_.client),
      pods_(env, &client_, BenchKind("", "pods"), PodInformerOptions(options_.namespace_)) {}

BenchPodRunner::~BenchPodRunner() { *alive_ = false; }

void BenchPodRunner::Start() {
  pods_.AddHandlers({.on_add = [this](const client::ObjectPtr& o) { Observe(o); },
                     .on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& o) { Observe(o); },
                     .on_delete =
                         [this](const client::ObjectPtr& o) {
                           const std::string& uid = AsPod(o).metadata().uid();
                           bound_.erase(uid);
                           readied_.erase(uid);
                           removing_.erase(uid);
                         }});
  pods_.Start();
}

void BenchPodRunner::After(Nanos d, std::function<void()> fn) {
  env_.clock->Schedule(d, [alive = alive_, fn = std::move(fn)] {
    if (*alive) fn();
  });
}

void BenchPodRunner::Observe(const client::ObjectPtr& o) {
  const api::Pod& pod = AsPod(o);
  const std::string& uid = pod.metadata().uid();
  if (pod.metadata().has_deletion_timestamp()) {
    if (pod.spec().node_name().empty() || !removing_.insert(uid).second) return;
    After(options_.stop_after, [this, ns = pod.metadata().namespace_(), name = pod.metadata().name(), uid] {
      api::DeleteOptions opts;
      opts.set_grace_period_seconds(0);
      opts.mutable_preconditions()->set_uid(uid);
      ++stats_.removals;
      client_.Delete(BenchKind("", "pods"), ns, name, opts, [](const client::ApiResult&) {});
    });
    return;
  }
  if (pod.spec().node_name().empty()) {
    if (bound_.insert(uid).second) Bind(pod.metadata().namespace_(), pod.metadata().name(), uid);
    return;
  }
  if (pod.status().phase() == "Running" || !readied_.insert(uid).second) return;
  After(options_.ready_after, [this, key = client::Informer::KeyOf(pod), uid] { PostReady(key, uid); });
}

void BenchPodRunner::Bind(const std::string& ns, const std::string& name, const std::string& uid) {
  api::Binding b;
  b.mutable_metadata()->set_name(name);
  b.mutable_metadata()->set_namespace_(ns);
  b.mutable_metadata()->set_uid(uid);
  b.mutable_target()->set_kind("Node");
  b.mutable_target()->set_name(BenchControlPlane::NodeName(static_cast<int>(next_node_++ % options_.nodes)));
  apiserver::Request r;
  r.set_verb("create");
  r.set_version("v1");
  r.set_resource("pods");
  r.set_subresource("binding");
  r.set_namespace_(ns);
  r.set_name(name);
  SerializeDeterministic(b, r.mutable_body());
  ++stats_.binds;
  client_.Do(std::move(r), [this, alive = alive_, uid](const client::ApiResult& res) {
    // Not bound (the pod went, or no answer): a later event of the pod may bind it again.
    if (*alive && !res.ok()) bound_.erase(uid);
  });
}

// Writes Running and Ready onto the informer's latest copy, guarded by its resourceVersion;
// a conflict (the copy was stale) tries again on the next.
void BenchPodRunner::PostReady(const std::string& key, const std::string& uid) {
  client::ObjectPtr cur = pods_.Get(key);
  if (cur == nullptr || AsPod(cur).metadata().uid() != uid || AsPod(cur).metadata().has_deletion_timestamp()) return;
  api::Pod p = AsPod(cur);
  google::protobuf::Timestamp now;
  now.set_seconds(env_.clock->WallNow().count() / 1'000'000'000);
  p.mutable_status()->set_phase("Running");
  *p.mutable_status()->mutable_start_time() = now;
  p.mutable_status()->clear_conditions();
  for (const char* type : {"PodScheduled", "Initialized", "ContainersReady", "Ready"}) {
    auto* c = p.mutable_status()->add_conditions();
    c->set_type(type);
    c->set_status("True");
    *c->mutable_last_transition_time() = now;
  }
  p.mutable_status()->clear_container_statuses();
  for (const auto& container : p.spec().containers()) {
    auto* cs = p.mutable_status()->add_container_statuses();
    cs->set_name(container.name());
    cs->set_image(container.image());
    cs->set_ready(true);
    cs->set_started(true);
    *cs->mutable_state()->mutable_running()->mutable_started_at() = now;
  }
  ++stats_.ready_writes;
  client_.Update(BenchKind("", "pods"), p,
                 [this, alive = alive_, key, uid](const client::ApiResult& r) {
                   if (!*alive || r.ok() || r.code == 404) return;
                   ++stats_.conflicts;
                   After(Milliseconds(100), [this, key, uid] { PostReady(key, uid); });
                 },
                 "status");
}

}  // namespace ksim::scenarios
