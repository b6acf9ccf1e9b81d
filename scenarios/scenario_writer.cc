#include "scenarios/scenario_writer.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "scenarios/scenario_fields.h"
#include "scenarios/scenario_loader.h"

namespace ksim::scenarios {

namespace {

using FK = faults::FaultKind;

// Every string double-quoted, so "123", "true" or "null" stay strings when read back.
void Str(YAML::Emitter& out, const std::string& key, const std::string& value) {
  out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << value;
}

void Duration(YAML::Emitter& out, const std::string& key, Nanos value) {
  out << YAML::Key << key << YAML::Value << FormatScenarioDuration(value);
}

// The shortest text that reads back as the same double.
std::string Number(double value) { return fmt::format("{}", value); }

void Num(YAML::Emitter& out, const std::string& key, double value) { out << YAML::Key << key << YAML::Value << Number(value); }

void StrList(YAML::Emitter& out, const std::vector<std::string>& values) {
  out << YAML::Flow << YAML::BeginSeq;
  for (const std::string& v : values) out << YAML::DoubleQuoted << v;
  out << YAML::EndSeq;
}

void ManifestText(YAML::Emitter& out, const std::string& text) {
  // A literal block keeps the text readable when it reads back exactly: one final newline,
  // no carriage returns, no leading space on the first line.
  const bool literal = !text.empty() && text.back() == '\n' && (text.size() < 2 || text[text.size() - 2] != '\n') &&
                       text.find('\r') == std::string::npos && text[0] != ' ' && text[0] != '\n';
  out << YAML::Key << "inline" << YAML::Value;
  if (literal) {
    out << YAML::Literal << text;
  } else {
    out << YAML::DoubleQuoted << text;
  }
}

// JSON as YAML (patches): strings quoted, numbers and literals plain.
void JsonAsYaml(YAML::Emitter& out, const nlohmann::json& json) {
  if (json.is_object()) {
    out << YAML::Flow << YAML::BeginMap;
    for (const auto& [key, value] : json.items()) {
      out << YAML::Key << YAML::DoubleQuoted << key << YAML::Value;
      JsonAsYaml(out, value);
    }
    out << YAML::EndMap;
  } else if (json.is_array()) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& value : json) JsonAsYaml(out, value);
    out << YAML::EndSeq;
  } else if (json.is_string()) {
    out << YAML::DoubleQuoted << json.get<std::string>();
  } else {
    out << json.dump();
  }
}

void ApiArgs(YAML::Emitter& out, ActionKind kind, const ApiAction& a) {
  switch (kind) {
    case ActionKind::kApply: ManifestText(out, a.manifest.text); return;
    case ActionKind::kCordon:
    case ActionKind::kUncordon: Str(out, "node", a.node); return;
    case ActionKind::kDrain:
      Str(out, "node", a.node);
      if (a.grace_period >= Nanos(0)) Duration(out, "gracePeriod", a.grace_period);
      return;
    default: break;
  }
  Str(out, "kind", a.kind);
  Str(out, "name", a.name);
  Str(out, "namespace", a.namespace_name);
  if (kind == ActionKind::kScale) out << YAML::Key << "replicas" << YAML::Value << a.replicas;
  if (kind == ActionKind::kPatch) {
    Str(out, "type", a.patch_type);
    out << YAML::Key << "patch" << YAML::Value;
    JsonAsYaml(out, nlohmann::json::parse(a.patch_json));
  }
}

void PodArgs(YAML::Emitter& out, const faults::Fault& f) {
  Str(out, "pod", f.pod);
  if (!f.container.empty()) Str(out, "container", f.container);
}

void FaultArgs(YAML::Emitter& out, const faults::Fault& f) {
  switch (f.kind) {
    case FK::kPartition:
      out << YAML::Key << "groups" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& g : f.groups) StrList(out, g);
      out << YAML::EndSeq;
      return;
    case FK::kOneWay:
      out << YAML::Key << "from" << YAML::Value;
      StrList(out, f.groups.at(0));
      out << YAML::Key << "to" << YAML::Value;
      StrList(out, f.groups.at(1));
      return;
    case FK::kBridge:
      out << YAML::Key << "left" << YAML::Value;
      StrList(out, f.groups.at(0));
      out << YAML::Key << "right" << YAML::Value;
      StrList(out, f.groups.at(1));
      Str(out, "via", f.host);
      return;
    case FK::kHeal:
    case FK::kLinkClear: return;
    case FK::kLinkFaults:
      Num(out, "loss", f.loss);
      Num(out, "duplicate", f.duplicate);
      Num(out, "reorder", f.reorder);
      return;
    default: break;
  }
  Str(out, "host", f.host);
  switch (f.kind) {
    case FK::kCrashProcess:
    case FK::kRestartProcess: Str(out, "process", f.process); return;
    case FK::kClockSkew: Duration(out, "offset", f.amount); return;
    case FK::kClockJump: Duration(out, "by", f.amount); return;
    case FK::kClockDrift: out << YAML::Key << "ppm" << YAML::Value << f.ppm; return;
    case FK::kSlowDisk: Duration(out, "fsyncDelay", f.amount); return;
    case FK::kDiskErrors: Num(out, "rate", f.rate); return;
    case FK::kContainerCrash:
      PodArgs(out, f);
      out << YAML::Key << "exitCode" << YAML::Value << f.exit_code;
      return;
    case FK::kImagePullFailure:
    case FK::kImagePullHeal:
      if (!f.image.empty()) Str(out, "image", f.image);
      return;
    case FK::kCpuLoad:
      PodArgs(out, f);
      Str(out, "cpu", fmt::format("{}m", f.cpu_millis));
      return;
    case FK::kCpuLoadClear: PodArgs(out, f); return;
    default: return;  // powerOff, powerOn, pause, resume, isolate, diskHeal: the host only
  }
}

void Entry(YAML::Emitter& out, Nanos at, ActionKind kind, const std::function<void()>& args) {
  out << YAML::BeginMap;
  Duration(out, "at", at);
  out << YAML::Key << std::string(ActionKindName(kind)) << YAML::Value << YAML::Flow << YAML::BeginMap;
  args();
  out << YAML::EndMap << YAML::EndMap;
}

void Cluster(YAML::Emitter& out, const ClusterSpec& c) {
  out << YAML::Key << "cluster" << YAML::Value << YAML::BeginMap;
  const ControlPlaneSpec& cp = c.control_plane;
  out << YAML::Key << "controlPlane" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "hosts"
      << YAML::Value << cp.hosts << YAML::Key << "stores" << YAML::Value << cp.stores << YAML::Key << "apiservers"
      << YAML::Value << cp.apiservers << YAML::Key << "schedulers" << YAML::Value << cp.schedulers << YAML::Key
      << "controllerManagers" << YAML::Value << cp.controller_managers << YAML::EndMap;
  out << YAML::Key << "workerGroups" << YAML::Value << YAML::BeginSeq;
  for (const WorkerGroup& g : c.worker_groups) {
    out << YAML::BeginMap;
    Str(out, "name", g.name);
    out << YAML::Key << "count" << YAML::Value << g.count;
    Str(out, "cpu", g.cpu);
    Str(out, "memory", g.memory);
    out << YAML::Key << "pods" << YAML::Value << g.pods;
    out << YAML::Key << "labels" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (const auto& [k, v] : g.labels) out << YAML::Key << YAML::DoubleQuoted << k << YAML::Value << YAML::DoubleQuoted << v;
    out << YAML::EndMap << YAML::Key << "taints" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const Taint& t : g.taints) {
      out << YAML::BeginMap;
      Str(out, "key", t.key);
      Str(out, "value", t.value);
      Str(out, "effect", t.effect);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::Key << "zones" << YAML::Value;
    StrList(out, g.zones);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "network" << YAML::Value << YAML::Flow << YAML::BeginMap;
  Duration(out, "latency", c.network.latency);
  Duration(out, "jitter", c.network.jitter);
  Num(out, "loss", c.network.loss);
  Num(out, "duplicate", c.network.duplicate);
  Num(out, "reorder", c.network.reorder);
  out << YAML::EndMap << YAML::Key << "serviceNetwork" << YAML::Value << c.service_network << YAML::EndMap;
}

void Param(YAML::Emitter& out, const ParamValue& v) {
  switch (v.type) {
    case ParamValue::Type::kInt: out << v.integer; return;
    case ParamValue::Type::kNumber: out << Number(v.number); return;
    case ParamValue::Type::kBool: out << v.boolean; return;
    case ParamValue::Type::kDuration: out << FormatScenarioDuration(v.duration); return;
    default: out << YAML::DoubleQuoted << v.text; return;
  }
}

void Expectations(YAML::Emitter& out, const std::vector<Expectation>& all) {
  out << YAML::Key << "expectations" << YAML::Value << YAML::BeginMap;
  constexpr std::pair<std::string_view, Expectation::When> kSections[] = {
      {"always", Expectation::When::kAlways}, {"eventually", Expectation::When::kEventually}, {"atEnd", Expectation::When::kAtEnd}};
  for (const auto& [key, when] : kSections) {
    out << YAML::Key << std::string(key) << YAML::Value << YAML::BeginSeq;
    for (const Expectation& e : all) {
      if (e.when != when) continue;
      out << YAML::BeginMap << YAML::Key << e.name << YAML::Value << YAML::Flow << YAML::BeginMap;
      for (const auto& [name, value] : e.params) {
        out << YAML::Key << name << YAML::Value;
        Param(out, value);
      }
      out << YAML::EndMap;
      if (when == Expectation::When::kEventually) Duration(out, "within", e.within);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
}

void Swarm(YAML::Emitter& out, const std::vector<SwarmRange>& swarm) {
  out << YAML::Key << "swarm" << YAML::Value << YAML::BeginSeq;
  for (const SwarmRange& s : swarm) {
    const bool duration = s.field == SwarmRange::Field::kNetworkLatency || s.field == SwarmRange::Field::kNetworkJitter ||
                          s.field == SwarmRange::Field::kNemesisEvery || s.field == SwarmRange::Field::kNemesisDuration;
    auto value = [&](double v) {
      if (duration) {
        out << FormatScenarioDuration(Nanos(static_cast<int64_t>(v)));
      } else if (s.field == SwarmRange::Field::kWorkerGroupCount) {
        out << static_cast<int64_t>(v);
      } else {
        out << Number(v);
      }
    };
    out << YAML::Flow << YAML::BeginMap;
    Str(out, "path", s.path);
    out << YAML::Key << (s.choices.empty() ? "range" : "choices") << YAML::Value << YAML::Flow << YAML::BeginSeq;
    if (s.choices.empty()) {
      value(s.min);
      value(s.max);
    } else {
      for (double c : s.choices) value(c);
    }
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

}  // namespace

std::string FormatScenario(const Scenario& s) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "apiVersion" << YAML::Value << "ksim.io/v1alpha1";
  out << YAML::Key << "kind" << YAML::Value << "Scenario";
  Str(out, "name", s.name);
  if (!s.description.empty()) Str(out, "description", s.description);
  Duration(out, "duration", s.duration);
  if (s.phases.liveness > Nanos(0)) {
    out << YAML::Key << "phases" << YAML::Value << YAML::Flow << YAML::BeginMap;
    Duration(out, "safety", s.phases.safety);
    Duration(out, "liveness", s.phases.liveness);
    out << YAML::EndMap;
  }
  Cluster(out, s.cluster);
  out << YAML::Key << "workload" << YAML::Value << YAML::BeginSeq;
  for (const auto& m : s.workload) {
    out << YAML::BeginMap;
    ManifestText(out, m.text);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::Key << "timeline" << YAML::Value << YAML::BeginSeq;
  for (const TimelineEntry& e : s.timeline) {
    if (!e.is_fault) {
      Entry(out, e.at, e.action, [&] { ApiArgs(out, e.action, e.api); });
      continue;
    }
    for (const faults::Fault& f : e.faults) Entry(out, e.at, e.action, [&] { FaultArgs(out, f); });
  }
  out << YAML::EndSeq << YAML::Key << "nemesis" << YAML::Value << YAML::BeginSeq;
  for (const NemesisSpec& n : s.nemesis) {
    out << YAML::BeginMap;
    Str(out, "name", n.name);
    out << YAML::Key << "faults" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (ActionKind k : n.faults) out << std::string(ActionKindName(k));
    out << YAML::EndSeq;
    Duration(out, "every", n.mean_interval);
    Duration(out, "duration", n.fault_duration);
    out << YAML::Key << "targets" << YAML::Value;
    StrList(out, n.targets);
    out << YAML::Key << "processes" << YAML::Value;
    StrList(out, n.processes);
    out << YAML::Key << "mustFire" << YAML::Value << n.must_fire << YAML::EndMap;
  }
  out << YAML::EndSeq;
  Expectations(out, s.expectations);
  Swarm(out, s.swarm);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace ksim::scenarios
