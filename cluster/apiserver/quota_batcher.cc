#include "cluster/apiserver/quota_batcher.h"

#include <algorithm>
#include <utility>

#include "cluster/api/core.pb.h"
#include "cluster/apiserver/admission.h"
#include "cluster/env/wire.h"

namespace ksim::apiserver {

size_t QuotaBatcher::waiting(const std::string& ns) const {
  auto it = namespaces_.find(ns);
  return it == namespaces_.end() ? 0 : it->second.waiting.size();
}

void QuotaBatcher::Charge(const std::string& ns, std::vector<StoredObject> cached_quotas,
                          std::map<std::string, api::Quantity> usage, ChargeDone done) {
  Enqueue(ns, std::move(cached_quotas), Request{std::move(usage), false, std::move(done)});
}

void QuotaBatcher::Release(const std::string& ns, std::vector<StoredObject> cached_quotas,
                           std::map<std::string, api::Quantity> usage) {
  Enqueue(ns, std::move(cached_quotas), Request{std::move(usage), true, {}});
}

void QuotaBatcher::Enqueue(const std::string& ns, std::vector<StoredObject> cached_quotas, Request request) {
  Namespace& n = namespaces_[ns];
  // The cache names the quotas that exist; a version this batcher wrote may be newer.
  std::map<std::string, StoredObject> merged;
  for (StoredObject& q : cached_quotas) {
    auto known = n.quotas.find(q.key);
    if (known != n.quotas.end() && known->second.mod_revision > q.mod_revision) {
      merged.emplace(q.key, known->second);
    } else {
      merged.emplace(q.key, std::move(q));
    }
  }
  n.quotas = std::move(merged);
  if (n.waiting.size() >= kMaxWaiting) {
    if (request.release) {
      ++stats_.lost_releases;
    } else {
      QuotaChargeOutcome o;
      o.kind = QuotaChargeOutcome::Kind::kOverloaded;
      o.message = "too many requests are waiting for this namespace's resource quota; try again later";
      request.done(o);
    }
    return Flush(ns);
  }
  n.waiting.push_back(std::move(request));
  Flush(ns);
}

// Starts the next batch unless one is in flight; forgets an idle namespace.
void QuotaBatcher::Flush(const std::string& ns) {
  auto it = namespaces_.find(ns);
  if (it == namespaces_.end()) return;
  Namespace& n = it->second;
  if (n.in_flight) return;
  if (n.waiting.empty()) {
    namespaces_.erase(it);
    return;
  }
  std::vector<Request> batch;
  while (!n.waiting.empty() && batch.size() < kMaxBatchCharges) {
    batch.push_back(std::move(n.waiting.front()));
    n.waiting.pop_front();
  }
  n.in_flight = true;
  Write(ns, std::move(batch), 0);
}

// Answers every request left in `batch` with `outcome` (releases are counted as lost
// unless the outcome is a success), then starts the next batch.
void QuotaBatcher::Finish(const std::string& ns, std::vector<Request>& batch, const QuotaChargeOutcome& outcome,
                          bool wrote) {
  const bool ok = outcome.kind == QuotaChargeOutcome::Kind::kCharged;
  for (Request& r : batch) {
    if (r.release) {
      ok ? ++stats_.releases : ++stats_.lost_releases;
    } else {
      if (ok) ++stats_.charges;
      r.done(outcome);
    }
  }
  Namespace& n = namespaces_.at(ns);
  if (!wrote || n.waiting.empty()) {
    n.in_flight = false;
    return Flush(ns);
  }
  // A pause before the next write: an apiserver with a steady stream of creates would
  // otherwise write the quota back to back and the others' writes would rarely land.
  const Nanos pause(static_cast<int64_t>(random_.Uniform(static_cast<uint64_t>(kMaxPause.count()))));
  env_.clock->Schedule(pause, [this, ns, alive = alive_] {
    if (!*alive) return;
    namespaces_.at(ns).in_flight = false;
    Flush(ns);
  });
}

void QuotaBatcher::Write(const std::string& ns, std::vector<Request> batch, int attempt) {
  Namespace& n = namespaces_.at(ns);
  // Apply each request in turn to working copies of the quotas; a charge that does not
  // fit is answered now and leaves the copies as they were.
  std::map<std::string, api::ResourceQuota> quotas;
  for (const auto& [key, q] : n.quotas) {
    if (!quotas[key].ParseFromString(q.value)) quotas.erase(key);  // unreadable: not charged
  }
  std::vector<Request> accepted;
  for (Request& r : batch) {
    std::map<std::string, api::ResourceQuota> next;
    std::string why;
    for (const auto& [key, quota] : quotas) {
      api::ResourceQuota updated;
      if (r.release) {
        apiserver::Release(quota, r.usage, &updated);
      } else {
        why = apiserver::Charge(quota, r.usage, &updated);
        if (!why.empty()) break;
      }
      next.emplace(key, std::move(updated));
    }
    if (!why.empty()) {
      QuotaChargeOutcome o;
      o.kind = QuotaChargeOutcome::Kind::kExceeded;
      o.message = std::move(why);
      r.done(o);
      continue;
    }
    quotas = std::move(next);
    accepted.push_back(std::move(r));
  }
  std::vector<SideWrite> writes;
  for (const auto& [key, quota] : quotas) {
    std::string bytes = SerializeDeterministic(quota);
    const StoredObject& before = n.quotas.at(key);
    if (bytes != before.value) writes.push_back(SideWrite{key, std::move(bytes), before.mod_revision});
  }
  if (writes.empty()) {  // nothing limited changes (or nothing was accepted)
    QuotaChargeOutcome charged;
    return Finish(ns, accepted, charged, false);
  }
  ++stats_.writes;
  std::vector<SideWrite> written = writes;
  store_->PutGuarded(std::move(writes), [this, ns, accepted = std::move(accepted), written = std::move(written),
                                          attempt, alive = alive_](const GuardedPutResult& r) mutable {
    if (!*alive) return;
    Namespace& space = namespaces_.at(ns);
    if (!r.status.ok()) {
      QuotaChargeOutcome o;
      o.kind = QuotaChargeOutcome::Kind::kError;
      o.status = r.status;
      return Finish(ns, accepted, o, true);
    }
    if (r.succeeded) {
      for (const SideWrite& w : written) space.quotas[w.key] = StoredObject{w.key, w.value, r.revision, 0};
      QuotaChargeOutcome charged;
      return Finish(ns, accepted, charged, true);
    }
    // A quota moved: take it as the failure branch read it and charge again.
    ++stats_.conflicts;
    for (const StoredObject& q : r.current) {
      if (q.mod_revision == 0) {
        space.quotas.erase(q.key);  // deleted meanwhile: no longer charged
      } else {
        space.quotas[q.key] = q;
      }
    }
    if (attempt + 1 >= kMaxAttempts) {
      QuotaChargeOutcome o;
      o.kind = QuotaChargeOutcome::Kind::kContended;
      o.message = "resource quota kept changing; try again";
      return Finish(ns, accepted, o, true);
    }
    if (attempt < kImmediateRetries) return Write(ns, std::move(accepted), attempt + 1);
    const int doublings = std::min(attempt - kImmediateRetries, 20);
    const Nanos range = std::min(kRetryMax, kRetryBase * (int64_t{1} << doublings));
    const Nanos delay(static_cast<int64_t>(random_.Uniform(static_cast<uint64_t>(range.count()))));
    // What the failure branch read is stale after a pause: read the quotas again.
    env_.clock->Schedule(delay, [this, ns, accepted = std::move(accepted), attempt, alive = alive_]() mutable {
      if (!*alive) return;
      const std::string prefix = ResourcePrefix("resourcequotas", ns);
      store_->List(prefix, PrefixEnd(prefix), 0, 0,
                   [this, ns, accepted = std::move(accepted), attempt, alive](ListPage page) mutable {
                     if (!*alive) return;
                     if (page.status.ok()) {
                       std::map<std::string, StoredObject>& known = namespaces_.at(ns).quotas;
                       known.clear();
                       for (StoredObject& q : page.items) known.emplace(q.key, std::move(q));
                     }
                     Write(ns, std::move(accepted), attempt + 1);
                   });
    });
  });
}

}  // namespace ksim::apiserver
