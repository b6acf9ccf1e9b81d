// What a DaemonSet sync does, as pure functions of the nodes' verdicts and the daemon pods
// by node: Kubernetes' podsShouldBeOnNode (manage), rollingUpdate and the status counts.
// Nodes are visited in name order, so decisions do not depend on map or pointer order.
#include <algorithm>
#include <cstdlib>

#include "cluster/controllers/daemonset.h"
#include "cluster/controllers/replica_set.h"

namespace ksim::controllers {
namespace {

bool Updated(const api::Pod& pod, const std::string& hash) {
  auto it = pod.metadata().labels().find(kPodRevisionHashLabel);
  return it != pod.metadata().labels().end() && it->second == hash;
}

int64_t CreationNanos(const api::Pod& p) {
  return p.metadata().creation_timestamp().seconds() * 1'000'000'000 + p.metadata().creation_timestamp().nanos();
}

// An IntOrString scaled against `total`, percentages rounded up (intstr's
// GetScaledValueFromIntOrPercent with roundUp).
int Scaled(const api::IntOrString& v, int total) {
  if (v.value_case() == api::IntOrString::kIntVal) return v.int_val();
  if (v.value_case() != api::IntOrString::kStrVal) return 0;
  std::string s = v.str_val();
  if (s.empty() || s.back() != '%') return std::atoi(s.c_str());
  s.pop_back();
  const int64_t pct = std::atoll(s.c_str());
  return static_cast<int>((pct * total + 99) / 100);
}

bool RollingUpdate(const api::DaemonSet& ds) { return ds.spec().update_strategy().type() != "OnDelete"; }

// Kubernetes' findUpdatedPodsOnNode: the node's one new and one old pod (not deleting);
// false when there are two of either.
bool SplitPods(const std::vector<DaemonPodPtr>& pods, const std::string& hash, DaemonPodPtr* fresh, DaemonPodPtr* old) {
  *fresh = nullptr;
  *old = nullptr;
  for (const auto& p : pods) {
    if (p->metadata().has_deletion_timestamp()) continue;
    DaemonPodPtr* slot = Updated(*p, hash) ? fresh : old;
    if (*slot != nullptr) return false;
    *slot = p;
  }
  return true;
}

int Desired(const std::map<std::string, NodeVerdict>& nodes) {
  int n = 0;
  for (const auto& [name, v] : nodes) n += v.should_run ? 1 : 0;
  return n;
}

}  // namespace

bool OlderDaemonPod(const api::Pod& a, const api::Pod& b) {
  const bool sa = !a.spec().node_name().empty(), sb = !b.spec().node_name().empty();
  if (sa != sb) return sa;
  if (CreationNanos(a) != CreationNanos(b)) return CreationNanos(a) < CreationNanos(b);
  return a.metadata().name() < b.metadata().name();
}

bool PodFailed(const api::Pod& pod) { return pod.status().phase() == "Failed"; }
bool PodSucceeded(const api::Pod& pod) { return pod.status().phase() == "Succeeded"; }

RollingBudget BudgetFor(const api::DaemonSet& ds, int desired) {
  RollingBudget b;
  if (!RollingUpdate(ds)) return b;
  const auto& ru = ds.spec().update_strategy().rolling_update();
  b.max_surge = ru.has_max_surge() ? Scaled(ru.max_surge(), desired) : 0;
  b.max_unavailable = ru.has_max_unavailable() ? Scaled(ru.max_unavailable(), desired) : 1;
  if (b.max_surge == 0 && b.max_unavailable == 0) b.max_unavailable = 1;
  return b;
}

DaemonActions ManagePlan(const api::DaemonSet& ds, const std::map<std::string, NodeVerdict>& nodes,
                         const NodePods& pods, const std::string& hash, int64_t now_s,
                         const std::function<std::optional<Nanos>(const std::string&)>& failed_backoff) {
  DaemonActions out;
  const bool surge = BudgetFor(ds, 1).max_surge > 0;
  static const std::vector<DaemonPodPtr> kNone;
  for (const auto& [node, verdict] : nodes) {
    auto it = pods.find(node);
    const std::vector<DaemonPodPtr>& here = it == pods.end() ? kNone : it->second;
    if (verdict.should_run && here.empty()) {
      out.create_on.push_back(node);
    } else if (verdict.should_continue) {
      std::vector<DaemonPodPtr> running;
      for (const auto& p : here) {
        if (p->metadata().has_deletion_timestamp()) continue;
        if (PodFailed(*p)) {
          // The kubelet may keep rejecting the pod: back off rather than hot-loop.
          if (auto wait = failed_backoff(node)) {
            out.retry_after = out.retry_after ? std::min(*out.retry_after, *wait) : *wait;
            continue;
          }
          out.failed.push_back(p);
          out.remove.push_back(p);
        } else if (PodSucceeded(*p)) {
          out.remove.push_back(p);
        } else {
          running.push_back(p);
        }
      }
      std::sort(running.begin(), running.end(), [](const auto& a, const auto& b) { return OlderDaemonPod(*a, *b); });
      if (!surge) {
        for (size_t i = 1; i < running.size(); ++i) out.remove.push_back(running[i]);  // keep the oldest
        continue;
      }
      // Surge: two pods only while the oldest new one is not yet available and the oldest
      // old one is ready; every other pod goes.
      DaemonPodPtr oldest_new, oldest_old;
      for (const auto& p : running) {
        DaemonPodPtr& slot = Updated(*p, hash) ? oldest_new : oldest_old;
        if (slot == nullptr) {
          slot = p;
        } else {
          out.remove.push_back(p);
        }
      }
      if (oldest_new != nullptr && oldest_old != nullptr &&
          (!PodReady(*oldest_old) || PodAvailable(*oldest_new, ds.spec().min_ready_seconds(), now_s))) {
        out.remove.push_back(oldest_old);
      }
    } else {
      for (const auto& p : here) {
        if (!p->metadata().has_deletion_timestamp()) out.remove.push_back(p);
      }
    }
  }
  // Unscheduled pods aimed at nodes that are gone would never be scheduled or cleaned up.
  for (const auto& [node, here] : pods) {
    if (nodes.count(node) != 0) continue;
    for (const auto& p : here) {
      if (p->spec().node_name().empty() && !p->metadata().has_deletion_timestamp()) out.remove.push_back(p);
    }
  }
  return out;
}

DaemonActions RollingUpdatePlan(const api::DaemonSet& ds, const std::map<std::string, NodeVerdict>& nodes,
                                const NodePods& pods, const std::string& hash, int64_t now_s) {
  DaemonActions out;
  if (!RollingUpdate(ds)) return out;
  const RollingBudget budget = BudgetFor(ds, Desired(nodes));
  const int32_t min_ready = ds.spec().min_ready_seconds();
  // Nodes with daemon pods, and nodes that should run one (empty: counted unavailable).
  NodePods by_node = pods;
  for (const auto& [node, v] : nodes) {
    if (v.should_run) by_node[node];
  }
  const auto available = [&](const DaemonPodPtr& p) { return p != nullptr && PodAvailable(*p, min_ready, now_s); };
  if (budget.max_surge == 0) {
    // Delete just enough old pods to stay within maxUnavailable; manage re-creates them.
    int unavailable = 0;
    std::vector<DaemonPodPtr> replace_now, candidates;
    for (const auto& [node, here] : by_node) {
      DaemonPodPtr fresh, old;
      if (!SplitPods(here, hash, &fresh, &old) || (fresh == nullptr) == (old == nullptr)) {
        ++unavailable;  // manage sorts this node out
      } else if (fresh != nullptr) {
        unavailable += available(fresh) ? 0 : 1;
      } else if (!available(old)) {
        replace_now.push_back(old);
      } else if (unavailable < budget.max_unavailable) {
        candidates.push_back(old);
      }
    }
    const int room = std::clamp(budget.max_unavailable - unavailable, 0, static_cast<int>(candidates.size()));
    out.remove = std::move(replace_now);
    out.remove.insert(out.remove.end(), candidates.begin(), candidates.begin() + room);
    return out;
  }
  // Surge: a new pod beside each old one, at most maxSurge not yet available at a time (an
  // unavailable old pod is replaced at once); an old pod goes once its new one is available.
  int surging = 0;
  std::vector<std::string> allowed, candidates;
  for (const auto& [node, here] : by_node) {
    DaemonPodPtr fresh, old;
    if (!SplitPods(here, hash, &fresh, &old)) {
      ++surging;
      continue;
    }
    if (old == nullptr) continue;
    auto verdict = nodes.find(node);
    const bool runs = verdict != nodes.end() && verdict->second.should_run;
    if (fresh == nullptr) {
      if (!available(old)) {
        if (runs) allowed.push_back(node);
      } else if (surging < budget.max_surge && runs) {
        candidates.push_back(node);
      }
    } else if (!available(fresh)) {
      ++surging;
    } else {
      out.remove.push_back(old);
    }
  }
  const int room = std::clamp(budget.max_surge - surging, 0, static_cast<int>(candidates.size()));
  out.create_on = std::move(allowed);
  out.create_on.insert(out.create_on.end(), candidates.begin(), candidates.begin() + room);
  std::sort(out.create_on.begin(), out.create_on.end());
  return out;
}

api::DaemonSetStatus StatusCounts(const api::DaemonSet& ds, const std::map<std::string, NodeVerdict>& nodes,
                                  const NodePods& pods, const std::string& hash, int64_t now_s) {
  api::DaemonSetStatus s;
  for (const auto& [node, v] : nodes) {
    auto it = pods.find(node);
    const bool scheduled = it != pods.end() && !it->second.empty();
    if (!v.should_run) {
      if (scheduled) s.set_number_misscheduled(s.number_misscheduled() + 1);
      continue;
    }
    s.set_desired_number_scheduled(s.desired_number_scheduled() + 1);
    if (!scheduled) continue;
    s.set_current_number_scheduled(s.current_number_scheduled() + 1);
    const api::Pod& oldest =
        **std::min_element(it->second.begin(), it->second.end(), [](const auto& a, const auto& b) {
          return OlderDaemonPod(*a, *b);
        });
    if (PodReady(oldest)) {
      s.set_number_ready(s.number_ready() + 1);
      if (PodAvailable(oldest, ds.spec().min_ready_seconds(), now_s)) s.set_number_available(s.number_available() + 1);
    }
    if (Updated(oldest, hash)) s.set_updated_number_scheduled(s.updated_number_scheduled() + 1);
  }
  s.set_number_unavailable(s.desired_number_scheduled() - s.number_available());
  return s;
}

}  // namespace ksim::controllers
