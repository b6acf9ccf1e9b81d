#include "scenarios/scenario_reader.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cluster/api/machinery/quantity.h"
#include "cluster/api/yaml_documents.h"

namespace ksim::scenarios::internal {

std::string Index(const std::string& path, size_t i) { return fmt::format("{}[{}]", path, i); }
std::string JoinPath(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string Truncated(std::string_view text) { return api::TruncatedYamlText(text); }
std::string DescribeNode(const YAML::Node& node) {
  if (node.IsMap()) return "an object";
  if (node.IsSequence()) return "a list";
  return api::DescribeYamlNode(node);
}

const YAML::Node* Fields::Get(std::string_view key) const {
  for (const auto& [name, value] : entries) {
    if (name == key) return &value;
  }
  return nullptr;
}

std::string Fields::Path(std::string_view key) const { return JoinPath(path, key); }

// ---------------------------------------------------------------- hosts

void HostTable::Build(const ClusterSpec& cluster) {
  const ControlPlaneSpec& cp = cluster.control_plane;
  std::vector<std::string> cp_processes = {"store", "apiserver"};
  if (cp.schedulers > 0) cp_processes.push_back("scheduler");
  if (cp.controller_managers > 0) cp_processes.push_back("controller-manager");
  if (cluster.service_network) cp_processes.push_back("coredns");
  std::vector<std::string> worker_processes = {"kubelet"};
  if (cluster.service_network) worker_processes.push_back("kube-proxy");
  for (int i = 1; i <= cp.hosts; ++i) {
    control_plane.push_back(fmt::format("cp-{}", i));
    processes[control_plane.back()] = cp_processes;
  }
  for (const WorkerGroup& g : cluster.worker_groups) {
    std::vector<std::string>& members = groups[g.name];
    for (int k = 0; k < g.count; ++k) {
      workers.push_back(fmt::format("worker-{}", g.first_worker + k));
      members.push_back(workers.back());
      aliases[fmt::format("{}-{}", g.name, k + 1)] = workers.back();
      processes[workers.back()] = worker_processes;
    }
  }
  processes["lb"] = {"haproxy"};
  processes["client"] = cluster.service_network ? std::vector<std::string>{"kubectl", "kube-proxy"}
                                                : std::vector<std::string>{"kubectl"};
}

std::string HostTable::Host(std::string_view name) const {
  const std::string key(name);
  if (processes.count(key) != 0) return key;
  auto alias = aliases.find(key);
  return alias == aliases.end() ? "" : alias->second;
}

bool HostTable::IsWorker(const std::string& host) const {
  for (const std::string& w : workers) {
    if (w == host) return true;
  }
  return false;
}

bool HostTable::Select(std::string_view selector, std::vector<std::string>* out) const {
  out->clear();
  if (selector == "control-plane") {
    *out = control_plane;
  } else if (selector == "workers") {
    *out = workers;
  } else if (selector == "all") {
    *out = control_plane;
    out->insert(out->end(), workers.begin(), workers.end());
  } else if (auto g = groups.find(std::string(selector)); g != groups.end()) {
    *out = g->second;
  } else if (std::string host = Host(selector); !host.empty()) {
    out->push_back(host);
  } else {
    return false;
  }
  return true;
}

std::string HostTable::Known() const {
  std::string text = "control-plane, workers, all";
  for (const auto& [name, members] : groups) text += ", " + name;
  if (!control_plane.empty()) text += ", cp-1..cp-" + std::to_string(control_plane.size());
  if (!workers.empty()) text += ", worker-1..worker-" + std::to_string(workers.size());
  return text + ", lb, client";
}

// ---------------------------------------------------------------- errors

bool Reader::Fail(const YAML::Mark& mark, const std::string& path, std::string_view reason) {
  const SourcePos pos = Pos(mark);
  std::string text = fmt::format("{}:{}:{}: ", pos.file, pos.line, pos.column);
  if (!path.empty()) text += path + ": ";
  error_ = Status::InvalidArgument(text + std::string(reason));
  return false;
}

SourcePos Reader::Pos(const YAML::Mark& mark) const {
  return SourcePos{source_, mark.line < 0 ? 1 : mark.line + 1, mark.column < 0 ? 1 : mark.column + 1};
}

// ---------------------------------------------------------------- scalars

namespace {

api::YamlScalarKind KindOf(const YAML::Node& node, std::string* error) {
  api::YamlScalarKind kind = api::YamlScalarKind::kString;
  if (!api::ClassifyYamlScalar(node, &kind, error)) return api::YamlScalarKind::kNull;
  return kind;
}

}  // namespace

bool Reader::ScalarString(const YAML::Node& node, const std::string& path, size_t max_bytes, std::string* out) {
  std::string error;
  if (!node.IsScalar() || KindOf(node, &error) != api::YamlScalarKind::kString) {
    return Fail(node.Mark(), path, error.empty() ? "expected a string, got " + DescribeNode(node) : error);
  }
  const size_t limit = max_bytes == 0 ? limits_.max_string_bytes : max_bytes;
  if (node.Scalar().size() > limit) return Fail(node.Mark(), path, fmt::format("longer than {} bytes", limit));
  *out = node.Scalar();
  return true;
}

bool Reader::ScalarInt(const YAML::Node& node, const std::string& path, int64_t min, int64_t max, int64_t* out) {
  std::string error;
  int64_t value = 0;
  if (!node.IsScalar() || KindOf(node, &error) != api::YamlScalarKind::kInt ||
      !api::ParseYamlInt(node.Scalar(), &value)) {
    return Fail(node.Mark(), path, error.empty() ? "expected an integer, got " + DescribeNode(node) : error);
  }
  if (value < min || value > max) return Fail(node.Mark(), path, fmt::format("must be in {}..{}", min, max));
  *out = value;
  return true;
}

bool Reader::ScalarNumber(const YAML::Node& node, const std::string& path, double min, double max, double* out) {
  std::string error;
  double value = 0;
  const api::YamlScalarKind kind = node.IsScalar() ? KindOf(node, &error) : api::YamlScalarKind::kNull;
  if ((kind != api::YamlScalarKind::kInt && kind != api::YamlScalarKind::kFloat) ||
      !api::ParseYamlFiniteDouble(node.Scalar(), &value)) {
    return Fail(node.Mark(), path, error.empty() ? "expected a number, got " + DescribeNode(node) : error);
  }
  if (!(value >= min && value <= max)) return Fail(node.Mark(), path, fmt::format("must be in {}..{}", min, max));
  *out = value;
  return true;
}

bool Reader::ScalarBool(const YAML::Node& node, const std::string& path, bool* out) {
  std::string error;
  if (!node.IsScalar() || KindOf(node, &error) != api::YamlScalarKind::kBool) {
    return Fail(node.Mark(), path, error.empty() ? "expected true or false, got " + DescribeNode(node) : error);
  }
  *out = node.Scalar() == "true" || node.Scalar() == "True" || node.Scalar() == "TRUE";
  return true;
}

bool Reader::ScalarDuration(const YAML::Node& node, const std::string& path, bool allow_negative, Nanos* out) {
  Nanos value{0};
  if (!node.IsScalar() || !ParseScenarioDuration(node.Scalar(), allow_negative, &value)) {
    return Fail(node.Mark(), path,
                "expected a duration such as 30s, 1m30s or 250ms, got " + DescribeNode(node));
  }
  if (value > limits_.max_duration || -value > limits_.max_duration) {
    return Fail(node.Mark(), path, "longer than " + FormatScenarioDuration(limits_.max_duration));
  }
  *out = value;
  return true;
}

bool Reader::ScalarHost(const YAML::Node& node, const std::string& path, bool worker_only, std::string* out) {
  std::string name;
  if (!ScalarString(node, path, 0, &name)) return false;
  const std::string host = hosts.Host(name);
  if (host.empty()) {
    return Fail(node.Mark(), path, fmt::format("no host \"{}\" in this cluster (hosts: {})", Truncated(name), hosts.Known()));
  }
  if (worker_only && !hosts.IsWorker(host)) return Fail(node.Mark(), path, fmt::format("{} is not a worker", host));
  *out = host;
  return true;
}

bool Reader::SelectHosts(const YAML::Node& node, const std::string& path, std::vector<std::string>* out) {
  out->clear();
  auto add = [&](const YAML::Node& element, const std::string& element_path) {
    std::string selector;
    if (!ScalarString(element, element_path, 0, &selector)) return false;
    std::vector<std::string> selected;
    if (!hosts.Select(selector, &selected)) {
      return Fail(element.Mark(), element_path,
                  fmt::format("no host or group \"{}\" in this cluster (known: {})", Truncated(selector), hosts.Known()));
    }
    for (const std::string& host : selected) {
      bool seen = false;
      for (const std::string& h : *out) seen = seen || h == host;
      if (!seen) out->push_back(host);
    }
    return true;
  };
  if (node.IsSequence()) {
    if (!List(node, path, limits_.max_list,
              [&](const YAML::Node& e, const std::string& p, size_t) { return add(e, p); })) {
      return false;
    }
  } else if (!add(node, path)) {
    return false;
  }
  if (out->empty()) return Fail(node.Mark(), path, "selects no host");
  return true;
}

// ---------------------------------------------------------------- keyed reads

bool Reader::String(const Fields& f, std::string_view key, std::string* out, size_t max_bytes) {
  const YAML::Node* n = f.Get(key);
  return n == nullptr || ScalarString(*n, f.Path(key), max_bytes, out);
}

bool Reader::Int(const Fields& f, std::string_view key, int64_t min, int64_t max, int64_t* out) {
  const YAML::Node* n = f.Get(key);
  return n == nullptr || ScalarInt(*n, f.Path(key), min, max, out);
}

bool Reader::Int(const Fields& f, std::string_view key, int64_t min, int64_t max, int* out) {
  int64_t value = *out;
  if (!Int(f, key, min, max, &value)) return false;
  *out = static_cast<int>(value);
  return true;
}

bool Reader::Number(const Fields& f, std::string_view key, double min, double max, double* out) {
  const YAML::Node* n = f.Get(key);
  return n == nullptr || ScalarNumber(*n, f.Path(key), min, max, out);
}

bool Reader::Bool(const Fields& f, std::string_view key, bool* out) {
  const YAML::Node* n = f.Get(key);
  return n == nullptr || ScalarBool(*n, f.Path(key), out);
}

bool Reader::Duration(const Fields& f, std::string_view key, bool allow_negative, Nanos* out) {
  const YAML::Node* n = f.Get(key);
  return n == nullptr || ScalarDuration(*n, f.Path(key), allow_negative, out);
}

bool Reader::Quantity(const Fields& f, std::string_view key, std::string* text, int64_t* milli) {
  const YAML::Node* n = f.Get(key);
  if (n == nullptr) return true;
  if (!n->IsScalar()) return Fail(n->Mark(), f.Path(key), "expected a quantity, got " + DescribeNode(*n));
  api::Quantity q;
  if (Status s = api::Quantity::Parse(n->Scalar(), &q); !s.ok()) return Fail(n->Mark(), f.Path(key), s.message());
  if (q.Sign() <= 0) return Fail(n->Mark(), f.Path(key), "must be positive");
  if (text != nullptr) *text = n->Scalar();
  if (milli != nullptr) *milli = q.MilliValue();
  return true;
}

bool Reader::StringList(const Fields& f, std::string_view key, std::vector<std::string>* out) {
  const YAML::Node* n = f.Get(key);
  if (n == nullptr) return true;
  out->clear();
  return List(*n, f.Path(key), limits_.max_list, [&](const YAML::Node& e, const std::string& p, size_t) {
    std::string value;
    if (!ScalarString(e, p, 0, &value)) return false;
    out->push_back(std::move(value));
    return true;
  });
}

bool Reader::StringMap(const Fields& f, std::string_view key, std::map<std::string, std::string>* out) {
  const YAML::Node* n = f.Get(key);
  if (n == nullptr) return true;
  const std::string path = f.Path(key);
  if (!n->IsMap()) return Fail(n->Mark(), path, "expected an object, got " + DescribeNode(*n));
  if (n->size() > limits_.max_list) return Fail(n->Mark(), path, fmt::format("more than {} entries", limits_.max_list));
  for (const auto& entry : *n) {
    std::string name;
    std::string value;
    if (!ScalarString(entry.first, path, 0, &name)) return false;
    if (!ScalarString(entry.second, JoinPath(path, name), 0, &value)) return false;
    if (!out->emplace(name, value).second) return Fail(entry.first.Mark(), JoinPath(path, name), "duplicate field");
  }
  return true;
}

bool Reader::Host(const Fields& f, std::string_view key, bool worker_only, std::string* out) {
  const YAML::Node* n = f.Get(key);
  return n == nullptr || ScalarHost(*n, f.Path(key), worker_only, out);
}

bool Reader::Hosts(const Fields& f, std::string_view key, std::vector<std::string>* out) {
  const YAML::Node* n = f.Get(key);
  return n == nullptr || SelectHosts(*n, f.Path(key), out);
}

bool Reader::HostGroups(const Fields& f, std::string_view key, std::vector<std::vector<std::string>>* out) {
  const YAML::Node* n = f.Get(key);
  if (n == nullptr) return true;
  const std::string path = f.Path(key);
  out->clear();
  std::map<std::string, std::string> owner;  // host -> the group path that holds it
  if (!List(*n, path, limits_.max_list, [&](const YAML::Node& e, const std::string& p, size_t) {
        std::vector<std::string> group;
        if (!SelectHosts(e, p, &group)) return false;
        for (const std::string& host : group) {
          auto [it, fresh] = owner.emplace(host, p);
          if (!fresh) return Fail(e.Mark(), p, fmt::format("{} is also in {}", host, it->second));
        }
        out->push_back(std::move(group));
        return true;
      })) {
    return false;
  }
  if (out->size() < 2) return Fail(n->Mark(), path, "needs at least two groups");
  return true;
}

bool Reader::Json(const Fields& f, std::string_view key, std::string* out) {
  const YAML::Node* n = f.Get(key);
  if (n == nullptr) return true;
  api::YamlJsonOptions options;
  options.max_depth = 64;
  options.too_large = fmt::format("more than {} YAML nodes", limits_.max_patch_nodes);
  options.too_deep = "nested deeper than 64 levels";
  options.check_text = true;
  int64_t budget = static_cast<int64_t>(limits_.max_patch_nodes);
  nlohmann::json json;
  api::YamlError error;
  if (!api::YamlToJson(*n, f.Path(key), options, &budget, &json, &error)) {
    return Fail(error.mark, error.path, error.message);
  }
  *out = json.dump();
  return true;
}

// ---------------------------------------------------------------- manifests

bool Reader::ManifestText(const Fields& f, Manifest* out) {
  const YAML::Node* path_node = f.Get("path");
  const YAML::Node* inline_node = f.Get("inline");
  if ((path_node == nullptr) == (inline_node == nullptr)) {
    return Fail(f.node.Mark(), f.path, "needs exactly one of path and inline");
  }
  if (++manifests_ > limits_.max_manifests) {
    return Fail(f.node.Mark(), f.path, fmt::format("more than {} manifests in the file", limits_.max_manifests));
  }
  const YAML::Node& node = path_node != nullptr ? *path_node : *inline_node;
  const std::string field = f.Path(path_node != nullptr ? "path" : "inline");
  if (inline_node != nullptr) {
    if (!ScalarString(node, field, limits_.max_manifest_bytes, &out->text)) return false;
    const SourcePos pos = Pos(node.Mark());
    out->source = fmt::format("{}:{}", pos.file, pos.line);
  } else {
    std::string relative;
    if (!ScalarString(node, field, 0, &relative)) return false;
    const std::filesystem::path rel(relative);
    if (relative.empty() || rel.is_absolute()) {
      return Fail(node.Mark(), field, "must be a path relative to the scenario file");
    }
    const std::filesystem::path full = base_dir_.empty() ? rel : std::filesystem::path(base_dir_) / rel;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(full, ec)) {
      return Fail(node.Mark(), field, fmt::format("no file {}", full.string()));
    }
    const uintmax_t size = std::filesystem::file_size(full, ec);
    if (ec || size > limits_.max_manifest_bytes) {
      return Fail(node.Mark(), field, fmt::format("{} is larger than {} bytes", full.string(), limits_.max_manifest_bytes));
    }
    std::ifstream in(full, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof()) return Fail(node.Mark(), field, fmt::format("cannot read {}", full.string()));
    out->text = text.str();
    out->source = full.string();
  }
  manifest_bytes_ += out->text.size();
  if (manifest_bytes_ > limits_.max_total_manifest_bytes) {
    return Fail(node.Mark(), field, fmt::format("manifests total more than {} bytes", limits_.max_total_manifest_bytes));
  }
  return CheckManifest(out->text, node.Mark(), field, out->source);
}

bool Reader::CheckManifest(const std::string& text, const YAML::Mark& mark, const std::string& path,
                           const std::string& source) {
  std::vector<YAML::Node> docs;
  if (Status s = api::LoadYamlDocuments(text, source, &docs); !s.ok()) return Fail(mark, path, s.message());
  size_t objects = 0;
  for (const YAML::Node& doc : docs) {
    if (doc.IsNull()) continue;
    const int line = api::YamlLine(doc.Mark());
    if (!doc.IsMap() || !doc["apiVersion"] || !doc["kind"] || !doc["apiVersion"].IsScalar() || !doc["kind"].IsScalar()) {
      return Fail(mark, path, fmt::format("{}:{}: a document without apiVersion and kind", source, line));
    }
    ++objects;
  }
  if (objects == 0) return Fail(mark, path, fmt::format("{}: holds no object", source));
  return true;
}

}  // namespace ksim::scenarios::internal
