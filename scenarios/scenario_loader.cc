// The scenario file's top level: the file, duration and phases, the cluster, the workload
// and the swarm ranges. The timeline, nemesis and expectations have their own files.
#include "scenarios/scenario_loader.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cluster/api/yaml_documents.h"
#include "scenarios/scenario_reader.h"

namespace ksim::scenarios {

using internal::Fields;
using internal::Reader;

namespace {

constexpr std::string_view kApiVersion = "ksim.io/v1alpha1";

bool ReadPhases(Reader& r, const Fields& top, Scenario* out) {
  const YAML::Node* duration = top.Get("duration");
  const YAML::Node* phases = top.Get("phases");
  if (duration != nullptr && !r.Duration(top, "duration", false, &out->duration)) return false;
  if (phases != nullptr) {
    Fields f;
    if (!r.Open(*phases, "phases", "phases", &f) || !r.Duration(f, "safety", false, &out->phases.safety) ||
        !r.Duration(f, "liveness", false, &out->phases.liveness)) {
      return false;
    }
    const Nanos sum = out->phases.safety + out->phases.liveness;
    if (duration == nullptr) {
      out->duration = sum;
    } else if (out->duration != sum) {
      return r.Fail(duration->Mark(), "duration",
                    fmt::format("{} is not the phases' sum {} (leave it out to use the sum)",
                                FormatScenarioDuration(out->duration), FormatScenarioDuration(sum)));
    }
  } else if (duration == nullptr) {
    return r.Fail(top.node.Mark(), "duration", "required field is missing (or give phases)");
  } else {
    out->phases.safety = out->duration;
  }
  if (out->duration <= Nanos(0)) {
    return r.Fail(duration != nullptr ? duration->Mark() : phases->Mark(), duration != nullptr ? "duration" : "phases",
                  "the run must last longer than 0s");
  }
  if (out->duration > r.limits().max_duration) {
    return r.Fail(phases != nullptr ? phases->Mark() : duration->Mark(), phases != nullptr ? "phases" : "duration",
                  "longer than " + FormatScenarioDuration(r.limits().max_duration));
  }
  return true;
}

bool ReadControlPlane(Reader& r, const Fields& cluster, ControlPlaneSpec* cp) {
  const YAML::Node* node = cluster.Get("controlPlane");
  if (node == nullptr) return true;
  Fields f;
  if (!r.Open(*node, cluster.Path("controlPlane"), "controlPlane", &f) || !r.Int(f, "hosts", 1, 7, &cp->hosts)) {
    return false;
  }
  cp->stores = cp->apiservers = cp->schedulers = cp->controller_managers = cp->hosts;
  if (!r.Int(f, "stores", 1, 7, &cp->stores) || !r.Int(f, "apiservers", 1, 7, &cp->apiservers) ||
      !r.Int(f, "schedulers", 0, 7, &cp->schedulers) ||
      !r.Int(f, "controllerManagers", 0, 7, &cp->controller_managers)) {
    return false;
  }
  // What SimCluster builds today (sim_cluster.h); the reason names it.
  auto reject = [&](std::string_view key, std::string_view what) {
    return r.Fail(f.Get(key)->Mark(), f.Path(key),
                  fmt::format("SimCluster runs {} on every control-plane host: must be {} (hosts)", what,
                              key == "schedulers" || key == "controllerManagers"
                                  ? fmt::format("0 or {}", cp->hosts)
                                  : std::to_string(cp->hosts)));
  };
  if (cp->stores != cp->hosts) return reject("stores", "a store member");
  if (cp->apiservers != cp->hosts) return reject("apiservers", "an apiserver");
  if (cp->schedulers != 0 && cp->schedulers != cp->hosts) return reject("schedulers", "a scheduler (or none)");
  if (cp->controller_managers != 0 && cp->controller_managers != cp->hosts) {
    return reject("controllerManagers", "a controller-manager (or none)");
  }
  return true;
}

bool IsReservedGroupName(std::string_view name) {
  // Selectors, and the prefixes of SimCluster's own names (an alias "cp-1" would clash).
  return name == "control-plane" || name == "workers" || name == "all" || name == "lb" || name == "client" ||
         name == "cp" || name == "worker";
}

bool ReadWorkerGroup(Reader& r, const YAML::Node& node, const std::string& path, WorkerGroup* g) {
  Fields f;
  if (!r.Open(node, path, "workerGroup", &f) || !r.String(f, "name", &g->name)) return false;
  if (!internal::IsDnsLabel(g->name)) {
    return r.Fail(f.Get("name")->Mark(), f.Path("name"), "must be a lowercase DNS label (a-z, 0-9, '-')");
  }
  if (IsReservedGroupName(g->name)) {
    return r.Fail(f.Get("name")->Mark(), f.Path("name"), fmt::format("\"{}\" is reserved for host names and selectors", g->name));
  }
  if (!r.Int(f, "count", 0, r.limits().max_workers, &g->count) || !r.Quantity(f, "cpu", &g->cpu, nullptr) ||
      !r.Quantity(f, "memory", &g->memory, nullptr) || !r.Int(f, "pods", 1, 10000, &g->pods) ||
      !r.StringMap(f, "labels", &g->labels) || !r.StringList(f, "zones", &g->zones)) {
    return false;
  }
  const YAML::Node* taints = f.Get("taints");
  if (taints == nullptr) return true;
  return r.List(*taints, f.Path("taints"), r.limits().max_list, [&](const YAML::Node& e, const std::string& p, size_t) {
    Fields t;
    Taint taint;
    if (!r.Open(e, p, "taint", &t) || !r.String(t, "key", &taint.key) || !r.String(t, "value", &taint.value) ||
        !r.String(t, "effect", &taint.effect)) {
      return false;
    }
    if (taint.effect != "NoSchedule" && taint.effect != "PreferNoSchedule" && taint.effect != "NoExecute") {
      return r.Fail(t.Get("effect")->Mark(), t.Path("effect"), "must be NoSchedule, PreferNoSchedule or NoExecute");
    }
    g->taints.push_back(std::move(taint));
    return true;
  });
}

bool ReadCluster(Reader& r, const Fields& top, ClusterSpec* out) {
  Fields f;
  if (!r.Open(*top.Get("cluster"), "cluster", "cluster", &f) || !ReadControlPlane(r, f, &out->control_plane) ||
      !r.Bool(f, "serviceNetwork", &out->service_network)) {
    return false;
  }
  if (const YAML::Node* groups = f.Get("workerGroups")) {
    int next_worker = 1;
    if (!r.List(*groups, f.Path("workerGroups"), r.limits().max_worker_groups,
                [&](const YAML::Node& e, const std::string& p, size_t) {
                  WorkerGroup g;
                  if (!ReadWorkerGroup(r, e, p, &g)) return false;
                  for (const WorkerGroup& other : out->worker_groups) {
                    if (other.name == g.name) return r.Fail(e.Mark(), p + ".name", "duplicate group name \"" + g.name + "\"");
                  }
                  g.first_worker = next_worker;
                  next_worker += g.count;
                  if (next_worker - 1 > r.limits().max_workers) {
                    return r.Fail(e.Mark(), p + ".count",
                                  fmt::format("more than {} workers in the cluster", r.limits().max_workers));
                  }
                  out->worker_groups.push_back(std::move(g));
                  return true;
                })) {
      return false;
    }
  }
  if (const YAML::Node* network = f.Get("network")) {
    Fields n;
    NetworkSpec& net = out->network;
    if (!r.Open(*network, f.Path("network"), "network", &n) || !r.Duration(n, "latency", false, &net.latency) ||
        !r.Duration(n, "jitter", false, &net.jitter) || !r.Number(n, "loss", 0, 1, &net.loss) ||
        !r.Number(n, "duplicate", 0, 1, &net.duplicate) || !r.Number(n, "reorder", 0, 1, &net.reorder)) {
      return false;
    }
  }
  r.hosts.Build(*out);
  return true;
}

bool ReadWorkload(Reader& r, const Fields& top, Scenario* out) {
  const YAML::Node* node = top.Get("workload");
  if (node == nullptr) return true;
  return r.List(*node, "workload", r.limits().max_manifests, [&](const YAML::Node& e, const std::string& p, size_t) {
    Fields f;
    Manifest m;
    if (!r.Open(e, p, "manifest", &f) || !r.ManifestText(f, &m)) return false;
    out->workload.push_back(std::move(m));
    return true;
  });
}

// ---------------------------------------------------------------- swarm

enum class SwarmValue { kInt, kDuration, kProbability };

struct SwarmField {
  std::string_view pattern;  // "[]" stands for an index
  SwarmRange::Field field;
  SwarmValue value;
};

constexpr SwarmField kSwarmFields[] = {
    {"cluster.workerGroups[].count", SwarmRange::Field::kWorkerGroupCount, SwarmValue::kInt},
    {"cluster.network.latency", SwarmRange::Field::kNetworkLatency, SwarmValue::kDuration},
    {"cluster.network.jitter", SwarmRange::Field::kNetworkJitter, SwarmValue::kDuration},
    {"cluster.network.loss", SwarmRange::Field::kNetworkLoss, SwarmValue::kProbability},
    {"cluster.network.duplicate", SwarmRange::Field::kNetworkDuplicate, SwarmValue::kProbability},
    {"cluster.network.reorder", SwarmRange::Field::kNetworkReorder, SwarmValue::kProbability},
    {"nemesis[].every", SwarmRange::Field::kNemesisEvery, SwarmValue::kDuration},
    {"nemesis[].duration", SwarmRange::Field::kNemesisDuration, SwarmValue::kDuration},
};

// Whether `path` matches `pattern`, reading the index of its "[]" (if any) into *index.
bool MatchSwarmPath(std::string_view pattern, std::string_view path, int* index) {
  const size_t hole = pattern.find("[]");
  if (hole == std::string_view::npos) return pattern == path;
  if (path.substr(0, hole + 1) != pattern.substr(0, hole + 1)) return false;
  size_t i = hole + 1;
  int64_t value = 0;
  const size_t digits_start = i;
  while (i < path.size() && path[i] >= '0' && path[i] <= '9' && i - digits_start < 6) value = value * 10 + (path[i++] - '0');
  if (i == digits_start) return false;
  *index = static_cast<int>(value);
  return path.substr(i) == pattern.substr(hole + 1);
}

bool ReadSwarmValue(Reader& r, const YAML::Node& e, const std::string& p, SwarmValue kind, double* out) {
  if (kind == SwarmValue::kInt) {
    int64_t v = 0;
    if (!r.ScalarInt(e, p, 0, r.limits().max_workers, &v)) return false;
    *out = static_cast<double>(v);
    return true;
  }
  if (kind == SwarmValue::kProbability) return r.ScalarNumber(e, p, 0, 1, out);
  Nanos d{0};
  if (!r.ScalarDuration(e, p, false, &d)) return false;
  *out = static_cast<double>(d.count());
  return true;
}

bool ReadSwarmEntry(Reader& r, const Scenario& scenario, const YAML::Node& node, const std::string& path, SwarmRange* out) {
  Fields f;
  if (!r.Open(node, path, "swarmRange", &f) || !r.String(f, "path", &out->path)) return false;
  out->pos = r.Pos(node.Mark());
  const SwarmField* match = nullptr;
  for (const SwarmField& candidate : kSwarmFields) {
    if (MatchSwarmPath(candidate.pattern, out->path, &out->index)) match = &candidate;
  }
  const YAML::Mark path_mark = f.Get("path")->Mark();
  if (match == nullptr) {
    std::string known;
    for (const SwarmField& c : kSwarmFields) known += (known.empty() ? "" : ", ") + std::string(c.pattern);
    return r.Fail(path_mark, f.Path("path"), fmt::format("\"{}\" cannot be drawn (fields: {})", internal::Truncated(out->path), known));
  }
  out->field = match->field;
  const size_t size = out->field == SwarmRange::Field::kWorkerGroupCount ? scenario.cluster.worker_groups.size()
                      : (out->field == SwarmRange::Field::kNemesisEvery || out->field == SwarmRange::Field::kNemesisDuration)
                          ? scenario.nemesis.size()
                          : 1;
  if (out->index < 0 || static_cast<size_t>(out->index) >= size) {
    return r.Fail(path_mark, f.Path("path"), fmt::format("index {} is out of range (the file has {})", out->index, size));
  }
  const YAML::Node* range = f.Get("range");
  const YAML::Node* choices = f.Get("choices");
  if ((range == nullptr) == (choices == nullptr)) return r.Fail(node.Mark(), path, "needs exactly one of range and choices");
  std::vector<double> values;
  const YAML::Node& list = range != nullptr ? *range : *choices;
  const std::string list_path = f.Path(range != nullptr ? "range" : "choices");
  if (!r.List(list, list_path, r.limits().max_list, [&](const YAML::Node& e, const std::string& p, size_t) {
        double v = 0;
        if (!ReadSwarmValue(r, e, p, match->value, &v)) return false;
        values.push_back(v);
        return true;
      })) {
    return false;
  }
  if (range != nullptr) {
    if (values.size() != 2) return r.Fail(list.Mark(), list_path, "expected [min, max]");
    if (values[0] > values[1]) return r.Fail(list.Mark(), list_path, "min is greater than max");
    out->min = values[0];
    out->max = values[1];
  } else {
    if (values.empty()) return r.Fail(list.Mark(), list_path, "needs at least one value");
    out->choices = values;
    out->min = *std::min_element(values.begin(), values.end());
    out->max = *std::max_element(values.begin(), values.end());
  }
  return true;
}

bool ReadSwarm(Reader& r, const Fields& top, Scenario* out) {
  const YAML::Node* node = top.Get("swarm");
  if (node == nullptr) return true;
  return r.List(*node, "swarm", r.limits().max_swarm, [&](const YAML::Node& e, const std::string& p, size_t) {
    SwarmRange range;
    if (!ReadSwarmEntry(r, *out, e, p, &range)) return false;
    out->swarm.push_back(std::move(range));
    return true;
  });
}

// ---------------------------------------------------------------- the file

// Text checks and YAML syntax, with the column yaml-cpp reports.
bool LoadDocument(Reader& r, std::string_view text, YAML::Node* out) {
  YAML::Mark start;
  start.line = 0;
  start.column = 0;
  if (text.size() > r.limits().max_file_bytes) {
    return r.Fail(start, "", fmt::format("file is larger than {} bytes", r.limits().max_file_bytes));
  }
  size_t bad = 0;
  if (!api::IsValidYamlText(text, true, &bad)) {
    YAML::Mark at;
    at.line = static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n'));
    const size_t line_start = text.rfind('\n', bad == 0 ? 0 : bad - 1);
    at.column = static_cast<int>(line_start == std::string_view::npos || bad == 0 ? bad : bad - line_start - 1);
    return r.Fail(at, "", "invalid UTF-8 or a control character");
  }
  std::vector<YAML::Node> docs;
  if (Status s = api::LoadYamlDocuments(text, r.source(), &docs); !s.ok()) {
    // "<source>:<line>: <reason>"; yaml-cpp's own exception has the column.
    YAML::Mark at = start;
    std::string reason = s.message().substr(std::min(s.message().size(), r.source().size() + 1));
    const size_t colon = reason.find(": ");
    if (colon != std::string::npos) {
      at.line = std::max(0, std::atoi(reason.substr(0, colon).c_str()) - 1);
      reason = reason.substr(colon + 2);
    }
    try {
      (void)YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      if (e.mark.line == at.line) at = e.mark;
    }
    return r.Fail(at, "", reason);
  }
  std::vector<YAML::Node> present;
  for (const YAML::Node& doc : docs) {
    if (!doc.IsNull()) present.push_back(doc);
  }
  if (present.empty()) return r.Fail(start, "", "the file holds no scenario");
  if (present.size() > 1) return r.Fail(present[1].Mark(), "", "a scenario file holds one YAML document");
  *out = present[0];
  return true;
}

bool ReadScenario(Reader& r, const YAML::Node& doc, Scenario* out) {
  Fields top;
  if (!r.Open(doc, "", "scenario", &top)) return false;
  std::string api_version;
  std::string kind;
  if (!r.String(top, "apiVersion", &api_version) || !r.String(top, "kind", &kind)) return false;
  if (api_version != kApiVersion) {
    return r.Fail(top.Get("apiVersion")->Mark(), "apiVersion", fmt::format("must be {}", kApiVersion));
  }
  if (kind != "Scenario") return r.Fail(top.Get("kind")->Mark(), "kind", "must be Scenario");
  if (!r.String(top, "name", &out->name) || !r.String(top, "description", &out->description, 64 * 1024)) return false;
  if (!internal::IsDnsLabel(out->name)) {
    return r.Fail(top.Get("name")->Mark(), "name", "must be a lowercase DNS label (a-z, 0-9, '-', at most 63)");
  }
  out->source = r.Pos(doc.Mark());
  out->source.line = out->source.column = 1;
  return ReadPhases(r, top, out) && ReadCluster(r, top, &out->cluster) && ReadWorkload(r, top, out) &&
         internal::ReadTimeline(r, top, out) && internal::ReadNemesis(r, top, out) &&
         internal::ReadExpectations(r, top, out) && ReadSwarm(r, top, out);
}

}  // namespace

namespace internal {

bool IsDnsLabel(std::string_view name) {
  if (name.empty() || name.size() > 63 || name.front() == '-' || name.back() == '-') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

}  // namespace internal

int ClusterSpec::workers() const {
  int n = 0;
  for (const WorkerGroup& g : worker_groups) n += g.count;
  return n;
}

Status ParseScenario(std::string_view text, const std::string& source_name, const std::string& base_dir,
                     Scenario* out, const ScenarioLimits& limits) {
  Reader r(source_name, base_dir, limits);
  YAML::Node doc;
  Scenario scenario;
  try {
    if (!LoadDocument(r, text, &doc) || !ReadScenario(r, doc, &scenario)) return r.error();
  } catch (const YAML::Exception& e) {
    r.Fail(e.mark, "", std::string("invalid YAML: ") + e.msg);
    return r.error();
  }
  *out = std::move(scenario);
  return Status::Ok();
}

Status LoadScenarioFile(const std::string& path, Scenario* out, const ScenarioLimits& limits) {
  std::error_code ec;
  const std::filesystem::path file(path);
  if (!std::filesystem::is_regular_file(file, ec)) return Status::InvalidArgument(path + ":1:1: no such file");
  const uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec || size > limits.max_file_bytes) {
    return Status::InvalidArgument(fmt::format("{}:1:1: file is larger than {} bytes", path, limits.max_file_bytes));
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return Status::InvalidArgument(path + ":1:1: cannot read the file");
  return ParseScenario(text.str(), path, file.parent_path().string(), out, limits);
}

}  // namespace ksim::scenarios
