// Per-kind behaviour of the apiserver's verbs beyond defaulting and validation (those are
// in strategy.h): which subresources a kind serves, how it is deleted, what admission and
// authorization read from it, how its watch cache indexes it. Kubernetes keeps this in
// each resource's REST strategy (RESTGracefulDeleteStrategy, the binding and scale
// storages, ...); here it is one table, so the handler has no `if (resource == ...)`.
//
// A kind with no entry behaves as an ordinary object: main resource and status only,
// deleted at once (or when its finalizers are gone), decoded whole for its cache.
// docs/APISERVER.md ("Adding a kind") says where a new kind's entries go.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/api/registry.h"
#include "cluster/apiserver/admission_service_account.h"
#include "cluster/apiserver/allocator.h"
#include "cluster/apiserver/auth/authn.h"
#include "cluster/apiserver/auth/rbac.h"
#include "cluster/apiserver/strategy/strategy.h"
#include "cluster/env/time.h"

namespace ksim::apiserver {

struct CachedObject;

// Why a subresource write was refused: a Kubernetes Status's code, reason and message.
struct Refusal {
  int code = 409;
  std::string reason = "Conflict";
  std::string message;
};

// What the kind's objects feed: the token authenticator and the RBAC authorizer.
struct AuthSinks {
  TokenAuthenticator* authenticator = nullptr;
  RbacAuthorizer* authorizer = nullptr;
};

// What `allocate` decided: the object is invalid (422 with these causes), or refused, or
// its claims and releases as side writes of its own write transaction.
struct AllocationOutcome {
  std::vector<FieldError> invalid;
  std::optional<Refusal> refusal;
  std::vector<SideWrite> side;
};

struct ResourceStrategy {
  // --- where the kind's objects come from ---
  // kStore: stored objects (every verb). The metrics.k8s.io kinds are computed on each
  // get or list from the kubelets' stats (handler_metrics.cc); other verbs are 405.
  enum class Source { kStore, kPodMetrics, kNodeMetrics };
  Source source = Source::kStore;

  // --- subresources (status is served by every kind) ---
  // `/scale`: an autoscaling/v1 Scale over spec.replicas, status.replicas and
  // spec.selector (a LabelSelector or a map of labels), read by reflection.
  bool scale = false;
  // `/binding` (create): applies `binding` to the stored object at wall time `now`, or
  // says why it may not. The handler reads, calls this and writes with a revision guard.
  std::optional<Refusal> (*bind)(const api::Binding& binding, google::protobuf::Message& target,
                                 Nanos now) = nullptr;

  // `/finalize` (update): copies the kind's own finalizers (a Namespace's spec.finalizers)
  // from the request onto the stored object, which otherwise stays as it is. Kinds with it
  // keep those finalizers on every other write (`keep_finalizers`), as Kubernetes'
  // namespace strategy does: only the finalize subresource changes them.
  void (*finalize)(const google::protobuf::Message& requested, google::protobuf::Message& target) = nullptr;
  void (*keep_finalizers)(const google::protobuf::Message& old, google::protobuf::Message& updated) = nullptr;

  // --- deletion ---
  // Graceful deletion (Kubernetes' CheckGracefulDelete): the seconds the object stays,
  // with deletionTimestamp = now + grace, before whoever runs it deletes it with grace 0.
  // `requested_seconds` is the request's gracePeriodSeconds, if it gave one. 0 = delete at
  // once. An object in graceful deletion is not removed when its last finalizer goes.
  int64_t (*grace_period_seconds)(const google::protobuf::Message& object,
                                  std::optional<int64_t> requested_seconds) = nullptr;
  // Deletion held by the kind's own finalizers (a Namespace's spec.finalizers): marks
  // `object` as terminating (setting *changed if that wrote anything) and returns whether
  // it must stay. `finalized` tells, on a later update, that those finalizers are gone.
  bool (*begin_termination)(google::protobuf::Message& object, bool* changed) = nullptr;
  bool (*finalized)(const google::protobuf::Message& object) = nullptr;
  // A deleted object gives back what it charged to its namespace's ResourceQuotas
  // (not a ResourceQuota itself: its usage goes with it).
  bool releases_quota = true;

  // Objects live at most this long after their last write (0: no limit), through a store
  // lease (Kubernetes' TTLFunc; Events: --event-ttl, 1 hour by default).
  int64_t ttl_seconds = 0;

  // --- cluster-wide allocations (allocator.h): a Service's clusterIP and nodePorts ---
  // Before validation on update: values `old` holds that the update left unset stay
  // (Kubernetes' PrepareForUpdate keeps an allocated clusterIP and nodePorts).
  void (*carry_allocations)(const google::protobuf::Message& old, google::protobuf::Message& updated) = nullptr;
  // After validation on create and update (`old` null on create): fills the values left
  // unset, checks requested ones, and answers the claims of new values and releases of
  // dropped ones. `attempt` > 0 after a write whose claim lost a race (read before picking).
  void (*allocate)(Allocator& allocator, std::shared_ptr<google::protobuf::Message> object,
                   std::shared_ptr<const google::protobuf::Message> old, int attempt,
                   std::function<void(AllocationOutcome)> done) = nullptr;
  // The side writes that free what a stored object holds (on delete).
  std::vector<SideWrite> (*release_allocations)(const Allocator& allocator,
                                                const google::protobuf::Message& object) = nullptr;

  // --- admission on create ---
  // Mutating admission with the namespace's LimitRanges (LimitRanger defaults,
  // DefaultTolerationSeconds), then, after validation, validating admission ("" = admitted, else
  // the reason for a 403). Kinds without them do not read LimitRanges.
  void (*admit)(const std::vector<api::LimitRange>& ranges, google::protobuf::Message& object) = nullptr;
  std::string (*check_admission)(const std::vector<api::LimitRange>& ranges,
                                 const google::protobuf::Message& object) = nullptr;
  // ServiceAccount admission (admission_service_account.h; pods), run after `admit` when
  // the apiserver has it on: `prepare_service_account` refuses or names the account to
  // read; `apply_service_account` mutates with it (names drawn by `draw_name`).
  ServiceAccountPlan (*prepare_service_account)(google::protobuf::Message& object) = nullptr;
  void (*apply_service_account)(const api::ServiceAccount& account,
                                const std::function<std::string(const std::string& prefix)>& draw_name,
                                google::protobuf::Message& object) = nullptr;

  // --- authentication and authorization inputs ---
  // Replaces what the object `namespace_/name` contributed with what `bytes` (the new
  // stored object; nullptr when deleted) contributes. Kinds with this hook are cached by
  // every apiserver at start, and requests wait until those caches are loaded.
  void (*feed_auth)(AuthSinks& sinks, const std::string& namespace_, const std::string& name,
                    const std::string* bytes) = nullptr;

  // --- the watch cache ---
  // Fills name, namespace, labels and selectable fields from the stored bytes without a
  // full decode (pods: every apiserver's cache reads every pod event). Returns false for
  // bytes it cannot read (cached without fields).
  bool (*project)(std::string_view bytes, CachedObject* out) = nullptr;
};

// The kind's strategy (a default one for kinds with no entry). Never null.
const ResourceStrategy& ResourceStrategyOf(const api::KindInfo& info);

// The kinds whose objects feed authentication or authorization, in a fixed order.
std::vector<const api::KindInfo*> AuthInputKinds();

}  // namespace ksim::apiserver
