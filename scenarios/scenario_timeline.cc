// The timeline: `at:` and one action per entry, each action read by its own function
// from a table indexed by ActionKind (its arguments' keys are in scenario_fields.cc).
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "scenarios/scenario_reader.h"

namespace ksim::scenarios::internal {

namespace {

using FK = faults::FaultKind;
using ReadAction = bool (*)(Reader& r, const Fields& args, TimelineEntry* e);

faults::Fault HostFault(FK kind, const std::string& host) {
  faults::Fault f;
  f.kind = kind;
  f.host = host;
  return f;
}

// One fault per selected host, each shaped by `fill`.
template <typename Fill>
bool PerHost(Reader& r, const Fields& args, FK kind, TimelineEntry* e, Fill&& fill) {
  std::vector<std::string> hosts;
  if (!r.Hosts(args, "host", &hosts)) return false;
  for (const std::string& host : hosts) {
    faults::Fault f = HostFault(kind, host);
    if (!fill(f)) return false;
    e->faults.push_back(std::move(f));
  }
  return true;
}

bool Simple(Reader& r, const Fields& args, FK kind, TimelineEntry* e) {
  return PerHost(r, args, kind, e, [](faults::Fault&) { return true; });
}

// crash / restart: the named process on each host, or every process of each host.
bool Processes(Reader& r, const Fields& args, FK kind, TimelineEntry* e) {
  std::vector<std::string> hosts;
  std::string process;
  if (!r.Hosts(args, "host", &hosts) || !r.String(args, "process", &process)) return false;
  for (const std::string& host : hosts) {
    const std::vector<std::string>& runs = r.hosts.processes.at(host);
    if (!process.empty() && std::find(runs.begin(), runs.end(), process) == runs.end()) {
      return r.Fail(args.Get("process")->Mark(), args.Path("process"),
                    fmt::format("{} runs no process \"{}\" (it runs: {})", host, Truncated(process), fmt::join(runs, ", ")));
    }
    for (const std::string& p : runs) {
      if (!process.empty() && p != process) continue;
      faults::Fault f = HostFault(kind, host);
      f.process = p;
      e->faults.push_back(std::move(f));
    }
  }
  return true;
}

bool Pod(Reader& r, const Fields& args, faults::Fault* f) {
  if (!r.String(args, "pod", &f->pod) || !r.String(args, "container", &f->container)) return false;
  const size_t slash = f->pod.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == f->pod.size() || f->pod.find('/', slash + 1) != std::string::npos) {
    return r.Fail(args.Get("pod")->Mark(), args.Path("pod"), "must be namespace/name");
  }
  return true;
}

bool ObjectRef(Reader& r, const Fields& args, ApiAction* a) {
  if (!r.String(args, "kind", &a->kind) || !r.String(args, "name", &a->name) ||
      !r.String(args, "namespace", &a->namespace_name)) {
    return false;
  }
  if (a->name.empty()) return r.Fail(args.Get("name")->Mark(), args.Path("name"), "must not be empty");
  return true;
}

bool ReadNode(Reader& r, const Fields& args, TimelineEntry* e) { return r.Host(args, "node", true, &e->api.node); }

// ---- the table, in ActionKind order
const std::array<ReadAction, 31> kReaders = {
    // apply
    [](Reader& r, const Fields& a, TimelineEntry* e) { return r.ManifestText(a, &e->api.manifest); },
    // delete
    [](Reader& r, const Fields& a, TimelineEntry* e) { return ObjectRef(r, a, &e->api); },
    // scale
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      e->api.kind = "Deployment";
      if (!ObjectRef(r, a, &e->api) || !r.Int(a, "replicas", 0, 100000, &e->api.replicas)) return false;
      const std::string& k = e->api.kind;
      if (k != "Deployment" && k != "ReplicaSet" && k != "StatefulSet" && k != "ReplicationController") {
        return r.Fail(a.Get("kind")->Mark(), a.Path("kind"),
                      "must be Deployment, ReplicaSet, StatefulSet or ReplicationController");
      }
      return true;
    },
    // patch
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      e->api.patch_type = "strategic";
      if (!ObjectRef(r, a, &e->api) || !r.String(a, "type", &e->api.patch_type)) return false;
      const std::string& t = e->api.patch_type;
      if (t != "strategic" && t != "merge" && t != "json") {
        return r.Fail(a.Get("type")->Mark(), a.Path("type"), "must be strategic, merge or json (kubectl patch --type)");
      }
      const YAML::Node& patch = *a.Get("patch");
      if (t == "json" ? !patch.IsSequence() : !patch.IsMap()) {
        return r.Fail(patch.Mark(), a.Path("patch"),
                      t == "json" ? "a json patch is a list of operations" : "a merge patch is an object");
      }
      return r.Json(a, "patch", &e->api.patch_json);
    },
    // cordon, uncordon
    ReadNode,
    ReadNode,
    // drain
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      return ReadNode(r, a, e) && r.Duration(a, "gracePeriod", false, &e->api.grace_period);
    },
    // crash, restart
    [](Reader& r, const Fields& a, TimelineEntry* e) { return Processes(r, a, FK::kCrashProcess, e); },
    [](Reader& r, const Fields& a, TimelineEntry* e) { return Processes(r, a, FK::kRestartProcess, e); },
    // powerOff, powerOn, pause, resume
    [](Reader& r, const Fields& a, TimelineEntry* e) { return Simple(r, a, FK::kPowerOff, e); },
    [](Reader& r, const Fields& a, TimelineEntry* e) { return Simple(r, a, FK::kPowerOn, e); },
    [](Reader& r, const Fields& a, TimelineEntry* e) { return Simple(r, a, FK::kPause, e); },
    [](Reader& r, const Fields& a, TimelineEntry* e) { return Simple(r, a, FK::kResume, e); },
    // partition
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      faults::Fault f;
      f.kind = FK::kPartition;
      if (!r.HostGroups(a, "groups", &f.groups)) return false;
      e->faults.push_back(std::move(f));
      return true;
    },
    // isolate
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      faults::Fault f = HostFault(FK::kIsolate, "");
      if (!r.Host(a, "host", false, &f.host)) return false;
      e->faults.push_back(std::move(f));
      return true;
    },
    // oneWay
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      faults::Fault f;
      f.kind = FK::kOneWay;
      f.groups.resize(2);
      if (!r.Hosts(a, "from", &f.groups[0]) || !r.Hosts(a, "to", &f.groups[1])) return false;
      for (const std::string& h : f.groups[1]) {
        if (std::find(f.groups[0].begin(), f.groups[0].end(), h) != f.groups[0].end()) {
          return r.Fail(a.Get("to")->Mark(), a.Path("to"), h + " is also in from");
        }
      }
      e->faults.push_back(std::move(f));
      return true;
    },
    // bridge
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      faults::Fault f;
      f.kind = FK::kBridge;
      f.groups.resize(2);
      if (!r.Hosts(a, "left", &f.groups[0]) || !r.Hosts(a, "right", &f.groups[1]) || !r.Host(a, "via", false, &f.host)) {
        return false;
      }
      for (const std::string& h : f.groups[1]) {
        if (std::find(f.groups[0].begin(), f.groups[0].end(), h) != f.groups[0].end()) {
          return r.Fail(a.Get("right")->Mark(), a.Path("right"), h + " is also in left");
        }
      }
      for (const auto& side : f.groups) {
        if (std::find(side.begin(), side.end(), f.host) != side.end()) {
          return r.Fail(a.Get("via")->Mark(), a.Path("via"), f.host + " bridges the sides, so it is in neither");
        }
      }
      e->faults.push_back(std::move(f));
      return true;
    },
    // heal
    [](Reader&, const Fields&, TimelineEntry* e) {
      e->faults.push_back(HostFault(FK::kHeal, ""));
      return true;
    },
    // clockSkew, clockJump, clockDrift
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      return PerHost(r, a, FK::kClockSkew, e, [&](faults::Fault& f) { return r.Duration(a, "offset", true, &f.amount); });
    },
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      return PerHost(r, a, FK::kClockJump, e, [&](faults::Fault& f) { return r.Duration(a, "by", true, &f.amount); });
    },
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      return PerHost(r, a, FK::kClockDrift, e, [&](faults::Fault& f) { return r.Int(a, "ppm", -500000, 500000, &f.ppm); });
    },
    // slowDisk, diskErrors, diskHeal
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      return PerHost(r, a, FK::kSlowDisk, e, [&](faults::Fault& f) { return r.Duration(a, "fsyncDelay", false, &f.amount); });
    },
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      return PerHost(r, a, FK::kDiskErrors, e, [&](faults::Fault& f) { return r.Number(a, "rate", 0, 1, &f.rate); });
    },
    [](Reader& r, const Fields& a, TimelineEntry* e) { return Simple(r, a, FK::kDiskHeal, e); },
    // linkFaults, linkClear
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      faults::Fault f = HostFault(FK::kLinkFaults, "");
      if (!r.Number(a, "loss", 0, 1, &f.loss) || !r.Number(a, "duplicate", 0, 1, &f.duplicate) ||
          !r.Number(a, "reorder", 0, 1, &f.reorder)) {
        return false;
      }
      e->faults.push_back(std::move(f));
      return true;
    },
    [](Reader&, const Fields&, TimelineEntry* e) {
      e->faults.push_back(HostFault(FK::kLinkClear, ""));
      return true;
    },
    // containerCrash
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      return PerHost(r, a, FK::kContainerCrash, e,
                     [&](faults::Fault& f) { return Pod(r, a, &f) && r.Int(a, "exitCode", 0, 255, &f.exit_code); });
    },
    // imagePullFailure, imagePullHeal
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      return PerHost(r, a, FK::kImagePullFailure, e, [&](faults::Fault& f) { return r.String(a, "image", &f.image); });
    },
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      return PerHost(r, a, FK::kImagePullHeal, e, [&](faults::Fault& f) { return r.String(a, "image", &f.image); });
    },
    // cpuLoad, cpuLoadClear
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      return PerHost(r, a, FK::kCpuLoad, e,
                     [&](faults::Fault& f) { return Pod(r, a, &f) && r.Quantity(a, "cpu", nullptr, &f.cpu_millis); });
    },
    [](Reader& r, const Fields& a, TimelineEntry* e) {
      return PerHost(r, a, FK::kCpuLoadClear, e, [&](faults::Fault& f) { return Pod(r, a, &f); });
    },
};

bool ReadEntry(Reader& r, const Scenario& s, const YAML::Node& node, const std::string& path, TimelineEntry* e) {
  Fields f;
  auto is_action = [](std::string_view key) { return FindAction(key) != nullptr; };
  if (!r.Open(node, path, "timelineEntry", &f, is_action) || !r.Duration(f, "at", false, &e->at)) return false;
  e->pos = r.Pos(node.Mark());
  const ActionSpec* action = nullptr;
  const YAML::Node* args = nullptr;
  std::string action_key;
  for (const auto& [key, value] : f.entries) {
    const ActionSpec* spec = FindAction(key);
    if (spec == nullptr) continue;
    if (action != nullptr) {
      return r.Fail(node.Mark(), path, fmt::format("has two actions, {} and {}: give each its own entry", action->key, key));
    }
    action = spec;
    args = &value;
    action_key = key;
  }
  if (action == nullptr) {
    std::string names;
    for (const ActionSpec& a : ActionSpecs()) names += (names.empty() ? "" : ", ") + std::string(a.key);
    return r.Fail(node.Mark(), path, "needs one action: " + names);
  }
  const YAML::Node& at = *f.Get("at");
  if (e->at > s.duration) {
    return r.Fail(at.Mark(), f.Path("at"),
                  fmt::format("{} is after the end of the run ({})", FormatScenarioDuration(e->at),
                              FormatScenarioDuration(s.duration)));
  }
  if (action->fault && !action->heals && s.phases.liveness > Nanos(0) && e->at >= s.phases.safety) {
    return r.Fail(at.Mark(), f.Path("at"),
                  fmt::format("{} is in the liveness phase (from {}), where faults have stopped", action_key,
                              FormatScenarioDuration(s.phases.safety)));
  }
  e->action = action->kind;
  e->is_fault = action->fault;
  Fields action_args;
  const std::string args_path = f.Path(action_key);
  return r.Open(*args, args_path, fmt::format("action.{}", action_key), &action_args) &&
         kReaders[static_cast<size_t>(action->kind)](r, action_args, e);
}

}  // namespace

bool ReadTimeline(Reader& r, const Fields& top, Scenario* out) {
  static_assert(kReaders.size() == static_cast<size_t>(ActionKind::kCpuLoadClear) + 1, "one reader per action");
  const YAML::Node* node = top.Get("timeline");
  if (node == nullptr) return true;
  if (!r.List(*node, "timeline", r.limits().max_timeline_entries, [&](const YAML::Node& e, const std::string& p, size_t) {
        TimelineEntry entry;
        if (!ReadEntry(r, *out, e, p, &entry)) return false;
        out->timeline.push_back(std::move(entry));
        return true;
      })) {
    return false;
  }
  std::stable_sort(out->timeline.begin(), out->timeline.end(),
                   [](const TimelineEntry& a, const TimelineEntry& b) { return a.at < b.at; });
  return true;
}

}  // namespace ksim::scenarios::internal
