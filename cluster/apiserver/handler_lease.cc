// ApiHandler: the store leases that bound the life of objects with a TTL (Events).
#include "cluster/apiserver/handler_internal.h"

namespace ksim::apiserver {

void ApiHandler::WithLease(const ResourceStrategy& strategy, std::function<void(Status, int64_t)> then) {
  if (strategy.ttl_seconds <= 0) return then(Status::Ok(), 0);
  LeaseCache& lease = leases_[strategy.ttl_seconds];
  const Nanos now = env_.clock->MonotonicNow();
  const Nanos ttl = Seconds(strategy.ttl_seconds);
  // The last lease will do while it outlives the TTL, by less than the reuse window.
  if (lease.id != 0 && now + ttl < lease.expires && now + ttl + Seconds(kLeaseReuseSeconds) >= lease.expires) {
    return then(Status::Ok(), lease.id);
  }
  lease.waiting.push_back(std::move(then));
  if (lease.granting) return;
  lease.granting = true;
  GrantLease(strategy.ttl_seconds, 0);
}

void ApiHandler::GrantLease(int64_t ttl_seconds, int attempt) {
  store::Command command;
  // The client picks lease ids in ksim's store; 62 random bits make two apiservers'
  // choices collide almost never, and a collision is retried.
  const int64_t id = static_cast<int64_t>(env_.random->Next64() >> 2) + 1;
  command.mutable_lease_grant()->set_id(id);
  command.mutable_lease_grant()->set_ttl_seconds(ttl_seconds + kLeaseReuseSeconds);
  const Nanos asked = env_.clock->MonotonicNow();
  store_client_->Write(command, [this, ttl_seconds, id, asked, attempt, alive = alive_](
                                    Status s, const store::CommandResponse& r) {
    if (!*alive) return;
    if (s.ok() && r.error() == store::ERROR_LEASE_EXISTS && attempt < 3) return GrantLease(ttl_seconds, attempt + 1);
    if (s.ok() && r.error() != store::ERROR_NONE) s = Status::Unavailable("store: " + r.error_message());
    LeaseCache& lease = leases_[ttl_seconds];
    if (s.ok()) {
      lease.id = id;
      lease.expires = asked + Seconds(ttl_seconds + kLeaseReuseSeconds);
    }
    lease.granting = false;
    std::vector<std::function<void(Status, int64_t)>> waiting;
    waiting.swap(lease.waiting);
    for (auto& then : waiting) then(s, s.ok() ? id : 0);
  });
}

}  // namespace ksim::apiserver
