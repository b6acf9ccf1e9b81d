// ApiHandler: create, with NamespaceLifecycle, admission, and quota charged in batches
// (quota_batcher.h) before the object is written.
#include "cluster/apiserver/handler_internal.h"

#include <fmt/format.h>

#include "cluster/api/certificates.pb.h"
#include "cluster/apiserver/admission.h"
#include "cluster/env/wire.h"

namespace ksim::apiserver {

namespace gp = google::protobuf;
using namespace handler_internal;  // NOLINT: this file's own helpers

namespace {
constexpr char kNameAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";  // Kubernetes' generateName alphabet
// Names drawn again after the first one collides (KEP-4420's 7 retries: about a million
// names under one prefix before a 0.1% chance that the last draw collides too).
constexpr int kGenerateNameRetries = 7;

std::string DrawName(Random& random, const std::string& prefix) {
  std::string name = prefix;
  for (int i = 0; i < 5; ++i) name += kNameAlphabet[random.Uniform(sizeof(kNameAlphabet) - 1)];
  return name;
}
// Five generateName characters from an FNV-1a hash of `uid`.
std::string NameFromUid(const std::string& prefix, const std::string& uid) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char ch : uid) h = (h ^ ch) * 1099511628211ULL;
  std::string name = prefix;
  for (int i = 0; i < 5; ++i) {
    name += kNameAlphabet[h % (sizeof(kNameAlphabet) - 1)];
    h /= sizeof(kNameAlphabet) - 1;
  }
  return name;
}
}  // namespace

// --- create -------------------------------------------------------------------------------

void ApiHandler::Create(std::shared_ptr<Call> call) {
  const api::KindInfo& info = *call->info;
  std::shared_ptr<gp::Message> obj = NewRequestObject(info);
  if (Status s = DecodeBody(call->request, info, obj.get()); !s.ok()) {
    return ReplyStatus(*call, 400, "BadRequest", s.message());
  }
  api::ObjectMeta* meta = api::MutableMeta(*obj);
  if (info.namespaced) {
    if (meta->namespace_().empty()) meta->set_namespace_(call->request.namespace_());
    if (meta->namespace_() != call->request.namespace_()) {
      return ReplyStatus(*call, 400, "BadRequest",
                         "the namespace of the provided object does not match the namespace sent on the request");
    }
  } else {
    meta->clear_namespace_();
  }
  if (meta->name().empty() && !meta->generate_name().empty()) {
    meta->set_name(DrawName(*env_.random, meta->generate_name()));
    call->names_drawn = 1;
  }
  meta->set_uid(NewUid(call->request.request_id()));
  meta->clear_resource_version();
  meta->set_generation(1);
  meta->clear_deletion_timestamp();
  meta->clear_deletion_grace_period_seconds();
  SetTime(meta->mutable_creation_timestamp(), env_.clock->WallNow());
  // A CSR records who asked for it, as Kubernetes' strategy does (the approver trusts it).
  if (auto* csr = dynamic_cast<api::CertificateSigningRequest*>(obj.get()); csr != nullptr && !call->user.name.empty()) {
    csr->mutable_spec()->set_username(call->user.name);
    csr->mutable_spec()->set_uid(call->user.uid);
    csr->mutable_spec()->mutable_groups()->Assign(call->user.groups.begin(), call->user.groups.end());
    csr->mutable_spec()->clear_extra();
  }
  api::SetTypeMeta(*obj);
  ApplyDefaults(*obj);
  auto create = [this, call, obj = std::move(obj)]() { AdmitCreate(call, obj); };
  // NamespaceLifecycle: objects go only into namespaces that exist and are not terminating.
  if (!info.namespaced) return create();
  const std::string namespace_key = ObjectKey("namespaces", "", call->request.namespace_());
  EnsureCache(*api::Registry::Default().ByGroupResource("", "namespaces"),
              [this, call, create, namespace_key](ResourceCache& namespaces) {
                auto check = [this, call, create](const std::string* phase) {
                  if (phase == nullptr) {
                    return ReplyStatus(*call, 404, "NotFound",
                                       fmt::format("namespaces \"{}\" not found", call->request.namespace_()));
                  }
                  if (*phase == "Terminating") {
                    return ReplyStatus(*call, 403, "Forbidden",
                                       fmt::format("unable to create new content in namespace {} because it is "
                                                   "being terminated",
                                                   call->request.namespace_()));
                  }
                  create();
                };
                if (CachedObjectPtr n = namespaces.cache.Get(namespace_key)) {
                  const std::string phase(n->Field("status.phase"));
                  return check(&phase);
                }
                // The cache may lag a namespace created a moment ago: ask the store.
                store_.Get(namespace_key, [this, call, check, alive = alive_](Status s, const StoredObject* o) {
                  if (!*alive) return;
                  if (!s.ok()) return ReplyStoreError(*call, s);
                  if (o == nullptr) return check(nullptr);
                  api::Namespace n;
                  n.ParseFromString(o->value);
                  const std::string phase = n.status().phase();
                  check(&phase);
                });
              });
}

// Mutating admission (LimitRanger defaults, DefaultTolerationSeconds, ServiceAccount),
// validation, validating admission (LimitRanger limits), then the quota charge and the write.
void ApiHandler::AdmitCreate(std::shared_ptr<Call> call, std::shared_ptr<gp::Message> obj) {
  const ResourceStrategy& strategy = *call->strategy;
  auto validate_and_write = [this, call, obj, &strategy](const std::vector<api::LimitRange>& ranges) {
    const api::ObjectMeta& meta = *api::GetMeta(*obj);
    if (std::vector<FieldError> errors = ValidateCreate(*obj); !errors.empty()) {
      return ReplyStatus(*call, 422, "Invalid", InvalidMessage(*call->info, meta.name(), errors), Causes(errors));
    }
    if (strategy.check_admission != nullptr) {
      if (std::string why = strategy.check_admission(ranges, *obj); !why.empty()) {
        return ReplyStatus(*call, 403, "Forbidden",
                           fmt::format("{} \"{}\" is forbidden: {}", QualifiedResource(*call->info), meta.name(), why));
      }
    }
    if (!call->info->namespaced) return WriteCreate(call, obj);
    WithNamespaceQuotas(call->request.namespace_(), [this, call, obj](std::vector<StoredObject> quotas) {
      if (quotas.empty()) return WriteCreate(call, obj);
      WriteQuotaCreate(call, obj, std::move(quotas));
    });
  };
  auto admit = [this, call, obj, &strategy, validate_and_write](std::vector<api::LimitRange> ranges) {
    if (strategy.admit != nullptr) strategy.admit(ranges, *obj);
    AdmitServiceAccount(call, obj, [validate_and_write, ranges = std::move(ranges)] { validate_and_write(ranges); });
  };
  if (strategy.admit == nullptr && strategy.check_admission == nullptr) return admit({});
  EnsureCache(*api::Registry::Default().ByGroupResource("", "limitranges"), [call, admit](ResourceCache& rc) {
    WatchFilter f;
    f.namespace_ = call->request.namespace_();
    std::vector<api::LimitRange> ranges;
    for (const CachedObjectPtr& o : rc.cache.List(f)) {
      api::LimitRange lr;
      if (lr.ParseFromString(o->bytes)) ranges.push_back(std::move(lr));
    }
    admit(std::move(ranges));
  });
}

// The account is read from this apiserver's watch cache, else from the store (an account
// created a moment ago may not be cached yet and must not refuse the pod).
void ApiHandler::AdmitServiceAccount(std::shared_ptr<Call> call, std::shared_ptr<gp::Message> obj,
                                     std::function<void()> then) {
  const ResourceStrategy& strategy = *call->strategy;
  if (!options_.service_account_admission || strategy.prepare_service_account == nullptr) return then();
  const ServiceAccountPlan plan = strategy.prepare_service_account(*obj);
  auto forbid = [this, call, obj](const std::string& why) {
    ReplyStatus(*call, 403, "Forbidden",
                fmt::format("{} \"{}\" is forbidden: {}", QualifiedResource(*call->info), api::GetMeta(*obj)->name(), why));
  };
  if (!plan.refusal.empty()) return forbid(plan.refusal);
  if (plan.account.empty()) return then();
  const std::string ns = call->request.namespace_();
  auto apply = [this, obj, ns, plan, forbid, then, &strategy](const std::string* bytes) {
    api::ServiceAccount account;
    if (bytes == nullptr || !account.ParseFromString(*bytes)) {
      return forbid(fmt::format("error looking up service account {}/{}: serviceaccount \"{}\" not found", ns,
                                plan.account, plan.account));
    }
    // The suffix comes from the object's uid (itself drawn from the apiserver's entropy), so
    // no extra draw moves the names and choices that follow it in a run.
    strategy.apply_service_account(
        account, [uid = api::GetMeta(*obj)->uid()](const std::string& prefix) { return NameFromUid(prefix, uid); },
        *obj);
    then();
  };
  const std::string key = ObjectKey("serviceaccounts", ns, plan.account);
  // As Kubernetes: `default` is read up to 10 times (the serviceaccount controller makes it
  // moments after its namespace appears, e.g. a manifest with a namespace and its pods);
  // any other account once.
  const int reads = plan.account == kDefaultServiceAccountName ? 10 : 1;
  // The store read, `left` more times 150 ms apart while the account is missing. The
  // step holds itself only weakly; a pending read or timer keeps it alive.
  struct Reader {
    std::function<void(int left)> step;
  };
  auto reader = std::make_shared<Reader>();
  reader->step = [this, call, key, apply, weak = std::weak_ptr<Reader>(reader)](int left) {
    store_.Get(key, [this, call, apply, left, self = weak.lock(), alive = alive_](Status s, const StoredObject* o) {
      if (!*alive || self == nullptr) return;
      if (!s.ok()) return ReplyStoreError(*call, s);
      if (o != nullptr) return apply(&o->value);
      if (left <= 1) return apply(nullptr);
      env_.clock->Schedule(Milliseconds(150), [self, left, alive] {
        if (*alive) self->step(left - 1);
      });
    });
  };
  EnsureCache(*api::Registry::Default().ByGroupResource("", "serviceaccounts"),
              [key, reads, apply, reader](ResourceCache& accounts) {
                if (CachedObjectPtr o = accounts.cache.Get(key)) return apply(&o->bytes);
                reader->step(reads);
              });
}

namespace handler_internal {

std::string QuotaSideWrites(const std::vector<StoredObject>& quotas, const std::map<std::string, api::Quantity>& usage,
                            bool charge, std::vector<SideWrite>* side) {
  for (const StoredObject& q : quotas) {
    api::ResourceQuota quota;
    if (!quota.ParseFromString(q.value)) continue;
    api::ResourceQuota updated;
    if (charge) {
      if (std::string why = Charge(quota, usage, &updated); !why.empty()) return why;
    } else {
      Release(quota, usage, &updated);
    }
    std::string bytes = SerializeDeterministic(updated);
    if (bytes != q.value) side->push_back(SideWrite{q.key, std::move(bytes), q.mod_revision});
  }
  return {};
}

}  // namespace handler_internal

void ApiHandler::WriteCreate(std::shared_ptr<Call> call, std::shared_ptr<gp::Message> obj,
                             std::function<void(bool)> written) {
  if (call->strategy->ttl_seconds == 0) return WriteCreateAllocated(call, obj, nullptr, std::move(written), 0, 0);
  WithLease(*call->strategy, [this, call, obj, written = std::move(written)](Status s, int64_t lease) mutable {
    if (!s.ok()) {
      if (written) written(false);  // a lease that cannot be had writes nothing
      return ReplyStoreError(*call, s);
    }
    WriteCreateAllocated(call, obj, nullptr, std::move(written), lease, 0);
  });
}

// The kind's allocations (a Service's clusterIP and nodePorts) are claimed in the create's
// own transaction; a claim that lost a race to another apiserver picks again from the
// object as it was asked for (`pristine`), reading what is held this time.
void ApiHandler::WriteCreateAllocated(std::shared_ptr<Call> call, std::shared_ptr<gp::Message> obj,
                                      std::shared_ptr<const gp::Message> pristine, std::function<void(bool)> written,
                                      int64_t lease, int attempt) {
  const ResourceStrategy& strategy = *call->strategy;
  if (strategy.allocate == nullptr) return StoreCreate(call, obj, {}, std::move(written), lease, nullptr);
  if (pristine == nullptr) {
    std::shared_ptr<gp::Message> copy = call->info->New();
    copy->CopyFrom(*obj);
    pristine = std::move(copy);
  } else {
    obj->CopyFrom(*pristine);
  }
  auto again = [this, call, obj, pristine, lease, attempt](std::function<void(bool)> w) {
    if (attempt + 1 >= kMaxAllocationAttempts) {
      if (w) w(false);
      return ReplyStatus(*call, 409, "Conflict", "the allocation kept losing to concurrent writes; try again");
    }
    WriteCreateAllocated(call, obj, pristine, std::move(w), lease, attempt + 1);
  };
  strategy.allocate(allocator_, obj, nullptr, attempt,
                    [this, call, obj, lease, again, written = std::move(written), alive = alive_](
                        AllocationOutcome o) mutable {
                      if (!*alive) return;
                      const std::string& name = api::GetMeta(*obj)->name();
                      if (!o.invalid.empty() || o.refusal) {
                        if (written) written(false);
                        if (o.refusal) return ReplyStatus(*call, o.refusal->code, o.refusal->reason, o.refusal->message);
                        return ReplyStatus(*call, 422, "Invalid", InvalidMessage(*call->info, name, o.invalid),
                                           Causes(o.invalid));
                      }
                      StoreCreate(call, obj, std::move(o.side), std::move(written), lease, std::move(again));
                    });
}

void ApiHandler::StoreCreate(std::shared_ptr<Call> call, std::shared_ptr<gp::Message> obj, std::vector<SideWrite> side,
                             std::function<void(bool)> written, int64_t lease,
                             std::function<void(std::function<void(bool)>)> claim_lost) {
  const api::ObjectMeta& meta = *api::GetMeta(*obj);
  const std::string key = ObjectKey(call->info->resource, meta.namespace_(), meta.name());
  std::string bytes = SerializeDeterministic(*obj);
  const bool no_side_writes = side.empty();  // a redrawn name could not reuse them
  store_.Create(key, bytes, std::move(side),
                [this, call, obj, no_side_writes, lease, uid = meta.uid(), name = meta.name(), bytes, written = std::move(written),
                 claim_lost = std::move(claim_lost), alive = alive_](const WriteResult& w) mutable {
                  if (!*alive) return;
                  if (w.status.ok() && w.outcome == WriteOutcome::kExists && call->names_drawn > 0 &&
                      call->names_drawn <= kGenerateNameRetries && no_side_writes) {
                    auto existing = call->info->New();
                    if (!existing->ParseFromString(w.current.value) || api::GetMeta(*existing)->uid() != uid) {
                      // Another object has the drawn name: draw again, keeping any quota charge.
                      api::ObjectMeta* m = api::MutableMeta(*obj);
                      m->set_name(DrawName(*env_.random, m->generate_name()));
                      ++call->names_drawn;
                      return StoreCreate(call, obj, {}, std::move(written), lease, std::move(claim_lost));
                    }
                  }
                  if (w.status.ok() && w.outcome == WriteOutcome::kQuotaChanged && claim_lost) {
                    return claim_lost(std::move(written));  // only an allocation claim is a side guard here
                  }
                  // Unknown outcomes (the store timed out) count as written: a charge
                  // is kept rather than risk an object that was never charged.
                  if (written) written(w.status.ok() ? w.outcome == WriteOutcome::kDone : true);
                  if (!w.status.ok()) return ReplyStoreError(*call, w.status);
                  if (w.outcome == WriteOutcome::kExists) {
                    // Our own earlier attempt (same request id, same uid) succeeded: answer as it would have.
                    auto existing = call->info->New();
                    if (existing->ParseFromString(w.current.value) && api::GetMeta(*existing)->uid() == uid) {
                      return ReplyObject(*call, 201, w.current.value, w.current.mod_revision);
                    }
                    return ReplyStatus(*call, 409, "AlreadyExists",
                                       fmt::format("{} \"{}\" already exists", QualifiedResource(*call->info), name));
                  }
                  ++stats_.creates;
                  ReplyObject(*call, 201, bytes, w.revision);
                }, lease);
}

void ApiHandler::WriteQuotaCreate(std::shared_ptr<Call> call, std::shared_ptr<gp::Message> obj,
                                  std::vector<StoredObject> quotas) {
  const api::ObjectMeta& meta = *api::GetMeta(*obj);
  const std::string ns = meta.namespace_();
  auto usage = QuotaUsage(*call->info, *obj);
  quota_batcher_.Charge(ns, quotas, usage, [this, call, obj, ns, quotas, usage,
                                            alive = alive_](const QuotaChargeOutcome& o) {
    if (!*alive) return;
    const std::string& name = api::GetMeta(*obj)->name();
    switch (o.kind) {
      case QuotaChargeOutcome::Kind::kCharged:
        break;
      case QuotaChargeOutcome::Kind::kExceeded:
        return ReplyStatus(*call, 403, "Forbidden",
                           fmt::format("{} \"{}\" is forbidden: {}", QualifiedResource(*call->info), name, o.message));
      case QuotaChargeOutcome::Kind::kContended:
        return ReplyStatus(*call, 409, "Conflict", o.message);
      case QuotaChargeOutcome::Kind::kOverloaded:
        return ReplyStatus(*call, 429, "TooManyRequests", o.message);
      case QuotaChargeOutcome::Kind::kError:
        return ReplyStoreError(*call, o.status);
    }
    // Charged: write the object on its own. If it is not written, give the charge back.
    WriteCreate(call, obj, [this, ns, quotas, usage](bool written) {
      if (!written) quota_batcher_.Release(ns, quotas, usage);
    });
  });
}

void ApiHandler::ReadQuotas(const std::string& ns, std::function<void(Status, std::vector<StoredObject>)> done) {
  const std::string prefix = ResourcePrefix("resourcequotas", ns);
  store_.List(prefix, PrefixEnd(prefix), 0, 0, [done = std::move(done), alive = alive_](ListPage p) {
    if (!*alive) return;
    done(p.status, std::move(p.items));
  });
}

}  // namespace ksim::apiserver
