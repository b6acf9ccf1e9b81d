// The kind registry: every Kubernetes kind ksim knows, with its group, version, plural
// resource name, scope, short names and protobuf type. The apiserver routes URLs with it
// (group + resource), the codec types manifests with it (apiVersion + kind).
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ksim::api {

struct KindInfo {
  std::string group;     // "" for the core group, "apps", "rbac.authorization.k8s.io"...
  std::string version;   // "v1"
  std::string kind;      // "Deployment"
  std::string resource;  // plural, lower case: "deployments"; "" for kinds that are not resources (Status)
  bool namespaced = false;
  std::vector<std::string> short_names;  // "deploy"
  const google::protobuf::Descriptor* descriptor = nullptr;
  const google::protobuf::Message* prototype = nullptr;  // the generated default instance

  // "v1" for the core group, otherwise "group/version" ("apps/v1").
  std::string ApiVersion() const;
  // The singular lower-case name kubectl accepts ("deployment").
  std::string Singular() const;
  // A fresh, empty message of this kind.
  std::unique_ptr<google::protobuf::Message> New() const;
};

// Splits "apps/v1" into {"apps", "v1"} and "v1" into {"", "v1"}.
std::pair<std::string, std::string> SplitApiVersion(std::string_view api_version);

class Registry {
 public:
  // Every built-in kind. Built once; immutable afterwards.
  static const Registry& Default();

  // The kind named by a manifest's apiVersion and kind, or nullptr.
  const KindInfo* ByApiVersionKind(std::string_view api_version, std::string_view kind) const;
  // The kind served at /apis/<group>/<version>/<resource> (each kind has one version: v1,
  // or v2 for HorizontalPodAutoscaler), or nullptr.
  const KindInfo* ByGroupResource(std::string_view group, std::string_view resource) const;
  // The kind whose message type is `descriptor` (matched by full name), or nullptr.
  const KindInfo* ByDescriptor(const google::protobuf::Descriptor* descriptor) const;
  // What kubectl accepts on its command line: plural ("pods"), singular ("pod"), short
  // name ("po"), kind ("Pod"), each optionally qualified by group ("deployments.apps").
  // nullptr if unknown or ambiguous.
  const KindInfo* ByName(std::string_view name) const;

  // All kinds, ordered by (group, kind).
  const std::vector<KindInfo>& All() const { return kinds_; }

  // Adds a kind (for tests and extensions). Fails (returns false) if its (group, kind),
  // (group, resource) or message type is already registered.
  bool Add(KindInfo info);

 private:
  void Reindex();

  std::vector<KindInfo> kinds_;
  std::map<std::pair<std::string, std::string>, size_t> by_group_kind_;
  std::map<std::pair<std::string, std::string>, size_t> by_group_resource_;
  std::map<std::string, size_t> by_type_name_;
};

}  // namespace ksim::api
