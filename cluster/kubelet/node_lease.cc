// NodeStatusManager's half that renews the node's Lease (Kubernetes' node lease
// controller): kube-node-lease/<node>, holderIdentity the node, leaseDurationSeconds 40,
// renewTime every 10 s; created if missing, owned by the Node once its uid is known.
#include <fmt/format.h>

#include "cluster/kubelet/api_objects.h"
#include "cluster/kubelet/node_status.h"
#include "cluster/kubelet/timestamps.h"

namespace ksim::kubelet {

void NodeStatusManager::ScheduleLease(Nanos delay) {
  if (lease_timer_) env_.clock->Cancel(lease_timer_);
  lease_timer_ = env_.clock->Schedule(delay, [this] {
    lease_timer_ = 0;
    RenewLease();
  });
}

api::Lease NodeStatusManager::NewLease() const {
  api::Lease lease;
  if (lease_) lease = *lease_;  // keeps resourceVersion: the update is guarded by it
  api::ObjectMeta* meta = lease.mutable_metadata();
  meta->set_name(options_.node_name);
  meta->set_namespace_(kNodeLeaseNamespace);
  if (!node_uid_.empty() && meta->owner_references_size() == 0) {
    api::OwnerReference* owner = meta->add_owner_references();
    owner->set_api_version("v1");
    owner->set_kind("Node");
    owner->set_name(options_.node_name);
    owner->set_uid(node_uid_);
  }
  api::LeaseSpec* spec = lease.mutable_spec();
  spec->set_holder_identity(options_.node_name);
  spec->set_lease_duration_seconds(options_.lease_duration_seconds);
  const Nanos wall = env_.clock->WallNow();
  SetMicroTime(spec->mutable_renew_time(), wall);
  // A renewal must change the Lease, or the apiserver writes nothing and the node
  // lifecycle controller sees no heartbeat (a wall clock that stands still or stepped back).
  if (lease_ && spec->renew_time().seconds() == lease_->spec().renew_time().seconds() &&
      spec->renew_time().nanos() == lease_->spec().renew_time().nanos()) {
    SetMicroTime(spec->mutable_renew_time(), wall + Microseconds(1));
  }
  return lease;
}

void NodeStatusManager::RenewLease() {
  if (lease_in_flight_) return;
  lease_in_flight_ = true;
  auto alive = alive_;
  if (lease_) {
    client_->Update(LeaseKind(), NewLease(), [this, alive](const client::ApiResult& r) {
      if (*alive) OnLeaseWritten(r, false);
    });
    return;
  }
  client_->Get(LeaseKind(), kNodeLeaseNamespace, options_.node_name, [this, alive](const client::ApiResult& r) {
    if (!*alive) return;
    if (r.ok()) {
      lease_ = DecodeAs<api::Lease>(LeaseKind(), r);
      if (!lease_) return LeaseFailed();
      client_->Update(LeaseKind(), NewLease(), [this, alive](const client::ApiResult& u) {
        if (*alive) OnLeaseWritten(u, false);
      });
    } else if (r.status.ok() && r.code == 404) {
      client_->Create(LeaseKind(), NewLease(), [this, alive](const client::ApiResult& c) {
        if (*alive) OnLeaseWritten(c, true);
      });
    } else {
      LeaseFailed();
    }
  });
}

void NodeStatusManager::OnLeaseWritten(const client::ApiResult& r, bool created) {
  auto lease = r.ok() ? DecodeAs<api::Lease>(LeaseKind(), r) : nullptr;
  if (!lease) {
    // 409 (someone else wrote it, or it appeared) and 404 (deleted): read it again.
    if (r.status.ok() && (r.code == 409 || r.code == 404)) lease_.reset();
    LogTo(env_, LogLevel::kWarning,
          fmt::format("renewing node lease {}/{} failed: {}", kNodeLeaseNamespace, options_.node_name, r.Describe()));
    return LeaseFailed();
  }
  lease_in_flight_ = false;
  lease_failures_ = 0;
  ++(created ? stats_.lease_creates : stats_.lease_renewals);
  lease_ = std::move(lease);
  // Owned by the Node only once its uid is known: write again at once to add it (once;
  // later renewals add it too).
  const bool needs_owner = !node_uid_.empty() && lease_->metadata().owner_references_size() == 0;
  ScheduleLease(needs_owner && !owner_retried_ ? Nanos(0) : options_.lease_renew_interval);
  if (needs_owner) owner_retried_ = true;
}

void NodeStatusManager::LeaseFailed() {
  lease_in_flight_ = false;
  ++stats_.failures;
  ScheduleLease(Backoff(++lease_failures_));
}

}  // namespace ksim::kubelet
