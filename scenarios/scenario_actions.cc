#include "scenarios/scenario_actions.h"

#include <fmt/format.h>

#include "cluster/api/codec.h"
#include "cluster/api/registry.h"
#include "cluster/client/api_client.h"
#include "cluster/client/drain.h"

namespace ksim::scenarios {
namespace {

const api::KindInfo* KindNamed(const std::string& kind) { return api::Registry::Default().ByName(kind); }

std::string ContentType(const std::string& patch_type) {
  if (patch_type == "merge") return "application/merge-patch+json";
  if (patch_type == "json") return "application/json-patch+json";
  return "application/strategic-merge-patch+json";  // kubectl patch's default
}

}  // namespace

ApiActions::ApiActions(SimCluster& cluster, std::function<void(const std::string&, bool)> log)
    : cluster_(cluster), log_(std::move(log)) {}

ApiActions::~ApiActions() { *alive_ = false; }

void ApiActions::Start(const TimelineEntry& e) {
  const ApiAction& a = e.api;
  const std::string key = std::string(ActionKindName(e.action));
  switch (e.action) {
    case ActionKind::kApply: return Apply(e);
    case ActionKind::kDrain: return Drain(e);
    case ActionKind::kDelete: {
      const api::KindInfo* info = KindNamed(a.kind);
      const std::string what = fmt::format("delete {} {}/{}", a.kind, a.namespace_name, a.name);
      if (info == nullptr) return log_(what + ": unknown kind", true);
      cluster_.admin().Delete(*info, info->namespaced ? a.namespace_name : "", a.name,
                              [this, alive = alive_, what](const client::ApiResult& r) {
                                if (!*alive) return;
                                log_(r.ok() ? what : what + ": " + r.Describe(), !r.ok());
                              });
      return;
    }
    case ActionKind::kScale:
      // kubectl scale writes spec.replicas (through the scale subresource; a merge patch of
      // the object has the same effect on the workload kinds the file allows).
      return Patch(fmt::format("scale {} {}/{} to {}", a.kind, a.namespace_name, a.name, a.replicas), a.kind,
                   a.namespace_name, a.name, "application/merge-patch+json",
                   fmt::format(R"({{"spec":{{"replicas":{}}}}})", a.replicas));
    case ActionKind::kPatch:
      return Patch(fmt::format("patch ({}) {} {}/{}", a.patch_type, a.kind, a.namespace_name, a.name), a.kind,
                   a.namespace_name, a.name, ContentType(a.patch_type), a.patch_json);
    case ActionKind::kCordon:
    case ActionKind::kUncordon: {
      const bool cordon = e.action == ActionKind::kCordon;
      return Patch(fmt::format("{} {}", key, a.node), "Node", "", a.node, "application/merge-patch+json",
                   cordon ? R"({"spec":{"unschedulable":true}})" : R"({"spec":{"unschedulable":null}})");
    }
    default:
      return log_(fmt::format("{}: not an API action", key), true);
  }
}

void ApiActions::Patch(const std::string& what, const std::string& kind, const std::string& ns,
                       const std::string& name, const std::string& content_type, const std::string& body) {
  const api::KindInfo* info = KindNamed(kind);
  if (info == nullptr) return log_(what + ": unknown kind " + kind, true);
  cluster_.admin().Patch(*info, info->namespaced ? ns : "", name, content_type, body,
                         [this, alive = alive_, what](const client::ApiResult& r) {
                           if (!*alive) return;
                           log_(r.ok() ? what : what + ": " + r.Describe(), !r.ok());
                         });
}

// kubectl apply: each object is created, or (409 AlreadyExists) merge-patched with the
// manifest's fields, one after another in file order.
void ApiActions::Apply(const TimelineEntry& e) {
  struct State {
    std::vector<api::Object> objects;
    size_t next = 0;
  };
  auto st = std::make_shared<State>();
  if (Status s = api::DecodeYaml(e.api.manifest.text, e.api.manifest.source, &st->objects); !s.ok()) {
    return log_("apply " + e.api.manifest.source + ": " + s.message(), true);
  }
  auto step = std::make_shared<std::function<void()>>();
  // The step holds itself weakly; each call out holds it strongly until its answer.
  *step = [this, alive = alive_, st, self = std::weak_ptr<std::function<void()>>(step)] {
    auto me = self.lock();
    if (!*alive || me == nullptr || st->next >= st->objects.size()) return;
    api::Object& o = st->objects[st->next++];
    api::ObjectMeta* m = api::MutableMeta(*o.message);
    if (o.info->namespaced && m != nullptr && m->namespace_().empty()) m->set_namespace_("default");
    const std::string ns = m != nullptr ? m->namespace_() : "";
    const std::string name = m != nullptr ? m->name() : "";
    const std::string what = fmt::format("apply {} {}{}", o.info->kind, ns.empty() ? "" : ns + "/", name);
    cluster_.admin().Create(*o.info, *o.message, [this, alive, st, step = me, &o, ns, name, what](const client::ApiResult& r) {
      if (!*alive) return;
      if (r.status.ok() && r.code == 409) {
        cluster_.admin().Patch(*o.info, ns, name, "application/merge-patch+json", api::EncodeJson(*o.message),
                               [this, alive, step, what](const client::ApiResult& p) {
                                 if (!*alive) return;
                                 log_(p.ok() ? what + " (configured)" : what + ": " + p.Describe(), !p.ok());
                                 (*step)();
                               });
        return;
      }
      log_(r.ok() ? what + " (created)" : what + ": " + r.Describe(), !r.ok());
      (*step)();
    });
  };
  (*step)();
}

// kubectl drain NODE [--grace-period]: without --force and --delete-emptydir-data, so a
// pod no controller manages (or with an emptyDir) stops the drain, as kubectl's does.
void ApiActions::Drain(const TimelineEntry& e) {
  client::DrainOptions options;
  if (e.api.grace_period >= Nanos(0)) {
    options.delete_options.set_grace_period_seconds(e.api.grace_period.count() / 1000000000);
  }
  auto drainer = std::make_unique<client::Drainer>(cluster_.client_env(), &cluster_.admin(), options);
  client::Drainer* d = drainer.get();
  drainers_.push_back(std::move(drainer));
  const std::string what = "drain " + e.api.node;
  d->Drain(e.api.node, [this, alive = alive_, what](const client::DrainResult& r) {
    if (!*alive) return;
    std::string line = fmt::format("{}: {} evicted, {} skipped", what, r.evicted.size(), r.skipped.size());
    if (!r.status.ok()) line += ": " + r.status.message();
    log_(line, !r.status.ok());
  });
}

}  // namespace ksim::scenarios
