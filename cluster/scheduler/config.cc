#include "cluster/scheduler/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "cluster/api/yaml_documents.h"

namespace ksim::scheduler {

namespace {

constexpr std::string_view kApiVersion = "kubescheduler.config.k8s.io/v1";
constexpr std::string_view kKind = "KubeSchedulerConfiguration";

// Bounds on what a configuration may hold; far above any real file.
constexpr size_t kMaxTextBytes = 1 << 20;
constexpr size_t kMaxProfiles = 64;
constexpr size_t kMaxListLength = CycleState::kMaxSlots;
constexpr size_t kMaxPluginConfigs = 256;
constexpr int kMaxArgsDepth = 64;
constexpr int64_t kMaxArgsNodes = 100'000;  // counted after aliases are expanded
constexpr int64_t kMaxBackoffSeconds = 24 * 3600;

// The extension points a profile may configure, in kube-scheduler's field names.
enum Point : size_t { kMultiPoint, kPreFilter, kFilter, kPostFilter, kPreScore, kScore, kNumPoints };
constexpr std::array<std::string_view, kNumPoints> kPointNames = {"multiPoint", "preFilter", "filter",
                                                                  "postFilter", "preScore",  "score"};
// Points of kube-scheduler's v1 API that ksim does not run.
constexpr std::array<std::string_view, 7> kUnsupportedPoints = {"preEnqueue", "queueSort", "reserve", "permit",
                                                                "preBind",    "bind",      "postBind"};
constexpr std::array<std::string_view, 9> kUnsupportedTopLevel = {
    "parallelism",     "leaderElection", "clientConnection",      "healthzBindAddress",       "metricsBindAddress",
    "enableProfiling", "extenders",      "delayCacheUntilActive", "enableContentionProfiling"};

template <size_t N>
bool Contains(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool Implements(const Plugin& plugin, Point point) {
  switch (point) {
    case kPreFilter:
      return dynamic_cast<const PreFilterPlugin*>(&plugin) != nullptr;
    case kFilter:
      return dynamic_cast<const FilterPlugin*>(&plugin) != nullptr;
    case kPostFilter:
      return dynamic_cast<const PostFilterPlugin*>(&plugin) != nullptr;
    case kPreScore:
      return dynamic_cast<const PreScorePlugin*>(&plugin) != nullptr;
    case kScore:
      return dynamic_cast<const ScorePlugin*>(&plugin) != nullptr;
    case kMultiPoint:
    case kNumPoints:
      break;
  }
  return false;
}

// Scalars resolve as the manifest decoder resolves them (api/yaml_documents.h).
using ScalarKind = api::YamlScalarKind;
ScalarKind ResolvePlain(std::string_view s) { return api::ResolvePlainYamlScalar(s); }
std::string_view KindName(ScalarKind kind) { return api::YamlScalarKindName(kind); }

std::string Truncated(std::string_view text) { return api::TruncatedYamlText(text); }

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string Index(const std::string& path, size_t i) { return fmt::format("{}[{}]", path, i); }

// ---------------------------------------------------------------- the parsed file

struct PluginRef {
  std::string name;
  std::optional<int32_t> weight;
  YAML::Mark mark;
  std::string path;  // of the entry's name
};

struct PluginSetSpec {
  std::vector<PluginRef> enabled;
  std::vector<PluginRef> disabled;
  bool disable_all = false;  // disabled: [{name: "*"}]
  bool Disables(std::string_view name) const {
    return std::any_of(disabled.begin(), disabled.end(), [&](const PluginRef& p) { return p.name == name; });
  }
};

struct PluginArgs {
  std::string name;
  nlohmann::json args;
  YAML::Mark mark;
  std::string path;
};

struct ProfileSpec {
  std::string scheduler_name = "default-scheduler";
  YAML::Mark name_mark;
  std::string name_path;
  std::optional<int32_t> percentage_of_nodes_to_score;
  std::array<PluginSetSpec, kNumPoints> points;
  std::vector<PluginArgs> plugin_config;
};

struct FileSpec {
  std::optional<int32_t> percentage_of_nodes_to_score;
  int64_t initial_backoff_seconds = 1;
  int64_t max_backoff_seconds = 10;
  YAML::Mark max_backoff_mark;
  bool max_backoff_given = false;
  std::vector<ProfileSpec> profiles;
  std::vector<YAML::Mark> profile_marks;
};

// ---------------------------------------------------------------- reading

class Reader {
 public:
  Reader(std::string_view source, const PluginRegistry& registry) : source_(source), registry_(registry) {}

  const Status& error() const { return error_; }

  bool Fail(const YAML::Mark& mark, const std::string& path, std::string_view message) {
    const int line = mark.line < 0 ? 1 : mark.line + 1;
    std::string text = fmt::format("{}:{}: ", source_, line);
    if (!path.empty()) text += path + ": ";
    error_ = Status::InvalidArgument(text + std::string(message));
    return false;
  }

  bool ReadFile(const YAML::Node& doc, FileSpec* out) {
    if (!doc.IsMap()) return Fail(doc.Mark(), "", "expected a KubeSchedulerConfiguration object");
    std::string api_version;
    std::string kind;
    bool has_api_version = false;
    bool has_kind = false;
    auto visit = [&](const std::string& key, const YAML::Node& value, const std::string& path) -> bool {
      if (key == "apiVersion") {
        has_api_version = true;
        if (!ReadString(value, path, &api_version)) return false;
        if (api_version != kApiVersion) {
          return Fail(value.Mark(), path,
                      fmt::format("\"{}\" is not supported (ksim reads {})", Truncated(api_version), kApiVersion));
        }
        return true;
      }
      if (key == "kind") {
        has_kind = true;
        if (!ReadString(value, path, &kind)) return false;
        if (kind != kKind) return Fail(value.Mark(), path, fmt::format("must be {}", kKind));
        return true;
      }
      if (key != "percentageOfNodesToScore" && key != "podInitialBackoffSeconds" && key != "podMaxBackoffSeconds" &&
          key != "profiles") {
        if (Contains(kUnsupportedTopLevel, key)) return Fail(value.Mark(), path, "not supported by ksim");
        return Fail(value.Mark(), path, fmt::format("unknown field \"{}\"", Truncated(key)));
      }
      if (value.IsNull()) return true;  // unset, as Kubernetes reads `field: null`
      if (key == "percentageOfNodesToScore") {
        int64_t v = 0;
        if (!ReadInt(value, path, 0, 100, &v)) return false;
        out->percentage_of_nodes_to_score = static_cast<int32_t>(v);
        return true;
      }
      if (key == "podInitialBackoffSeconds")
        return ReadInt(value, path, 1, kMaxBackoffSeconds, &out->initial_backoff_seconds);
      if (key == "podMaxBackoffSeconds") {
        out->max_backoff_given = true;
        out->max_backoff_mark = value.Mark();
        return ReadInt(value, path, 1, kMaxBackoffSeconds, &out->max_backoff_seconds);
      }
      return ReadProfiles(value, path, out);
    };
    if (!ForEachField(doc, "", visit)) return false;
    if (!has_api_version) return Fail(doc.Mark(), "apiVersion", "required field is missing");
    if (!has_kind) return Fail(doc.Mark(), "kind", "required field is missing");
    if (out->max_backoff_seconds < out->initial_backoff_seconds) {
      return Fail(out->max_backoff_given ? out->max_backoff_mark : doc.Mark(), "podMaxBackoffSeconds",
                  fmt::format("must be at least podInitialBackoffSeconds ({})", out->initial_backoff_seconds));
    }
    return true;
  }

 private:
  // Calls visit(key, value, path) for each entry of a map, rejecting non-string and
  // duplicate keys.
  template <typename Visit>
  bool ForEachField(const YAML::Node& node, const std::string& path, Visit&& visit) {
    if (!node.IsMap()) return Fail(node.Mark(), path, "expected an object, got " + Describe(node));
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) return Fail(key.Mark(), path, "field names must be strings");
      const std::string& name = key.Scalar();
      const std::string field_path = Join(path, name);
      if (!seen.insert(name).second) return Fail(key.Mark(), field_path, "duplicate field");
      if (!visit(name, entry.second, field_path)) return false;
    }
    return true;
  }

  static ScalarKind KindOf(const YAML::Node& node) {
    if (node.IsNull()) return ScalarKind::kNull;
    return node.Tag() == "?" ? ResolvePlain(node.Scalar()) : ScalarKind::kString;
  }

  static std::string Describe(const YAML::Node& node) {
    if (node.IsMap()) return "an object";
    if (node.IsSequence()) return "a list";
    if (node.IsNull()) return "null";
    return fmt::format("{} \"{}\"", KindName(KindOf(node)), Truncated(node.Scalar()));
  }

  bool ReadString(const YAML::Node& node, const std::string& path, std::string* out) {
    if (!node.IsScalar() || KindOf(node) != ScalarKind::kString) {
      return Fail(node.Mark(), path, "expected a string, got " + Describe(node));
    }
    size_t bad = 0;
    if (!api::IsValidYamlText(node.Scalar(), false, &bad))
      return Fail(node.Mark(), path, "string holds invalid UTF-8 or a control character");
    *out = node.Scalar();
    return true;
  }

  bool ReadInt(const YAML::Node& node, const std::string& path, int64_t min, int64_t max, int64_t* out) {
    if (!node.IsScalar() || KindOf(node) != ScalarKind::kInt) {
      return Fail(node.Mark(), path, "expected an integer, got " + Describe(node));
    }
    int64_t value = 0;
    if (!api::ParseYamlInt(node.Scalar(), &value) || value < min || value > max) {
      return Fail(node.Mark(), path, fmt::format("must be in {}..{}", min, max));
    }
    *out = value;
    return true;
  }

  // A list of at most `max_length` elements; null reads as empty.
  template <typename Visit>
  bool ForEachElement(const YAML::Node& node, const std::string& path, size_t max_length, Visit&& visit) {
    if (node.IsNull()) return true;
    if (!node.IsSequence()) return Fail(node.Mark(), path, "expected a list, got " + Describe(node));
    if (node.size() > max_length) return Fail(node.Mark(), path, fmt::format("more than {} entries", max_length));
    for (size_t i = 0; i < node.size(); ++i) {
      if (!visit(node[i], Index(path, i))) return false;
    }
    return true;
  }

  bool ReadProfiles(const YAML::Node& node, const std::string& path, FileSpec* out) {
    return ForEachElement(node, path, kMaxProfiles, [&](const YAML::Node& element, const std::string& element_path) {
      ProfileSpec profile;
      profile.name_mark = element.Mark();
      profile.name_path = element_path;
      if (!ReadProfile(element, element_path, &profile)) return false;
      for (size_t i = 0; i < out->profiles.size(); ++i) {
        if (out->profiles[i].scheduler_name == profile.scheduler_name) {
          return Fail(
              profile.name_mark, profile.name_path,
              fmt::format("duplicate schedulerName \"{}\" (also profiles[{}])", Truncated(profile.scheduler_name), i));
        }
      }
      out->profiles.push_back(std::move(profile));
      out->profile_marks.push_back(element.Mark());
      return true;
    });
  }

  bool ReadProfile(const YAML::Node& node, const std::string& path, ProfileSpec* out) {
    return ForEachField(node, path, [&](const std::string& key, const YAML::Node& value, const std::string& field) {
      if (key != "schedulerName" && key != "percentageOfNodesToScore" && key != "plugins" && key != "pluginConfig") {
        return Fail(value.Mark(), field, fmt::format("unknown field \"{}\"", Truncated(key)));
      }
      if (value.IsNull()) return true;
      if (key == "schedulerName") {
        std::string name;
        if (!ReadString(value, field, &name)) return false;
        if (!name.empty()) out->scheduler_name = std::move(name);  // empty: the default, as kube-scheduler
        out->name_mark = value.Mark();
        out->name_path = field;
        return true;
      }
      if (key == "percentageOfNodesToScore") {
        int64_t v = 0;
        if (!ReadInt(value, field, 0, 100, &v)) return false;
        out->percentage_of_nodes_to_score = static_cast<int32_t>(v);
        return true;
      }
      if (key == "plugins") return ReadPlugins(value, field, out);
      return ReadPluginConfig(value, field, out);
    });
  }

  bool ReadPlugins(const YAML::Node& node, const std::string& path, ProfileSpec* out) {
    return ForEachField(node, path, [&](const std::string& key, const YAML::Node& value, const std::string& field) {
      auto point = std::find(kPointNames.begin(), kPointNames.end(), key);
      if (point == kPointNames.end()) {
        if (Contains(kUnsupportedPoints, key)) {
          return Fail(value.Mark(), field, "extension point not supported by ksim");
        }
        return Fail(value.Mark(), field, fmt::format("unknown field \"{}\"", Truncated(key)));
      }
      if (value.IsNull()) return true;
      const auto index = static_cast<Point>(point - kPointNames.begin());
      return ReadPluginSet(value, field, &out->points[index]);
    });
  }

  bool ReadPluginSet(const YAML::Node& node, const std::string& path, PluginSetSpec* out) {
    return ForEachField(node, path, [&](const std::string& key, const YAML::Node& value, const std::string& field) {
      const bool enabled = key == "enabled";
      if (!enabled && key != "disabled")
        return Fail(value.Mark(), field, fmt::format("unknown field \"{}\"", Truncated(key)));
      std::vector<PluginRef>* list = enabled ? &out->enabled : &out->disabled;
      return ForEachElement(
          value, field, kMaxListLength, [&](const YAML::Node& element, const std::string& element_path) {
            PluginRef ref;
            if (!ReadPluginRef(element, element_path, enabled, &ref)) return false;
            if (ref.name == "*") {
              if (enabled) return Fail(ref.mark, ref.path, "\"*\" can only be disabled");
              out->disable_all = true;
            } else if (registry_.Find(ref.name) == nullptr && !(!enabled && IsDefaultPlugin(ref.name))) {
              return Fail(ref.mark, ref.path, fmt::format("unknown plugin \"{}\"", Truncated(ref.name)));
            }
            for (const PluginRef& other : *list) {
              if (other.name == ref.name) {
                return Fail(ref.mark, ref.path, fmt::format("plugin \"{}\" is listed twice", Truncated(ref.name)));
              }
            }
            list->push_back(std::move(ref));
            return true;
          });
    });
  }

  bool ReadPluginRef(const YAML::Node& node, const std::string& path, bool enabled, PluginRef* out) {
    bool has_name = false;
    bool ok = ForEachField(node, path, [&](const std::string& key, const YAML::Node& value, const std::string& field) {
      if (key == "name") {
        has_name = true;
        out->mark = value.Mark();
        out->path = field;
        if (!ReadString(value, field, &out->name)) return false;
        if (out->name.empty()) return Fail(value.Mark(), field, "must not be empty");
        return true;
      }
      if (key == "weight" && enabled) {
        if (value.IsNull()) return true;
        int64_t weight = 0;
        if (!ReadInt(value, field, 1, kMaxNodeScore, &weight)) return false;
        out->weight = static_cast<int32_t>(weight);
        return true;
      }
      if (key == "weight") return Fail(value.Mark(), field, "a disabled plugin takes no weight");
      return Fail(value.Mark(), field, fmt::format("unknown field \"{}\"", Truncated(key)));
    });
    if (!ok) return false;
    if (!has_name) return Fail(node.Mark(), Join(path, "name"), "required field is missing");
    return true;
  }

  bool ReadPluginConfig(const YAML::Node& node, const std::string& path, ProfileSpec* out) {
    return ForEachElement(
        node, path, kMaxPluginConfigs, [&](const YAML::Node& element, const std::string& element_path) {
          PluginArgs args;
          bool has_name = false;
          YAML::Mark name_mark = element.Mark();
          args.mark = element.Mark();
          args.path = element_path;  // factories name the field from "args." on
          bool ok = ForEachField(
              element, element_path, [&](const std::string& key, const YAML::Node& value, const std::string& field) {
                if (key == "name") {
                  has_name = true;
                  name_mark = value.Mark();
                  if (!ReadString(value, field, &args.name)) return false;
                  if (registry_.Find(args.name) == nullptr) {
                    return Fail(value.Mark(), field, fmt::format("unknown plugin \"{}\"", Truncated(args.name)));
                  }
                  return true;
                }
                if (key == "args") {
                  args.mark = value.Mark();
                  int64_t budget = kMaxArgsNodes;
                  return ToJson(value, field, &budget, &args.args);
                }
                return Fail(value.Mark(), field, fmt::format("unknown field \"{}\"", Truncated(key)));
              });
          if (!ok) return false;
          if (!has_name) return Fail(element.Mark(), Join(element_path, "name"), "required field is missing");
          for (size_t i = 0; i < out->plugin_config.size(); ++i) {
            if (out->plugin_config[i].name == args.name) {
              return Fail(name_mark, Join(element_path, "name"),
                          fmt::format("duplicate plugin \"{}\" (also pluginConfig[{}])", Truncated(args.name), i));
            }
          }
          out->plugin_config.push_back(std::move(args));
          return true;
        });
  }

  // Plugin args as JSON for the plugin's factory, typed by the YAML core schema (the
  // manifest codec's free-form reader).
  bool ToJson(const YAML::Node& node, const std::string& path, int64_t* budget, nlohmann::json* out) {
    static const api::YamlJsonOptions kOptions{kMaxArgsDepth, "args too large", "args nested too deeply", true};
    api::YamlError e;
    return api::YamlToJson(node, path, kOptions, budget, out, &e) || Fail(e.mark, e.path, e.message);
  }

  // A default plugin may be disabled even when the registry lacks it.
  bool IsDefaultPlugin(std::string_view name) const {
    const auto& d = defaults_;
    auto listed = [&](const std::vector<std::string>& list) {
      return std::find(list.begin(), list.end(), name) != list.end();
    };
    return listed(d.pre_filter) || listed(d.filter) || listed(d.post_filter) || listed(d.pre_score) ||
           std::any_of(d.score.begin(), d.score.end(), [&](const ScorePluginRef& r) { return r.name == name; });
  }

  std::string_view source_;
  const PluginRegistry& registry_;
  const ProfileConfig defaults_ = DefaultProfile();
  Status error_;
};

// ---------------------------------------------------------------- resolving

struct Resolved {
  std::string name;
  int32_t weight = 1;
};

// The plugins of one profile, built once each with the profile's args, to learn which
// extension points they implement.
class Instances {
 public:
  Instances(const PluginRegistry& registry, const ProfileSpec& profile) : registry_(registry), profile_(profile) {}

  // The plugin `name`, or null with *error set to the factory's complaint.
  const Plugin* Get(const std::string& name, std::string* error) {
    auto it = plugins_.find(name);
    if (it != plugins_.end()) return it->second.get();
    const PluginFactory* factory = registry_.Find(name);
    if (factory == nullptr) {
      *error = fmt::format("unknown plugin \"{}\"", Truncated(name));
      return nullptr;
    }
    nlohmann::json args;
    for (const PluginArgs& config : profile_.plugin_config) {
      if (config.name == name) args = config.args;
    }
    std::unique_ptr<Plugin> plugin;
    Status s = (*factory)(args, &plugin);
    if (!s.ok() || plugin == nullptr) {
      *error = s.ok() ? "the factory built no plugin" : s.message();
      return nullptr;
    }
    return plugins_.emplace(name, std::move(plugin)).first->second.get();
  }

 private:
  const PluginRegistry& registry_;
  const ProfileSpec& profile_;
  std::map<std::string, std::unique_ptr<Plugin>, std::less<>> plugins_;
};

std::vector<Resolved> Defaults(const ProfileConfig& defaults, Point point) {
  std::vector<Resolved> out;
  auto names = [&](const std::vector<std::string>& list) {
    for (const std::string& name : list) out.push_back({name, 1});
  };
  switch (point) {
    case kPreFilter:
      names(defaults.pre_filter);
      break;
    case kFilter:
      names(defaults.filter);
      break;
    case kPostFilter:
      names(defaults.post_filter);
      break;
    case kPreScore:
      names(defaults.pre_score);
      break;
    case kScore:
      for (const ScorePluginRef& ref : defaults.score) out.push_back({ref.name, ref.weight});
      break;
    case kMultiPoint:
    case kNumPoints:
      break;
  }
  return out;
}

// A plugin enabled without a weight keeps the weight the default profile gives it at this
// point, else 1.
int32_t DefaultWeight(const std::vector<Resolved>& defaults, std::string_view name) {
  for (const Resolved& d : defaults) {
    if (d.name == name) return d.weight;
  }
  return 1;
}

std::vector<Resolved>::iterator Find(std::vector<Resolved>& list, std::string_view name) {
  return std::find_if(list.begin(), list.end(), [&](const Resolved& r) { return r.name == name; });
}

// One extension point, as kube-scheduler builds it: the multiPoint set (the defaults with
// the profile's multiPoint disabled/enabled merged in, defaults re-enabled in place), minus
// what this point disables; plugins this point enables explicitly come first if they were
// also in the multiPoint set (an override), or last if not.
bool ResolvePoint(Reader& reader, Instances& instances, const ProfileSpec& profile,
                  const ProfileConfig& defaults_profile, Point point, std::vector<Resolved>* out) {
  const PluginSetSpec& multi = profile.points[kMultiPoint];
  const PluginSetSpec& custom = profile.points[point];
  const std::vector<Resolved> defaults = Defaults(defaults_profile, point);

  std::vector<Resolved> multi_set;
  if (!multi.disable_all) {
    for (const Resolved& d : defaults) {
      if (!multi.Disables(d.name)) multi_set.push_back(d);
    }
  }
  for (const PluginRef& ref : multi.enabled) {
    std::string error;
    const Plugin* plugin = instances.Get(ref.name, &error);
    if (plugin == nullptr) return reader.Fail(ref.mark, ref.path, fmt::format("plugin \"{}\": {}", ref.name, error));
    if (!Implements(*plugin, point)) continue;
    auto existing = Find(multi_set, ref.name);
    if (existing != multi_set.end()) {
      if (ref.weight) existing->weight = *ref.weight;
    } else {
      multi_set.push_back({ref.name, ref.weight.value_or(DefaultWeight(defaults, ref.name))});
    }
  }

  if (custom.disable_all) multi_set.clear();
  std::erase_if(multi_set, [&](const Resolved& r) { return custom.Disables(r.name); });

  std::vector<Resolved> overrides;
  std::vector<Resolved> extra;
  for (const PluginRef& ref : custom.enabled) {
    std::string error;
    const Plugin* plugin = instances.Get(ref.name, &error);
    if (plugin == nullptr) return reader.Fail(ref.mark, ref.path, fmt::format("plugin \"{}\": {}", ref.name, error));
    if (!Implements(*plugin, point)) {
      return reader.Fail(ref.mark, ref.path,
                         fmt::format("plugin \"{}\" does not implement {}", ref.name, kPointNames[point]));
    }
    auto existing = Find(multi_set, ref.name);
    if (existing != multi_set.end()) {
      overrides.push_back({ref.name, ref.weight.value_or(existing->weight)});
      multi_set.erase(existing);
    } else {
      extra.push_back({ref.name, ref.weight.value_or(DefaultWeight(defaults, ref.name))});
    }
  }
  out->clear();
  for (auto* part : {&overrides, &multi_set, &extra}) out->insert(out->end(), part->begin(), part->end());
  return true;
}

bool ResolveProfile(Reader& reader, const PluginRegistry& registry, const FileSpec& file, size_t index,
                    ProfileConfig* out) {
  const ProfileSpec& profile = file.profiles[index];
  const std::string path = Index("profiles", index);
  const ProfileConfig defaults = DefaultProfile();
  Instances instances(registry, profile);

  ProfileConfig resolved;
  resolved.scheduler_name = profile.scheduler_name;
  resolved.percentage_of_nodes_to_score =
      profile.percentage_of_nodes_to_score.value_or(file.percentage_of_nodes_to_score.value_or(0));
  // Every pluginConfig entry is built with its args, enabled or not, so bad args fail here.
  for (const PluginArgs& args : profile.plugin_config) {
    std::string error;
    if (instances.Get(args.name, &error) == nullptr) return reader.Fail(args.mark, args.path, error);
    if (!args.args.is_null()) resolved.plugin_args.emplace(args.name, args.args);
  }
  std::array<std::vector<Resolved>, kNumPoints> points;
  for (Point point : {kPreFilter, kFilter, kPostFilter, kPreScore, kScore}) {
    if (!ResolvePoint(reader, instances, profile, defaults, point, &points[point])) return false;
  }
  auto names = [](const std::vector<Resolved>& list) {
    std::vector<std::string> out_names;
    for (const Resolved& r : list) out_names.push_back(r.name);
    return out_names;
  };
  resolved.pre_filter = names(points[kPreFilter]);
  resolved.filter = names(points[kFilter]);
  resolved.post_filter = names(points[kPostFilter]);
  resolved.pre_score = names(points[kPreScore]);
  for (const Resolved& r : points[kScore]) resolved.score.push_back(ScorePluginRef{r.name, r.weight});

  std::unique_ptr<Framework> framework;
  Status s = Framework::Create(resolved, registry, &framework);
  if (!s.ok()) {
    return reader.Fail(index < file.profile_marks.size() ? file.profile_marks[index] : YAML::Mark(), path, s.message());
  }
  *out = std::move(resolved);
  return true;
}

}  // namespace

SchedulerConfig DefaultSchedulerConfig() {
  SchedulerConfig config;
  config.profiles.push_back(DefaultProfile());
  return config;
}

Status ParseSchedulerConfig(std::string_view yaml, std::string_view source, const PluginRegistry& registry,
                            SchedulerConfig* out) {
  if (yaml.size() > kMaxTextBytes) {
    return Status::InvalidArgument(fmt::format("{}: larger than {} bytes", source, kMaxTextBytes));
  }
  size_t bad = 0;
  if (!api::IsValidYamlText(yaml, true, &bad)) {
    const auto line = 1 + std::count(yaml.begin(), yaml.begin() + static_cast<std::ptrdiff_t>(bad), '\n');
    return Status::InvalidArgument(
        fmt::format("{}:{}: text is not valid UTF-8 or holds a control character", source, line));
  }
  std::vector<YAML::Node> documents;
  if (Status s = api::LoadYamlDocuments(yaml, source, &documents); !s.ok()) return s;
  std::erase_if(documents, [](const YAML::Node& doc) { return doc.IsNull(); });
  if (documents.size() != 1) {
    return Status::InvalidArgument(
        fmt::format("{}: expected one KubeSchedulerConfiguration document, found {}", source, documents.size()));
  }

  Reader reader(source, registry);
  FileSpec file;
  SchedulerConfig config;
  try {
    if (!reader.ReadFile(documents[0], &file)) return reader.error();
    if (file.profiles.empty()) {
      // kube-scheduler's v1 defaulting: no profiles means one default profile.
      file.profiles.emplace_back();
      file.profile_marks.push_back(documents[0].Mark());
    }
    for (size_t i = 0; i < file.profiles.size(); ++i) {
      ProfileConfig profile;
      if (!ResolveProfile(reader, registry, file, i, &profile)) return reader.error();
      config.profiles.push_back(std::move(profile));
    }
  } catch (const YAML::Exception& e) {
    // yaml-cpp reports some malformed trees only when they are walked.
    const int line = e.mark.line < 0 ? 1 : e.mark.line + 1;
    return Status::InvalidArgument(fmt::format("{}:{}: invalid YAML: {}", source, line, e.msg));
  }
  config.pod_initial_backoff = Seconds(file.initial_backoff_seconds);
  config.pod_max_backoff = Seconds(file.max_backoff_seconds);
  *out = std::move(config);
  return Status::Ok();
}

}  // namespace ksim::scheduler
