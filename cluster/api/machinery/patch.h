// ksim::api patches: the three patch types Kubernetes' apiserver accepts, applied to
// nlohmann::json documents. Pure functions; errors are Status values (nlohmann's
// exceptions never escape).
//
//   application/merge-patch+json            JSON merge patch, RFC 7386
//   application/json-patch+json             JSON patch, RFC 6902 (JSON pointers, RFC 6901)
//   application/strategic-merge-patch+json  Kubernetes' strategic merge patch
//
// Strategic merge patch (Kubernetes semantics; docs/API_MACHINERY.md lists the decisions):
// - maps merge recursively; a null value deletes the key;
// - a list's strategy comes from a MergeKeyTable entry for (kind, path): lists of objects
//   with a merge key merge item by item (same key: merged, new key: appended), lists of
//   primitives with strategy merge become an ordered union, every other list is replaced;
// - directives: `$patch: replace|merge|delete` in a map; `{"$patch": "replace"}` as a list
//   item (the rest of the patch list becomes the list); `{"$patch": "delete", <key>: v}` as a
//   list item (deletes by merge key); `$deleteFromPrimitiveList/<field>: [values]`;
//   `$setElementOrder/<field>: [keys or values]`; `$retainKeys: [fields]`.
// - Values the patch adds where the document had nothing are themselves merged into an
//   empty value, so directives and nulls inside them are resolved, never stored.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "cluster/env/status.h"

namespace ksim::api {

enum class PatchType {
  kJsonPatch,            // application/json-patch+json
  kMergePatch,           // application/merge-patch+json
  kStrategicMergePatch,  // application/strategic-merge-patch+json
};

// Maps a Content-Type (parameters such as "; charset=utf-8" ignored) to a patch type;
// InvalidArgument naming the type when it is none of the three (server-side apply's
// application/apply-patch+yaml gives NotSupported).
Status PatchTypeFromContentType(std::string_view content_type, PatchType* out);
std::string_view ContentTypeOf(PatchType type);

// --- JSON merge patch (RFC 7386) ----------------------------------------------------------

// *out = MergePatch(document, patch). Cannot fail on valid JSON; returns Status for symmetry.
Status ApplyMergePatch(const nlohmann::json& document, const nlohmann::json& patch, nlohmann::json* out);

// A merge patch p with ApplyMergePatch(original, p) == modified. Exact unless `modified`
// holds null inside an object (a merge patch cannot set a member to null); then the member
// is removed instead.
nlohmann::json CreateMergePatch(const nlohmann::json& original, const nlohmann::json& modified);

// --- JSON patch (RFC 6902) ---------------------------------------------------------------

// Applies the operations in order (add, remove, replace, move, copy, test); all or
// nothing. Errors read `json patch operation <index> (<op>) at "<path>": <reason>`.
Status ApplyJsonPatch(const nlohmann::json& document, const nlohmann::json& patch, nlohmann::json* out);

// --- Strategic merge patch ---------------------------------------------------------------

enum class ListStrategy {
  kReplace,         // the patch's list replaces the document's (the default)
  kMerge,           // list of objects merged by merge_key
  kMergePrimitive,  // list of scalars merged as an ordered union (e.g. metadata.finalizers)
};

struct ListRule {
  ListStrategy strategy = ListStrategy::kReplace;
  std::string merge_key;  // for kMerge

  friend bool operator==(const ListRule&, const ListRule&) = default;
};

// Patch strategies by kind and path. Paths are dotted JSON field names from the object's
// root; a list item is written "[]": "spec.template.spec.containers[].env".
class MergeKeyTable {
 public:
  // Kind "*" applies to every kind (e.g. metadata.finalizers); a kind's own entry wins.
  void Add(std::string kind, std::string path, ListRule rule);
  // Adds the pod spec's rules under `prefix` (e.g. "spec" for Pod, "spec.template.spec").
  void AddPodSpec(const std::string& kind, const std::string& prefix);
  // The rule for a list at `path`; kReplace when no entry names it.
  ListRule Lookup(std::string_view kind, std::string_view path) const;
  const std::map<std::pair<std::string, std::string>, ListRule>& entries() const { return rules_; }

  // Pod, Node, Service, Endpoints, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
  // ReplicationController, and metadata of every kind; the merge keys and strategies are
  // those of Kubernetes' core/v1, apps/v1 and batch/v1 types (docs/API_MACHINERY.md).
  static const MergeKeyTable& BuiltIn();

 private:
  std::map<std::pair<std::string, std::string>, ListRule> rules_;
};

// Applies a strategic merge patch to `document` (an object of kind `kind`). Errors name
// the path and the reason ("strategic merge patch at spec.containers[1]: ...").
Status ApplyStrategicMergePatch(const nlohmann::json& document, const nlohmann::json& patch, std::string_view kind,
                                const MergeKeyTable& table, nlohmann::json* out);

// Dispatches on `type`; strategic merge patches use MergeKeyTable::BuiltIn().
Status ApplyPatch(PatchType type, const nlohmann::json& document, const nlohmann::json& patch,
                  std::string_view kind, nlohmann::json* out);

}  // namespace ksim::api
