// The scheduling queue, against Kubernetes' PriorityQueue (pkg/scheduler/internal/queue):
// PrioritySort order, the back-off table, the moveRequestCycle rule, event-gated moves,
// the 5-minute leftover flush, updates, the nominator, the bound; and a RapidCheck
// property over random operation sequences.
#include "cluster/scheduler/scheduling_queue.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cluster/scheduler/framework/framework.h"
#include "tests/cluster/scheduler/scheduler_testing.h"

namespace ksim::scheduler::testing {
namespace {

// A pending pod "default/<name>" (uid = name) with a priority, labels and optionally a
// nominatedNodeName in its status.
PodInfoPtr QueuePod(const std::string& name, int32_t priority = 0,
                    const std::map<std::string, std::string>& labels = {}, const std::string& nominated_node = "") {
  auto pod = std::make_shared<api::Pod>();
  pod->mutable_metadata()->set_name(name);
  pod->mutable_metadata()->set_namespace_("default");
  pod->mutable_metadata()->set_uid(name);
  for (const auto& [k, v] : labels) (*pod->mutable_metadata()->mutable_labels())[k] = v;
  pod->mutable_spec()->set_priority(priority);
  auto* c = pod->mutable_spec()->add_containers();
  c->set_name("c");
  c->set_image("registry.k8s.io/pause:3.9");
  if (!nominated_node.empty()) pod->mutable_status()->set_nominated_node_name(nominated_node);
  std::shared_ptr<PodInfo> info;
  Status s = PodInfo::Build(pod, &info);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return info;
}

// `pod` with one change made to its API object.
PodInfoPtr Changed(const PodInfoPtr& pod, const std::function<void(api::Pod&)>& change) {
  auto copy = std::make_shared<api::Pod>(*pod->pod);
  change(*copy);
  std::shared_ptr<PodInfo> info;
  Status s = PodInfo::Build(copy, &info);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return info;
}

Nanos At(int64_t seconds) { return Seconds(seconds); }

SchedulingQueue NewQueue(size_t max_pods = 1000) {
  SchedulingQueueOptions options;
  options.max_pods = max_pods;
  return SchedulingQueue(options);
}

std::vector<std::string> PopAll(SchedulingQueue& queue, Nanos now) {
  std::vector<std::string> names;
  for (size_t i = 0; i < 1000; ++i) {
    auto popped = queue.Pop(now);
    if (popped == nullptr) break;
    names.push_back(popped->pod->name);
  }
  return names;
}

QueueName WhereIs(const SchedulingQueue& queue, const std::string& uid) {
  auto pending = queue.Lookup(uid);
  EXPECT_TRUE(pending.has_value()) << uid;
  return pending ? pending->queue : QueueName::kInFlight;
}

// Pops `name` (which must be the head) and fails its attempt with `plugins`.
void FailAttempt(SchedulingQueue& queue, const std::string& name, const std::set<std::string>& plugins, Nanos now) {
  auto popped = queue.Pop(now);
  ASSERT_NE(popped, nullptr);
  ASSERT_EQ(popped->pod->name, name);
  ASSERT_TRUE(queue.AddUnschedulableIfNotPresent(popped->pod, plugins, popped->scheduling_cycle, now).ok());
}

const ClusterEvent kAssignedPodDelete{EventResource::kAssignedPod, kEventDelete};
const ClusterEvent kNamespaceAdd{EventResource::kNamespace, kEventAdd};
const ClusterEvent kNodeAdd{EventResource::kNode, kEventAdd};

// ---------------------------------------------------------------- ordering

TEST(SchedulingQueue, PopsByPriorityThenEnqueueTimeThenKey) {
  // Kubernetes' PrioritySort: higher .spec.priority first, then the earlier timestamp.
  SchedulingQueue queue = NewQueue();
  ASSERT_TRUE(queue.Add(QueuePod("low", 1), At(1)).ok());
  ASSERT_TRUE(queue.Add(QueuePod("high-late", 100), At(3)).ok());
  ASSERT_TRUE(queue.Add(QueuePod("high-early", 100), At(2)).ok());
  ASSERT_TRUE(queue.Add(QueuePod("mid-b", 50), At(4)).ok());
  ASSERT_TRUE(queue.Add(QueuePod("mid-a", 50), At(4)).ok());  // same time: key order
  ASSERT_TRUE(queue.Add(QueuePod("negative", -5), At(0)).ok());
  EXPECT_EQ(PopAll(queue, At(10)),
            (std::vector<std::string>{"high-early", "high-late", "mid-a", "mid-b", "low", "negative"}));
  EXPECT_EQ(queue.Pop(At(10)), nullptr);
  EXPECT_EQ(queue.in_flight_size(), 6u);
}

TEST(SchedulingQueue, PopCountsAttemptsAndCycles) {
  SchedulingQueue queue = NewQueue();
  ASSERT_TRUE(queue.Add(QueuePod("a"), At(1)).ok());
  ASSERT_TRUE(queue.Add(QueuePod("b"), At(2)).ok());
  auto first = queue.Pop(At(5));
  auto second = queue.Pop(At(6));
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(first->scheduling_cycle, 1);
  EXPECT_EQ(second->scheduling_cycle, 2);
  EXPECT_EQ(first->attempts, 1);
  EXPECT_EQ(first->first_enqueued_time, At(1));
  EXPECT_EQ(first->initial_attempt_time, At(5));
  // A failed attempt (an error) and a retry: the attempt count grows, the first attempt
  // time stays.
  ASSERT_TRUE(queue.AddUnschedulableIfNotPresent(first->pod, {}, first->scheduling_cycle, At(5)).ok());
  EXPECT_EQ(queue.FlushBackoffCompleted(At(6)), 1u);
  auto again = queue.Pop(At(7));
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->pod->name, "a");
  EXPECT_EQ(again->attempts, 2);
  EXPECT_EQ(again->scheduling_cycle, 3);
  EXPECT_EQ(again->initial_attempt_time, At(5));
}

TEST(SchedulingQueue, AddRejectsDuplicatesAssignedPodsAndOverflow) {
  SchedulingQueue queue = NewQueue(/*max_pods=*/2);
  ASSERT_TRUE(queue.Add(QueuePod("a"), At(0)).ok());
  EXPECT_TRUE(queue.Add(QueuePod("a"), At(0)).Is(Status::Code::kAlreadyExists));
  EXPECT_TRUE(queue.Add(BoundTo(QueuePod("bound"), "n1"), At(0)).Is(Status::Code::kInvalidArgument));
  ASSERT_TRUE(queue.Add(QueuePod("b"), At(0)).ok());
  Status full = queue.Add(QueuePod("c"), At(0));
  EXPECT_TRUE(full.Is(Status::Code::kUnavailable)) << full.ToString();
  // In-flight pods count against the bound too: the queue still holds them.
  ASSERT_NE(queue.Pop(At(0)), nullptr);
  EXPECT_TRUE(queue.Add(QueuePod("c"), At(0)).Is(Status::Code::kUnavailable));
  queue.Delete("b");
  EXPECT_TRUE(queue.Add(QueuePod("c"), At(0)).ok());
  EXPECT_TRUE(queue.CheckInvariants().ok());
}

// ---------------------------------------------------------------- back-off

TEST(SchedulingQueue, BackoffDoublesPerAttemptUpToTheMax) {
  // Kubernetes' calculateBackoffDuration with the defaults (1 s initial, 10 s max).
  struct Case {
    int32_t attempts;
    int64_t seconds;
  };
  const std::vector<Case> table = {{1, 1}, {2, 2}, {3, 4}, {4, 8}, {5, 10}, {6, 10}, {100, 10}};
  SchedulingQueue queue = NewQueue();
  for (const Case& c : table) EXPECT_EQ(queue.BackoffDuration(c.attempts), Seconds(c.seconds)) << c.attempts;

  // The same through the queue: each failed attempt waits out its back-off, then is ready.
  ASSERT_TRUE(queue.Add(QueuePod("p"), At(0)).ok());
  Nanos now = At(100);
  for (const Case& c : table) {
    if (c.attempts > 6) break;
    FailAttempt(queue, "p", {}, now);  // an error: straight to backoffQ
    ASSERT_EQ(WhereIs(queue, "p"), QueueName::kBackoff);
    ASSERT_EQ(queue.NextBackoffExpiry(), now + Seconds(c.seconds)) << "attempt " << c.attempts;
    EXPECT_EQ(queue.FlushBackoffCompleted(now + Seconds(c.seconds) - Nanos(1)), 0u);
    EXPECT_EQ(queue.FlushBackoffCompleted(now + Seconds(c.seconds)), 1u);
    EXPECT_EQ(queue.NextBackoffExpiry(), std::nullopt);
    now += Seconds(c.seconds);
  }
}

TEST(SchedulingQueue, BackoffIsConfigurable) {
  // podInitialBackoffSeconds: 2, podMaxBackoffSeconds: 5.
  SchedulingQueueOptions options;
  options.pod_initial_backoff = Seconds(2);
  options.pod_max_backoff = Seconds(5);
  SchedulingQueue queue(options);
  EXPECT_EQ(queue.BackoffDuration(1), Seconds(2));
  EXPECT_EQ(queue.BackoffDuration(2), Seconds(4));
  EXPECT_EQ(queue.BackoffDuration(3), Seconds(5));
  EXPECT_EQ(queue.BackoffDuration(30), Seconds(5));
}

TEST(SchedulingQueue, BackoffQueueReleasesInExpiryOrder) {
  SchedulingQueue queue = NewQueue();
  ASSERT_TRUE(queue.Add(QueuePod("a"), At(0)).ok());
  ASSERT_TRUE(queue.Add(QueuePod("b"), At(1)).ok());
  FailAttempt(queue, "a", {}, At(10));  // expires at 11
  FailAttempt(queue, "b", {}, At(10));
  // b fails twice more: attempt 3 waits 4 s.
  ASSERT_EQ(queue.FlushBackoffCompleted(At(11)), 2u);
  FailAttempt(queue, "a", {}, At(11));  // attempt 2: 2 s, until 13
  FailAttempt(queue, "b", {}, At(11));  // attempt 2: 2 s, until 13
  ASSERT_EQ(queue.FlushBackoffCompleted(At(13)), 2u);
  FailAttempt(queue, "a", {}, At(13));  // attempt 3: until 17
  ASSERT_EQ(queue.Pop(At(13))->pod->name, "b");
  EXPECT_EQ(queue.NextBackoffExpiry(), At(17));
  EXPECT_EQ(queue.backoff_size(), 1u);
  EXPECT_EQ(queue.in_flight_size(), 1u);
}

// ---------------------------------------------------------------- unschedulable pods

TEST(SchedulingQueue, RejectedPodWaitsInUnschedulableWithItsPlugins) {
  SchedulingQueue queue = NewQueue();
  ASSERT_TRUE(queue.Add(QueuePod("p"), At(0)).ok());
  FailAttempt(queue, "p", {"NodeResourcesFit", "TaintToleration"}, At(1));
  auto pending = queue.Lookup("p");
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->queue, QueueName::kUnschedulable);
  EXPECT_EQ(pending->unschedulable_plugins, (std::vector<std::string>{"NodeResourcesFit", "TaintToleration"}));
  EXPECT_EQ(pending->attempts, 1);
  EXPECT_EQ(queue.unschedulable_size(), 1u);
  // Back-off passing does not release an unschedulable pod: only events or the leftover
  // flush do.
  EXPECT_EQ(queue.FlushBackoffCompleted(At(100)), 0u);
  EXPECT_EQ(queue.Pop(At(100)), nullptr);
}

TEST(SchedulingQueue, MoveRequestDuringTheAttemptSendsThePodToBackoff) {
  // Kubernetes' moveRequestCycle: if a move request came after the pod's cycle began, the
  // event that would free it may already be gone, so it is retried after its back-off.
  SchedulingQueue queue = NewQueue();
  ASSERT_TRUE(queue.Add(QueuePod("early"), At(0)).ok());
  ASSERT_TRUE(queue.Add(QueuePod("late"), At(1)).ok());
  auto always = [](const PodInfo&, const std::vector<std::string>&) { return true; };

  // A move request before the pop does not count.
  EXPECT_EQ(queue.MoveAllToActiveOrBackoff(kNodeAdd, At(2), always), 0u);
  auto early = queue.Pop(At(3));
  ASSERT_TRUE(queue.AddUnschedulableIfNotPresent(early->pod, {"NodeAffinity"}, early->scheduling_cycle, At(3)).ok());
  EXPECT_EQ(WhereIs(queue, "early"), QueueName::kUnschedulable);

  // A move request while `late` is in flight does.
  auto late = queue.Pop(At(4));
  EXPECT_EQ(queue.MoveAllToActiveOrBackoff(kNodeAdd, At(4), always), 1u);  // moves `early`
  ASSERT_TRUE(queue.AddUnschedulableIfNotPresent(late->pod, {"NodeAffinity"}, late->scheduling_cycle, At(4)).ok());
  EXPECT_EQ(WhereIs(queue, "late"), QueueName::kBackoff);
  EXPECT_EQ(queue.NextBackoffExpiry(), At(4) + Seconds(1));
}

TEST(SchedulingQueue, AnAttemptThatErredGoesToBackoff) {
  SchedulingQueue queue = NewQueue();
  ASSERT_TRUE(queue.Add(QueuePod("p"), At(0)).ok());
  FailAttempt(queue, "p", {}, At(1));
  EXPECT_EQ(WhereIs(queue, "p"), QueueName::kBackoff);
}

TEST(SchedulingQueue, AddUnschedulableWantsAnInFlightPod) {
  SchedulingQueue queue = NewQueue();
  PodInfoPtr pod = QueuePod("p");
  ASSERT_TRUE(queue.Add(pod, At(0)).ok());
  EXPECT_TRUE(queue.AddUnschedulableIfNotPresent(pod, {"X"}, 0, At(0)).Is(Status::Code::kAlreadyExists));
  auto popped = queue.Pop(At(0));
  queue.Delete("p");  // deleted while being scheduled
  EXPECT_TRUE(queue.AddUnschedulableIfNotPresent(popped->pod, {"X"}, popped->scheduling_cycle, At(0))
                  .Is(Status::Code::kNotFound));
  EXPECT_EQ(queue.size(), 0u);
  EXPECT_TRUE(queue.CheckInvariants().ok());
}

// Stands in for NodeResourcesFit: registers what Kubernetes' plugin registers (an assigned
// pod deleted, a node added or its allocatable changed), so the framework's EventMayHelp
// gates the moves as it would in the scheduler.
class FitStandIn : public FilterPlugin {
 public:
  std::string_view Name() const override { return "NodeResourcesFit"; }
  std::vector<ClusterEvent> EventsToRegister() const override {
    return {{EventResource::kAssignedPod, kEventDelete},
            {EventResource::kNode, kEventAdd | kEventUpdateNodeAllocatable}};
  }
  PluginStatus Filter(const CycleState&, const PodInfo&, const NodeInfo&) const override {
    return PluginStatus::Success();
  }
};

TEST(SchedulingQueue, EventsMoveOnlyPodsTheyMayHelp) {
  PluginRegistry registry;
  registry.Register("NodeResourcesFit", [](const nlohmann::json&, std::unique_ptr<Plugin>* out) {
    *out = std::make_unique<FitStandIn>();
    return Status::Ok();
  });
  ProfileConfig profile;
  profile.filter = {"NodeResourcesFit"};
  std::unique_ptr<Framework> framework;
  ASSERT_TRUE(Framework::Create(profile, registry, &framework).ok());

  SchedulingQueue queue = NewQueue();
  ASSERT_TRUE(queue.Add(QueuePod("big"), At(0)).ok());
  FailAttempt(queue, "big", {"NodeResourcesFit"}, At(0));
  auto may_help = [&](const ClusterEvent& event) {
    return [&framework, event](const PodInfo&, const std::vector<std::string>& plugins) {
      return framework->EventMayHelp(event, plugins);
    };
  };
  // A new namespace frees no cpu.
  EXPECT_EQ(queue.MoveAllToActiveOrBackoff(kNamespaceAdd, At(0) + Milliseconds(500), may_help(kNamespaceAdd)), 0u);
  EXPECT_EQ(WhereIs(queue, "big"), QueueName::kUnschedulable);
  // A deleted pod does; the pod is still backing off (1 s), so it waits in backoffQ.
  EXPECT_EQ(queue.MoveAllToActiveOrBackoff(kAssignedPodDelete, At(0) + Milliseconds(500), may_help(kAssignedPodDelete)),
            1u);
  EXPECT_EQ(WhereIs(queue, "big"), QueueName::kBackoff);
  EXPECT_EQ(queue.Lookup("big")->moved_by->resource, EventResource::kAssignedPod);
  EXPECT_EQ(queue.FlushBackoffCompleted(At(1)), 1u);
  auto big = queue.Pop(At(1));
  ASSERT_EQ(big->pod->name, "big");

  // Rejected again (the last move request came before this cycle: unschedulable); this
  // time the event comes after the back-off (2 s), so the pod goes straight to activeQ.
  ASSERT_TRUE(queue.AddUnschedulableIfNotPresent(big->pod, {"NodeResourcesFit"}, big->scheduling_cycle, At(2)).ok());
  EXPECT_EQ(WhereIs(queue, "big"), QueueName::kUnschedulable);
  EXPECT_EQ(queue.MoveAllToActiveOrBackoff(kNodeAdd, At(60), may_help(kNodeAdd)), 1u);
  EXPECT_EQ(WhereIs(queue, "big"), QueueName::kActive);
  EXPECT_EQ(queue.Lookup("big")->moved_by->resource, EventResource::kNode);
}

TEST(SchedulingQueue, UnschedulableLeftoversAreRetriedAfterFiveMinutes) {
  // podMaxInUnschedulablePodsDuration: 5 minutes, strictly exceeded.
  SchedulingQueue queue = NewQueue();
  ASSERT_TRUE(queue.Add(QueuePod("p"), At(0)).ok());
  FailAttempt(queue, "p", {"NodeAffinity"}, At(10));
  EXPECT_EQ(queue.FlushUnschedulableLeftover(At(10 + 299)), 0u);
  EXPECT_EQ(queue.FlushUnschedulableLeftover(At(10 + 300)), 0u);
  EXPECT_EQ(WhereIs(queue, "p"), QueueName::kUnschedulable);
  EXPECT_EQ(queue.FlushUnschedulableLeftover(At(10 + 300) + Nanos(1)), 1u);
  EXPECT_EQ(WhereIs(queue, "p"), QueueName::kActive);
  EXPECT_FALSE(queue.Lookup("p")->moved_by.has_value());
}

// ---------------------------------------------------------------- updates

TEST(SchedulingQueue, UpdateThatMayHelpMovesAnUnschedulablePod) {
  // Kubernetes' isPodUpdated: status and bookkeeping changes do not earn a retry.
  SchedulingQueue queue = NewQueue();
  PodInfoPtr pod = QueuePod("p", 0, {{"app", "web"}});
  ASSERT_TRUE(queue.Add(pod, At(0)).ok());
  FailAttempt(queue, "p", {"NodeAffinity"}, At(0));

  PodInfoPtr status_only = Changed(pod, [](api::Pod& p) {
    p.mutable_metadata()->set_resource_version("42");
    p.mutable_status()->set_phase("Pending");
  });
  ASSERT_TRUE(queue.Update(pod, status_only, At(5)).ok());
  EXPECT_EQ(WhereIs(queue, "p"), QueueName::kUnschedulable);

  PodInfoPtr relabeled =
      Changed(status_only, [](api::Pod& p) { (*p.mutable_metadata()->mutable_labels())["app"] = "db"; });
  ASSERT_TRUE(queue.Update(status_only, relabeled, At(5)).ok());
  EXPECT_EQ(WhereIs(queue, "p"), QueueName::kActive);  // back-off (1 s from t=0) is over
  EXPECT_EQ(queue.Pop(At(5))->pod->labels.at("app"), "db");
}

TEST(SchedulingQueue, UpdateDuringBackoffGoesToBackoff) {
  SchedulingQueue queue = NewQueue();
  PodInfoPtr pod = QueuePod("p");
  ASSERT_TRUE(queue.Add(pod, At(0)).ok());
  FailAttempt(queue, "p", {"NodeAffinity"}, At(10));
  PodInfoPtr relabeled = Changed(pod, [](api::Pod& p) { (*p.mutable_metadata()->mutable_labels())["x"] = "y"; });
  ASSERT_TRUE(queue.Update(pod, relabeled, At(10) + Milliseconds(100)).ok());
  EXPECT_EQ(WhereIs(queue, "p"), QueueName::kBackoff);
  EXPECT_EQ(queue.NextBackoffExpiry(), At(11));
}

TEST(SchedulingQueue, UpdateResortsActivePods) {
  SchedulingQueue queue = NewQueue();
  PodInfoPtr a = QueuePod("a", 1);
  ASSERT_TRUE(queue.Add(a, At(0)).ok());
  ASSERT_TRUE(queue.Add(QueuePod("b", 5), At(0)).ok());
  ASSERT_TRUE(queue.Update(a, Changed(a, [](api::Pod& p) { p.mutable_spec()->set_priority(10); }), At(1)).ok());
  EXPECT_EQ(PopAll(queue, At(2)), (std::vector<std::string>{"a", "b"}));
}

TEST(SchedulingQueue, UpdateOfAnInFlightPodRetriesItAfterBackoff) {
  SchedulingQueue queue = NewQueue();
  PodInfoPtr pod = QueuePod("p");
  ASSERT_TRUE(queue.Add(pod, At(0)).ok());
  auto popped = queue.Pop(At(0));
  PodInfoPtr relabeled = Changed(pod, [](api::Pod& p) { (*p.mutable_metadata()->mutable_labels())["x"] = "y"; });
  ASSERT_TRUE(queue.Update(pod, relabeled, At(0)).ok());
  EXPECT_EQ(WhereIs(queue, "p"), QueueName::kInFlight);
  ASSERT_TRUE(queue.AddUnschedulableIfNotPresent(popped->pod, {"NodeAffinity"}, popped->scheduling_cycle, At(1)).ok());
  EXPECT_EQ(WhereIs(queue, "p"), QueueName::kBackoff);
  EXPECT_EQ(queue.Lookup("p")->pod->labels.at("x"), "y");  // the newer pod is kept
}

TEST(SchedulingQueue, UpdateAddsUnknownPodsAndDropsAssignedOnes) {
  SchedulingQueue queue = NewQueue();
  PodInfoPtr pod = QueuePod("p");
  ASSERT_TRUE(queue.Update(nullptr, pod, At(0)).ok());
  EXPECT_EQ(WhereIs(queue, "p"), QueueName::kActive);
  ASSERT_TRUE(queue.Update(pod, BoundTo(pod, "n1"), At(1)).ok());
  EXPECT_FALSE(queue.Lookup("p").has_value());
  EXPECT_EQ(queue.size(), 0u);
}

TEST(SchedulingQueue, DoneForgetsAScheduledPod) {
  SchedulingQueue queue = NewQueue();
  ASSERT_TRUE(queue.Add(QueuePod("p"), At(0)).ok());
  ASSERT_TRUE(queue.Add(QueuePod("q"), At(0)).ok());
  auto popped = queue.Pop(At(0));
  queue.Done("q");  // not in flight: ignored
  EXPECT_EQ(queue.size(), 2u);
  queue.Done(popped->pod->uid);
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue.in_flight_size(), 0u);
  EXPECT_TRUE(queue.CheckInvariants().ok());
}

TEST(SchedulingQueue, PendingPodsListsEveryPodSortedByKey) {
  SchedulingQueue queue = NewQueue();
  ASSERT_TRUE(queue.Add(QueuePod("c"), At(0)).ok());
  ASSERT_TRUE(queue.Add(QueuePod("a"), At(1)).ok());
  ASSERT_TRUE(queue.Add(QueuePod("b"), At(2)).ok());
  FailAttempt(queue, "c", {"TaintToleration"}, At(3));
  ASSERT_NE(queue.Pop(At(3)), nullptr);  // a
  std::vector<PendingPod> pods = queue.PendingPods();
  ASSERT_EQ(pods.size(), 3u);
  EXPECT_EQ(pods[0].pod->name, "a");
  EXPECT_EQ(QueueNameString(pods[0].queue), "in-flight");
  EXPECT_EQ(QueueNameString(pods[1].queue), "active");
  EXPECT_EQ(QueueNameString(pods[2].queue), "unschedulable");
  EXPECT_EQ(pods[2].unschedulable_plugins, std::vector<std::string>{"TaintToleration"});
  EXPECT_EQ(pods[2].backoff_expiry, At(4));
}

// ---------------------------------------------------------------- nominator

std::vector<std::string> NominatedOn(const SchedulingQueue& queue, const std::string& node) {
  std::vector<std::string> names;
  auto it = queue.nominated_pods().find(node);
  if (it != queue.nominated_pods().end()) {
    for (const PodInfoPtr& pod : it->second) names.push_back(pod->name);
  }
  return names;
}

TEST(SchedulingQueue, NominatorRecordsAndClearsNominations) {
  SchedulingQueue queue = NewQueue();
  PodInfoPtr a = QueuePod("a", 10);
  ASSERT_TRUE(queue.Add(a, At(0)).ok());
  ASSERT_TRUE(queue.Add(QueuePod("b", 5), At(0)).ok());
  ASSERT_TRUE(queue.Add(QueuePod("c", 1, {}, "n2"), At(0)).ok());  // from its status
  EXPECT_EQ(NominatedOn(queue, "n2"), std::vector<std::string>{"c"});

  ASSERT_TRUE(queue.SetNominatedNode("a", "n1").ok());
  ASSERT_TRUE(queue.SetNominatedNode("b", "n1").ok());
  EXPECT_EQ(NominatedOn(queue, "n1"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(queue.NominatedNode("a"), "n1");
  EXPECT_TRUE(queue.SetNominatedNode("ghost", "n1").Is(Status::Code::kNotFound));

  // Re-nominated elsewhere: moves.
  ASSERT_TRUE(queue.SetNominatedNode("b", "n2").ok());
  EXPECT_EQ(NominatedOn(queue, "n1"), std::vector<std::string>{"a"});
  EXPECT_EQ(NominatedOn(queue, "n2"), (std::vector<std::string>{"c", "b"}));

  // An update whose status does not show the nomination yet keeps it, on the new pod.
  PodInfoPtr a2 = Changed(a, [](api::Pod& p) { (*p.mutable_metadata()->mutable_labels())["v"] = "2"; });
  ASSERT_TRUE(queue.Update(a, a2, At(1)).ok());
  ASSERT_EQ(queue.nominated_pods().at("n1").size(), 1u);
  EXPECT_EQ(queue.nominated_pods().at("n1")[0], a2);
  // An update that sets another nominatedNodeName follows it.
  PodInfoPtr a3 = Changed(a2, [](api::Pod& p) { p.mutable_status()->set_nominated_node_name("n3"); });
  ASSERT_TRUE(queue.Update(a2, a3, At(2)).ok());
  EXPECT_EQ(queue.NominatedNode("a"), "n3");
  EXPECT_EQ(queue.nominated_pods().count("n1"), 0u);  // empty lists are dropped
  // One that removes it clears it.
  PodInfoPtr a4 = Changed(a3, [](api::Pod& p) { p.mutable_status()->clear_nominated_node_name(); });
  ASSERT_TRUE(queue.Update(a3, a4, At(3)).ok());
  EXPECT_EQ(queue.NominatedNode("a"), "");

  // Bound (Done) and deleted pods lose their nominations.
  auto popped = queue.Pop(At(4));  // a (priority 10)
  ASSERT_EQ(popped->pod->name, "a");
  ASSERT_TRUE(queue.SetNominatedNode("a", "n1").ok());
  queue.Done("a");
  EXPECT_EQ(queue.NominatedNode("a"), "");
  queue.Delete("c");
  EXPECT_EQ(NominatedOn(queue, "n2"), std::vector<std::string>{"b"});
  queue.ClearNominatedNode("b");
  EXPECT_TRUE(queue.nominated_pods().empty());
  EXPECT_TRUE(queue.CheckInvariants().ok());
}

// ---------------------------------------------------------------- property

// Under random operation sequences: every added, not deleted and not finished pod is known
// to the queue in exactly one place (CheckInvariants checks the sets agree), in flight
// exactly when the model says so; Pop never returns a deleted pod, and always returns the
// PrioritySort head of what activeQ held.
RC_GTEST_PROP(SchedulingQueueProperty, PodsAreInExactlyOnePlaceAndPopRespectsPriority, ()) {
  SchedulingQueueOptions options;
  options.max_pods = 6;
  SchedulingQueue queue(options);
  constexpr int kPods = 8;
  std::vector<PodInfoPtr> pods;
  for (int i = 0; i < kPods; ++i) {
    pods.push_back(QueuePod("p" + std::to_string(i), *rc::gen::inRange(-2, 3)));
  }
  struct Model {
    bool in_flight = false;
    int64_t cycle = 0;
  };
  std::map<std::string, Model> model;  // uid -> state, for pods the queue should know
  std::set<std::string> gone;          // deleted or done since last added
  Nanos now{0};
  const std::vector<std::string> plugin_names = {"A", "B"};

  const int steps = *rc::gen::inRange(1, 150);
  for (int step = 0; step < steps; ++step) {
    const int i = *rc::gen::inRange(0, kPods);
    const PodInfoPtr& pod = pods[static_cast<size_t>(i)];
    switch (*rc::gen::inRange(0, 11)) {
      case 0:
      case 1: {  // Add
        Status s = queue.Add(pod, now);
        if (model.contains(pod->uid)) {
          RC_ASSERT(s.Is(Status::Code::kAlreadyExists));
        } else if (model.size() >= options.max_pods) {
          RC_ASSERT(s.Is(Status::Code::kUnavailable));
        } else {
          RC_ASSERT(s.ok());
          model[pod->uid] = Model{};
          gone.erase(pod->uid);
        }
        break;
      }
      case 2: {  // Delete
        queue.Delete(pod->uid);
        if (model.erase(pod->uid) > 0) gone.insert(pod->uid);
        break;
      }
      case 3:
      case 4: {  // Pop: must be the PrioritySort head of activeQ
        std::vector<PendingPod> active;
        for (const PendingPod& p : queue.PendingPods()) {
          if (p.queue == QueueName::kActive) active.push_back(p);
        }
        auto popped = queue.Pop(now);
        if (active.empty()) {
          RC_ASSERT(popped == nullptr);
          break;
        }
        RC_ASSERT(popped != nullptr);
        RC_ASSERT(!gone.contains(popped->pod->uid));
        RC_ASSERT(model.contains(popped->pod->uid));
        RC_ASSERT(!model[popped->pod->uid].in_flight);
        const auto head = std::min_element(active.begin(), active.end(), [](const PendingPod& a, const PendingPod& b) {
          if (a.pod->priority != b.pod->priority) return a.pod->priority > b.pod->priority;
          if (a.timestamp != b.timestamp) return a.timestamp < b.timestamp;
          return a.pod->Key() < b.pod->Key();
        });
        RC_ASSERT(popped->pod->uid == head->pod->uid);
        model[popped->pod->uid] = Model{true, popped->scheduling_cycle};
        break;
      }
      case 5: {  // a failed attempt for some in-flight pod
        std::vector<std::string> in_flight;
        for (const auto& [uid, m] : model) {
          if (m.in_flight) in_flight.push_back(uid);
        }
        if (in_flight.empty()) break;
        const std::string uid = *rc::gen::elementOf(in_flight);
        std::set<std::string> plugins;
        for (const std::string& name : plugin_names) {
          if (*rc::gen::arbitrary<bool>()) plugins.insert(name);
        }
        const PodInfoPtr& failed = pods[static_cast<size_t>(std::stoi(uid.substr(1)))];
        RC_ASSERT(queue.AddUnschedulableIfNotPresent(failed, plugins, model[uid].cycle, now).ok());
        model[uid].in_flight = false;
        break;
      }
      case 6: {  // Done for some pod (ignored unless in flight)
        queue.Done(pod->uid);
        auto it = model.find(pod->uid);
        if (it != model.end() && it->second.in_flight) {
          model.erase(it);
          gone.insert(pod->uid);
        }
        break;
      }
      case 7: {  // an event that helps pods rejected by plugin A only
        const ClusterEvent event{EventResource::kNode, kEventAdd};
        queue.MoveAllToActiveOrBackoff(event, now, [](const PodInfo&, const std::vector<std::string>& plugins) {
          return std::find(plugins.begin(), plugins.end(), "A") != plugins.end();
        });
        break;
      }
      case 8: {  // time passes; timers fire
        now += Milliseconds(*rc::gen::inRange(0, 400'000));
        queue.FlushBackoffCompleted(now);
        queue.FlushUnschedulableLeftover(now);
        if (auto next = queue.NextBackoffExpiry()) RC_ASSERT(*next > now);
        break;
      }
      case 9: {  // an update: relabel (may help) or status only
        const bool relabel = *rc::gen::arbitrary<bool>();
        PodInfoPtr updated = Changed(pod, [&](api::Pod& p) {
          if (relabel) (*p.mutable_metadata()->mutable_labels())["step"] = std::to_string(step);
          p.mutable_metadata()->set_resource_version(std::to_string(step));
        });
        Status s = queue.Update(pod, updated, now);
        if (!model.contains(pod->uid)) {  // an unknown pod is added
          RC_ASSERT(s.ok() == (model.size() < options.max_pods));
          if (s.ok()) {
            model[pod->uid] = Model{};
            gone.erase(pod->uid);
          }
        } else {
          RC_ASSERT(s.ok());
        }
        break;
      }
      default: {  // nominate
        Status s = queue.SetNominatedNode(pod->uid, "n" + std::to_string(*rc::gen::inRange(0, 2)));
        RC_ASSERT(s.ok() == model.contains(pod->uid));
        break;
      }
    }
    Status invariants = queue.CheckInvariants();
    RC_ASSERT(invariants.ok());
    RC_ASSERT(queue.size() == model.size());
    RC_ASSERT(queue.active_size() + queue.backoff_size() + queue.unschedulable_size() + queue.in_flight_size() ==
              model.size());
    for (const auto& [uid, m] : model) {
      auto pending = queue.Lookup(uid);
      RC_ASSERT(pending.has_value());
      RC_ASSERT((pending->queue == QueueName::kInFlight) == m.in_flight);
    }
    for (const std::string& uid : gone) RC_ASSERT(!queue.Lookup(uid).has_value());
  }
}

}  // namespace
}  // namespace ksim::scheduler::testing
