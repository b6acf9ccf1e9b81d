// ApiHandler: delete and deletecollection (finalizers, graceful deletion, quota release).
#include "cluster/apiserver/handler_internal.h"

#include <fmt/format.h>

#include <algorithm>

#include "cluster/apiserver/admission.h"
#include "cluster/env/wire.h"

namespace ksim::apiserver {

namespace gp = google::protobuf;
using namespace handler_internal;  // NOLINT: this file's own helpers

// --- delete -------------------------------------------------------------------------------

void ApiHandler::Delete(std::shared_ptr<Call> call) {
  store_.Get(call->key, [this, call, alive = alive_](Status s, const StoredObject* current) {
    if (!*alive) return;
    if (!s.ok()) return ReplyStoreError(*call, s);
    if (current == nullptr) {
      return ReplyNotFound(*call);
    }
    auto obj = call->info->New();
    obj->ParseFromString(current->value);
    api::ObjectMeta* meta = api::MutableMeta(*obj);
    const std::string policy = QueryValue(call->request, "propagationPolicy");
    int64_t grace = -1;
    if (const std::string g = QueryValue(call->request, "gracePeriodSeconds"); !g.empty() && !api::ParseResourceVersion(g, &grace)) {
      return ReplyStatus(*call, 400, "BadRequest", "gracePeriodSeconds: \"" + g + "\" is not a non-negative integer");
    }
    bool changed = false;
    auto add_finalizer = [&](const std::string& f) {
      if (std::find(meta->finalizers().begin(), meta->finalizers().end(), f) == meta->finalizers().end()) {
        meta->add_finalizers(f);
        changed = true;
      }
    };
    if (policy == "Orphan") add_finalizer("orphan");
    if (policy == "Foreground") add_finalizer("foregroundDeletion");
    if (!policy.empty() && policy != "Orphan" && policy != "Foreground" && policy != "Background") {
      return ReplyStatus(*call, 422, "Invalid", "propagationPolicy: Unsupported value: \"" + policy +
                                                    "\": supported values: \"Background\", \"Foreground\", \"Orphan\"");
    }
    // Graceful deletion (a bound pod: its kubelet stops it, then deletes it with grace 0).
    const ResourceStrategy& strategy = *call->strategy;
    const int64_t grace_seconds = strategy.grace_period_seconds != nullptr ? strategy.grace_period_seconds(*obj, grace) : 0;
    // Deletion held by the kind's own finalizers (a Namespace becomes Terminating).
    const bool held = strategy.begin_termination != nullptr && strategy.begin_termination(*obj, &changed);
    if (!held && meta->finalizers_size() == 0 && grace_seconds == 0) return DeleteNow(call, *current);
    if (!meta->has_deletion_timestamp() || grace_seconds > 0) {
      const Nanos now = env_.clock->WallNow();
      if (!meta->has_deletion_timestamp()) SetTime(meta->mutable_deletion_timestamp(), now + Seconds(grace_seconds));
      meta->set_deletion_grace_period_seconds(grace_seconds);
      changed = true;
    }
    if (!changed) return ReplyObject(*call, 200, current->value, current->mod_revision);
    std::string bytes = SerializeDeterministic(*obj);
    store_.Update(call->key, bytes, current->mod_revision, {},
                  [this, call, bytes, alive = alive_](const WriteResult& w) {
                    if (!*alive) return;
                    if (!w.status.ok()) return ReplyStoreError(*call, w.status);
                    if (w.outcome == WriteOutcome::kConflict) return Delete(call);  // re-read and decide again
                    ReplyObject(*call, 200, bytes, w.revision);
                  });
  });
}

void ApiHandler::DeleteNow(std::shared_ptr<Call> call, const StoredObject& current) {
  if (!call->info->namespaced) return WriteDelete(call, current, {}, 0);
  WithNamespaceQuotas(call->request.namespace_(), [this, call, current](std::vector<StoredObject> quotas) {
    WriteDelete(call, current, std::move(quotas), 0);
  });
}

void ApiHandler::WithNamespaceQuotas(const std::string& ns, std::function<void(std::vector<StoredObject>)> then) {
  EnsureCache(*api::Registry::Default().ByGroupResource("", "resourcequotas"),
              [ns, then = std::move(then)](ResourceCache& rc) {
                WatchFilter f;
                f.namespace_ = ns;
                std::vector<StoredObject> quotas;
                for (const CachedObjectPtr& q : rc.cache.List(f)) {
                  quotas.push_back({q->key, q->bytes, q->resource_version, 0});
                }
                then(std::move(quotas));
              });
}

void ApiHandler::WriteDelete(std::shared_ptr<Call> call, const StoredObject& current, std::vector<StoredObject> quotas,
                             int attempt) {
  std::vector<SideWrite> side;
  if (!quotas.empty() && call->strategy->releases_quota) {
    auto obj = call->info->New();
    obj->ParseFromString(current.value);
    (void)QuotaSideWrites(quotas, QuotaUsage(*call->info, *obj), false, &side);  // a release never fails
  }
  const std::string bytes = current.value;
  store_.Delete(call->key, current.mod_revision, std::move(side),
                [this, call, current, bytes, attempt, alive = alive_](const WriteResult& w) {
                  if (!*alive) return;
                  if (!w.status.ok()) return ReplyStoreError(*call, w.status);
                  if (w.outcome == WriteOutcome::kQuotaChanged && attempt + 1 < kMaxQuotaRetries) {
                    return ReadQuotas(call->request.namespace_(),
                                      [this, call, current, attempt](Status s, std::vector<StoredObject> q) {
                                        if (!s.ok()) return ReplyStoreError(*call, s);
                                        WriteDelete(call, current, std::move(q), attempt + 1);
                                      });
                  }
                  if (w.outcome != WriteOutcome::kDone) {
                    if (w.current.mod_revision == 0) {
                      return ReplyNotFound(*call);
                    }
                    return Delete(call);  // changed meanwhile (a finalizer added?): decide again
                  }
                  ReplyObject(*call, 200, bytes, w.revision);
                });
}

void ApiHandler::DeleteCollection(std::shared_ptr<Call> call) {
  // List what matches, then delete each through the ordinary delete path (finalizers and
  // graceful deletion apply to each). The caller was authorized for deletecollection:
  // the inner list and deletes run as part of it, without authorizing again.
  auto inner = [call](const std::string& verb, const std::string& name, Reply reply) {
    auto c = std::make_shared<Call>(*call);
    c->request.set_verb(verb);
    c->request.set_name(name);
    c->request.set_accept("");
    c->key = name.empty() ? "" : ObjectKey(call->info->resource, call->info->namespaced ? call->request.namespace_() : "", name);
    c->reply = std::move(reply);
    return c;
  };
  List(inner("list", "", [this, call, inner, alive = alive_](Response r) {
    if (!*alive) return false;
    if (r.code() != 200) {
      call->reply(std::move(r));
      return false;
    }
    ObjectList items;
    items.ParseFromString(r.body());
    auto remaining = std::make_shared<size_t>(static_cast<size_t>(items.items_size()));
    if (*remaining == 0) {
      ReplyStatus(*call, 200, "", "");
      return false;
    }
    for (const std::string& bytes : items.items()) {
      auto obj = call->info->New();
      obj->ParseFromString(bytes);
      Delete(inner("delete", api::GetMeta(*obj)->name(), [this, call, remaining](Response) {
        if (--*remaining == 0) ReplyStatus(*call, 200, "", "");
        return false;
      }));
    }
    return false;
  }));
}

}  // namespace ksim::apiserver
