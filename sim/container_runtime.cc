// Sandboxes and the container lifecycle. Images, exec, logs, stats and HTTP serving are
// in container_runtime_io.cc.
#include "sim/container_runtime.h"

#include <fmt/format.h>

#include "sim/container_runtime_internal.h"
#include "sim/host.h"
#include "sim/ipv4.h"
#include "sim/network.h"
#include "sim/trace.h"
#include "sim/world.h"

namespace ksim::sim {
namespace {

__extension__ typedef __int128 Int128;  // GCC/Clang builtin; not ISO C++

Status CheckLabels(const std::string& what, const std::map<std::string, std::string>& labels,
                   const std::map<std::string, std::string>& annotations) {
  if (labels.size() > kMaxRuntimeLabels || annotations.size() > kMaxRuntimeLabels) {
    return Status::InvalidArgument(fmt::format("{}: more than {} labels or annotations", what, kMaxRuntimeLabels));
  }
  size_t bytes = 0;
  for (const auto& [k, v] : labels) bytes += k.size() + v.size();
  for (const auto& [k, v] : annotations) bytes += k.size() + v.size();
  if (bytes > kMaxRuntimeLabelBytes) {
    return Status::InvalidArgument(
        fmt::format("{}: labels and annotations take {} bytes, more than {}", what, bytes, kMaxRuntimeLabelBytes));
  }
  return Status::Ok();
}

bool SameMetadata(const SandboxMetadata& a, const SandboxMetadata& b) {
  return a.name == b.name && a.namespace_ == b.namespace_ && a.uid == b.uid && a.attempt == b.attempt;
}

}  // namespace

SimContainerRuntime::SimContainerRuntime(World* world, Host* host)
    : world_(world), host_(host), random_(world->ChildRandom("host/" + host->name() + "/runtime")) {}

SimContainerRuntime::~SimContainerRuntime() = default;

Nanos SimContainerRuntime::HostNow() const { return host_->MonotonicNow(); }

std::string SimContainerRuntime::NewId() {
  for (;;) {
    std::string id;
    for (int i = 0; i < 4; ++i) id += fmt::format("{:016x}", random_.Next64());
    if (!sandboxes_.count(id) && !containers_.count(id)) return id;
  }
}

std::shared_ptr<ProcessToken> SimContainerRuntime::token() {
  if (!token_ || !token_->alive) {
    token_ = std::make_shared<ProcessToken>(ProcessToken{true, host_, "container-runtime", epoch_});
  }
  return token_;
}

void SimContainerRuntime::Emit(ContainerEventType type, const Container& c) {
  world_->trace().Mix(static_cast<uint64_t>(TraceTag::kContainer) ^ (static_cast<uint64_t>(type) << 8) ^
                      (static_cast<uint64_t>(c.status.exit_code) << 16));
  if (!handler_) return;
  ContainerEvent e{type, c.status.id, c.status.sandbox_id, c.status.exit_code, c.status.reason, HostNow()};
  auto handler = handler_;  // the handler may replace itself
  handler(e);
}

void SimContainerRuntime::SubscribeEvents(std::function<void(const ContainerEvent&)> on_event) {
  handler_ = std::move(on_event);
}

// --- sandboxes ----------------------------------------------------------------------

void SimContainerRuntime::RunPodSandbox(const PodSandboxConfig& config, std::function<void(Status, std::string)> done) {
  Later(latencies_.run_sandbox, [this, config, done = std::move(done)] {
    std::string id;
    const Status s = DoRunSandbox(config, &id);
    done(s, id);
  });
}

Status SimContainerRuntime::DoRunSandbox(const PodSandboxConfig& config, std::string* id) {
  const std::string what = fmt::format("sandbox for pod {}/{}", config.metadata.namespace_, config.metadata.name);
  if (config.metadata.name.empty() || config.metadata.uid.empty()) {
    return Status::InvalidArgument(what + ": metadata.name and metadata.uid are required");
  }
  if (Status s = CheckLabels(what, config.labels, config.annotations); !s.ok()) return s;
  if (config.port_mappings.size() > kMaxCommandArgs) {
    return Status::InvalidArgument(fmt::format("{}: more than {} port mappings", what, kMaxCommandArgs));
  }
  for (size_t i = 0; i < config.port_mappings.size(); ++i) {
    const PortMapping& p = config.port_mappings[i];
    if (p.container_port == 0 || (p.protocol != "TCP" && p.protocol != "UDP" && p.protocol != "SCTP")) {
      return Status::InvalidArgument(
          fmt::format("{}: port_mappings[{}]: needs a container port and protocol TCP, UDP or SCTP", what, i));
    }
  }
  for (const auto& [sid, s] : sandboxes_) {
    if (s->status.state == SandboxState::kReady && SameMetadata(s->status.metadata, config.metadata)) {
      return Status::AlreadyExists(fmt::format("{}: sandbox {} is ready with the same attempt {}", what, sid,
                                               config.metadata.attempt));
    }
  }
  auto sandbox = std::make_unique<Sandbox>();
  if (config.host_network) {
    const std::vector<std::string> aliases = world_->network().AliasesOf(host_->id());
    for (const std::string& a : aliases) {
      if (!sandbox_by_ip_.count(a)) {
        sandbox->status.ip = a;
        break;
      }
    }
  } else {
    uint32_t ip = 0;
    if (Status s = AllocateIp(config.pod_cidr, &ip); !s.ok()) return Status::InvalidArgument(what + ": " + s.message());
    const std::string text = FormatIpv4(ip);
    if (Status s = world_->network().AddAlias(text, host_->id()); !s.ok()) {
      pools_[config.pod_cidr].used.erase(ip);
      return Status::AlreadyExists(what + ": " + s.message());
    }
    sandbox->ip = ip;
    sandbox->has_ip = true;
    sandbox->status.ip = text;
  }
  *id = NewId();
  sandbox->config = config;
  sandbox->status.id = *id;
  sandbox->status.metadata = config.metadata;
  sandbox->status.state = SandboxState::kReady;
  sandbox->status.created_at = HostNow();
  sandbox->status.hostname = config.hostname.empty() ? config.metadata.name : config.hostname;
  sandbox->status.labels = config.labels;
  sandbox->status.annotations = config.annotations;
  if (sandbox->has_ip) sandbox_by_ip_[sandbox->status.ip] = *id;
  ++stats_.sandboxes;
  sandboxes_.emplace(*id, std::move(sandbox));
  return Status::Ok();
}

Status SimContainerRuntime::AllocateIp(const std::string& cidr, uint32_t* ip) {
  Ipv4Cidr block;
  if (Status s = ParseCidr(cidr, &block); !s.ok()) return Status::InvalidArgument("pod_cidr: " + s.message());
  if (block.prefix < 8 || block.prefix > 30) {
    return Status::InvalidArgument(fmt::format("pod_cidr '{}': prefix length must be 8..30", cidr));
  }
  CidrPool& pool = pools_[cidr];
  // The network address, the gateway (.1, the bridge's) and the broadcast address are
  // never handed out, as with CNI host-local's defaults.
  const uint64_t count = block.size() - 3;
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t slot = (pool.next + i) % count;
    const uint32_t candidate = block.base + static_cast<uint32_t>(2 + slot);
    if (pool.used.insert(candidate).second) {
      pool.next = slot + 1;
      *ip = candidate;
      return Status::Ok();
    }
  }
  return Status::InvalidArgument(fmt::format("pod_cidr '{}': exhausted ({} addresses in use)", cidr, count));
}

void SimContainerRuntime::TakeDown(Sandbox& s) {
  for (const std::string& cid : s.containers) {
    auto it = containers_.find(cid);
    if (it != containers_.end()) Exit(*it->second, 137, "Error");
  }
  if (s.has_ip) {
    pools_[s.config.pod_cidr].used.erase(s.ip);
    world_->network().RemoveAlias(s.status.ip);
    sandbox_by_ip_.erase(s.status.ip);
    s.has_ip = false;
  }
  s.status.ip.clear();
  s.status.state = SandboxState::kNotReady;
}

void SimContainerRuntime::StopPodSandbox(const std::string& id, std::function<void(Status)> done) {
  Later(latencies_.stop_sandbox, [this, id, done = std::move(done)] {
    auto it = sandboxes_.find(id);
    if (it == sandboxes_.end()) return done(Status::NotFound("stop sandbox " + id + ": no such sandbox"));
    TakeDown(*it->second);
    done(Status::Ok());
  });
}

void SimContainerRuntime::RemovePodSandbox(const std::string& id, std::function<void(Status)> done) {
  Later(latencies_.remove, [this, id, done = std::move(done)] {
    auto it = sandboxes_.find(id);
    if (it == sandboxes_.end()) return done(Status::Ok());
    TakeDown(*it->second);
    const std::vector<std::string> members = it->second->containers;
    for (const std::string& cid : members) EraseContainer(cid);
    sandboxes_.erase(id);
    done(Status::Ok());
  });
}

void SimContainerRuntime::PodSandboxStatus(const std::string& id,
                                           std::function<void(Status, ksim::PodSandboxStatus)> done) {
  Later(latencies_.query, [this, id, done = std::move(done)] {
    auto it = sandboxes_.find(id);
    if (it == sandboxes_.end()) return done(Status::NotFound("sandbox " + id + ": no such sandbox"), {});
    done(Status::Ok(), it->second->status);
  });
}

void SimContainerRuntime::ListPodSandboxes(std::function<void(Status, std::vector<ksim::PodSandboxStatus>)> done) {
  Later(latencies_.query, [this, done = std::move(done)] { done(Status::Ok(), SandboxSnapshot()); });
}

std::vector<ksim::PodSandboxStatus> SimContainerRuntime::SandboxSnapshot() const {
  std::vector<ksim::PodSandboxStatus> out;
  out.reserve(sandboxes_.size());
  for (const auto& [id, s] : sandboxes_) out.push_back(s->status);
  return out;
}

bool SimContainerRuntime::OwnsIp(const std::string& ip) const { return sandbox_by_ip_.count(ip) != 0; }

std::optional<std::pair<std::string, uint16_t>> SimContainerRuntime::HostPortTarget(const std::string& host_ip,
                                                                                    uint16_t port) const {
  for (const auto& [id, s] : sandboxes_) {
    if (s->status.state != SandboxState::kReady || !s->has_ip) continue;
    for (const PortMapping& m : s->config.port_mappings) {
      if (m.host_port != 0 && m.host_port == port && m.protocol == "TCP" && (m.host_ip.empty() || m.host_ip == host_ip)) {
        return std::make_pair(s->status.ip, m.container_port);
      }
    }
  }
  return std::nullopt;
}

// --- containers ---------------------------------------------------------------------

void SimContainerRuntime::CreateContainer(const std::string& sandbox_id, const ContainerConfig& config,
                                          std::function<void(Status, std::string)> done) {
  Later(latencies_.create_container, [this, sandbox_id, config, done = std::move(done)] {
    std::string id;
    const Status s = DoCreate(sandbox_id, config, &id);
    done(s, id);
  });
}

Status SimContainerRuntime::DoCreate(const std::string& sandbox_id, const ContainerConfig& config, std::string* id) {
  const std::string what = "create container '" + config.name + "'";
  auto sit = sandboxes_.find(sandbox_id);
  if (sit == sandboxes_.end()) return Status::NotFound(what + ": no sandbox " + sandbox_id);
  Sandbox& sandbox = *sit->second;
  if (sandbox.status.state != SandboxState::kReady) {
    return Status::InvalidArgument(what + ": sandbox " + sandbox_id + " is not ready");
  }
  if (config.name.empty()) return Status::InvalidArgument("create container: name is required");
  if (Status s = CheckLabels(what, config.labels, config.annotations); !s.ok()) return s;
  if (config.command.size() + config.args.size() > kMaxCommandArgs) {
    return Status::InvalidArgument(fmt::format("{}: command and args hold more than {} entries", what, kMaxCommandArgs));
  }
  if (config.env.size() > kMaxCommandArgs) {
    return Status::InvalidArgument(fmt::format("{}: more than {} environment variables", what, kMaxCommandArgs));
  }
  const ImageInfo* image = FindImage(config.image);
  if (image == nullptr) return Status::NotFound(what + ": image '" + config.image + "' is not present (pull it first)");
  for (const std::string& cid : sandbox.containers) {
    const Container& other = *containers_.at(cid);
    if (other.status.name == config.name && other.status.attempt == config.attempt) {
      return Status::AlreadyExists(fmt::format("{}: attempt {} exists as {}", what, config.attempt, cid));
    }
  }
  ImageBehavior behavior = BehaviorFor(NormalizeImageName(config.image));
  if (Status s = ApplyBehaviorAnnotation(sandbox.config.annotations, config.name, &behavior); !s.ok()) {
    return Status::InvalidArgument(what + ": " + s.message());
  }
  if (Status s = ApplyBehaviorAnnotation(config.annotations, config.name, &behavior); !s.ok()) {
    return Status::InvalidArgument(what + ": " + s.message());
  }
  *id = NewId();
  auto c = std::make_unique<Container>();
  c->config = config;
  c->behavior = std::move(behavior);
  c->seq = next_seq_++;
  c->status.id = *id;
  c->status.sandbox_id = sandbox_id;
  c->status.name = config.name;
  c->status.attempt = config.attempt;
  c->status.image = config.image;
  c->status.image_ref = image->id;
  c->status.state = ContainerState::kCreated;
  c->status.created_at = HostNow();
  c->status.labels = config.labels;
  c->status.annotations = config.annotations;
  sandbox.containers.push_back(*id);
  Emit(ContainerEventType::kCreated, *c);
  containers_.emplace(*id, std::move(c));
  return Status::Ok();
}

void SimContainerRuntime::StartContainer(const std::string& id, std::function<void(Status)> done) {
  Later(latencies_.query, [this, id, done = std::move(done)] {
    auto it = containers_.find(id);
    if (it == containers_.end()) return done(Status::NotFound("start container " + id + ": no such container"));
    Container& c = *it->second;
    if (c.status.state != ContainerState::kCreated || c.starting) {
      return done(Status::InvalidArgument("start container " + id + ": not in the created state"));
    }
    c.starting = true;
    c.start_done = done;
    const uint64_t run = ++c.run;
    Later(c.behavior.start_delay, [this, id, run] { Started(id, run); });
  });
}

void SimContainerRuntime::Started(const std::string& id, uint64_t run) {
  auto it = containers_.find(id);
  if (it == containers_.end() || it->second->run != run || !it->second->starting) return;
  Container& c = *it->second;
  const ImageBehavior& b = c.behavior;
  c.starting = false;
  c.status.state = ContainerState::kRunning;
  c.status.started_at = HostNow();
  c.started_world = world_->now();
  ++stats_.starts;
  AppendLog(c, fmt::format("starting {} (container {})\n", c.status.image, c.status.name));
  Emit(ContainerEventType::kStarted, c);
  if (b.crash_after) ScheduleExit(c, *b.crash_after, b.exit_code, b.exit_code == 0 ? "Completed" : "Error");
  if (b.exit_after) ScheduleExit(c, *b.exit_after, 0, "Completed");
  const int64_t limit = c.config.memory_limit_bytes;
  if (limit > 0 && b.memory_bytes >= limit) {
    ScheduleExit(c, Nanos(0), 137, "OOMKilled");
  } else if (limit > 0 && b.memory_growth_bytes_per_second > 0) {
    // The working set reaches the limit after (limit - start) / growth seconds.
    const int64_t ns = static_cast<int64_t>(static_cast<Int128>(limit - b.memory_bytes) * 1000000000 /
                                            b.memory_growth_bytes_per_second);
    ScheduleExit(c, Nanos(ns), 137, "OOMKilled");
  }
  auto start_done = std::move(c.start_done);
  c.start_done = nullptr;
  if (start_done) start_done(Status::Ok());
}

void SimContainerRuntime::ScheduleExit(Container& c, Nanos after, int exit_code, const std::string& reason) {
  const uint64_t run = c.run;
  Later(after, [this, id = c.status.id, run, exit_code, reason] {
    auto it = containers_.find(id);
    if (it == containers_.end() || it->second->run != run) return;
    if (reason == "OOMKilled") ++stats_.oom_kills;
    Exit(*it->second, exit_code, reason);
  });
}

void SimContainerRuntime::Exit(Container& c, int exit_code, const std::string& reason) {
  const bool was_starting = c.starting;
  if (c.status.state != ContainerState::kRunning && !was_starting) return;
  CatchUpLog(c);
  if (exit_code != 0 && reason != "OOMKilled") AppendLog(c, fmt::format("exiting with code {}\n", exit_code));
  ++c.run;
  ++stats_.exits;
  c.starting = false;
  c.status.state = ContainerState::kExited;
  c.status.exit_code = exit_code;
  c.status.reason = reason;
  c.status.finished_at = HostNow();
  c.finished_world = world_->now();
  // The process is gone: its sockets close (peers see the close).
  auto conns = std::move(c.conns);
  c.conns.clear();
  for (auto& conn : conns) conn->Close();
  Emit(ContainerEventType::kExited, c);
  auto start_done = std::move(c.start_done);
  c.start_done = nullptr;
  if (was_starting && start_done) {
    start_done(Status::Unavailable("start container " + c.status.id + ": killed before it started (" + reason + ")"));
  }
  auto waiters = std::move(c.stop_waiters);
  c.stop_waiters.clear();
  for (auto& w : waiters) w(Status::Ok());
}

void SimContainerRuntime::StopContainer(const std::string& id, Nanos grace, std::function<void(Status)> done) {
  Later(latencies_.query, [this, id, grace, done = std::move(done)] {
    auto it = containers_.find(id);
    if (it == containers_.end()) return done(Status::NotFound("stop container " + id + ": no such container"));
    Container& c = *it->second;
    if (c.starting) {  // not started yet: nothing to signal, it never runs
      Exit(c, 137, "Error");
      return done(Status::Ok());
    }
    if (c.status.state != ContainerState::kRunning) return done(Status::Ok());
    c.stop_waiters.push_back(done);
    const ImageBehavior& b = c.behavior;
    const Nanos g = grace < Nanos(0) ? Nanos(0) : grace;
    if (!b.ignore_sigterm && b.stop_delay <= g) {
      AppendLog(c, "received SIGTERM, shutting down\n");
      ScheduleExit(c, b.stop_delay, 0, "Completed");
    } else {
      AppendLog(c, b.ignore_sigterm ? "ignoring SIGTERM\n" : "received SIGTERM, still shutting down\n");
      ScheduleExit(c, g, 137, "Error");  // SIGKILL at the end of the grace period
    }
  });
}

void SimContainerRuntime::EraseContainer(const std::string& id) {
  auto it = containers_.find(id);
  if (it == containers_.end()) return;
  Emit(ContainerEventType::kDeleted, *it->second);
  auto sit = sandboxes_.find(it->second->status.sandbox_id);
  if (sit != sandboxes_.end()) std::erase(sit->second->containers, id);
  containers_.erase(it);
}

void SimContainerRuntime::RemoveContainer(const std::string& id, std::function<void(Status)> done) {
  Later(latencies_.remove, [this, id, done = std::move(done)] {
    auto it = containers_.find(id);
    if (it == containers_.end()) return done(Status::Ok());
    if (it->second->status.state == ContainerState::kRunning || it->second->starting) {
      return done(Status::InvalidArgument("remove container " + id + ": it is running (stop it first)"));
    }
    EraseContainer(id);
    done(Status::Ok());
  });
}

void SimContainerRuntime::ContainerStatus(const std::string& id,
                                          std::function<void(Status, ksim::ContainerStatus)> done) {
  Later(latencies_.query, [this, id, done = std::move(done)] {
    auto it = containers_.find(id);
    if (it == containers_.end()) return done(Status::NotFound("container " + id + ": no such container"), {});
    done(Status::Ok(), it->second->status);
  });
}

void SimContainerRuntime::ListContainers(const std::string& sandbox_id,
                                         std::function<void(Status, std::vector<ksim::ContainerStatus>)> done) {
  Later(latencies_.query, [this, sandbox_id, done = std::move(done)] {
    std::vector<ksim::ContainerStatus> out;
    for (const auto& [id, c] : containers_) {
      if (sandbox_id.empty() || c->status.sandbox_id == sandbox_id) out.push_back(c->status);
    }
    done(Status::Ok(), std::move(out));
  });
}

std::vector<ksim::ContainerStatus> SimContainerRuntime::Snapshot() const {
  std::vector<ksim::ContainerStatus> out;
  out.reserve(containers_.size());
  for (const auto& [id, c] : containers_) out.push_back(c->status);
  return out;
}

Status SimContainerRuntime::Kill(const std::string& id, int exit_code, const std::string& reason) {
  auto it = containers_.find(id);
  if (it == containers_.end()) return Status::NotFound("kill " + id + ": no such container");
  if (it->second->status.state != ContainerState::kRunning) {
    return Status::InvalidArgument("kill " + id + ": not running");
  }
  Exit(*it->second, exit_code, reason);
  return Status::Ok();
}

void SimContainerRuntime::PowerOff() {
  ++epoch_;  // completions already scheduled are dropped: the machine forgot them
  handler_ = nullptr;
  for (auto& [id, c] : containers_) {
    if (c->status.state != ContainerState::kRunning && !c->starting) continue;
    ++c->run;
    ++stats_.exits;
    c->starting = false;
    c->start_done = nullptr;
    c->stop_waiters.clear();
    c->conns.clear();  // the network already forgot them (no FIN from a dead host)
    c->status.state = ContainerState::kExited;
    c->status.exit_code = 255;
    c->status.reason = "Unknown";
    c->status.finished_at = HostNow();
    c->finished_world = world_->now();
  }
  for (auto& [id, s] : sandboxes_) {
    if (s->status.state == SandboxState::kReady) TakeDown(*s);
  }
  if (token_) token_->alive = false;
}

}  // namespace ksim::sim
