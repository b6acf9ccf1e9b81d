#include "cluster/client/drain.h"

#include <fmt/format.h>

#include "cluster/api/policy.pb.h"
#include "cluster/api/registry.h"
#include "cluster/env/wire.h"

namespace ksim::client {
namespace {

const api::KindInfo& Kind(const char* group, const char* resource) {
  return *api::Registry::Default().ByGroupResource(group, resource);
}

}  // namespace

void EvictPod(ApiClient& client, const std::string& ns, const std::string& name, const api::DeleteOptions& options,
              ApiClient::Done done) {
  api::Eviction e;
  e.set_api_version("policy/v1");
  e.set_kind("Eviction");
  e.mutable_metadata()->set_namespace_(ns);
  e.mutable_metadata()->set_name(name);
  *e.mutable_delete_options() = options;
  apiserver::Request r;
  r.set_verb("create");
  r.set_version("v1");
  r.set_resource("pods");
  r.set_subresource("eviction");
  r.set_namespace_(ns);
  r.set_name(name);
  SerializeDeterministic(e, r.mutable_body());
  client.Do(std::move(r), std::move(done));
}

bool DrainSkips(const api::Pod& pod) {
  for (const api::OwnerReference& ref : pod.metadata().owner_references()) {
    if (ref.controller() && ref.kind() == "DaemonSet") return true;
  }
  return pod.metadata().annotations().count("kubernetes.io/config.mirror") != 0;
}

std::string DrainRefusal(const api::Pod& pod, const DrainOptions& options) {
  // A pod that has ended loses nothing by going.
  if (pod.status().phase() == "Succeeded" || pod.status().phase() == "Failed") return "";
  if (!options.delete_emptydir_data) {
    for (const api::Volume& v : pod.spec().volumes()) {
      if (v.has_empty_dir()) return "cannot delete Pods with local storage (use --delete-emptydir-data to override)";
    }
  }
  bool controlled = false;
  for (const api::OwnerReference& ref : pod.metadata().owner_references()) controlled = controlled || ref.controller();
  if (!controlled && !options.force) return "cannot delete Pods that declare no controller (use --force to override)";
  return "";
}

Drainer::Drainer(Env& env, ApiClient* client, DrainOptions options)
    : env_(env), client_(client), options_(std::move(options)) {}

Drainer::~Drainer() { *alive_ = false; }

bool Drainer::TimedOut() const { return options_.timeout > Nanos(0) && env_.clock->MonotonicNow() >= deadline_; }

void Drainer::Drain(const std::string& node, std::function<void(const DrainResult&)> done) {
  node_ = node;
  done_ = std::move(done);
  deadline_ = env_.clock->MonotonicNow() + options_.timeout;
  Cordon(0);
}

void Drainer::Finish(Status s) {
  if (finished_) return;
  finished_ = true;
  result_.status = std::move(s);
  if (done_) done_(result_);
}

void Drainer::Cordon(int attempt) {
  client_->Get(Kind("", "nodes"), "", node_, [this, attempt, alive = alive_](const ApiResult& r) {
    if (!*alive) return;
    api::Node n;
    if (!r.ok() || !n.ParseFromString(r.body)) return Finish(Status::Unavailable("get node: " + r.Describe()));
    if (n.spec().unschedulable()) return ListPods();
    n.mutable_spec()->set_unschedulable(true);
    client_->Update(Kind("", "nodes"), n, [this, attempt, alive](const ApiResult& u) {
      if (!*alive) return;
      if (u.code == 409 && attempt < 5) return Cordon(attempt + 1);
      if (!u.ok()) return Finish(Status::Unavailable("cordon: " + u.Describe()));
      ListPods();
    });
  });
}

void Drainer::ListPods() {
  client_->List(Kind("", "pods"), "", {{"fieldSelector", "spec.nodeName=" + node_}},
                [this, alive = alive_](const ApiResult& r) {
                  if (!*alive) return;
                  apiserver::ObjectList list;
                  if (!r.ok() || !list.ParseFromString(r.body)) {
                    return Finish(Status::Unavailable("list pods: " + r.Describe()));
                  }
                  std::vector<api::Pod> to_evict;
                  std::map<std::string, std::string> refused;  // reason -> "ns/name, ..."
                  for (const std::string& bytes : list.items()) {
                    api::Pod pod;
                    if (!pod.ParseFromString(bytes)) continue;
                    const std::string key = pod.metadata().namespace_() + "/" + pod.metadata().name();
                    if (DrainSkips(pod)) {
                      result_.skipped.push_back(key);
                      continue;
                    }
                    if (std::string why = DrainRefusal(pod, options_); !why.empty()) {
                      std::string& pods = refused[why];
                      pods += (pods.empty() ? "" : ", ") + key;
                      continue;
                    }
                    to_evict.push_back(std::move(pod));
                  }
                  // As kubectl: one pod it may not evict and none is evicted (the node stays cordoned).
                  if (!refused.empty()) {
                    std::string message;
                    for (const auto& [why, pods] : refused) message += (message.empty() ? "" : "; ") + why + ": " + pods;
                    return Finish(Status::InvalidArgument(message));
                  }
                  for (const api::Pod& pod : to_evict) {
                    waiting_gone_[pod.metadata().namespace_() + "/" + pod.metadata().name()] = pod.metadata().uid();
                  }
                  evicting_ = static_cast<int>(to_evict.size());
                  if (to_evict.empty()) return WaitGone();
                  for (const api::Pod& pod : to_evict) Evict(pod);
                });
}

void Drainer::Evict(const api::Pod& pod) {
  api::DeleteOptions options = options_.delete_options;
  EvictPod(*client_, pod.metadata().namespace_(), pod.metadata().name(), options,
           [this, pod, alive = alive_](const ApiResult& r) {
             if (!*alive || finished_) return;
             const std::string key = pod.metadata().namespace_() + "/" + pod.metadata().name();
             if (r.ok() || r.code == 404) {
               if (r.ok()) result_.evicted.push_back(key);
               if (--evicting_ == 0) WaitGone();
               return;
             }
             // A budget says not now (429), or no answer: try again later, as kubectl does.
             if (r.code == 429 || !r.status.ok()) {
               if (r.code == 429) ++result_.refusals;
               if (TimedOut()) {
                 return Finish(Status::Timeout(fmt::format("drain did not complete within {} s",
                                                           options_.timeout.count() / 1'000'000'000)));
               }
               env_.clock->Schedule(options_.retry_interval, [this, pod, alive] {
                 if (*alive && !finished_) Evict(pod);
               });
               return;
             }
             Finish(Status::Unavailable(fmt::format("error when evicting pods/\"{}\" -n \"{}\": {}",
                                                    pod.metadata().name(), pod.metadata().namespace_(),
                                                    r.Describe())));
           });
}

// kubectl waits until each evicted pod is gone (or replaced by another of the same name).
void Drainer::WaitGone() {
  if (finished_) return;
  if (waiting_gone_.empty()) return Finish(Status::Ok());
  if (TimedOut()) return Finish(Status::Timeout("drain: pods still terminating at the timeout"));
  auto remaining = std::make_shared<size_t>(waiting_gone_.size());
  const std::map<std::string, std::string> waiting = waiting_gone_;
  for (const auto& [key, uid] : waiting) {
    const size_t slash = key.find('/');
    client_->Get(Kind("", "pods"), key.substr(0, slash), key.substr(slash + 1),
                 [this, key = key, uid = uid, remaining, alive = alive_](const ApiResult& r) {
                   if (!*alive || finished_) return;
                   api::Pod p;
                   if (r.code == 404 || (r.ok() && p.ParseFromString(r.body) && p.metadata().uid() != uid)) {
                     waiting_gone_.erase(key);
                   }
                   if (--*remaining > 0) return;
                   if (waiting_gone_.empty()) return Finish(Status::Ok());
                   env_.clock->Schedule(options_.poll, [this, alive] {
                     if (*alive) WaitGone();
                   });
                 });
  }
}

}  // namespace ksim::client
