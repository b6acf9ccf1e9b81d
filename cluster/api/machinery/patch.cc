#include "cluster/api/machinery/patch.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ksim::api {

using nlohmann::json;

namespace {

// Runs `body`, turning any nlohmann exception (a bug here, or a document too deep for the
// library) into a Status so none escapes the API.
template <typename Body>
Status Guarded(std::string_view what, Body body) {
  try {
    return body();
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string(what) + ": " + e.what());
  }
}

// --- JSON merge patch ---------------------------------------------------------------------

json MergePatchValue(const json& target, const json& patch) {
  if (!patch.is_object()) return patch;
  json result = target.is_object() ? target : json::object();
  for (const auto& [name, value] : patch.items()) {
    if (value.is_null()) {
      result.erase(name);
    } else {
      const auto it = result.find(name);
      result[name] = MergePatchValue(it == result.end() ? json() : *it, value);
    }
  }
  return result;
}

// --- JSON pointer (RFC 6901) and JSON patch ------------------------------------------------

Status ParsePointer(std::string_view text, std::vector<std::string>* tokens) {
  if (text.empty()) return Status::Ok();
  if (text.front() != '/') return Status::InvalidArgument("pointer must be empty or start with '/'");
  std::string token;
  for (size_t i = 1; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '/') {
      tokens->push_back(std::move(token));
      token.clear();
    } else if (text[i] == '~') {
      const char next = i + 1 < text.size() ? text[i + 1] : '\0';
      if (next != '0' && next != '1') return Status::InvalidArgument("'~' must be followed by '0' or '1'");
      token.push_back(next == '0' ? '~' : '/');
      ++i;
    } else {
      token.push_back(text[i]);
    }
  }
  return Status::Ok();
}

// An array index token: digits without leading zeros, < size (<= size when `allow_end`;
// "-" means size then).
Status ParseIndex(const std::string& token, size_t size, bool allow_end, size_t* index) {
  if (token == "-") {
    if (!allow_end) return Status::InvalidArgument("'-' names no existing array element");
    *index = size;
    return Status::Ok();
  }
  if (token.empty() || token.size() > 18 || (token.size() > 1 && token[0] == '0') ||
      !std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Status::InvalidArgument("\"" + token + "\" is not an array index");
  }
  *index = static_cast<size_t>(std::stoull(token));
  if (*index > size || (*index == size && !allow_end)) {
    return Status::InvalidArgument("index " + token + " is out of bounds (size " + std::to_string(size) + ")");
  }
  return Status::Ok();
}

// The node at tokens[0, count), or an error naming the first missing step.
Status Resolve(json* root, const std::vector<std::string>& tokens, size_t count, json** node) {
  json* at = root;
  for (size_t i = 0; i < count; ++i) {
    const std::string& t = tokens[i];
    if (at->is_object()) {
      const auto it = at->find(t);
      if (it == at->end()) return Status::NotFound("member \"" + t + "\" does not exist");
      at = &*it;
    } else if (at->is_array()) {
      size_t index = 0;
      if (Status s = ParseIndex(t, at->size(), false, &index); !s.ok()) return s;
      at = &(*at)[index];
    } else {
      return Status::NotFound("\"" + t + "\" is below a value that is neither object nor array");
    }
  }
  *node = at;
  return Status::Ok();
}

Status AddAt(json* root, const std::vector<std::string>& tokens, json value) {
  if (tokens.empty()) {
    *root = std::move(value);
    return Status::Ok();
  }
  json* parent = nullptr;
  if (Status s = Resolve(root, tokens, tokens.size() - 1, &parent); !s.ok()) return s;
  const std::string& last = tokens.back();
  if (parent->is_object()) {
    (*parent)[last] = std::move(value);
    return Status::Ok();
  }
  if (parent->is_array()) {
    size_t index = 0;
    if (Status s = ParseIndex(last, parent->size(), true, &index); !s.ok()) return s;
    parent->insert(parent->begin() + static_cast<std::ptrdiff_t>(index), std::move(value));
    return Status::Ok();
  }
  return Status::InvalidArgument("the parent is neither object nor array");
}

Status RemoveAt(json* root, const std::vector<std::string>& tokens) {
  if (tokens.empty()) return Status::InvalidArgument("cannot remove the whole document");
  json* parent = nullptr;
  if (Status s = Resolve(root, tokens, tokens.size() - 1, &parent); !s.ok()) return s;
  const std::string& last = tokens.back();
  if (parent->is_object()) {
    if (parent->erase(last) == 0) return Status::NotFound("member \"" + last + "\" does not exist");
    return Status::Ok();
  }
  if (parent->is_array()) {
    size_t index = 0;
    if (Status s = ParseIndex(last, parent->size(), false, &index); !s.ok()) return s;
    parent->erase(index);
    return Status::Ok();
  }
  return Status::NotFound("the parent is neither object nor array");
}

// A value as JSON text for an error message; invalid UTF-8 is replaced, not thrown on.
std::string ForMessage(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

bool IsProperPrefix(const std::vector<std::string>& prefix, const std::vector<std::string>& path) {
  return prefix.size() < path.size() && std::equal(prefix.begin(), prefix.end(), path.begin());
}

// One RFC 6902 operation on *doc. `op_name` and `path_text` are filled for messages.
Status ApplyOperation(const json& op, json* doc, std::string* op_name, std::string* path_text) {
  if (!op.is_object()) return Status::InvalidArgument("operation must be an object");
  const auto op_it = op.find("op");
  if (op_it == op.end() || !op_it->is_string()) return Status::InvalidArgument("missing string member \"op\"");
  *op_name = op_it->get<std::string>();
  const auto path_it = op.find("path");
  if (path_it == op.end() || !path_it->is_string()) return Status::InvalidArgument("missing string member \"path\"");
  *path_text = path_it->get<std::string>();
  std::vector<std::string> path;
  if (Status s = ParsePointer(*path_text, &path); !s.ok()) return s;

  const std::string& name = *op_name;
  const auto value_it = op.find("value");
  const bool needs_value = name == "add" || name == "replace" || name == "test";
  if (needs_value && value_it == op.end()) return Status::InvalidArgument("missing member \"value\"");
  std::vector<std::string> from;
  std::string from_text;
  if (name == "move" || name == "copy") {
    const auto from_it = op.find("from");
    if (from_it == op.end() || !from_it->is_string()) return Status::InvalidArgument("missing string member \"from\"");
    from_text = from_it->get<std::string>();
    if (Status s = ParsePointer(from_text, &from); !s.ok()) return Status::InvalidArgument("from: " + s.message());
  }

  if (name == "add") return AddAt(doc, path, *value_it);
  if (name == "remove") return RemoveAt(doc, path);
  if (name == "replace") {
    json* target = nullptr;
    if (Status s = Resolve(doc, path, path.size(), &target); !s.ok()) return s;
    *target = *value_it;
    return Status::Ok();
  }
  if (name == "test") {
    json* target = nullptr;
    if (Status s = Resolve(doc, path, path.size(), &target); !s.ok()) return s;
    if (*target != *value_it) {
      return Status::InvalidArgument("test failed: value is " + ForMessage(*target) + ", expected " +
                                     ForMessage(*value_it));
    }
    return Status::Ok();
  }
  if (name == "move" || name == "copy") {
    json* source = nullptr;
    if (Status s = Resolve(doc, from, from.size(), &source); !s.ok()) {
      return Status::InvalidArgument("from \"" + from_text + "\": " + s.message());
    }
    if (name == "move" && from == path) return Status::Ok();
    if (name == "move" && IsProperPrefix(from, path)) {
      return Status::InvalidArgument("cannot move \"" + from_text + "\" into one of its own children");
    }
    json value = *source;
    if (name == "move") {
      if (Status s = RemoveAt(doc, from); !s.ok()) return s;
    }
    return AddAt(doc, path, std::move(value));
  }
  return Status::InvalidArgument("unknown op \"" + name + "\" (want add, remove, replace, move, copy or test)");
}

// --- Strategic merge patch ----------------------------------------------------------------

constexpr std::string_view kPatchDirective = "$patch";
constexpr std::string_view kRetainKeys = "$retainKeys";
constexpr std::string_view kDeleteFromPrimitiveList = "$deleteFromPrimitiveList/";
constexpr std::string_view kSetElementOrder = "$setElementOrder/";

std::string Child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// The `$patch` directive of a map: "", "replace", "merge" or "delete".
Status DirectiveOf(const json& map, const std::string& path, std::string* directive) {
  directive->clear();
  const auto it = map.find(kPatchDirective);
  if (it == map.end()) return Status::Ok();
  if (!it->is_string()) return Status::InvalidArgument("strategic merge patch at " + path + ": $patch must be a string");
  *directive = it->get<std::string>();
  if (*directive != "replace" && *directive != "merge" && *directive != "delete") {
    return Status::InvalidArgument("strategic merge patch at " + path + ": unknown $patch directive \"" + *directive +
                                   "\" (want replace, merge or delete)");
  }
  return Status::Ok();
}

class StrategicMerger {
 public:
  StrategicMerger(std::string_view kind, const MergeKeyTable& table) : kind_(kind), table_(table) {}

  // Merges patch (an object) into *original (an object). *deleted is set when the patch
  // says `$patch: delete`: the caller removes the value.
  Status MergeMap(json* original, const json& patch, const std::string& path, bool* deleted) {
    *deleted = false;
    std::string directive;
    if (Status s = DirectiveOf(patch, path, &directive); !s.ok()) return s;
    if (directive == "delete") {
      *deleted = true;
      return Status::Ok();
    }
    if (directive == "replace") *original = json::object();
    if (!original->is_object()) *original = json::object();

    if (const auto retain = patch.find(kRetainKeys); retain != patch.end()) {
      if (Status s = RetainKeys(original, *retain, path); !s.ok()) return s;
    }
    // Deletions from primitive lists come before the patch's own additions to them.
    for (const auto& [key, value] : patch.items()) {
      if (key.rfind(kDeleteFromPrimitiveList, 0) != 0) continue;
      const std::string field = key.substr(kDeleteFromPrimitiveList.size());
      if (Status s = DeleteFromPrimitiveList(original, field, value, Child(path, field)); !s.ok()) return s;
    }
    // The lists $setElementOrder will reorder, as they were before merging.
    std::map<std::string, json> lists_before;
    for (const auto& [key, value] : patch.items()) {
      if (key.rfind(kSetElementOrder, 0) != 0) continue;
      const std::string field = key.substr(kSetElementOrder.size());
      const auto it = original->find(field);
      lists_before[field] = (it != original->end() && it->is_array()) ? *it : json::array();
    }
    for (const auto& [key, value] : patch.items()) {
      if (!key.empty() && key[0] == '$') {
        if (key == kPatchDirective || key == kRetainKeys || key.rfind(kDeleteFromPrimitiveList, 0) == 0 ||
            key.rfind(kSetElementOrder, 0) == 0) {
          continue;
        }
        return Status::InvalidArgument("strategic merge patch at " + Child(path, key) + ": unknown directive");
      }
      if (Status s = MergeField(original, key, value, Child(path, key)); !s.ok()) return s;
    }
    for (const auto& [field, before] : lists_before) {
      const json& order = *patch.find(std::string(kSetElementOrder) + field);
      if (Status s = SetElementOrder(original, field, order, before, Child(path, field)); !s.ok()) return s;
    }
    return Status::Ok();
  }

 private:
  Status Error(const std::string& path, const std::string& reason) const {
    return Status::InvalidArgument("strategic merge patch at " + (path.empty() ? std::string("<root>") : path) + ": " +
                                   reason);
  }

  Status MergeField(json* original, const std::string& key, const json& value, const std::string& path) {
    if (value.is_null()) {
      original->erase(key);
      return Status::Ok();
    }
    const auto it = original->find(key);
    const bool present = it != original->end();
    if (value.is_object()) {
      json merged = present && it->is_object() ? *it : json::object();
      bool deleted = false;
      if (Status s = MergeMap(&merged, value, path, &deleted); !s.ok()) return s;
      if (deleted) {
        original->erase(key);
      } else {
        (*original)[key] = std::move(merged);
      }
      return Status::Ok();
    }
    if (value.is_array()) {
      json merged = present && it->is_array() ? *it : json::array();
      if (Status s = MergeList(&merged, value, path); !s.ok()) return s;
      (*original)[key] = std::move(merged);
      return Status::Ok();
    }
    (*original)[key] = value;
    return Status::Ok();
  }

  Status MergeList(json* original, const json& patch, const std::string& path) {
    const ListRule rule = table_.Lookup(kind_, path);
    if (rule.strategy == ListStrategy::kReplace) {
      *original = patch;
      return Status::Ok();
    }
    // Directive items first: `$patch: replace` drops the document's list, `$patch: delete`
    // removes items by merge key.
    std::vector<const json*> items;
    for (size_t i = 0; i < patch.size(); ++i) {
      const json& item = patch[i];
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      if (!item.is_object()) {
        if (rule.strategy == ListStrategy::kMerge) return Error(item_path, "list item must be an object with \"" + rule.merge_key + "\"");
        items.push_back(&item);
        continue;
      }
      std::string directive;
      if (Status s = DirectiveOf(item, item_path, &directive); !s.ok()) return s;
      if (directive == "replace") {
        *original = json::array();
        continue;
      }
      if (rule.strategy == ListStrategy::kMergePrimitive) {
        return Error(item_path, "a list of primitives (patch strategy merge) cannot hold an object");
      }
      const auto key = item.find(rule.merge_key);
      if (key == item.end()) return Error(item_path, "list item has no merge key \"" + rule.merge_key + "\"");
      if (directive == "delete") {
        DeleteByKey(original, rule.merge_key, *key);
        continue;
      }
      items.push_back(&item);
    }
    for (const json* item : items) {
      if (rule.strategy == ListStrategy::kMergePrimitive) {
        if (std::find(original->begin(), original->end(), *item) == original->end()) original->push_back(*item);
        continue;
      }
      const json& key = (*item)[rule.merge_key];
      auto match = std::find_if(original->begin(), original->end(), [&](const json& existing) {
        if (!existing.is_object()) return false;
        const auto k = existing.find(rule.merge_key);
        return k != existing.end() && *k == key;
      });
      json merged = match != original->end() ? *match : json::object();
      bool deleted = false;
      if (Status s = MergeMap(&merged, *item, path + "[]", &deleted); !s.ok()) return s;
      if (match != original->end()) {
        if (deleted) {
          original->erase(match);
        } else {
          *match = std::move(merged);
        }
      } else if (!deleted) {
        original->push_back(std::move(merged));
      }
    }
    return Status::Ok();
  }

  static void DeleteByKey(json* list, const std::string& merge_key, const json& key) {
    json kept = json::array();
    for (json& existing : *list) {
      const bool same = existing.is_object() && existing.contains(merge_key) && existing[merge_key] == key;
      if (!same) kept.push_back(std::move(existing));
    }
    *list = std::move(kept);
  }

  Status RetainKeys(json* original, const json& retain, const std::string& path) const {
    if (!retain.is_array()) return Error(path, "$retainKeys must be a list of field names");
    std::vector<std::string> keep;
    for (const json& k : retain) {
      if (!k.is_string()) return Error(path, "$retainKeys must be a list of field names");
      keep.push_back(k.get<std::string>());
    }
    for (auto it = original->begin(); it != original->end();) {
      if (std::find(keep.begin(), keep.end(), it.key()) == keep.end()) {
        it = original->erase(it);
      } else {
        ++it;
      }
    }
    return Status::Ok();
  }

  Status DeleteFromPrimitiveList(json* original, const std::string& field, const json& values,
                                 const std::string& path) const {
    if (!values.is_array()) return Error(path, "$deleteFromPrimitiveList needs a list of values");
    const auto it = original->find(field);
    if (it == original->end() || !it->is_array()) return Status::Ok();
    json kept = json::array();
    for (const json& v : *it) {
      if (std::find(values.begin(), values.end(), v) == values.end()) kept.push_back(v);
    }
    *it = std::move(kept);
    return Status::Ok();
  }

  // The key an element is ordered by: its merge key for lists of objects, itself otherwise.
  static std::optional<json> OrderKey(const json& element, const ListRule& rule) {
    if (rule.strategy != ListStrategy::kMerge) return element;
    if (!element.is_object()) return std::nullopt;
    const auto k = element.find(rule.merge_key);
    if (k == element.end()) return std::nullopt;
    return *k;
  }

  static std::optional<size_t> IndexOf(const std::vector<json>& keys, const std::optional<json>& key) {
    if (!key) return std::nullopt;
    const auto it = std::find(keys.begin(), keys.end(), *key);
    if (it == keys.end()) return std::nullopt;
    return static_cast<size_t>(it - keys.begin());
  }

  // Orders *original[field]: elements named by `order` follow it; elements only the
  // document had keep their place relative to them as in the list before merging.
  Status SetElementOrder(json* original, const std::string& field, const json& order, const json& before,
                         const std::string& path) const {
    if (!order.is_array()) return Error(path, "$setElementOrder needs a list");
    const auto it = original->find(field);
    if (it == original->end() || !it->is_array()) return Status::Ok();
    const ListRule rule = table_.Lookup(kind_, path);
    if (rule.strategy == ListStrategy::kReplace) return Status::Ok();  // the patch's list is already the order
    std::vector<json> order_keys;
    for (const json& entry : order) {
      const auto key = OrderKey(entry, rule);
      if (!key) return Error(path, "$setElementOrder entries need the merge key \"" + rule.merge_key + "\"");
      order_keys.push_back(*key);
    }
    std::vector<json> before_keys;
    for (const json& element : before) before_keys.push_back(OrderKey(element, rule).value_or(json()));

    std::vector<std::pair<size_t, json>> ordered;  // (position in `order`, element)
    std::vector<json> document_only;
    for (const json& element : *it) {
      if (const auto at = IndexOf(order_keys, OrderKey(element, rule))) {
        ordered.emplace_back(*at, element);
      } else {
        document_only.push_back(element);
      }
    }
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    json result = json::array();
    size_t i = 0;
    size_t j = 0;
    while (i < ordered.size() || j < document_only.size()) {
      bool take_ordered = j == document_only.size();
      if (!take_ordered && i < ordered.size()) {
        // As Kubernetes: a patch item goes first only if the old list had it before the
        // document-only item; otherwise the document-only item keeps its place.
        const auto left = IndexOf(before_keys, OrderKey(ordered[i].second, rule));
        const auto right = IndexOf(before_keys, OrderKey(document_only[j], rule));
        take_ordered = left && right && *left < *right;
      }
      result.push_back(take_ordered ? ordered[i++].second : document_only[j++]);
    }
    *it = std::move(result);
    return Status::Ok();
  }

  std::string_view kind_;
  const MergeKeyTable& table_;
};

MergeKeyTable BuildBuiltInTable() {
  MergeKeyTable t;
  const ListRule replace{ListStrategy::kReplace, ""};
  const ListRule by_type{ListStrategy::kMerge, "type"};
  for (const std::string prefix : {"metadata", "spec.template.metadata"}) {
    t.Add("*", prefix + ".ownerReferences", {ListStrategy::kMerge, "uid"});
    t.Add("*", prefix + ".finalizers", {ListStrategy::kMergePrimitive, ""});
  }

  t.AddPodSpec("Pod", "spec");
  t.Add("Pod", "status.conditions", by_type);
  t.Add("Pod", "status.podIPs", {ListStrategy::kMerge, "ip"});
  t.Add("Pod", "status.hostIPs", {ListStrategy::kMerge, "ip"});
  for (const char* statuses : {"status.containerStatuses", "status.initContainerStatuses",
                               "status.ephemeralContainerStatuses"}) {
    t.Add("Pod", statuses, replace);
  }

  for (const char* kind : {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController"}) {
    t.AddPodSpec(kind, "spec.template.spec");
    t.Add(kind, "status.conditions", by_type);
  }
  t.Add("StatefulSet", "spec.volumeClaimTemplates", replace);

  t.Add("Node", "spec.podCIDRs", {ListStrategy::kMergePrimitive, ""});
  t.Add("Node", "spec.taints", replace);
  t.Add("Node", "status.conditions", by_type);
  t.Add("Node", "status.addresses", by_type);
  t.Add("Node", "status.images", replace);
  t.Add("Node", "status.volumesAttached", replace);

  t.Add("Service", "spec.ports", {ListStrategy::kMerge, "port"});
  t.Add("Service", "status.conditions", by_type);
  t.Add("Service", "status.loadBalancer.ingress", replace);

  t.Add("Endpoints", "subsets", replace);
  return t;
}

}  // namespace

Status PatchTypeFromContentType(std::string_view content_type, PatchType* out) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
  if (media == ContentTypeOf(PatchType::kJsonPatch)) {
    *out = PatchType::kJsonPatch;
  } else if (media == ContentTypeOf(PatchType::kMergePatch)) {
    *out = PatchType::kMergePatch;
  } else if (media == ContentTypeOf(PatchType::kStrategicMergePatch)) {
    *out = PatchType::kStrategicMergePatch;
  } else if (media == "application/apply-patch+yaml") {
    return Status::NotSupported("patch content type \"application/apply-patch+yaml\" (server-side apply) is not supported");
  } else {
    return Status::InvalidArgument("patch content type \"" + std::string(content_type) +
                                   "\" is not one of application/json-patch+json, application/merge-patch+json, "
                                   "application/strategic-merge-patch+json");
  }
  return Status::Ok();
}

std::string_view ContentTypeOf(PatchType type) {
  switch (type) {
    case PatchType::kJsonPatch: return "application/json-patch+json";
    case PatchType::kMergePatch: return "application/merge-patch+json";
    case PatchType::kStrategicMergePatch: return "application/strategic-merge-patch+json";
  }
  return "";
}

Status ApplyMergePatch(const json& document, const json& patch, json* out) {
  return Guarded("merge patch", [&] {
    *out = MergePatchValue(document, patch);
    return Status::Ok();
  });
}

json CreateMergePatch(const json& original, const json& modified) {
  if (!original.is_object() || !modified.is_object()) return modified;
  json patch = json::object();
  for (const auto& [key, value] : original.items()) {
    if (!modified.contains(key)) patch[key] = nullptr;
  }
  for (const auto& [key, value] : modified.items()) {
    const auto it = original.find(key);
    if (value.is_null()) {
      if (it != original.end()) patch[key] = nullptr;  // cannot set null: remove instead
    } else if (it == original.end()) {
      patch[key] = CreateMergePatch(json(), value);
    } else if (*it != value) {
      patch[key] = CreateMergePatch(*it, value);
    }
  }
  return patch;
}

Status ApplyJsonPatch(const json& document, const json& patch, json* out) {
  return Guarded("json patch", [&] {
    if (!patch.is_array()) return Status::InvalidArgument("json patch must be a list of operations");
    json doc = document;
    for (size_t i = 0; i < patch.size(); ++i) {
      std::string op_name = "?";
      std::string path = "?";
      if (Status s = ApplyOperation(patch[i], &doc, &op_name, &path); !s.ok()) {
        return Status::InvalidArgument("json patch operation " + std::to_string(i) + " (" + op_name + ") at \"" + path +
                                       "\": " + s.message());
      }
    }
    *out = std::move(doc);
    return Status::Ok();
  });
}

void MergeKeyTable::Add(std::string kind, std::string path, ListRule rule) {
  rules_[{std::move(kind), std::move(path)}] = std::move(rule);
}

void MergeKeyTable::AddPodSpec(const std::string& kind, const std::string& prefix) {
  const ListRule by_name{ListStrategy::kMerge, "name"};
  Add(kind, prefix + ".volumes", by_name);
  Add(kind, prefix + ".imagePullSecrets", by_name);
  Add(kind, prefix + ".hostAliases", {ListStrategy::kMerge, "ip"});
  Add(kind, prefix + ".tolerations", {ListStrategy::kReplace, ""});
  Add(kind, prefix + ".topologySpreadConstraints", {ListStrategy::kMerge, "topologyKey"});
  Add(kind, prefix + ".schedulingGates", by_name);
  Add(kind, prefix + ".resourceClaims", by_name);
  for (const char* containers : {".containers", ".initContainers", ".ephemeralContainers"}) {
    const std::string list = prefix + containers;
    Add(kind, list, by_name);
    Add(kind, list + "[].ports", {ListStrategy::kMerge, "containerPort"});
    Add(kind, list + "[].env", by_name);
    Add(kind, list + "[].volumeMounts", {ListStrategy::kMerge, "mountPath"});
    Add(kind, list + "[].volumeDevices", {ListStrategy::kMerge, "devicePath"});
  }
}

ListRule MergeKeyTable::Lookup(std::string_view kind, std::string_view path) const {
  for (std::string_view k : {kind, std::string_view("*")}) {
    const auto it = rules_.find(std::pair<std::string, std::string>(k, path));
    if (it != rules_.end()) return it->second;
  }
  return ListRule{};
}

const MergeKeyTable& MergeKeyTable::BuiltIn() {
  static const MergeKeyTable table = BuildBuiltInTable();
  return table;
}

Status ApplyStrategicMergePatch(const json& document, const json& patch, std::string_view kind,
                                const MergeKeyTable& table, json* out) {
  return Guarded("strategic merge patch", [&] {
    if (!patch.is_object()) return Status::InvalidArgument("strategic merge patch must be a JSON object");
    if (!document.is_object()) return Status::InvalidArgument("strategic merge patch applies to a JSON object");
    json result = document;
    bool deleted = false;
    if (Status s = StrategicMerger(kind, table).MergeMap(&result, patch, "", &deleted); !s.ok()) return s;
    if (deleted) result = json::object();
    *out = std::move(result);
    return Status::Ok();
  });
}

Status ApplyPatch(PatchType type, const json& document, const json& patch, std::string_view kind, json* out) {
  switch (type) {
    case PatchType::kJsonPatch: return ApplyJsonPatch(document, patch, out);
    case PatchType::kMergePatch: return ApplyMergePatch(document, patch, out);
    case PatchType::kStrategicMergePatch:
      return ApplyStrategicMergePatch(document, patch, kind, MergeKeyTable::BuiltIn(), out);
  }
  return Status::InvalidArgument("unknown patch type");
}

}  // namespace ksim::api
