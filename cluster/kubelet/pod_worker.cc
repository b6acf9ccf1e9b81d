#include "cluster/kubelet/pod_worker.h"

#include <fmt/format.h>

#include <algorithm>

#include "cluster/api/machinery/quantity.h"
#include "cluster/kubelet/projected_volume.h"
#include "cluster/kubelet/qos.h"

namespace ksim::kubelet {

// --- Backoff (flowcontrol.Backoff) ---

bool Backoff::InBackoffSince(Nanos event_time, Nanos now) const {
  if (!has_) return false;
  if (event_time - last_update_ > 2 * max_) return false;  // expired: it ran long enough
  return now - event_time < delay_;
}

bool Backoff::InBackoffSinceUpdate(Nanos now) const { return has_ && now - last_update_ < delay_; }

void Backoff::Next(Nanos now) {
  if (!has_ || now - last_update_ > 2 * max_) {
    delay_ = initial_;
  } else {
    delay_ = std::min(delay_ * 2, max_);
  }
  has_ = true;
  last_update_ = now;
}

namespace {

int64_t Limit(const api::Container& c, const char* name, bool milli) {
  const auto& m = c.resources().limits();
  const auto it = m.find(name);
  api::Quantity q;
  if (it == m.end() || !api::Quantity::Parse(it->second, &q).ok()) return 0;
  return milli ? q.MilliValue() : q.Value();
}

int64_t CpuRequestMillis(const api::Container& c) {
  const auto it = c.resources().requests().find("cpu");
  api::Quantity q;
  if (it == c.resources().requests().end() || !api::Quantity::Parse(it->second, &q).ok()) return 0;
  return q.MilliValue();
}

std::string PullPolicy(const api::Container& c) {
  if (!c.image_pull_policy().empty()) return c.image_pull_policy();
  const std::string normalized = NormalizeImageName(c.image());
  return normalized.size() >= 7 && normalized.ends_with(":latest") ? "Always" : "IfNotPresent";
}

}  // namespace

// --- the worker ---

PodWorker::PodWorker(Deps deps, api::Pod pod, Callbacks callbacks, const RuntimePod* recovered)
    : deps_(deps), pod_(std::move(pod)), cb_(std::move(callbacks)) {
  const PodWorkerConfig& cfg = *deps_.config;
  for (const api::Container& spec : pod_.spec().init_containers()) {
    auto c = std::make_unique<Ctr>(cfg.backoff_initial, cfg.backoff_max);
    c->spec = spec;
    c->init = true;
    c->sidecar = spec.has_restart_policy() && spec.restart_policy() == "Always";
    init_.push_back(std::move(c));
  }
  for (const api::Container& spec : pod_.spec().containers()) {
    auto c = std::make_unique<Ctr>(cfg.backoff_initial, cfg.backoff_max);
    c->spec = spec;
    app_.push_back(std::move(c));
  }
  const std::string& phase = pod_.status().phase();
  terminal_ = phase == "Succeeded" || phase == "Failed";
  if (recovered != nullptr) Adopt(*recovered);
}

PodWorker::~PodWorker() {
  *alive_ = false;
  if (sync_timer_ != 0) deps_.clock->Cancel(sync_timer_);
  if (wake_timer_ != 0) deps_.clock->Cancel(wake_timer_);
}

void PodWorker::Start() {
  start_time_ = deps_.clock->WallNow();
  for (const std::string& id : stale_sandboxes_) deps_.runtime->RemovePodSandbox(id, [](Status) {});
  stale_sandboxes_.clear();
  // Containers the previous kubelet created but never started are removed before this
  // worker creates their replacement (same name and attempt).
  if (!stale_containers_.empty()) {
    busy_ = true;
    auto left = std::make_shared<size_t>(stale_containers_.size());
    for (const std::string& id : stale_containers_) {
      deps_.runtime->RemoveContainer(id, Guard([this, left](Status) {
        if (--*left > 0) return;
        busy_ = false;
        Kick();
      }));
    }
    stale_containers_.clear();
  }
  for (auto* list : {&init_, &app_}) {
    for (auto& c : *list) {
      if (c->st == St::kRunning) StartProbes(*c);
    }
  }
  Kick();
}

void PodWorker::Log(const std::string& message) const {
  if (deps_.log != nullptr) {
    deps_.log->Log(LogLevel::kInfo, "kubelet",
                   fmt::format("pod {}/{}: {}", pod_.metadata().namespace_(), pod_.metadata().name(), message));
  }
}

void PodWorker::Event(std::string_view type, std::string_view reason, const std::string& message) const {
  if (deps_.event) deps_.event(pod_, type, reason, message);
}

Nanos PodWorker::WallOf(Nanos host_monotonic) const {
  return deps_.clock->WallNow() - (deps_.clock->MonotonicNow() - host_monotonic);
}

void PodWorker::Changed() {
  if (cb_.on_change) cb_.on_change();
}

// No Sync: like Kubernetes' pod config, a change of status (mostly our own writes)
// is no reason to act; deletion reaches the worker through Kill.
void PodWorker::UpdatePod(const api::Pod& pod) {
  *pod_.mutable_metadata() = pod.metadata();
  *pod_.mutable_status() = pod.status();
}

void PodWorker::SetPodCidr(const std::string& cidr) {
  pod_cidr_ = cidr;
  Kick();
}

bool PodWorker::OwnsContainer(const std::string& container_id) const {
  return const_cast<PodWorker*>(this)->Find(container_id) != nullptr;
}

PodWorker::Ctr* PodWorker::Find(const std::string& container_id) {
  if (container_id.empty()) return nullptr;
  for (auto* list : {&init_, &app_}) {
    for (auto& c : *list) {
      if (c->id == container_id) return c.get();
    }
  }
  return nullptr;
}

void PodWorker::Kick() {
  if (sync_timer_ != 0) return;
  sync_timer_ = deps_.clock->Schedule(Nanos(0), Guard([this] {
    sync_timer_ = 0;
    Sync();
  }));
}

// Wakes the worker after `delay` (the earliest of the wakes asked for).
void PodWorker::KickAt(Nanos delay) {
  const Nanos at = deps_.clock->MonotonicNow() + delay;
  if (wake_timer_ != 0) {
    if (wake_at_ <= at) return;
    deps_.clock->Cancel(wake_timer_);
  }
  wake_at_ = at;
  wake_timer_ = deps_.clock->Schedule(delay, Guard([this] {
    wake_timer_ = 0;
    Sync();
  }));
}

bool PodWorker::ShouldRestart(const Ctr& c) const {
  if (c.sidecar) return true;
  const std::string& policy = pod_.spec().restart_policy();
  if (c.init) return c.term.exit_code != 0 && policy != "Never";
  if (policy == "Never") return false;
  if (policy == "OnFailure") return c.term.exit_code != 0;
  return true;  // Always (and the default)
}

void PodWorker::Sync() {
  retired_.clear();
  if (busy_) return;
  if (killing_ || terminal_) return StopStep();
  // Containers whose probes failed are killed first; their exit restarts them.
  for (auto* list : {&init_, &app_}) {
    for (auto& c : *list) {
      if (c->kill_requested && c->st == St::kRunning && !c->stopping) KillContainer(*c, c->waiting_message);
    }
  }
  if (!volumes_mounted_ && deps_.mount_volumes && HasProjectedVolumes(pod_)) return MountVolumes();
  if (!sandbox_ready_) {
    if (pod_cidr_.empty() && !pod_.spec().host_network()) return;  // waits for the node's podCIDR
    return RunSandbox();
  }
  for (auto& c : init_) {
    if (initialized_) break;  // after initialization only sidecars restart, below
    if (c->sidecar) {
      if (c->st == St::kRunning) {
        if (!c->started) return;  // the next init container waits for its startup probe
        continue;
      }
      if (c->st == St::kStarting) return;
      TryStart(*c);
      return;
    }
    if (c->st == St::kExited && c->term.exit_code == 0) continue;
    if (c->st == St::kRunning || c->st == St::kStarting) return;
    if (c->st == St::kExited && !ShouldRestart(*c)) {
      SetTerminal();  // an init container failed and restartPolicy is Never
      return;
    }
    TryStart(*c);
    return;
  }
  initialized_ = true;
  // A sidecar that exited restarts (with back-off) without holding up app containers.
  for (auto& c : init_) {
    if (c->sidecar && c->st != St::kRunning && c->st != St::kStarting && TryStart(*c)) return;
  }
  bool alive = false;  // some app container runs or will run again
  for (auto& c : app_) {
    if (c->st == St::kRunning || c->st == St::kStarting) {
      alive = true;
      continue;
    }
    if (c->st == St::kExited && !ShouldRestart(*c)) continue;
    alive = true;
    if (TryStart(*c)) return;
  }
  if (!alive && !app_.empty()) SetTerminal();
}

// Starts (or restarts) `c` unless a back-off holds it; true if an operation began.
bool PodWorker::TryStart(Ctr& c) {
  const Nanos now = deps_.clock->MonotonicNow();
  if (c.st == St::kExited) {
    const Nanos exited_at = c.exited_mono;
    if (c.crash.InBackoffSince(exited_at, now)) {
      const std::string message = fmt::format("back-off {}s restarting failed container={} pod={}_{}({})",
                                              c.crash.delay().count() / 1'000'000'000, c.spec.name(),
                                              pod_.metadata().name(), pod_.metadata().namespace_(), uid());
      if (c.waiting_reason != "CrashLoopBackOff" || c.waiting_message != message) {
        c.waiting_reason = "CrashLoopBackOff";
        c.waiting_message = message;
        Event("Warning", "BackOff", "Back-off restarting failed container " + c.spec.name() + " in pod " +
                                        pod_.metadata().name() + "_" + pod_.metadata().namespace_());
        Changed();
      }
      KickAt(exited_at + c.crash.delay() - now);
      return false;
    }
    c.crash.Next(now);
  }
  if (c.pull_failed && c.pull.InBackoffSinceUpdate(now)) {
    if (c.waiting_reason != "ImagePullBackOff") {
      c.waiting_reason = "ImagePullBackOff";
      c.waiting_message = fmt::format("Back-off pulling image \"{}\"", c.spec.image());
      Event("Normal", "BackOff", c.waiting_message);
      Changed();
    }
    KickAt(c.pull.last_update() + c.pull.delay() - now);
    return false;
  }
  busy_ = true;
  const St before = c.st;
  if (before == St::kExited) {
    c.last = c.term;
    ++c.restart_count;
  }
  c.st = St::kStarting;
  EnsureImage(c, [this, &c, before](bool ok) {
    if (!ok) {
      c.st = before == St::kExited ? St::kNone : before;
      busy_ = false;
      Changed();
      // ErrImagePull stays visible a moment before the back-off (ImagePullBackOff) shows.
      if (c.waiting_reason == "ErrImagePull") return KickAt(Seconds(1));
      Kick();
      return;
    }
    CreateAndStart(c);
  });
  return true;
}

void PodWorker::EnsureImage(Ctr& c, std::function<void(bool ok)> then) {
  const std::string image = c.spec.image();
  auto pull = [this, &c, image, then](std::function<void(bool)> next) {
    Event("Normal", "Pulling", fmt::format("Pulling image \"{}\"", image));
    deps_.runtime->PullImage(image, Guard([this, &c, image, next](Status s, std::string id) {
      if (!s.ok()) {
        Event("Warning", "Failed", fmt::format("Failed to pull image \"{}\": {}", image, s.message()));
        c.pull_failed = true;
        c.pull.Next(deps_.clock->MonotonicNow());
        c.waiting_reason = "ErrImagePull";
        c.waiting_message = s.message();
        Log(fmt::format("pulling image \"{}\" failed: {}", image, s.ToString()));
        return next(false);
      }
      c.pull_failed = false;
      c.image_ref = id;
      Event("Normal", "Pulled", fmt::format("Successfully pulled image \"{}\"", image));
      next(true);
    }));
  };
  const std::string policy = PullPolicy(c.spec);
  if (policy == "Always") return pull(then);
  deps_.runtime->ImageStatus(image, Guard([this, &c, image, policy, pull, then](Status s, std::optional<ImageInfo> info) {
    if (s.ok() && info) {
      c.image_ref = info->id;
      Event("Normal", "Pulled", fmt::format("Container image \"{}\" already present on machine", image));
      return then(true);
    }
    if (policy == "Never") {
      c.waiting_reason = "ErrImageNeverPull";
      c.waiting_message = fmt::format("Container image \"{}\" is not present with pull policy of Never", image);
      Event("Warning", "ErrImageNeverPull", c.waiting_message);
      return then(false);
    }
    pull(then);
  }));
}

void PodWorker::CreateAndStart(Ctr& c) {
  ContainerConfig cfg;
  cfg.name = c.spec.name();
  cfg.attempt = static_cast<uint32_t>(c.restart_count);
  cfg.image = c.spec.image();
  cfg.command.assign(c.spec.command().begin(), c.spec.command().end());
  cfg.args.assign(c.spec.args().begin(), c.spec.args().end());
  for (const api::EnvVar& e : c.spec.env()) {
    if (!e.has_value_from()) cfg.env.emplace_back(e.name(), e.value());
  }
  cfg.memory_limit_bytes = Limit(c.spec, "memory", false);
  cfg.cpu_limit_millis = Limit(c.spec, "cpu", true);
  cfg.cpu_request_millis = CpuRequestMillis(c.spec);
  cfg.labels = ContainerLabels(pod_, c.spec.name());
  const std::string old_id = c.id;
  deps_.runtime->CreateContainer(sandbox_id_, cfg, Guard([this, &c, old_id](Status s, std::string id) {
    if (s.Is(Status::Code::kAlreadyExists)) return AdoptRacedContainer(c);
    if (!s.ok()) {
      // CreateContainerError: counted as a failed start, retried after the crash back-off.
      Event("Warning", "Failed", "Error: " + s.message());
      c.st = St::kExited;
      c.term = TerminatedView{.exit_code = 128, .reason = "CreateContainerError", .message = s.message(),
                              .started_at = Nanos(0), .finished_at = deps_.clock->WallNow(), .container_id = ""};
      c.exited_mono = deps_.clock->MonotonicNow();
      busy_ = false;
      Changed();
      Kick();
      return;
    }
    c.id = id;
    c.started_at = Nanos(0);
    Event("Normal", "Created", "Created container " + c.spec.name());
    // Only the newest dead container of each name is kept, as the kubelet's GC does.
    if (!old_id.empty()) deps_.runtime->RemoveContainer(old_id, [](Status) {});
    deps_.runtime->StartContainer(id, Guard([this, &c, id](Status start) {
      busy_ = false;
      if (c.id != id) return Kick();
      if (c.st == St::kStarting) {
        if (start.ok()) {
          c.st = St::kRunning;
          if (c.started_at.count() == 0) c.started_at = deps_.clock->WallNow();  // else the kStarted event's
          c.waiting_reason.clear();
          c.waiting_message.clear();
          Event("Normal", "Started", "Started container " + c.spec.name());
          StartProbes(c);
        } else {
          Event("Warning", "Failed", "Error: " + start.message());
          c.st = St::kExited;
          c.term = TerminatedView{.exit_code = 128, .reason = "StartError", .message = start.message(),
                                  .started_at = Nanos(0), .finished_at = deps_.clock->WallNow(),
                                  .container_id = "containerd://" + id};
          c.exited_mono = deps_.clock->MonotonicNow();
        }
      }
      Changed();
      Kick();
    }));
  }));
}

void PodWorker::RunSandbox() {
  busy_ = true;
  const api::PodSpec& spec = pod_.spec();
  PodSandboxConfig cfg;
  cfg.metadata = {pod_.metadata().name(), pod_.metadata().namespace_(), uid(), sandbox_attempt_};
  cfg.hostname = spec.hostname().empty() ? pod_.metadata().name().substr(0, 63) : spec.hostname();
  cfg.pod_cidr = pod_cidr_;
  cfg.host_network = spec.host_network();
  const PodWorkerConfig& config = *deps_.config;
  const std::string& policy = spec.dns_policy();
  const bool cluster_dns = (policy.empty() || policy == "ClusterFirst") ? !spec.host_network()
                                                                        : policy == "ClusterFirstWithHostNet";
  if (cluster_dns) {
    cfg.dns.servers = config.dns_servers;
    const std::string& domain = config.cluster_domain;
    cfg.dns.searches = {pod_.metadata().namespace_() + ".svc." + domain, "svc." + domain, domain};
    cfg.dns.options = {"ndots:5"};
  }
  if (spec.has_dns_config()) {  // merged after the policy's (dnsPolicy None: only these)
    for (const std::string& s : spec.dns_config().nameservers()) cfg.dns.servers.push_back(s);
    for (const std::string& s : spec.dns_config().searches()) cfg.dns.searches.push_back(s);
    for (const api::PodDNSConfigOption& o : spec.dns_config().options()) {
      cfg.dns.options.push_back(o.has_value() ? o.name() + ":" + o.value() : o.name());
    }
  }
  for (const auto* list : {&spec.init_containers(), &spec.containers()}) {
    for (const api::Container& c : *list) {
      for (const api::ContainerPort& p : c.ports()) {
        cfg.port_mappings.push_back({p.protocol().empty() ? "TCP" : p.protocol(),
                                     static_cast<uint16_t>(p.container_port()), static_cast<uint16_t>(p.host_port()),
                                     p.host_ip()});
      }
    }
  }
  cfg.cgroup_parent = PodSliceName(GetPodQos(pod_), uid());
  cfg.labels = PodLabels(pod_);
  // Annotations go through (the runtime reads per-container behaviour from them) up to
  // the runtime's limits; the rest are dropped in key order.
  size_t bytes = 0;
  for (const auto& [k, v] : std::map<std::string, std::string>(pod_.metadata().annotations().begin(),
                                                               pod_.metadata().annotations().end())) {
    if (cfg.annotations.size() + cfg.labels.size() >= kMaxRuntimeLabels) break;
    if (bytes + k.size() + v.size() > kMaxRuntimeLabelBytes / 2) break;
    bytes += k.size() + v.size();
    cfg.annotations[k] = v;
  }
  deps_.runtime->RunPodSandbox(cfg, Guard([this](Status s, std::string id) {
    if (s.Is(Status::Code::kAlreadyExists)) return AdoptRacedSandbox();
    if (!s.ok()) {
      busy_ = false;
      sandbox_error_ = s.message();
      Log("RunPodSandbox failed: " + s.ToString());
      Changed();
      KickAt(deps_.config->backoff_initial);
      return;
    }
    sandbox_id_ = id;
    ++sandbox_attempt_;
    deps_.runtime->PodSandboxStatus(id, Guard([this](Status st, PodSandboxStatus status) {
      busy_ = false;
      sandbox_ready_ = st.ok() && status.state == SandboxState::kReady;
      pod_ip_ = st.ok() ? status.ip : "";
      sandbox_error_.clear();
      Changed();
      Kick();
    }));
  }));
}

// The previous kubelet's RunPodSandbox completed after this worker read the runtime:
// that sandbox (same pod, same attempt) is ours.
void PodWorker::AdoptRacedSandbox() {
  deps_.runtime->ListPodSandboxes(Guard([this](Status s, std::vector<PodSandboxStatus> all) {
    busy_ = false;
    for (const PodSandboxStatus& sb : all) {
      if (!s.ok() || sb.metadata.uid != uid() || sb.state != SandboxState::kReady) continue;
      sandbox_id_ = sb.id;
      sandbox_ready_ = true;
      pod_ip_ = sb.ip;
      sandbox_attempt_ = std::max(sandbox_attempt_, sb.metadata.attempt + 1);
    }
    if (!sandbox_ready_) ++sandbox_attempt_;
    Changed();
    Kick();
  }));
}

// Likewise for CreateContainer: the container with this name and attempt exists. One
// never started is removed and created again; one that runs or ran is adopted.
void PodWorker::AdoptRacedContainer(Ctr& c) {
  deps_.runtime->ListContainers(sandbox_id_, Guard([this, &c](Status s, std::vector<ContainerStatus> all) {
    const ContainerStatus* found = nullptr;
    for (const ContainerStatus& cs : all) {
      if (s.ok() && cs.name == c.spec.name() && cs.attempt == static_cast<uint32_t>(c.restart_count)) found = &cs;
    }
    if (found == nullptr || found->state == ContainerState::kCreated) {
      c.st = St::kNone;
      if (found == nullptr) {
        busy_ = false;
        return Kick();
      }
      deps_.runtime->RemoveContainer(found->id, Guard([this](Status) {
        busy_ = false;
        Kick();
      }));
      return;
    }
    busy_ = false;
    c.id = found->id;
    c.image_ref = found->image_ref;
    c.started_at = WallOf(found->started_at);
    if (found->state == ContainerState::kRunning) {
      c.st = St::kRunning;
      c.waiting_reason.clear();
      StartProbes(c);
    } else {
      c.st = St::kRunning;  // MarkExited records the exit from here
      MarkExited(c, found->exit_code, found->reason);
    }
    Changed();
    Kick();
  }));
}

Nanos PodWorker::CrashBackoffDelay(const std::string& container) const {
  for (const auto* list : {&init_, &app_}) {
    for (const auto& c : *list) {
      if (c->spec.name() == container && c->waiting_reason == "CrashLoopBackOff") return c->crash.delay();
    }
  }
  return Nanos(0);
}

}  // namespace ksim::kubelet
