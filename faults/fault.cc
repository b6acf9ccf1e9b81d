#include "faults/fault.h"

#include <fmt/format.h>

#include <optional>
#include <set>

#include "sim/host.h"
#include "sim/network.h"
#include "sim/world.h"

namespace ksim::faults {

std::string_view FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kPartition: return "partition";
    case FaultKind::kIsolate: return "isolate";
    case FaultKind::kOneWay: return "one-way";
    case FaultKind::kBridge: return "bridge";
    case FaultKind::kHeal: return "heal";
    case FaultKind::kCrashProcess: return "crash";
    case FaultKind::kRestartProcess: return "restart";
    case FaultKind::kPowerOff: return "power-off";
    case FaultKind::kPowerOn: return "power-on";
    case FaultKind::kPause: return "pause";
    case FaultKind::kResume: return "resume";
    case FaultKind::kClockJump: return "clock-jump";
    case FaultKind::kClockSkew: return "clock-skew";
    case FaultKind::kClockDrift: return "clock-drift";
    case FaultKind::kLinkFaults: return "link-faults";
    case FaultKind::kLinkClear: return "link-clear";
    case FaultKind::kSlowDisk: return "slow-disk";
    case FaultKind::kDiskErrors: return "disk-errors";
    case FaultKind::kDiskHeal: return "disk-heal";
    case FaultKind::kContainerCrash: return "container-crash";
    case FaultKind::kImagePullFailure: return "image-pull-failure";
    case FaultKind::kImagePullHeal: return "image-pull-heal";
    case FaultKind::kCpuLoad: return "cpu-load";
    case FaultKind::kCpuLoadClear: return "cpu-load-clear";
  }
  return "unknown";
}

namespace {

std::string Group(const std::vector<std::string>& g) { return "[" + fmt::format("{}", fmt::join(g, " ")) + "]"; }

std::string Millis(Nanos d) { return fmt::format("{:.3f}s", static_cast<double>(d.count()) / 1e9); }

}  // namespace

std::string Fault::Describe() const {
  const std::string name(FaultKindName(kind));
  switch (kind) {
    case FaultKind::kPartition: {
      std::vector<std::string> parts;
      for (const auto& g : groups) parts.push_back(Group(g));
      return name + " " + fmt::format("{}", fmt::join(parts, " | "));
    }
    case FaultKind::kOneWay:
      return name + " " + Group(groups.at(0)) + " -/-> " + Group(groups.at(1));
    case FaultKind::kBridge:
      return name + " " + Group(groups.at(0)) + " | " + Group(groups.at(1)) + " via " + host;
    case FaultKind::kHeal:
    case FaultKind::kLinkClear:
      return name;
    case FaultKind::kCrashProcess:
    case FaultKind::kRestartProcess:
      return name + " " + host + "/" + process;
    case FaultKind::kClockJump:
    case FaultKind::kClockSkew:
    case FaultKind::kSlowDisk:
      return name + " " + host + " " + (amount < Nanos(0) ? "-" + Millis(-amount) : "+" + Millis(amount));
    case FaultKind::kClockDrift:
      return fmt::format("{} {} {:+}ppm", name, host, ppm);
    case FaultKind::kLinkFaults:
      return fmt::format("{} loss={} duplicate={} reorder={}", name, loss, duplicate, reorder);
    case FaultKind::kDiskErrors:
      return fmt::format("{} {} rate={}", name, host, rate);
    case FaultKind::kContainerCrash:
      return fmt::format("{} {} {}{} exit={}", name, host, pod, container.empty() ? "" : "/" + container, exit_code);
    case FaultKind::kImagePullFailure:
    case FaultKind::kImagePullHeal:
      return name + " " + host + " " + (image.empty() ? "*" : image);
    case FaultKind::kCpuLoad:
      return fmt::format("{} {} {}{} millis={}", name, host, pod, container.empty() ? "" : "/" + container, cpu_millis);
    case FaultKind::kCpuLoadClear:
      return fmt::format("{} {} {}{}", name, host, pod, container.empty() ? "" : "/" + container);
    default:
      return name + " " + host;
  }
}

std::string TimedFault::Describe() const { return "t=" + Millis(at) + " " + fault.Describe(); }

namespace {

Status Resolve(sim::World& world, const std::string& name, sim::Host** out) {
  *out = world.FindHost(name);
  if (*out == nullptr) return Status::InvalidArgument("fault names unknown host '" + name + "'");
  return Status::Ok();
}

Status ResolveAll(sim::World& world, const std::vector<std::string>& names, std::vector<uint32_t>* ids) {
  for (const std::string& n : names) {
    sim::Host* h = nullptr;
    if (Status s = Resolve(world, n, &h); !s.ok()) return s;
    ids->push_back(h->id());
  }
  return Status::Ok();
}

// Kills the pod's running container (the named one, else the first by id): the exit a
// crashing process makes, reported as containerd does ("Error" for a non-zero code).
Status CrashContainer(sim::Host& host, const Fault& f) {
  const size_t slash = f.pod.find('/');
  const std::string ns = slash == std::string::npos ? "default" : f.pod.substr(0, slash);
  const std::string name = slash == std::string::npos ? f.pod : f.pod.substr(slash + 1);
  std::set<std::string> sandboxes;
  for (const PodSandboxStatus& s : host.runtime().SandboxSnapshot()) {
    if (s.metadata.namespace_ == ns && s.metadata.name == name) sandboxes.insert(s.id);
  }
  for (const ContainerStatus& c : host.runtime().Snapshot()) {
    if (c.state != ContainerState::kRunning || !sandboxes.count(c.sandbox_id)) continue;
    if (!f.container.empty() && c.name != f.container) continue;
    return host.runtime().Kill(c.id, f.exit_code, f.exit_code == 0 ? "Completed" : "Error");
  }
  return Status::NotFound("container-crash: no running container of pod '" + f.pod + "'" +
                          (f.container.empty() ? "" : " named '" + f.container + "'") + " on host '" + f.host + "'");
}

}  // namespace

Status ApplyFault(sim::World& world, const Fault& f) {
  sim::Network& net = world.network();
  sim::Host* host = nullptr;
  const bool needs_host = f.kind == FaultKind::kIsolate || f.kind == FaultKind::kBridge ||
                          f.kind == FaultKind::kCrashProcess || f.kind == FaultKind::kRestartProcess ||
                          f.kind == FaultKind::kPowerOff || f.kind == FaultKind::kPowerOn ||
                          f.kind == FaultKind::kPause || f.kind == FaultKind::kResume ||
                          f.kind == FaultKind::kClockJump || f.kind == FaultKind::kClockSkew ||
                          f.kind == FaultKind::kClockDrift || f.kind == FaultKind::kSlowDisk ||
                          f.kind == FaultKind::kDiskErrors || f.kind == FaultKind::kDiskHeal ||
                          f.kind == FaultKind::kContainerCrash || f.kind == FaultKind::kImagePullFailure ||
                          f.kind == FaultKind::kImagePullHeal || f.kind == FaultKind::kCpuLoad ||
                          f.kind == FaultKind::kCpuLoadClear;
  if (needs_host) {
    if (Status s = Resolve(world, f.host, &host); !s.ok()) return s;
  }
  if ((f.kind == FaultKind::kCrashProcess || f.kind == FaultKind::kRestartProcess)) {
    const auto names = host->ProcessNames();
    if (std::find(names.begin(), names.end(), f.process) == names.end()) {
      return Status::InvalidArgument("fault names unknown process '" + f.process + "' on host '" + f.host + "'");
    }
  }
  std::vector<std::vector<uint32_t>> groups(f.groups.size());
  for (size_t i = 0; i < f.groups.size(); ++i) {
    if (Status s = ResolveAll(world, f.groups[i], &groups[i]); !s.ok()) return s;
  }
  const size_t need_groups =
      f.kind == FaultKind::kOneWay || f.kind == FaultKind::kBridge ? 2 : (f.kind == FaultKind::kPartition ? 1 : 0);
  if (groups.size() < need_groups) {
    return Status::InvalidArgument(fmt::format("fault '{}' needs {} host groups", FaultKindName(f.kind), need_groups));
  }
  switch (f.kind) {
    case FaultKind::kPartition: net.Partition(groups); break;
    case FaultKind::kIsolate: net.Isolate(host->id()); break;
    case FaultKind::kOneWay: net.CutOneWay(groups[0], groups[1]); break;
    case FaultKind::kBridge: net.Bridge(groups[0], groups[1], host->id()); break;
    case FaultKind::kHeal: net.Heal(); break;
    case FaultKind::kCrashProcess: host->CrashProcess(f.process); break;
    case FaultKind::kRestartProcess: host->RestartProcess(f.process); break;
    case FaultKind::kPowerOff: host->PowerOff(); break;
    case FaultKind::kPowerOn: host->PowerOn(); break;
    case FaultKind::kPause: host->Pause(); break;
    case FaultKind::kResume: host->Resume(); break;
    case FaultKind::kClockJump: host->JumpClock(f.amount); break;
    case FaultKind::kClockSkew: host->SetClockOffset(f.amount); break;
    case FaultKind::kClockDrift: host->SetClockDriftPpm(f.ppm); break;
    case FaultKind::kLinkFaults: {
      sim::LinkParams& p = net.default_link();
      p.loss = f.loss;
      p.duplicate = f.duplicate;
      p.reorder = f.reorder;
      break;
    }
    case FaultKind::kLinkClear: {
      sim::LinkParams& p = net.default_link();
      p.loss = p.duplicate = p.reorder = 0;
      break;
    }
    case FaultKind::kSlowDisk: host->disk().options().fsync_extra_latency = f.amount; break;
    case FaultKind::kDiskErrors: host->disk().options().write_error_rate = f.rate; break;
    case FaultKind::kDiskHeal:
      host->disk().options().fsync_extra_latency = Nanos(0);
      host->disk().options().write_error_rate = 0;
      break;
    case FaultKind::kContainerCrash:
      if (Status s = CrashContainer(*host, f); !s.ok()) return s;
      break;
    case FaultKind::kImagePullFailure: host->runtime().SetPullFailure(f.image, true); break;
    case FaultKind::kImagePullHeal: host->runtime().SetPullFailure(f.image, false); break;
    case FaultKind::kCpuLoad:
    case FaultKind::kCpuLoadClear: {
      const size_t slash = f.pod.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == f.pod.size()) {
        return Status::InvalidArgument(std::string(FaultKindName(f.kind)) + ": pod '" + f.pod +
                                       "' must be namespace/name");
      }
      if (f.kind == FaultKind::kCpuLoad && f.cpu_millis < 0) {
        return Status::InvalidArgument(fmt::format("cpu-load: millis {} must be non-negative", f.cpu_millis));
      }
      std::optional<int64_t> millis;
      if (f.kind == FaultKind::kCpuLoad) millis = f.cpu_millis;
      host->runtime().SetCpuLoad(f.pod.substr(0, slash), f.pod.substr(slash + 1), f.container, millis);
      break;
    }
  }
  world.trace().MixString(f.Describe());
  return Status::Ok();
}

void HealAll(sim::World& world) {
  Fault heal;
  heal.kind = FaultKind::kHeal;
  ApplyFault(world, heal);
  heal.kind = FaultKind::kLinkClear;
  ApplyFault(world, heal);
  for (const auto& h : world.hosts()) {
    h->PowerOn();
    h->Resume();
    if (h->clock_offset() != Nanos(0)) h->SetClockOffset(Nanos(0));
    h->SetClockDriftPpm(0);
    h->disk().options().fsync_extra_latency = Nanos(0);
    h->disk().options().write_error_rate = 0;
    h->runtime().ClearPullFailures();
    h->runtime().ClearCpuLoads();
    for (const std::string& p : h->ProcessNames()) h->RestartProcess(p);
  }
}

void ScheduleFaults(sim::World& world, const std::vector<TimedFault>& schedule, std::vector<std::string>* log,
                    std::function<void(const Fault&)> on_applied) {
  const Nanos start = world.now();
  for (const TimedFault& tf : schedule) {
    world.At(start + tf.at, [&world, tf, log, on_applied] {
      Status s = ApplyFault(world, tf.fault);
      if (log) log->push_back(TimedFault{world.now(), tf.fault}.Describe() + (s.ok() ? "" : " (" + s.ToString() + ")"));
      if (on_applied) on_applied(tf.fault);
    });
  }
}

}  // namespace ksim::faults
