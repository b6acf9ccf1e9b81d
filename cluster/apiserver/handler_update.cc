// ApiHandler: update, patch and the status subresource.
#include "cluster/apiserver/handler_internal.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cluster/api/machinery/patch.h"

namespace ksim::apiserver {

namespace gp = google::protobuf;
using namespace handler_internal;  // NOLINT: this file's own helpers

namespace {

bool HasField(const gp::Message& m, const char* name) { return m.GetDescriptor()->FindFieldByName(name) != nullptr; }

// Copies field `name` (a sub-message such as spec or status) from `from` into `to`.
void CopyField(const gp::Message& from, gp::Message* to, const char* name) {
  const gp::FieldDescriptor* f = from.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr) return;
  const gp::Reflection* rf = from.GetReflection();
  const gp::Reflection* rt = to->GetReflection();
  if (f->cpp_type() == gp::FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated()) {
    if (rf->HasField(from, f)) {
      rt->MutableMessage(to, f)->CopyFrom(rf->GetMessage(from, f));
    } else {
      rt->ClearField(to, f);
    }
  }
}

std::string FieldBytes(const gp::Message& m, const char* name) {
  const gp::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr || f->cpp_type() != gp::FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated()) return {};
  return SerializeDeterministic(m.GetReflection()->GetMessage(m, f));
}

}  // namespace

// --- update, patch, status ----------------------------------------------------------------

void ApiHandler::Update(std::shared_ptr<Call> call) {
  auto obj = call->info->New();
  if (Status s = DecodeBody(call->request, *call->info, obj.get()); !s.ok()) {
    return ReplyStatus(*call, 400, "BadRequest", s.message());
  }
  api::ObjectMeta* meta = api::MutableMeta(*obj);
  if (meta->name() != call->request.name()) {
    return ReplyStatus(*call, 400, "BadRequest",
                       fmt::format("the name of the object ({}) does not match the name on the URL ({})", meta->name(),
                                   call->request.name()));
  }
  if (call->info->namespaced) {
    if (meta->namespace_().empty()) meta->set_namespace_(call->request.namespace_());
    if (meta->namespace_() != call->request.namespace_()) {
      return ReplyStatus(*call, 400, "BadRequest",
                         "the namespace of the provided object does not match the namespace sent on the request");
    }
  }
  int64_t expected = 0;
  if (!meta->resource_version().empty() && !api::ParseResourceVersion(meta->resource_version(), &expected)) {
    return ReplyStatus(*call, 400, "BadRequest", "metadata.resourceVersion: \"" + meta->resource_version() +
                                                     "\" is not a resource version");
  }
  auto shared = std::shared_ptr<gp::Message>(std::move(obj));
  store_.Get(call->key, [this, call, shared, expected, alive = alive_](Status s, const StoredObject* current) {
    if (!*alive) return;
    if (!s.ok()) return ReplyStoreError(*call, s);
    if (current == nullptr) {
      return ReplyNotFound(*call);
    }
    if (expected != 0 && expected != current->mod_revision) {
      ++stats_.conflicts;
      return ReplyConflict(*call);
    }
    auto updated = call->info->New();
    updated->CopyFrom(*shared);
    const StoredObject cur = *current;
    WriteUpdate(call, std::move(updated), cur, [this, call] {
      ++stats_.conflicts;
      ReplyConflict(*call);
    });
  });
}

void ApiHandler::WriteUpdate(std::shared_ptr<Call> call, std::unique_ptr<gp::Message> updated,
                             const StoredObject& current, std::function<void()> on_conflict) {
  const api::KindInfo& info = *call->info;
  auto old = info.New();
  if (!old->ParseFromString(current.value)) return ReplyStatus(*call, 500, "InternalError", "stored object is corrupt");
  const api::ObjectMeta& old_meta = *api::GetMeta(*old);
  api::ObjectMeta* meta = api::MutableMeta(*updated);
  const bool status_write = call->request.subresource() == "status";
  if (status_write) {
    // The status subresource changes status only: everything else stays as stored.
    auto merged = info.New();
    merged->CopyFrom(*old);
    CopyField(*updated, merged.get(), "status");
    updated = std::move(merged);
    meta = api::MutableMeta(*updated);
  } else if (call->request.subresource() == "finalize") {
    // The finalize subresource changes the kind's own finalizers only.
    auto merged = info.New();
    merged->CopyFrom(*old);
    call->strategy->finalize(*updated, *merged);
    updated = std::move(merged);
    meta = api::MutableMeta(*updated);
  } else {
    if (HasField(*updated, "status") && HasField(*updated, "spec")) {
      CopyField(*old, updated.get(), "status");  // the main resource does not write status
    }
    if (call->strategy->keep_finalizers != nullptr) call->strategy->keep_finalizers(*old, *updated);
    if (call->strategy->carry_allocations != nullptr) call->strategy->carry_allocations(*old, *updated);
  }
  // What the server owns.
  meta->set_uid(old_meta.uid());
  *meta->mutable_creation_timestamp() = old_meta.creation_timestamp();
  meta->set_generate_name(old_meta.generate_name());
  if (old_meta.has_deletion_timestamp()) *meta->mutable_deletion_timestamp() = old_meta.deletion_timestamp();
  if (old_meta.has_deletion_grace_period_seconds()) {
    meta->set_deletion_grace_period_seconds(old_meta.deletion_grace_period_seconds());
  }
  meta->clear_resource_version();
  meta->set_generation(old_meta.generation());
  // Status and finalize writes change neither the generation nor defaults (a scale does).
  const bool main_write = !status_write && call->request.subresource() != "finalize";
  if (main_write && FieldBytes(*updated, "spec") != FieldBytes(*old, "spec")) {
    meta->set_generation(old_meta.generation() + 1);
  }
  api::SetTypeMeta(*updated);
  if (main_write) ApplyDefaults(*updated);
  if (std::vector<FieldError> errors = ValidateUpdate(*updated, *old); !errors.empty()) {
    return ReplyStatus(*call, 422, "Invalid", InvalidMessage(info, meta->name(), errors), Causes(errors));
  }
  // The last finalizer of an object being deleted is gone: the object goes now (an object
  // in graceful deletion waits for the final delete of whoever runs it instead).
  const ResourceStrategy& strategy = *call->strategy;
  const bool graceful = strategy.grace_period_seconds != nullptr && meta->has_deletion_grace_period_seconds() &&
                        meta->deletion_grace_period_seconds() > 0;
  if (meta->has_deletion_timestamp() && meta->finalizers_size() == 0 && old_meta.finalizers_size() > 0 && !graceful) {
    return DeleteNow(call, current);
  }
  // An object held by its kind's own finalizers (a Terminating namespace's spec.finalizers)
  // goes once those and metadata.finalizers are all removed.
  if (strategy.finalized != nullptr && meta->has_deletion_timestamp() && meta->finalizers_size() == 0 &&
      strategy.finalized(*updated)) {
    return DeleteNow(call, current);
  }
  if (!main_write || strategy.allocate == nullptr) {
    return StoreUpdate(call, SerializeDeterministic(*updated), current, {}, std::move(on_conflict));
  }
  // New allocations (a Service that became a NodePort) are claimed, dropped ones released,
  // in the update's own transaction; a claim that lost a race answers 409 (try again).
  std::shared_ptr<gp::Message> shared(std::move(updated));
  std::shared_ptr<const gp::Message> stored(std::move(old));
  strategy.allocate(allocator_, shared, stored, 0,
                    [this, call, shared, current, on_conflict = std::move(on_conflict), alive = alive_](
                        AllocationOutcome o) mutable {
                      if (!*alive) return;
                      if (o.refusal) return ReplyStatus(*call, o.refusal->code, o.refusal->reason, o.refusal->message);
                      if (!o.invalid.empty()) {
                        return ReplyStatus(*call, 422, "Invalid",
                                           InvalidMessage(*call->info, api::GetMeta(*shared)->name(), o.invalid),
                                           Causes(o.invalid));
                      }
                      StoreUpdate(call, SerializeDeterministic(*shared), current, std::move(o.side), std::move(on_conflict));
                    });
}

void ApiHandler::StoreUpdate(std::shared_ptr<Call> call, std::string bytes, const StoredObject& current,
                             std::vector<SideWrite> side, std::function<void()> on_conflict) {
  if (bytes == current.value) return ReplyObject(*call, 200, current.value, current.mod_revision);  // no-op
  auto write = [this, call, bytes, side = std::move(side), revision = current.mod_revision,
                on_conflict = std::move(on_conflict)](int64_t lease) mutable {
    store_.Update(call->key, bytes, revision, std::move(side),
                  [this, call, bytes, on_conflict = std::move(on_conflict), alive = alive_](const WriteResult& w) {
                    if (!*alive) return;
                    if (!w.status.ok()) return ReplyStoreError(*call, w.status);
                    if (w.outcome == WriteOutcome::kConflict) {
                      if (w.current.mod_revision == 0) {
                        return ReplyNotFound(*call);
                      }
                      return on_conflict();
                    }
                    if (w.outcome == WriteOutcome::kQuotaChanged) {
                      return ReplyStatus(*call, 409, "Conflict",
                                         "a value this update allocates was taken meanwhile; try again");
                    }
                    ReplyObject(*call, 200, bytes, w.revision);
                  }, lease);
  };
  if (call->strategy->ttl_seconds == 0) return write(0);
  WithLease(*call->strategy, [this, call, write = std::move(write)](Status s, int64_t lease) mutable {
    if (!s.ok()) return ReplyStoreError(*call, s);
    write(lease);
  });
}

void ApiHandler::Patch(std::shared_ptr<Call> call, int attempt) {
  api::PatchType type;
  if (Status s = api::PatchTypeFromContentType(call->request.content_type(), &type); !s.ok()) {
    return ReplyStatus(*call, 415, "UnsupportedMediaType", s.message());
  }
  nlohmann::json patch = nlohmann::json::parse(call->request.body(), nullptr, false);
  if (patch.is_discarded()) return ReplyStatus(*call, 400, "BadRequest", "the patch is not valid JSON");
  store_.Get(call->key, [this, call, type, patch, attempt, alive = alive_](Status s, const StoredObject* current) {
    if (!*alive) return;
    if (!s.ok()) return ReplyStoreError(*call, s);
    if (current == nullptr) {
      return ReplyNotFound(*call);
    }
    auto old = call->info->New();
    old->ParseFromString(current->value);
    api::MutableMeta(*old)->set_resource_version(std::to_string(current->mod_revision));
    api::SetTypeMeta(*old);
    nlohmann::json doc = nlohmann::json::parse(api::EncodeJson(*old), nullptr, false);
    nlohmann::json patched;
    if (Status ps = api::ApplyPatch(type, doc, patch, call->info->kind, &patched); !ps.ok()) {
      return ReplyStatus(*call, 422, "Invalid", ps.message());
    }
    auto updated = call->info->New();
    if (Status ds = api::DecodeInto(patched.dump(), "patched object", updated.get()); !ds.ok()) {
      return ReplyStatus(*call, 422, "Invalid", ds.message());
    }
    // A resourceVersion in the patch is a precondition.
    const std::string& rv = api::GetMeta(*updated)->resource_version();
    if (rv != std::to_string(current->mod_revision)) {
      ++stats_.conflicts;
      return ReplyConflict(*call);
    }
    const StoredObject cur = *current;
    WriteUpdate(call, std::move(updated), cur, [this, call, attempt] {
      // Someone wrote in between: a patch applies to whatever is current, so retry.
      if (attempt + 1 >= options_.max_update_retries) {
        ++stats_.conflicts;
        return ReplyStatus(*call, 409, "Conflict", "the object kept changing; the patch was not applied");
      }
      Patch(call, attempt + 1);
    });
  });
}

}  // namespace ksim::apiserver
