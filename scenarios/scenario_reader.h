// The scenario loader's reading machinery, shared by its .cc files (not a public API):
// maps checked against the key tables, typed scalars with file:line:column errors, and
// the host names of the cluster the file declares.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/env/status.h"
#include "scenarios/scenario.h"
#include "scenarios/scenario_fields.h"
#include "scenarios/scenario_loader.h"

namespace ksim::scenarios::internal {

// A map's entries, checked against an ObjectSpec.
struct Fields {
  YAML::Node node;
  std::string path;
  std::vector<std::pair<std::string, YAML::Node>> entries;  // file order, nulls dropped
  const YAML::Node* Get(std::string_view key) const;
  std::string Path(std::string_view key) const;
};

// The hosts of the declared cluster and the names that select them.
struct HostTable {
  std::vector<std::string> control_plane;
  std::vector<std::string> workers;
  std::map<std::string, std::vector<std::string>> groups;  // worker group -> its hosts
  std::map<std::string, std::string> aliases;               // "<group>-<k>" -> "worker-i"
  std::map<std::string, std::vector<std::string>> processes;  // host -> its processes
  void Build(const ClusterSpec& cluster);
  // A host name or alias -> the host name; "" if neither.
  std::string Host(std::string_view name) const;
  bool IsWorker(const std::string& host) const;
  // A selector (control-plane, workers, all, a group, a host, an alias) -> hosts in
  // SimCluster order; false if unknown.
  bool Select(std::string_view selector, std::vector<std::string>* out) const;
  std::string Known() const;  // for messages
};

class Reader {
 public:
  Reader(std::string source, std::string base_dir, const ScenarioLimits& limits)
      : source_(std::move(source)), base_dir_(std::move(base_dir)), limits_(limits) {}

  const Status& error() const { return error_; }
  const ScenarioLimits& limits() const { return limits_; }
  const std::string& source() const { return source_; }
  bool Fail(const YAML::Mark& mark, const std::string& path, std::string_view reason);
  SourcePos Pos(const YAML::Mark& mark) const;

  // `node` as a map of spec `spec_name`: non-string, duplicate, unknown (unless `extra`
  // accepts the key) and missing required keys are errors. A null node is an empty map.
  template <typename Extra>
  bool Open(const YAML::Node& node, const std::string& path, std::string_view spec_name, Fields* out,
            Extra&& extra);
  bool Open(const YAML::Node& node, const std::string& path, std::string_view spec_name, Fields* out) {
    return Open(node, path, spec_name, out, [](std::string_view) { return false; });
  }

  // Typed reads of an optional key: absent leaves *out as it is.
  bool String(const Fields& f, std::string_view key, std::string* out, size_t max_bytes = 0);
  bool Int(const Fields& f, std::string_view key, int64_t min, int64_t max, int64_t* out);
  bool Int(const Fields& f, std::string_view key, int64_t min, int64_t max, int* out);
  bool Number(const Fields& f, std::string_view key, double min, double max, double* out);
  bool Bool(const Fields& f, std::string_view key, bool* out);
  bool Duration(const Fields& f, std::string_view key, bool allow_negative, Nanos* out);
  bool Quantity(const Fields& f, std::string_view key, std::string* text, int64_t* milli);
  bool StringList(const Fields& f, std::string_view key, std::vector<std::string>* out);
  bool StringMap(const Fields& f, std::string_view key, std::map<std::string, std::string>* out);
  bool Host(const Fields& f, std::string_view key, bool worker_only, std::string* out);
  bool Hosts(const Fields& f, std::string_view key, std::vector<std::string>* out);
  bool HostGroups(const Fields& f, std::string_view key, std::vector<std::vector<std::string>>* out);
  // A manifest: `path` (read relative to the base dir) or `inline`, exactly one; checked
  // to be YAML documents with apiVersion and kind.
  bool ManifestText(const Fields& f, Manifest* out);
  // Free-form YAML as JSON text (patches).
  bool Json(const Fields& f, std::string_view key, std::string* out);

  // Scalars and lists of a node (for the readers above and for catalogue parameters).
  bool ScalarString(const YAML::Node& node, const std::string& path, size_t max_bytes, std::string* out);
  bool ScalarInt(const YAML::Node& node, const std::string& path, int64_t min, int64_t max, int64_t* out);
  bool ScalarNumber(const YAML::Node& node, const std::string& path, double min, double max, double* out);
  bool ScalarBool(const YAML::Node& node, const std::string& path, bool* out);
  bool ScalarDuration(const YAML::Node& node, const std::string& path, bool allow_negative, Nanos* out);
  bool ScalarHost(const YAML::Node& node, const std::string& path, bool worker_only, std::string* out);
  bool SelectHosts(const YAML::Node& node, const std::string& path, std::vector<std::string>* out);
  // A list of at most `max` entries (null = empty); visit(element, path, index).
  template <typename Visit>
  bool List(const YAML::Node& node, const std::string& path, size_t max, Visit&& visit);

  HostTable hosts;

 private:
  bool CheckManifest(const std::string& text, const YAML::Mark& mark, const std::string& path,
                     const std::string& source);

  std::string source_;
  std::string base_dir_;
  ScenarioLimits limits_;
  Status error_;
  size_t manifest_bytes_ = 0;
  size_t manifests_ = 0;
};

std::string Index(const std::string& path, size_t i);
std::string JoinPath(const std::string& path, std::string_view key);
std::string Truncated(std::string_view text);
// "an object", "a list", "null", "string \"abc\"".
std::string DescribeNode(const YAML::Node& node);

template <typename Extra>
bool Reader::Open(const YAML::Node& node, const std::string& path, std::string_view spec_name, Fields* out,
                  Extra&& extra) {
  const ObjectSpec& spec = FindObjectSpec(spec_name);
  out->node = node;
  out->path = path;
  out->entries.clear();
  std::vector<std::string> seen;
  if (!node.IsNull()) {
    if (!node.IsMap()) return Fail(node.Mark(), path, "expected an object, got " + DescribeNode(node));
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) return Fail(key.Mark(), path, "field names must be strings");
      const std::string& name = key.Scalar();
      const std::string field = JoinPath(path, name);
      if (FindKey(spec, name) == nullptr && !extra(name)) {
        std::string known;
        for (const KeySpec& k : spec.keys) known += (known.empty() ? "" : ", ") + std::string(k.key);
        return Fail(key.Mark(), field,
                    "unknown field \"" + Truncated(name) + "\"" + (known.empty() ? "" : " (known: " + known + ")"));
      }
      for (const std::string& before : seen) {
        if (before == name) return Fail(key.Mark(), field, "duplicate field");
      }
      seen.push_back(name);
      // Null is unset, as Kubernetes reads `field: null`; but an action key keeps its
      // entry (`heal:` takes no arguments).
      if (!entry.second.IsNull() || extra(name)) out->entries.emplace_back(name, entry.second);
    }
  }
  for (const KeySpec& k : spec.keys) {
    if (k.required && out->Get(k.key) == nullptr) {
      return Fail(node.Mark(), JoinPath(path, k.key), "required field is missing");
    }
  }
  return true;
}

template <typename Visit>
bool Reader::List(const YAML::Node& node, const std::string& path, size_t max, Visit&& visit) {
  if (node.IsNull()) return true;
  if (!node.IsSequence()) return Fail(node.Mark(), path, "expected a list, got " + DescribeNode(node));
  if (node.size() > max) return Fail(node.Mark(), path, "more than " + std::to_string(max) + " entries");
  for (size_t i = 0; i < node.size(); ++i) {
    if (!visit(node[i], Index(path, i), i)) return false;
  }
  return true;
}

}  // namespace ksim::scenarios::internal

namespace ksim::scenarios::internal {

// The sections read in their own files; each needs the cluster's hosts and the phases.
bool ReadTimeline(Reader& r, const Fields& top, Scenario* out);
bool ReadNemesis(Reader& r, const Fields& top, Scenario* out);
bool ReadExpectations(Reader& r, const Fields& top, Scenario* out);

// A lowercase RFC 1123 label (names of scenarios and worker groups).
bool IsDnsLabel(std::string_view name);

}  // namespace ksim::scenarios::internal
