// QuotaBatcher: charges a namespace's ResourceQuotas for creates, in batches.
//
// Charging each create in its own transaction, guarded by the quotas' mod revisions, lets
// one of many concurrent creates win each quota revision; the rest retry and, past the
// retry bound, fail: a tenant's parallel creates were mostly answered 409. Kubernetes'
// quota admission evaluates a namespace's waiting requests together against one quota
// read and writes the quotas once for all of them; so does this. As in Kubernetes, the
// charge is written before the objects, each object is then created on its own (every
// object keeps a revision of its own, which watchers resuming from a resourceVersion rely
// on), and a create that fails afterwards gives its charge back (Release). A create whose
// outcome the store left unknown keeps its charge: the quota may count it until the
// quota controller recalculates usage (Kubernetes has the same window).
//
// Per namespace, one quota write is in flight per apiserver; requests that arrive
// meanwhile wait (bounded: kMaxWaiting) and form the next batch (bounded:
// kMaxBatchCharges). A failed write reports what the quotas hold, so the batch retries
// without reading them again: at once for the first kImmediateRetries (the value it
// read is the newest there is), then after a random back-off and a fresh read, so that
// apiservers that keep meeting stop meeting in lockstep.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/api/machinery/quantity.h"
#include "cluster/apiserver/object_store.h"
#include "cluster/env/env.h"
#include "cluster/env/random.h"
#include "cluster/env/time.h"

namespace ksim::apiserver {

struct QuotaChargeOutcome {
  enum class Kind {
    kCharged,     // every quota limiting the usage took it: go on and write the object
    kExceeded,    // a quota cannot take it: `message` is Kubernetes' reason
    kContended,   // the quotas kept moving (other apiservers' writes) past the retry bound
    kOverloaded,  // too many requests already wait in this namespace
    kError,       // the store failed: `status`; whether the charge landed is unknown
  };
  Kind kind = Kind::kCharged;
  std::string message;
  Status status;
};

struct QuotaBatcherStats {
  uint64_t writes = 0;          // quota transactions sent
  uint64_t conflicts = 0;       // of which failed because a quota moved
  uint64_t charges = 0;         // requests charged
  uint64_t releases = 0;        // charges given back
  uint64_t lost_releases = 0;   // releases that could not be written (usage over-counted)
};

class QuotaBatcher {
 public:
  static constexpr size_t kMaxBatchCharges = 500; // requests per quota write
  static constexpr size_t kMaxWaiting = 10000;     // requests per namespace
  static constexpr int kMaxAttempts = 30;         // quota writes per batch
  static constexpr int kImmediateRetries = 5;
  static constexpr Nanos kMaxPause = Milliseconds(2);  // between one apiserver's quota writes

  using ChargeDone = std::function<void(const QuotaChargeOutcome&)>;

  static constexpr Nanos kRetryBase = Milliseconds(1);   // back-off: uniform in [0, base * 2^attempt)
  static constexpr Nanos kRetryMax = Milliseconds(100);  // cap of the back-off's range

  QuotaBatcher(Env& env, ObjectStore* store) : env_(env), random_(env.random->Child("quota-batcher")), store_(store) {}
  ~QuotaBatcher() { *alive_ = false; }
  QuotaBatcher(const QuotaBatcher&) = delete;
  QuotaBatcher& operator=(const QuotaBatcher&) = delete;

  // Charges `usage` to the quotas of namespace `ns`, which the caller read from its cache
  // (`cached_quotas`: key, bytes, mod revision; not empty). Versions this batcher wrote
  // itself win over older cached ones. `done` runs exactly once: inside this call when no
  // store round trip is needed (kOverloaded), otherwise when the batch's write answers.
  // Nothing runs after the batcher is destroyed.
  void Charge(const std::string& ns, std::vector<StoredObject> cached_quotas,
              std::map<std::string, api::Quantity> usage, ChargeDone done);

  // Gives back a charge whose object was not written. Best effort: a release that cannot
  // be written is counted in lost_releases.
  void Release(const std::string& ns, std::vector<StoredObject> cached_quotas,
               std::map<std::string, api::Quantity> usage);

  const QuotaBatcherStats& stats() const { return stats_; }
  size_t waiting(const std::string& ns) const;

 private:
  struct Request {
    std::map<std::string, api::Quantity> usage;
    bool release = false;
    ChargeDone done;  // empty for releases
  };
  struct Namespace {
    std::deque<Request> waiting;
    bool in_flight = false;
    std::map<std::string, StoredObject> quotas;  // by key: the newest version known
  };
  void Enqueue(const std::string& ns, std::vector<StoredObject> cached_quotas, Request request);
  void Flush(const std::string& ns);
  void Write(const std::string& ns, std::vector<Request> batch, int attempt);
  // Answers the batch; the next batch starts at once, or after a random pause (below
  // kMaxPause) if this one wrote to the store.
  void Finish(const std::string& ns, std::vector<Request>& batch, const QuotaChargeOutcome& outcome, bool wrote);

  Env& env_;
  Random random_;
  ObjectStore* store_;
  std::map<std::string, Namespace> namespaces_;
  QuotaBatcherStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::apiserver
