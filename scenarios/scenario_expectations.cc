// `nemesis:` entries and `expectations:` (names and parameters from the catalogue).
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "scenarios/expectation_catalogue.h"
#include "scenarios/scenario_reader.h"

namespace ksim::scenarios::internal {

namespace {

using Type = ParamValue::Type;

bool ReadParam(Reader& r, const ParamSpec& spec, const YAML::Node& node, const std::string& path, ParamValue* out) {
  out->type = spec.type;
  switch (spec.type) {
    case Type::kString: return r.ScalarString(node, path, 0, &out->text);
    case Type::kInt:
      if (!r.ScalarInt(node, path, 0, 1000000000, &out->integer)) return false;
      out->text = std::to_string(out->integer);
      return true;
    case Type::kNumber:
      if (!r.ScalarNumber(node, path, -1e15, 1e15, &out->number)) return false;
      out->text = node.Scalar();
      return true;
    case Type::kBool:
      if (!r.ScalarBool(node, path, &out->boolean)) return false;
      out->text = out->boolean ? "true" : "false";
      return true;
    case Type::kDuration:
      if (!r.ScalarDuration(node, path, false, &out->duration)) return false;
      out->text = FormatScenarioDuration(out->duration);
      return true;
    case Type::kHost: return r.ScalarHost(node, path, true, &out->text);
  }
  return false;
}

// A catalogue default, from the catalogue's own text (checked by the catalogue test).
ParamValue DefaultParam(const ParamSpec& spec) {
  ParamValue v;
  v.type = spec.type;
  v.text = std::string(spec.default_text);
  v.integer = std::strtoll(v.text.c_str(), nullptr, 10);
  v.number = std::strtod(v.text.c_str(), nullptr);
  v.boolean = v.text == "true";
  ParseScenarioDuration(v.text, false, &v.duration);
  return v;
}

bool ReadParams(Reader& r, const ExpectationSpec& spec, const YAML::Node& node, const std::string& path,
                const YAML::Mark& name_mark, Expectation* out) {
  if (!node.IsNull() && !node.IsMap()) {
    return r.Fail(node.Mark(), path, "expected the parameters as an object, got " + DescribeNode(node));
  }
  std::vector<std::string> seen;
  if (node.IsMap()) {
    for (const auto& entry : node) {
      std::string key;
      if (!r.ScalarString(entry.first, path, 0, &key)) return false;
      const std::string key_path = JoinPath(path, key);
      const ParamSpec* param = nullptr;
      for (const ParamSpec& p : spec.params) {
        if (p.name == key) param = &p;
      }
      if (param == nullptr) {
        std::string known;
        for (const ParamSpec& p : spec.params) known += (known.empty() ? "" : ", ") + std::string(p.name);
        return r.Fail(entry.first.Mark(), key_path,
                      fmt::format("{} has no parameter \"{}\"{}", spec.name, Truncated(key),
                                  known.empty() ? " (it takes none)" : " (parameters: " + known + ")"));
      }
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) return r.Fail(entry.first.Mark(), key_path, "duplicate field");
      seen.push_back(key);
      if (!ReadParam(r, *param, entry.second, key_path, &out->params[key])) return false;
    }
  }
  for (const ParamSpec& p : spec.params) {
    if (out->params.count(std::string(p.name)) != 0) continue;
    if (p.required) return r.Fail(node.IsNull() ? name_mark : node.Mark(), JoinPath(path, p.name), "required parameter is missing");
    if (!p.default_text.empty()) out->params[std::string(p.name)] = DefaultParam(p);
  }
  return true;
}

bool ReadExpectation(Reader& r, const Scenario& s, Expectation::When when, const YAML::Node& node,
                     const std::string& path, Expectation* out) {
  out->when = when;
  out->pos = r.Pos(node.Mark());
  YAML::Node params;
  YAML::Mark name_mark = node.Mark();
  std::string name_path = path;
  const YAML::Node* within = nullptr;  // points into `f`
  Fields f;
  if (node.IsScalar()) {
    if (!r.ScalarString(node, path, 0, &out->name)) return false;
  } else {
    if (!r.Open(node, path, "expectation", &f, [](std::string_view) { return true; })) return false;
    for (const auto& [key, value] : f.entries) {
      if (key == "within") {
        within = &value;
        continue;
      }
      if (!out->name.empty()) {
        return r.Fail(node.Mark(), path, fmt::format("names two expectations, {} and {}: give each its own entry", out->name, key));
      }
      out->name = key;
      params = value;
      name_path = f.Path(key);
    }
    if (out->name.empty()) return r.Fail(node.Mark(), path, "names no expectation");
    // The key's own mark: the map's first key is where the entry starts.
    for (const auto& entry : node) {
      if (entry.first.Scalar() == out->name) name_mark = entry.first.Mark();
    }
  }
  const ExpectationSpec* spec = FindExpectation(out->name);
  const bool invariant_wanted = when == Expectation::When::kAlways;
  if (spec == nullptr || spec->invariant != invariant_wanted) {
    std::string names;
    for (const ExpectationSpec& e : ExpectationCatalogue()) {
      if (e.invariant == invariant_wanted) names += (names.empty() ? "" : ", ") + std::string(e.name);
    }
    const std::string what = spec == nullptr ? "unknown" : invariant_wanted ? "not an invariant:" : "an invariant, not a condition:";
    return r.Fail(name_mark, name_path, fmt::format("{} \"{}\" ({})", what, Truncated(out->name), names));
  }
  if (!ReadParams(r, *spec, params, name_path, name_mark, out)) return false;
  if (when != Expectation::When::kEventually) {
    if (within != nullptr) return r.Fail(within->Mark(), JoinPath(path, "within"), "only eventually: entries take within");
    return true;
  }
  if (within == nullptr) return r.Fail(node.Mark(), JoinPath(path, "within"), "required field is missing");
  if (!r.ScalarDuration(*within, JoinPath(path, "within"), false, &out->within)) return false;
  const Nanos start = s.phases.liveness > Nanos(0) ? s.phases.safety : Nanos(0);
  if (start + out->within > s.duration) {
    return r.Fail(within->Mark(), JoinPath(path, "within"),
                  fmt::format("{} from {} ends after the run ({})", FormatScenarioDuration(out->within),
                              start > Nanos(0) ? "the liveness phase's start at " + FormatScenarioDuration(start) : "the start",
                              FormatScenarioDuration(s.duration)));
  }
  return true;
}

bool ReadNemesisEntry(Reader& r, const YAML::Node& node, const std::string& path, size_t index, NemesisSpec* out) {
  Fields f;
  out->name = fmt::format("nemesis[{}]", index);
  out->pos = r.Pos(node.Mark());
  if (!r.Open(node, path, "nemesis", &f) || !r.String(f, "name", &out->name)) return false;
  const YAML::Node& kinds = *f.Get("faults");
  if (!r.List(kinds, f.Path("faults"), r.limits().max_list, [&](const YAML::Node& e, const std::string& p, size_t) {
        std::string key;
        if (!r.ScalarString(e, p, 0, &key)) return false;
        const ActionSpec* a = FindAction(key);
        if (a == nullptr || !a->nemesis) {
          std::string names;
          for (const ActionSpec& s : ActionSpecs()) {
            if (s.nemesis) names += (names.empty() ? "" : ", ") + std::string(s.key);
          }
          return r.Fail(e.Mark(), p, fmt::format("\"{}\" is not a fault a nemesis draws ({})", Truncated(key), names));
        }
        if (std::find(out->faults.begin(), out->faults.end(), a->kind) != out->faults.end()) {
          return r.Fail(e.Mark(), p, "duplicate fault kind " + key);
        }
        out->faults.push_back(a->kind);
        return true;
      })) {
    return false;
  }
  if (out->faults.empty()) return r.Fail(kinds.Mark(), f.Path("faults"), "needs at least one fault kind");
  const YAML::Node* every = f.Get("every");
  const YAML::Node* per_minute = f.Get("perMinute");
  if (every != nullptr && per_minute != nullptr) return r.Fail(per_minute->Mark(), f.Path("perMinute"), "give every or perMinute, not both");
  if (!r.Duration(f, "every", false, &out->mean_interval)) return false;
  if (every != nullptr && out->mean_interval <= Nanos(0)) return r.Fail(every->Mark(), f.Path("every"), "must be longer than 0s");
  if (per_minute != nullptr) {
    double rate = 0;
    if (!r.Number(f, "perMinute", 0.001, 600, &rate)) return false;
    out->mean_interval = Nanos(static_cast<int64_t>(60e9 / rate));
  }
  if (!r.Duration(f, "duration", false, &out->fault_duration)) return false;
  if (out->fault_duration <= Nanos(0)) return r.Fail(f.Get("duration")->Mark(), f.Path("duration"), "must be longer than 0s");
  out->targets.clear();
  if (f.Get("targets") == nullptr) {
    r.hosts.Select("all", &out->targets);
  } else if (!r.Hosts(f, "targets", &out->targets)) {
    return false;
  }
  const YAML::Mark targets_mark = f.Get("targets") != nullptr ? f.Get("targets")->Mark() : node.Mark();
  for (ActionKind kind : out->faults) {
    const size_t needed = kind == ActionKind::kBridge ? 3 : (kind == ActionKind::kPartition || kind == ActionKind::kOneWay) ? 2 : 1;
    if (out->targets.size() < needed) {
      return r.Fail(targets_mark, f.Path("targets"), fmt::format("{} needs at least {} target hosts", ActionKindName(kind), needed));
    }
    const bool pods = kind == ActionKind::kContainerCrash || kind == ActionKind::kCpuLoad || kind == ActionKind::kImagePullFailure;
    if (pods && std::none_of(out->targets.begin(), out->targets.end(), [&](const std::string& h) { return r.hosts.IsWorker(h); })) {
      return r.Fail(targets_mark, f.Path("targets"), fmt::format("{} needs a worker among the targets", ActionKindName(kind)));
    }
  }
  if (!r.StringList(f, "processes", &out->processes)) return false;
  for (size_t i = 0; i < out->processes.size(); ++i) {
    const std::string& p = out->processes[i];
    const bool runs = std::any_of(out->targets.begin(), out->targets.end(), [&](const std::string& h) {
      const auto& list = r.hosts.processes.at(h);
      return std::find(list.begin(), list.end(), p) != list.end();
    });
    if (!runs) {
      return r.Fail(f.Get("processes")->Mark(), Index(f.Path("processes"), i),
                    fmt::format("no target host runs a process \"{}\"", Truncated(p)));
    }
  }
  return r.Bool(f, "mustFire", &out->must_fire);
}

}  // namespace

bool ReadNemesis(Reader& r, const Fields& top, Scenario* out) {
  const YAML::Node* node = top.Get("nemesis");
  if (node == nullptr) return true;
  return r.List(*node, "nemesis", r.limits().max_nemesis, [&](const YAML::Node& e, const std::string& p, size_t i) {
    NemesisSpec n;
    if (!ReadNemesisEntry(r, e, p, i, &n)) return false;
    out->nemesis.push_back(std::move(n));
    return true;
  });
}

bool ReadExpectations(Reader& r, const Fields& top, Scenario* out) {
  const YAML::Node* node = top.Get("expectations");
  if (node == nullptr) return true;
  Fields f;
  if (!r.Open(*node, "expectations", "expectations", &f)) return false;
  constexpr std::pair<std::string_view, Expectation::When> kSections[] = {
      {"always", Expectation::When::kAlways},
      {"eventually", Expectation::When::kEventually},
      {"atEnd", Expectation::When::kAtEnd},
  };
  for (const auto& [key, section] : kSections) {
    const Expectation::When when = section;  // a lambda may not capture a structured binding (clang 14)
    const YAML::Node* list = f.Get(key);
    if (list == nullptr) continue;
    if (!r.List(*list, f.Path(key), r.limits().max_expectations, [&](const YAML::Node& e, const std::string& p, size_t) {
          if (out->expectations.size() >= r.limits().max_expectations) {
            return r.Fail(e.Mark(), p, fmt::format("more than {} expectations", r.limits().max_expectations));
          }
          Expectation x;
          if (!ReadExpectation(r, *out, when, e, p, &x)) return false;
          out->expectations.push_back(std::move(x));
          return true;
        })) {
      return false;
    }
  }
  return true;
}

}  // namespace ksim::scenarios::internal
