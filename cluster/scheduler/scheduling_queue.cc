#include "cluster/scheduler/scheduling_queue.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <utility>

#include "cluster/env/wire.h"

namespace ksim::scheduler {

namespace {

std::string_view NominatedNodeOf(const PodInfo& pod) {
  return pod.pod == nullptr ? std::string_view() : std::string_view(pod.pod->status().nominated_node_name());
}

// Kubernetes' isPodUpdated: an update that touches only bookkeeping (resourceVersion,
// generation, managedFields, finalizers) or the status cannot change where the pod fits,
// so it does not earn a retry. The scheduler's own status writes fall in that class.
bool MayChangeSchedulability(const PodInfoPtr& old_pod, const PodInfoPtr& new_pod) {
  if (old_pod == nullptr || old_pod->pod == nullptr || new_pod->pod == nullptr) return true;
  const api::Pod& before = *old_pod->pod;
  const api::Pod& after = *new_pod->pod;
  if (SerializeDeterministic(before.spec()) != SerializeDeterministic(after.spec())) return true;
  auto stripped = [](const api::Pod& pod) {
    api::ObjectMeta meta = pod.metadata();
    meta.clear_resource_version();
    meta.clear_generation();
    meta.clear_managed_fields();
    meta.clear_finalizers();
    return SerializeDeterministic(meta);
  };
  return stripped(before) != stripped(after);
}

}  // namespace

std::string_view QueueNameString(QueueName queue) {
  switch (queue) {
    case QueueName::kActive:
      return "active";
    case QueueName::kBackoff:
      return "backoff";
    case QueueName::kUnschedulable:
      return "unschedulable";
    case QueueName::kInFlight:
      return "in-flight";
  }
  return "unknown";
}

bool SchedulingQueue::ActiveKey::operator<(const ActiveKey& other) const {
  if (priority != other.priority) return priority > other.priority;
  if (timestamp != other.timestamp) return timestamp < other.timestamp;
  if (pod_key != other.pod_key) return pod_key < other.pod_key;
  return uid < other.uid;
}

bool SchedulingQueue::BackoffKey::operator<(const BackoffKey& other) const {
  if (expiry != other.expiry) return expiry < other.expiry;
  return uid < other.uid;
}

SchedulingQueue::SchedulingQueue(SchedulingQueueOptions options) : options_(options) {
  assert(options_.pod_initial_backoff > Nanos(0));
  assert(options_.pod_max_backoff >= options_.pod_initial_backoff);
  assert(options_.max_pods > 0);
}

// ---------------------------------------------------------------- placement

void SchedulingQueue::Unlink(Entry& entry) {
  switch (entry.queue) {
    case QueueName::kActive:
      active_.erase(entry.active_it);
      entry.active_it = {};
      break;
    case QueueName::kBackoff:
      backoff_.erase(entry.backoff_it);
      entry.backoff_it = {};
      break;
    case QueueName::kUnschedulable: {
      [[maybe_unused]] size_t erased = unschedulable_.erase(entry.pod->uid);
      assert(erased == 1);
      break;
    }
    case QueueName::kInFlight:
      assert(in_flight_count_ > 0);
      --in_flight_count_;
      break;
  }
}

void SchedulingQueue::InsertActive(Entry& entry) {
  auto [it, inserted] =
      active_.insert(ActiveKey{entry.pod->priority, entry.timestamp, entry.pod->Key(), entry.pod->uid});
  assert(inserted);
  (void)inserted;
  entry.active_it = it;
  entry.queue = QueueName::kActive;
}

void SchedulingQueue::InsertBackoff(Entry& entry) {
  auto [it, inserted] = backoff_.insert(BackoffKey{BackoffExpiry(entry), entry.pod->uid});
  assert(inserted);
  (void)inserted;
  entry.backoff_it = it;
  entry.queue = QueueName::kBackoff;
}

void SchedulingQueue::InsertUnschedulable(Entry& entry) {
  [[maybe_unused]] bool inserted = unschedulable_.insert(entry.pod->uid).second;
  assert(inserted);
  entry.queue = QueueName::kUnschedulable;
}

void SchedulingQueue::Requeue(Entry& entry, Nanos now) {
  // Kubernetes' isPodBackingoff: the back-off is over when its end is not after now.
  if (BackoffExpiry(entry) > now) {
    InsertBackoff(entry);
  } else {
    InsertActive(entry);
  }
}

Nanos SchedulingQueue::BackoffDuration(int32_t attempts) const {
  Nanos duration = options_.pod_initial_backoff;
  // Doubling reaches the cap in at most 63 steps, so the loop is bounded whatever `attempts`.
  for (int32_t i = 1; i < attempts; ++i) {
    if (duration > options_.pod_max_backoff - duration) return options_.pod_max_backoff;
    duration += duration;
  }
  return std::min(duration, options_.pod_max_backoff);
}

// ---------------------------------------------------------------- operations

Status SchedulingQueue::Add(PodInfoPtr pod, Nanos now) {
  if (pod == nullptr) return Status::InvalidArgument("scheduling queue: null pod");
  if (!pod->node_name.empty()) {
    return Status::InvalidArgument(
        fmt::format("scheduling queue: pod {} is already assigned to node {}", pod->Key(), pod->node_name));
  }
  if (entries_.contains(pod->uid)) {
    return Status::AlreadyExists(
        fmt::format("scheduling queue: pod {} (uid {}) is already queued", pod->Key(), pod->uid));
  }
  if (entries_.size() >= options_.max_pods) {
    return Status::Unavailable(
        fmt::format("scheduling queue is full ({} pods); pod {} not queued", options_.max_pods, pod->Key()));
  }
  auto [it, inserted] = entries_.emplace(pod->uid, Entry{});
  assert(inserted);
  Entry& entry = it->second;
  entry.pod = pod;
  entry.timestamp = now;
  entry.first_enqueued_time = now;
  InsertActive(entry);
  std::string_view nominated = NominatedNodeOf(*pod);
  if (!nominated.empty()) Nominate(pod, nominated);
  return Status::Ok();
}

Status SchedulingQueue::Update(const PodInfoPtr& old_pod, PodInfoPtr new_pod, Nanos now) {
  if (new_pod == nullptr) return Status::InvalidArgument("scheduling queue: null pod");
  if (!new_pod->node_name.empty()) {
    // Bound (by us or another scheduler): no longer pending.
    Delete(new_pod->uid);
    return Status::Ok();
  }
  auto it = entries_.find(new_pod->uid);
  if (it == entries_.end()) return Add(std::move(new_pod), now);
  Entry& entry = it->second;
  UpdateNomination(old_pod, new_pod);
  const bool may_help = MayChangeSchedulability(old_pod, new_pod);
  switch (entry.queue) {
    case QueueName::kActive:
      // Priority may have changed: re-sort.
      Unlink(entry);
      entry.pod = std::move(new_pod);
      InsertActive(entry);
      break;
    case QueueName::kBackoff:
      entry.pod = std::move(new_pod);  // the back-off key (expiry, uid) is unchanged
      break;
    case QueueName::kUnschedulable:
      entry.pod = std::move(new_pod);
      if (may_help) {
        Unlink(entry);
        Requeue(entry, now);
      }
      break;
    case QueueName::kInFlight:
      entry.pod = std::move(new_pod);
      if (may_help) entry.updated_in_flight = true;
      break;
  }
  return Status::Ok();
}

void SchedulingQueue::Delete(std::string_view uid) {
  auto it = entries_.find(uid);
  if (it != entries_.end()) {
    Unlink(it->second);
    entries_.erase(it);
  }
  RemoveNomination(uid);
}

std::shared_ptr<const PoppedPod> SchedulingQueue::Pop(Nanos now) {
  if (active_.empty()) return nullptr;
  auto head = active_.begin();
  auto it = entries_.find(head->uid);
  assert(it != entries_.end());
  Entry& entry = it->second;
  assert(entry.queue == QueueName::kActive && entry.active_it == head);
  Unlink(entry);
  entry.queue = QueueName::kInFlight;
  ++in_flight_count_;
  ++scheduling_cycle_;
  ++entry.attempts;
  entry.popped_cycle = scheduling_cycle_;
  entry.updated_in_flight = false;
  if (!entry.initial_attempt_time) entry.initial_attempt_time = now;
  auto popped = std::make_shared<PoppedPod>();
  popped->pod = entry.pod;
  popped->attempts = entry.attempts;
  popped->scheduling_cycle = scheduling_cycle_;
  popped->first_enqueued_time = entry.first_enqueued_time;
  popped->initial_attempt_time = *entry.initial_attempt_time;
  return popped;
}

Status SchedulingQueue::AddUnschedulableIfNotPresent(PodInfoPtr pod, const std::set<std::string>& rejecting_plugins,
                                                     int64_t pod_scheduling_cycle, Nanos now) {
  if (pod == nullptr) return Status::InvalidArgument("scheduling queue: null pod");
  auto it = entries_.find(pod->uid);
  if (it == entries_.end()) {
    return Status::NotFound(fmt::format("scheduling queue: pod {} is not being scheduled", pod->Key()));
  }
  Entry& entry = it->second;
  if (entry.queue != QueueName::kInFlight) {
    return Status::AlreadyExists(
        fmt::format("scheduling queue: pod {} is already in the {} queue", pod->Key(), QueueNameString(entry.queue)));
  }
  // An update that arrived during the attempt is newer than the pod the attempt used.
  if (!entry.updated_in_flight) entry.pod = std::move(pod);
  entry.unschedulable_plugins.assign(rejecting_plugins.begin(), rejecting_plugins.end());
  entry.timestamp = now;
  entry.moved_by.reset();
  // A move request during this attempt may have been the event that makes the pod fit; the
  // attempt did not see it, so retry after the back-off rather than wait for another.
  const bool retry =
      rejecting_plugins.empty() || move_request_cycle_ >= pod_scheduling_cycle || entry.updated_in_flight;
  entry.updated_in_flight = false;
  Unlink(entry);
  if (retry) {
    InsertBackoff(entry);
  } else {
    InsertUnschedulable(entry);
  }
  return Status::Ok();
}

void SchedulingQueue::Done(std::string_view uid) {
  auto it = entries_.find(uid);
  if (it == entries_.end() || it->second.queue != QueueName::kInFlight) return;
  Unlink(it->second);
  entries_.erase(it);
  RemoveNomination(uid);
}

size_t SchedulingQueue::MoveAllToActiveOrBackoff(const ClusterEvent& event, Nanos now, const EventMayHelpFn& may_help) {
  size_t moved = 0;
  for (auto uid_it = unschedulable_.begin(); uid_it != unschedulable_.end();) {
    auto it = entries_.find(*uid_it);
    assert(it != entries_.end());
    Entry& entry = it->second;
    ++uid_it;  // before Unlink erases the current element
    if (!entry.unschedulable_plugins.empty() && !may_help(*entry.pod, entry.unschedulable_plugins)) continue;
    Unlink(entry);
    entry.moved_by = event;
    Requeue(entry, now);
    ++moved;
  }
  move_request_cycle_ = scheduling_cycle_;
  return moved;
}

size_t SchedulingQueue::FlushBackoffCompleted(Nanos now) {
  size_t moved = 0;
  while (!backoff_.empty() && backoff_.begin()->expiry <= now) {
    auto it = entries_.find(backoff_.begin()->uid);
    assert(it != entries_.end());
    Unlink(it->second);
    InsertActive(it->second);
    ++moved;
  }
  return moved;
}

size_t SchedulingQueue::FlushUnschedulableLeftover(Nanos now) {
  size_t moved = 0;
  for (auto uid_it = unschedulable_.begin(); uid_it != unschedulable_.end();) {
    auto it = entries_.find(*uid_it);
    assert(it != entries_.end());
    Entry& entry = it->second;
    ++uid_it;
    if (now - entry.timestamp <= options_.pod_max_in_unschedulable) continue;
    Unlink(entry);
    entry.moved_by.reset();
    Requeue(entry, now);
    ++moved;
  }
  // Kubernetes moves leftovers through the same path as events, which counts as a move
  // request when anything moved.
  if (moved > 0) move_request_cycle_ = scheduling_cycle_;
  return moved;
}

std::optional<Nanos> SchedulingQueue::NextBackoffExpiry() const {
  if (backoff_.empty()) return std::nullopt;
  return backoff_.begin()->expiry;
}

// ---------------------------------------------------------------- nominator

void SchedulingQueue::Nominate(const PodInfoPtr& pod, std::string_view node) {
  assert(!node.empty());
  RemoveNomination(pod->uid);
  nominated_node_by_uid_.emplace(pod->uid, std::string(node));
  auto it = nominated_pods_.find(node);
  if (it == nominated_pods_.end()) it = nominated_pods_.emplace(std::string(node), std::vector<PodInfoPtr>{}).first;
  it->second.push_back(pod);
}

void SchedulingQueue::RemoveNomination(std::string_view uid) {
  auto by_uid = nominated_node_by_uid_.find(uid);
  if (by_uid == nominated_node_by_uid_.end()) return;
  auto node_it = nominated_pods_.find(by_uid->second);
  assert(node_it != nominated_pods_.end());
  std::vector<PodInfoPtr>& pods = node_it->second;
  auto pos = std::find_if(pods.begin(), pods.end(), [&](const PodInfoPtr& p) { return p->uid == uid; });
  assert(pos != pods.end());
  pods.erase(pos);
  if (pods.empty()) nominated_pods_.erase(node_it);
  nominated_node_by_uid_.erase(by_uid);
}

void SchedulingQueue::UpdateNomination(const PodInfoPtr& old_pod, const PodInfoPtr& new_pod) {
  std::string_view old_nominated = old_pod == nullptr ? std::string_view() : NominatedNodeOf(*old_pod);
  std::string_view new_nominated = NominatedNodeOf(*new_pod);
  std::string node;
  if (old_nominated.empty() && new_nominated.empty()) {
    // The status has not caught up with a nomination made in memory: keep it (Kubernetes
    // keeps reserving in this case too), pointing at the new pod.
    auto it = nominated_node_by_uid_.find(new_pod->uid);
    if (it != nominated_node_by_uid_.end()) node = it->second;
  } else {
    node = std::string(new_nominated);  // added, changed or removed by the update
  }
  RemoveNomination(new_pod->uid);
  if (!node.empty()) Nominate(new_pod, node);
}

Status SchedulingQueue::SetNominatedNode(std::string_view uid, std::string_view node) {
  auto it = entries_.find(uid);
  if (it == entries_.end()) {
    return Status::NotFound(fmt::format("scheduling queue: no pod with uid {} to nominate", uid));
  }
  if (node.empty()) {
    RemoveNomination(uid);
  } else {
    Nominate(it->second.pod, node);
  }
  return Status::Ok();
}

void SchedulingQueue::ClearNominatedNode(std::string_view uid) { RemoveNomination(uid); }

std::string_view SchedulingQueue::NominatedNode(std::string_view uid) const {
  auto it = nominated_node_by_uid_.find(uid);
  return it == nominated_node_by_uid_.end() ? std::string_view() : std::string_view(it->second);
}

// ---------------------------------------------------------------- introspection

PendingPod SchedulingQueue::Describe(const Entry& entry) const {
  PendingPod out;
  out.pod = entry.pod;
  out.queue = entry.queue;
  out.attempts = entry.attempts;
  out.timestamp = entry.timestamp;
  out.backoff_expiry = BackoffExpiry(entry);
  out.unschedulable_plugins = entry.unschedulable_plugins;
  out.nominated_node = std::string(NominatedNode(entry.pod->uid));
  out.moved_by = entry.moved_by;
  return out;
}

std::vector<PendingPod> SchedulingQueue::PendingPods() const {
  std::vector<PendingPod> out;
  out.reserve(entries_.size());
  for (const auto& [uid, entry] : entries_) out.push_back(Describe(entry));
  std::sort(out.begin(), out.end(), [](const PendingPod& a, const PendingPod& b) {
    if (a.pod->ns != b.pod->ns) return a.pod->ns < b.pod->ns;
    if (a.pod->name != b.pod->name) return a.pod->name < b.pod->name;
    return a.pod->uid < b.pod->uid;
  });
  return out;
}

std::optional<PendingPod> SchedulingQueue::Lookup(std::string_view uid) const {
  auto it = entries_.find(uid);
  if (it == entries_.end()) return std::nullopt;
  return Describe(it->second);
}

Status SchedulingQueue::CheckInvariants() const {
  auto fail = [](std::string message) { return Status::Corruption("scheduling queue: " + message); };
  if (entries_.size() > options_.max_pods) return fail(fmt::format("{} pods over the bound", entries_.size()));
  size_t counts[4] = {0, 0, 0, 0};
  for (const auto& [uid, entry] : entries_) {
    if (entry.pod == nullptr || entry.pod->uid != uid) return fail(fmt::format("entry {} holds another pod", uid));
    ++counts[static_cast<int>(entry.queue)];
    // Exactly one place: the ordered set of its queue holds it, the others do not.
    const bool in_active =
        active_.contains(ActiveKey{entry.pod->priority, entry.timestamp, entry.pod->Key(), entry.pod->uid});
    const bool in_backoff = backoff_.contains(BackoffKey{BackoffExpiry(entry), uid});
    const bool in_unschedulable = unschedulable_.contains(uid);
    const int places = int{in_active} + int{in_backoff} + int{in_unschedulable};
    const bool expected_place = entry.queue == QueueName::kActive          ? in_active
                                : entry.queue == QueueName::kBackoff       ? in_backoff
                                : entry.queue == QueueName::kUnschedulable ? in_unschedulable
                                                                           : places == 0;
    if (!expected_place || places > 1) {
      return fail(fmt::format("pod {} is marked {} but found in {} set(s)", uid, QueueNameString(entry.queue), places));
    }
    if (entry.queue == QueueName::kUnschedulable && entry.unschedulable_plugins.empty()) {
      return fail(fmt::format("pod {} is unschedulable without a rejecting plugin", uid));
    }
  }
  if (counts[0] != active_.size() || counts[1] != backoff_.size() || counts[2] != unschedulable_.size() ||
      counts[3] != in_flight_count_) {
    return fail("set sizes disagree with the pods");
  }
  size_t nominated = 0;
  for (const auto& [node, pods] : nominated_pods_) {
    if (pods.empty()) return fail(fmt::format("node {} has an empty nomination list", node));
    for (const PodInfoPtr& pod : pods) {
      auto by_uid = nominated_node_by_uid_.find(pod->uid);
      if (by_uid == nominated_node_by_uid_.end() || by_uid->second != node) {
        return fail(fmt::format("pod {} nominated on {} disagrees with its record", pod->uid, node));
      }
      if (!entries_.contains(pod->uid)) return fail(fmt::format("nominated pod {} is not known", pod->uid));
      ++nominated;
    }
  }
  if (nominated != nominated_node_by_uid_.size()) return fail("nominations disagree");
  return Status::Ok();
}

}  // namespace ksim::scheduler
