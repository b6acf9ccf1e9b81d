#include "cluster/controllers/garbage_collector_graph.h"

#include <algorithm>

#include "cluster/api/codec.h"

namespace ksim::controllers::gc {

bool HasFinalizer(const api::ObjectMeta& meta, const std::string& f) {
  return std::find(meta.finalizers().begin(), meta.finalizers().end(), f) != meta.finalizers().end();
}

Identity OwnerIdentity(const api::OwnerReference& ref, const std::string& dependent_ns) {
  Identity id;
  id.kind = api::Registry::Default().ByApiVersionKind(ref.api_version(), ref.kind());
  id.ns = id.kind != nullptr && id.kind->namespaced ? dependent_ns : "";
  id.name = ref.name();
  id.uid = ref.uid();
  return id;
}

const Node* DependencyGraph::Find(const std::string& uid) const {
  auto it = nodes_.find(uid);
  return it == nodes_.end() ? nullptr : &it->second;
}

client::ObjectPtr DependencyGraph::Object(const std::string& uid) const {
  auto it = objects_.find(uid);
  return it == objects_.end() ? nullptr : it->second;
}

Node& DependencyGraph::Ensure(const std::string& uid) { return nodes_[uid]; }

std::vector<std::string> DependencyGraph::BlockingDependents(const std::string& uid) const {
  std::vector<std::string> out;
  const Node* n = Find(uid);
  if (n == nullptr) return out;
  for (const std::string& d : n->dependents) {
    const Node* dep = Find(d);
    if (dep == nullptr) continue;
    for (const auto& ref : dep->owners) {
      if (ref.uid() == uid && ref.block_owner_deletion()) {
        out.push_back(d);
        break;
      }
    }
  }
  return out;
}

std::vector<std::string> DependencyGraph::VirtualNodes() const {
  std::vector<std::string> out;
  for (const auto& [uid, n] : nodes_) {
    if (!n.observed) out.push_back(uid);
  }
  return out;
}

void DependencyGraph::Observe(const client::ObjectPtr& obj, Effects* fx) {
  const api::ObjectMeta& m = *api::GetMeta(*obj);
  const std::string& uid = m.uid();
  if (uid.empty()) return;
  Node& node = Ensure(uid);
  const bool was_virtual = !node.observed;
  const bool was_deleting_dependents = node.deleting_dependents && !was_virtual;
  const bool was_orphaning = node.orphaning && !was_virtual;
  node.id.kind = api::KindOf(*obj);
  node.id.ns = m.namespace_();
  node.id.name = m.name();
  node.id.uid = uid;
  node.observed = true;
  node.being_deleted = m.has_deletion_timestamp();
  node.deleting_dependents = node.being_deleted && HasFinalizer(m, kForegroundFinalizer);
  node.orphaning = node.being_deleted && HasFinalizer(m, kOrphanFinalizer);
  objects_[uid] = obj;
  const bool namespaced = node.id.kind != nullptr && node.id.kind->namespaced;

  // References gone or unblocked: an owner waiting for its dependents may now be done.
  const std::vector<api::OwnerReference> old_owners = node.owners;
  node.owners.assign(m.owner_references().begin(), m.owner_references().end());
  for (const auto& old : old_owners) {
    auto still = std::find_if(node.owners.begin(), node.owners.end(),
                              [&old](const api::OwnerReference& r) { return r.uid() == old.uid(); });
    if (still != node.owners.end() && (still->block_owner_deletion() || !old.block_owner_deletion())) continue;
    auto o = nodes_.find(old.uid());
    if (o == nodes_.end()) continue;
    if (still == node.owners.end()) o->second.dependents.erase(uid);
    if (o->second.deleting_dependents) fx->attempt_delete.insert(old.uid());
  }
  for (const auto& ref : node.owners) {
    const bool is_new = std::none_of(old_owners.begin(), old_owners.end(),
                                     [&ref](const api::OwnerReference& r) { return r.uid() == ref.uid(); });
    if (ref.uid().empty() || ref.uid() == uid) continue;
    Node& owner = nodes_[ref.uid()];  // `node` stays valid: std::map
    owner.dependents.insert(uid);
    if (owner.id.uid.empty()) {  // new virtual node: verify it exists
      owner.id = OwnerIdentity(ref, m.namespace_());
      fx->attempt_delete.insert(ref.uid());
    }
    if (!is_new && !was_virtual) continue;
    const Identity want = OwnerIdentity(ref, m.namespace_());
    const bool owner_namespaced = want.kind != nullptr && want.kind->namespaced;
    if (owner_namespaced && (!namespaced || (owner.observed && owner.id.ns != m.namespace_()))) {
      fx->invalid_namespace.emplace_back(obj, ref);
      fx->attempt_delete.insert(uid);
    }
  }
  // An owner seen for the first time: dependents that named it from another namespace.
  if (was_virtual && namespaced) {
    for (const std::string& d : node.dependents) {
      client::ObjectPtr dep = Object(d);
      if (dep == nullptr || api::GetMeta(*dep)->namespace_() == m.namespace_()) continue;
      for (const auto& ref : api::GetMeta(*dep)->owner_references()) {
        if (ref.uid() == uid) fx->invalid_namespace.emplace_back(dep, ref);
      }
      fx->attempt_delete.insert(d);
    }
  }
  // Transitions (Kubernetes' processTransitions).
  if (node.deleting_dependents && !was_deleting_dependents) {
    fx->attempt_delete.insert(uid);
    for (const std::string& d : node.dependents) fx->attempt_delete.insert(d);
  }
  if (node.orphaning && !was_orphaning) fx->attempt_orphan.insert(uid);
}

void DependencyGraph::Unlink(const std::string& uid, Effects* fx) {
  auto it = nodes_.find(uid);
  if (it == nodes_.end()) return;
  for (const std::string& d : it->second.dependents) fx->attempt_delete.insert(d);
  for (const auto& ref : it->second.owners) {
    auto o = nodes_.find(ref.uid());
    if (o == nodes_.end()) continue;
    o->second.dependents.erase(uid);
    if (o->second.deleting_dependents) fx->attempt_delete.insert(ref.uid());
    // A virtual owner no one names any more is forgotten.
    if (!o->second.observed && o->second.dependents.empty()) nodes_.erase(o);
  }
  // Dependents keep their references; the node stays as a virtual one while named.
  if (!it->second.dependents.empty()) {
    it->second.observed = false;
    it->second.owners.clear();
    it->second.being_deleted = it->second.deleting_dependents = it->second.orphaning = false;
  } else {
    nodes_.erase(it);
  }
  objects_.erase(uid);
}

void DependencyGraph::Remove(const google::protobuf::Message& obj, Effects* fx) {
  Unlink(api::GetMeta(obj)->uid(), fx);
}

void DependencyGraph::VirtualDelete(const std::string& uid, bool observed_too, Effects* fx) {
  auto it = nodes_.find(uid);
  if (it == nodes_.end() || (it->second.observed && !observed_too)) return;
  for (const std::string& d : it->second.dependents) fx->attempt_delete.insert(d);
  if (!it->second.observed) {
    for (const std::string& d : it->second.dependents) {
      auto dn = nodes_.find(d);
      if (dn != nodes_.end()) (void)dn;  // dependents keep their references until collected
    }
    nodes_.erase(it);
    return;
  }
  Unlink(uid, fx);
}

}  // namespace ksim::controllers::gc
