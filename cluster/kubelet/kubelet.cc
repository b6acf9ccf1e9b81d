#include "cluster/kubelet/kubelet.h"

#include <fmt/format.h>

#include <set>
#include <utility>
#include <vector>

#include "cluster/api/codec.h"
#include "cluster/api/registry.h"
#include "cluster/kubelet/admission.h"
#include "cluster/kubelet/probe_transport.h"

namespace ksim::kubelet {
namespace {

const api::KindInfo& Kind(const char* resource) { return *api::Registry::Default().ByGroupResource("", resource); }

std::string KeyOf(const api::Pod& pod) { return pod.metadata().namespace_() + "/" + pod.metadata().name(); }

bool Deleting(const api::Pod& pod) { return pod.metadata().has_deletion_timestamp(); }

bool Terminal(const api::Pod& pod) {
  return pod.status().phase() == "Succeeded" || pod.status().phase() == "Failed";
}

// A byte count as a quantity in the binary family when it is whole mebibytes.
std::string Bytes(int64_t bytes) {
  if (bytes % (int64_t{1} << 20) == 0) return fmt::format("{}Mi", bytes >> 20);
  return std::to_string(bytes);
}

NodeStatusOptions NodeSide(const KubeletOptions& o) {
  NodeStatusOptions n;
  n.node_name = o.node_name;
  n.node_ip = o.node_ip;
  n.capacity["cpu"] = fmt::format("{}m", o.capacity_cpu_millis);
  n.capacity["memory"] = Bytes(o.capacity_memory_bytes);
  n.capacity["pods"] = std::to_string(o.max_pods);
  n.kube_reserved["cpu"] = fmt::format("{}m", o.reserved_cpu_millis);
  n.kube_reserved["memory"] = Bytes(o.reserved_memory_bytes);
  return n;
}

Nanos DeletionGrace(const api::Pod& pod) {
  if (pod.metadata().has_deletion_grace_period_seconds()) return Seconds(pod.metadata().deletion_grace_period_seconds());
  if (pod.spec().has_termination_grace_period_seconds()) return Seconds(pod.spec().termination_grace_period_seconds());
  return Seconds(30);
}

}  // namespace

Kubelet::Kubelet(Env& env, KubeletOptions options) : env_(env), options_(std::move(options)) {
  if (options_.node_name.empty()) options_.node_name = env_.host;
  worker_config_.node_name = options_.node_name;
  worker_config_.node_ip = options_.node_ip;
  worker_config_.dns_servers = options_.cluster_dns;
  worker_config_.cluster_domain = options_.cluster_domain;
  pod_cidr_ = options_.pod_cidr;
}

Kubelet::~Kubelet() {
  *alive_ = false;
  if (housekeeping_timer_ != 0) env_.clock->Cancel(housekeeping_timer_);
  if (env_.runtime != nullptr) env_.runtime->SubscribeEvents({});
  server_.reset();
  pods_.reset();
  statics_.reset();
  workers_.clear();
  volumes_.reset();
  tokens_.reset();
  status_.reset();
  mirrors_.reset();
  events_.reset();
  node_status_.reset();
  client_.reset();
}

void Kubelet::Log(LogLevel level, const std::string& message) const {
  if (env_.log != nullptr) env_.log->Log(level, "kubelet", message);
}

void Kubelet::Start() {
  client::ApiClientOptions co;
  co.endpoints = options_.apiservers;
  co.token = options_.token;
  co.user_agent = "kubelet/" + options_.node_name;
  client_ = std::make_unique<client::ApiClient>(env_, co);
  net_ = std::make_unique<TransportNetProber>(env_);
  // Tokens are requested as the node (the kubelet's own credentials).
  tokens_ = std::make_unique<ServiceAccountTokenManager>(env_.clock, client_.get(), env_.log, options_.token_manager);
  if (env_.disk != nullptr) {
    volumes_ = std::make_unique<ProjectedVolumeManager>(env_.clock, env_.disk, client_.get(), env_.log, tokens_.get(),
                                                        options_.projected_volumes);
    volumes_->Start();
  }
  status_ = std::make_unique<PodStatusManager>(
      env_, client_.get(), [this](const api::Pod& base) { return ComputeStatus(base); },
      [this](const std::string& uid) { OnIdle(uid); }, options_.max_status_writes_in_flight);
  NodeStatusOptions node_side = NodeSide(options_);
  node_side.kubelet_port = options_.kubelet_port;
  node_status_ = std::make_unique<NodeStatusManager>(env_, client_.get(), node_side);
  client::EventRecorderOptions eo;
  eo.component = "kubelet";
  eo.host = options_.node_name;
  events_ = std::make_unique<client::EventRecorder>(env_, client_.get(), eo);
  MirrorPodOptions mo;
  mo.node_name = options_.node_name;
  mirrors_ = std::make_unique<MirrorPodManager>(env_, client_.get(), mo, [this] { return node_status_->node_uid(); });
  StaticPodSourceOptions so;
  so.node_name = options_.node_name;
  so.manifest_dir = options_.static_pod_dir;
  so.manifest_url = options_.manifest_url;
  so.file_check_frequency = options_.static_pod_check_frequency;
  so.url_check_frequency = options_.static_pod_check_frequency;
  statics_ = std::make_unique<StaticPodSource>(
      env_, so,
      [this](PodChange change, const std::shared_ptr<const api::Pod>& pod) { OnStaticChange(change, pod); },
      [this](const std::string& location, const Status& error) {
        // StaticPodSource logged it (file, line, field); the Node gets a Warning Event.
        ++stats_.bad_manifests;
        mirrors_->PostNodeEvent("FailedStaticPodManifest", location + ": " + error.message());
      });
  if (options_.kubelet_port != 0) {
    KubeletServerOptions ko;
    ko.port = options_.kubelet_port;
    server_ = std::make_unique<KubeletServer>(
        env_, ko, [this](const std::string& name, std::string_view text, std::vector<std::string>* pods) {
          return statics_->AcceptManifest(name, text, pods);
        });
    if (Status s = server_->Start(); !s.ok()) Log(LogLevel::kError, "kubelet endpoint: " + s.ToString());
  }
  const Status node_ok = node_status_->Start([this](const std::string& cidr) {
    if (options_.pod_cidr.empty()) SetPodCidr(cidr);
  });
  if (!node_ok.ok()) {
    // Without a Node nothing can be admitted: the kubelet does not start (as Kubernetes'
    // kubelet exits on bad reservations).
    Log(LogLevel::kError, "node status: " + node_ok.ToString());
    return;
  }
  env_.runtime->SubscribeEvents([this, alive = alive_](const ContainerEvent& e) {
    if (*alive) OnRuntimeEvent(e);
  });
  Recover();
}

// Reads what the runtime holds before taking any pod, so a pod the previous kubelet
// started is adopted, not started twice.
void Kubelet::Recover() {
  env_.runtime->ListPodSandboxes([this, alive = alive_](Status s, std::vector<PodSandboxStatus> sandboxes) {
    if (!*alive) return;
    if (!s.ok()) {
      Log(LogLevel::kWarning, "ListPodSandboxes: " + s.ToString());
      env_.clock->Schedule(Seconds(1), [this, alive] {
        if (*alive) Recover();
      });
      return;
    }
    env_.runtime->ListContainers("", [this, alive, sandboxes = std::move(sandboxes)](
                                         Status cs, std::vector<ContainerStatus> containers) mutable {
      if (!*alive) return;
      if (!cs.ok()) {
        Log(LogLevel::kWarning, "ListContainers: " + cs.ToString());
        env_.clock->Schedule(Seconds(1), [this, alive] {
          if (*alive) Recover();
        });
        return;
      }
      snapshot_ = GroupByPod(std::move(sandboxes), std::move(containers));
      for (const std::string& id : snapshot_.orphan_containers) {
        env_.runtime->RemoveContainer(id, [](Status) {});
        ++stats_.orphans_removed;
      }
      for (const std::string& id : snapshot_.orphan_sandboxes) {
        env_.runtime->RemovePodSandbox(id, [](Status) {});
        ++stats_.orphans_removed;
      }
      snapshot_.orphan_containers.clear();
      snapshot_.orphan_sandboxes.clear();
      recovered_ = true;
      Log(LogLevel::kInfo, fmt::format("runtime holds {} pods", snapshot_.pods.size()));
      // Static pods first and without the API: they adopt what the runtime holds of them.
      StartStaticPods();
      StartInformer();
      Housekeeping();
    });
  });
}

void Kubelet::StartInformer() {
  client::InformerOptions io;
  io.field_selector = "spec.nodeName=" + options_.node_name;
  pods_ = std::make_unique<client::Informer>(env_, client_.get(), Kind("pods"), io);
  client::EventHandlers h;
  h.on_add = [this](const client::ObjectPtr& o) { OnPod(static_cast<const api::Pod&>(*o)); };
  h.on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& o) {
    OnPod(static_cast<const api::Pod&>(*o));
  };
  h.on_delete = [this](const client::ObjectPtr& o) { OnPodGone(static_cast<const api::Pod&>(*o)); };
  pods_->AddHandlers(std::move(h));
  pods_->Start();
}

void Kubelet::OnPod(const api::Pod& pod) {
  mirrors_->OnApiPod(std::make_shared<const api::Pod>(pod));
  if (IsMirrorPod(pod)) return OnMirrorPod(pod);  // the face of a static pod: no worker
  const std::string& uid = pod.metadata().uid();
  status_->Observe(pod);
  if (rejected_.count(uid) != 0) return DeleteRejected(pod);
  auto it = workers_.find(uid);
  if (it == workers_.end()) {
    if (workers_.size() >= options_.max_workers) {
      ++stats_.refused;
      Log(LogLevel::kWarning, fmt::format("pod {} refused: {} pods already", KeyOf(pod), workers_.size()));
      return;
    }
    const RuntimePod* recovered = nullptr;
    if (auto r = snapshot_.pods.find(uid); r != snapshot_.pods.end()) recovered = &r->second;
    // What the runtime still runs was admitted by the kubelet before us.
    if (recovered == nullptr && !Admit(pod)) return;
    AddWorker(pod, false);
    it = workers_.find(uid);
    status_->MarkDirty(uid);
  } else {
    it->second.worker->UpdatePod(pod);
    // Someone else may have written the status (the node lifecycle controller marks pods
    // not Ready while the node is Unknown): recompute against the API's copy, as the real
    // status manager reconciles; our own writes come back equal and send nothing.
    status_->MarkDirty(uid);
  }
  if (Deleting(pod)) it->second.worker->Kill(DeletionGrace(pod));
}

PodWorker* Kubelet::AddWorker(const api::Pod& pod, bool is_static) {
  const std::string uid = pod.metadata().uid();
  const RuntimePod* recovered = nullptr;
  if (auto r = snapshot_.pods.find(uid); r != snapshot_.pods.end()) recovered = &r->second;
  if (recovered != nullptr) ++stats_.pods_adopted;
  PodWorker::Deps deps{env_.clock, env_.runtime, net_.get(), env_.log, &worker_config_,
                       [this](const api::Pod& p, std::string_view type, std::string_view reason,
                              std::string_view message) { RecordEvent(p, type, reason, message); },
                       [this](const api::Pod& p, std::function<void(Status)> done) { Mount(p, std::move(done)); }};
  Handle h;
  h.key = KeyOf(pod);
  h.pod = std::make_shared<const api::Pod>(pod);
  h.is_static = is_static;
  h.worker = std::make_unique<PodWorker>(
      deps, pod, PodWorker::Callbacks{[this, uid] { MarkStatusDirty(uid); }, [this, uid] { MaybeDelete(uid); }},
      recovered);
  PodWorker* w = h.worker.get();
  workers_.emplace(uid, std::move(h));
  snapshot_.pods.erase(uid);
  ++stats_.pods_started;
  if (!pod_cidr_.empty()) w->SetPodCidr(pod_cidr_);
  w->Start();
  return w;
}

void Kubelet::Mount(const api::Pod& pod, std::function<void(Status)> done) {
  if (volumes_ != nullptr) return volumes_->Mount(pod, std::move(done));
  env_.clock->Schedule(Nanos(0), [done = std::move(done)] { done(Status::Unavailable("no disk for projected volumes")); });
}

void Kubelet::RecordEvent(const api::Pod& pod, std::string_view type, std::string_view reason,
                          std::string_view message) {
  if (events_ != nullptr) events_->Event(pod, type, reason, message);
}

void Kubelet::OnPodGone(const api::Pod& pod) {
  mirrors_->OnApiPodDeleted(std::make_shared<const api::Pod>(pod));
  if (IsMirrorPod(pod)) return OnMirrorPodGone(pod);
  pending_admission_.erase(pod.metadata().uid());
  if (rejected_.erase(pod.metadata().uid()) != 0) status_->Forget(pod.metadata().uid());
  const auto it = workers_.find(pod.metadata().uid());
  if (it == workers_.end()) return;
  it->second.gone_from_api = true;
  status_->Forget(pod.metadata().uid());
  // Deleted without us (a force delete): stop what runs, with the shortest grace.
  if (!it->second.worker->terminated()) it->second.worker->Kill(Nanos(0));
}

void Kubelet::OnRuntimeEvent(const ContainerEvent& event) {
  // Few pods per node: a scan in uid order is cheap and deterministic.
  for (auto& [uid, h] : workers_) {
    if (h.worker->sandbox_id() == event.sandbox_id && h.worker->OwnsContainer(event.container_id)) {
      h.worker->OnContainerEvent(event);
      return;
    }
  }
}

std::optional<api::PodStatus> Kubelet::ComputeStatus(const api::Pod& base) const {
  if (IsMirrorPod(base)) {
    // A static pod's status, written to its mirror pod (Kubernetes' status manager
    // translates the static pod's uid to the mirror pod's).
    const Handle* h = StaticByMirror(base.metadata().uid());
    if (h == nullptr || h->gone_from_api || Deleting(base)) return std::nullopt;
    return ComputePodStatus(base, h->worker->View(), base.status(), env_.clock->WallNow());
  }
  if (auto r = rejected_.find(base.metadata().uid()); r != rejected_.end()) return r->second.status;
  const auto it = workers_.find(base.metadata().uid());
  if (it == workers_.end() || it->second.gone_from_api) return std::nullopt;
  // A pod that finished before this kubelet started (nothing of it in the runtime): its
  // recorded status stands.
  const std::string& phase = base.status().phase();
  if ((phase == "Succeeded" || phase == "Failed") && !it->second.worker->ran()) return base.status();
  return ComputePodStatus(base, it->second.worker->View(), base.status(), env_.clock->WallNow());
}

void Kubelet::OnIdle(const std::string& uid) { MaybeDelete(uid); }

// A pod being deleted whose containers and sandbox all stopped, and whose last status
// is written, is deleted for good: uid precondition (never a namesake), grace 0.
void Kubelet::MaybeDelete(const std::string& uid) {
  const auto it = workers_.find(uid);
  if (it == workers_.end()) return;
  Handle& h = it->second;
  if (h.is_static) return;  // no API object of its own: housekeeping reaps it
  if (!h.worker->terminated() || h.gone_from_api || h.delete_sent || !status_->Idle(uid)) return;
  const api::Pod* pod = status_->Latest(uid);
  if (pod == nullptr || !Deleting(*pod)) return;
  h.delete_sent = true;
  api::DeleteOptions opts;
  opts.mutable_preconditions()->set_uid(uid);
  opts.set_grace_period_seconds(0);
  client_->Delete(Kind("pods"), pod->metadata().namespace_(), pod->metadata().name(), opts,
                  [this, alive = alive_, uid](const client::ApiResult& r) {
                    if (!*alive) return;
                    auto w = workers_.find(uid);
                    if (w == workers_.end()) return;
                    if (r.ok() || (r.status.ok() && (r.code == 404 || r.code == 409))) {
                      ++stats_.pods_deleted;
                    } else {
                      w->second.delete_sent = false;  // retried by housekeeping
                    }
                  });
}

void Kubelet::Housekeeping() {
  housekeeping_timer_ = env_.clock->Schedule(options_.housekeeping_period, [this, alive = alive_] {
    if (*alive) Housekeeping();
  });
  // Stopped pods are reaped, API or not (static pods must not wait for it).
  const bool synced = pods_ != nullptr && pods_->HasSynced();
  std::vector<std::string> reap;
  for (auto& [uid, h] : workers_) {
    if (h.gone_from_api && h.worker->terminated() && (synced || h.is_static)) reap.push_back(uid);
  }
  for (const std::string& uid : reap) {
    const std::string sandbox = workers_.at(uid).worker->sandbox_id();
    if (!sandbox.empty()) env_.runtime->RemovePodSandbox(sandbox, [](Status) {});
    if (workers_.at(uid).is_static) ++stats_.static_pods_stopped;
    workers_.erase(uid);
    if (volumes_ != nullptr) volumes_->Unmount(uid);  // the files go, and the pod's tokens with them
    status_->Forget(uid);
  }
  // A static pod re-added while its previous instance was still stopping.
  for (const std::shared_ptr<const api::Pod>& pod : statics_->Pods()) {
    if (workers_.count(pod->metadata().uid()) == 0) RunStatic(pod);
  }
  if (!synced) return;
  // Pods that waited for the Node's allocatable.
  const std::set<std::string> waiting = std::exchange(pending_admission_, {});
  for (const std::string& uid : waiting) {
    if (const api::Pod* p = status_->Latest(uid)) OnPod(api::Pod(*p));
  }
  // Pods the runtime holds that neither the API nor a static source has were deleted
  // while we were down. (A URL's static pod not fetched yet by then is restarted later.)
  for (const auto& [uid, rp] : snapshot_.pods) KillOrphanPod(rp);
  snapshot_.pods.clear();
  for (auto& [uid, h] : workers_) {
    if (!h.gone_from_api && !h.is_static && h.worker->terminated()) MaybeDelete(uid);
  }
}

void Kubelet::KillOrphanPod(const RuntimePod& pod) {
  ++stats_.orphan_pods_killed;
  Log(LogLevel::kInfo, fmt::format("pod {}/{} ({}) is gone from the API: killing it", pod.namespace_, pod.name, pod.uid));
  std::vector<std::string> running;
  for (const auto& [name, attempts] : pod.containers) {
    for (const ContainerStatus& c : attempts) {
      if (c.state == ContainerState::kRunning) running.push_back(c.id);
    }
  }
  std::vector<std::string> sandboxes;
  for (const PodSandboxStatus& s : pod.sandboxes) sandboxes.push_back(s.id);
  auto remaining = std::make_shared<size_t>(running.size());
  auto remove = [this, alive = alive_, sandboxes] {
    if (!*alive) return;
    for (const std::string& id : sandboxes) env_.runtime->RemovePodSandbox(id, [](Status) {});
  };
  if (running.empty()) return remove();
  for (const std::string& id : running) {
    env_.runtime->StopContainer(id, worker_config_.min_grace, [remaining, remove](Status) {
      if (--*remaining == 0) remove();
    });
  }
}

void Kubelet::SetPodCidr(const std::string& cidr) {
  if (cidr.empty() || cidr == pod_cidr_) return;
  pod_cidr_ = cidr;
  Log(LogLevel::kInfo, "pod CIDR " + cidr);
  for (auto& [uid, h] : workers_) h.worker->SetPodCidr(cidr);
}

// Kubernetes' admit handler: a pod runs only if it fits the Node beside the pods already
// admitted that are not terminal. Terminal and deleting pods are not admitted (nothing
// to run). Until the Node carries its allocatable, the pod waits (retried by housekeeping).
bool Kubelet::Admit(const api::Pod& pod) {
  if (Terminal(pod) || Deleting(pod)) return true;
  const std::shared_ptr<const api::Node> node = node_status_->node();
  if (node == nullptr || node->status().allocatable().empty()) {
    pending_admission_.insert(pod.metadata().uid());
    return false;
  }
  std::vector<std::shared_ptr<const api::Pod>> admitted;
  for (const auto& [uid, h] : workers_) {
    const api::Pod* latest = status_->Latest(uid);
    if (h.gone_from_api || h.worker->terminated() || (latest != nullptr && Terminal(*latest))) continue;
    admitted.push_back(h.pod);
  }
  const AdmitResult verdict = AdmitPod(*node, admitted, std::make_shared<const api::Pod>(pod));
  if (verdict.admit) return true;
  ++stats_.rejected;
  Log(LogLevel::kWarning, fmt::format("pod {} rejected: {}: {}", KeyOf(pod), verdict.reason, verdict.message));
  Rejected& r = rejected_[pod.metadata().uid()];
  r.status = pod.status();
  SetRejectedStatus(verdict, &r.status);
  status_->MarkDirty(pod.metadata().uid());
  return false;
}

// A rejected pod never ran: once deleted it is removed for good (uid precondition, grace 0).
void Kubelet::DeleteRejected(const api::Pod& pod) {
  Rejected& r = rejected_.at(pod.metadata().uid());
  if (!Deleting(pod) || r.delete_sent) return;
  r.delete_sent = true;
  api::DeleteOptions opts;
  opts.mutable_preconditions()->set_uid(pod.metadata().uid());
  opts.set_grace_period_seconds(0);
  client_->Delete(Kind("pods"), pod.metadata().namespace_(), pod.metadata().name(), opts,
                  [this, alive = alive_, uid = pod.metadata().uid()](const client::ApiResult& res) {
                    if (!*alive || res.ok() || (res.status.ok() && (res.code == 404 || res.code == 409))) return;
                    if (auto it = rejected_.find(uid); it != rejected_.end()) it->second.delete_sent = false;
                  });
}

const PodWorker* Kubelet::worker(const std::string& key) const {
  for (const auto& [uid, h] : workers_) {
    if (h.key == key) return h.worker.get();
  }
  return nullptr;
}

}  // namespace ksim::kubelet
