// ApiHandler: delete and deletecollection (finalizers, graceful deletion, quota release).
#include "cluster/apiserver/handler_internal.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "cluster/api/options.pb.h"
#include "cluster/apiserver/admission.h"
#include "cluster/env/wire.h"

namespace ksim::apiserver {

namespace gp = google::protobuf;
using namespace handler_internal;  // NOLINT: this file's own helpers

// --- delete -------------------------------------------------------------------------------

namespace {

constexpr char kOrphanFinalizer[] = "orphan";
constexpr char kForegroundFinalizer[] = "foregroundDeletion";

// DeleteOptions from the body (as clients send it) or, without a body, from the query
// parameters gracePeriodSeconds, propagationPolicy, orphanDependents and dryRun; Kubernetes
// reads the body when there is one and the query otherwise.
Status ParseDeleteOptions(const Request& r, api::DeleteOptions* out) {
  if (!r.body().empty()) {
    const std::string& ct = r.content_type();
    if (ct.empty() || ct == kProtobuf) {
      if (!out->ParseFromString(r.body())) return Status::InvalidArgument("the body is not a protobuf DeleteOptions");
    } else if (Status s = api::DecodeInto(r.body(), "request body", out); !s.ok()) {
      return s;
    }
    if (!out->kind().empty() && out->kind() != "DeleteOptions") {
      return Status::InvalidArgument(fmt::format("kind: expected \"DeleteOptions\", got \"{}\"", out->kind()));
    }
    return Status::Ok();
  }
  if (const std::string g = QueryValue(r, "gracePeriodSeconds"); !g.empty()) {
    int64_t grace = 0;
    const auto [end, ec] = std::from_chars(g.data(), g.data() + g.size(), grace);
    if (ec != std::errc() || end != g.data() + g.size()) {
      return Status::InvalidArgument("gracePeriodSeconds: \"" + g + "\" is not an integer");
    }
    out->set_grace_period_seconds(grace);
  }
  if (const std::string p = QueryValue(r, "propagationPolicy"); !p.empty()) out->set_propagation_policy(p);
  if (const std::string o = QueryValue(r, "orphanDependents"); !o.empty()) {
    if (o != "true" && o != "false") return Status::InvalidArgument("orphanDependents: \"" + o + "\" is not a boolean");
    out->set_orphan_dependents(o == "true");
  }
  if (const std::string d = QueryValue(r, "dryRun"); !d.empty()) out->add_dry_run(d);
  return Status::Ok();
}

bool HasFinalizer(const api::ObjectMeta& meta, std::string_view f) {
  return std::find(meta.finalizers().begin(), meta.finalizers().end(), f) != meta.finalizers().end();
}

// Kubernetes' deletionFinalizersForGarbageCollection: the request's policy (or
// orphanDependents) decides whether dependents are orphaned ("orphan") or deleted first
// ("foregroundDeletion"); without one, the finalizers the object has stand. Returns whether
// the finalizers changed. The garbage collector acts on them.
bool ApplyPropagationPolicy(const api::DeleteOptions& o, api::ObjectMeta* meta) {
  const bool had_orphan = HasFinalizer(*meta, kOrphanFinalizer);
  const bool had_foreground = HasFinalizer(*meta, kForegroundFinalizer);
  bool orphan = had_orphan;
  bool foreground = had_foreground;
  if (o.has_orphan_dependents()) {
    orphan = o.orphan_dependents();
    foreground = false;
  } else if (o.has_propagation_policy()) {
    orphan = o.propagation_policy() == "Orphan";
    foreground = o.propagation_policy() == "Foreground";
  }
  if (orphan == had_orphan && foreground == had_foreground) return false;
  std::vector<std::string> kept;
  for (const std::string& f : meta->finalizers()) {
    if (f != kOrphanFinalizer && f != kForegroundFinalizer) kept.push_back(f);
  }
  if (orphan) kept.emplace_back(kOrphanFinalizer);
  if (foreground) kept.emplace_back(kForegroundFinalizer);
  meta->clear_finalizers();
  for (std::string& f : kept) meta->add_finalizers(std::move(f));
  return true;
}

}  // namespace

namespace handler_internal {

std::string InvalidDeleteOptions(const api::DeleteOptions& o) {
  if (o.has_orphan_dependents() && o.has_propagation_policy()) {
    return fmt::format("propagationPolicy: Invalid value: \"{}\": orphanDependents and deletionPropagation cannot be "
                       "both set",
                       o.propagation_policy());
  }
  if (o.has_propagation_policy() && o.propagation_policy() != "Orphan" && o.propagation_policy() != "Background" &&
      o.propagation_policy() != "Foreground") {
    return "propagationPolicy: Unsupported value: \"" + o.propagation_policy() +
           "\": supported values: \"Background\", \"Foreground\", \"Orphan\"";
  }
  for (const std::string& d : o.dry_run()) {
    if (d != "All") return "dryRun: Unsupported value: \"" + d + "\": supported values: \"All\"";
  }
  return {};
}

}  // namespace handler_internal

void ApiHandler::Delete(std::shared_ptr<Call> call) {
  if (call->delete_options == nullptr) {
    auto options = std::make_shared<api::DeleteOptions>();
    if (Status s = ParseDeleteOptions(call->request, options.get()); !s.ok()) {
      return ReplyStatus(*call, 400, "BadRequest", s.message());
    }
    if (std::string why = InvalidDeleteOptions(*options); !why.empty()) {
      return ReplyStatus(*call, 422, "Invalid", why);
    }
    call->delete_options = std::move(options);
  }
  store_.Get(call->key, [this, call, alive = alive_](Status s, const StoredObject* current) {
    if (!*alive) return;
    if (!s.ok()) return ReplyStoreError(*call, s);
    if (current == nullptr) {
      return ReplyNotFound(*call);
    }
    const api::DeleteOptions& options = *call->delete_options;
    const bool dry_run = !options.dry_run().empty();
    auto obj = call->info->New();
    obj->ParseFromString(current->value);
    api::ObjectMeta* meta = api::MutableMeta(*obj);
    if (std::string why = PreconditionFailure(options.preconditions().uid(),
                                              options.preconditions().resource_version(), *meta, current->mod_revision);
        !why.empty()) {
      return ReplyStatus(*call, 409, "Conflict",
                         fmt::format("Operation cannot be fulfilled on {} \"{}\": {}", QualifiedResource(*call->info),
                                     call->request.name(), why));
    }
    bool changed = ApplyPropagationPolicy(options, meta);
    // Graceful deletion (a bound pod: its kubelet stops it, then deletes it with grace 0).
    const ResourceStrategy& strategy = *call->strategy;
    const std::optional<int64_t> requested =
        options.has_grace_period_seconds() ? std::optional<int64_t>(options.grace_period_seconds()) : std::nullopt;
    const int64_t grace_seconds =
        strategy.grace_period_seconds != nullptr ? strategy.grace_period_seconds(*obj, requested) : 0;
    // Deletion held by the kind's own finalizers (a Namespace becomes Terminating).
    const bool held = strategy.begin_termination != nullptr && strategy.begin_termination(*obj, &changed);
    if (!held && meta->finalizers_size() == 0 && grace_seconds == 0) {
      if (dry_run) return ReplyObject(*call, 200, current->value, current->mod_revision);
      return DeleteNow(call, *current);
    }
    if (!meta->has_deletion_timestamp()) {
      SetTime(meta->mutable_deletion_timestamp(), env_.clock->WallNow() + Seconds(grace_seconds));
      meta->set_deletion_grace_period_seconds(grace_seconds);
      changed = true;
    } else if (grace_seconds > 0 && meta->deletion_grace_period_seconds() > grace_seconds) {
      // Already terminating: a request may only shorten the grace period.
      const int64_t shorter_by = meta->deletion_grace_period_seconds() - grace_seconds;
      meta->mutable_deletion_timestamp()->set_seconds(meta->deletion_timestamp().seconds() - shorter_by);
      meta->set_deletion_grace_period_seconds(grace_seconds);
      changed = true;
    }
    if (!changed) return ReplyObject(*call, 200, current->value, current->mod_revision);
    std::string bytes = SerializeDeterministic(*obj);
    if (dry_run) return ReplyObject(*call, 200, bytes, current->mod_revision);
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
  const bool releases_quota = !quotas.empty() && call->strategy->releases_quota;
  if (releases_quota || call->strategy->release_allocations != nullptr) {
    auto obj = call->info->New();
    obj->ParseFromString(current.value);
    if (releases_quota) {
      (void)QuotaSideWrites(quotas, QuotaUsage(*call->info, *obj), false, &side);  // a release never fails
    }
    // What the object holds cluster-wide (a Service's clusterIP, nodePorts) goes with it.
    if (call->strategy->release_allocations != nullptr) {
      for (SideWrite& w : call->strategy->release_allocations(allocator_, *obj)) side.push_back(std::move(w));
    }
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
