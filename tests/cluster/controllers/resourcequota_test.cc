// The ResourceQuota controller against the API in the simulated world: usage recomputed
// over existing objects, lowered only after the quota settles, after deletes and terminal
// pods, across a failover; and a RapidCheck property with controller-manager faults.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <ostream>
#include <sstream>

#include "cluster/api/machinery/quantity.h"
#include "cluster/controllers/resource_quota.h"
#include "tests/cluster/controllers/cm_cluster.h"
#include "tests/property_cases.h"

namespace ksim::controllers::testing {
namespace {

const api::KindInfo& QuotaKind() { return Kind("", "resourcequotas"); }

api::Pod MakePod(const std::string& name, const std::string& cpu = "", const std::string& memory = "") {
  api::Pod p;
  p.mutable_metadata()->set_name(name);
  p.mutable_metadata()->set_namespace_("default");
  auto* c = p.mutable_spec()->add_containers();
  c->set_name("c");
  c->set_image("nginx");
  if (!cpu.empty()) {
    (*c->mutable_resources()->mutable_requests())["cpu"] = cpu;
    (*c->mutable_resources()->mutable_limits())["cpu"] = cpu;
  }
  if (!memory.empty()) (*c->mutable_resources()->mutable_requests())["memory"] = memory;
  return p;
}

api::ResourceQuota MakeQuota(std::map<std::string, std::string> hard) {
  api::ResourceQuota q;
  q.mutable_metadata()->set_name("q");
  q.mutable_metadata()->set_namespace_("default");
  for (const auto& [k, v] : hard) (*q.mutable_spec()->mutable_hard())[k] = v;
  return q;
}

// The canonical form of a quantity ("0.2" and "200m" compare equal).
std::string Canon(const std::string& text) {
  api::Quantity q;
  return api::Quantity::Parse(text, &q).ok() ? q.String() : "bad:" + text;
}

class QuotaTest : public ::testing::Test {
 public:
  explicit QuotaTest(uint64_t seed = 1) : c(seed) {}
  void Start(int managers = 1) {
    for (int i = 1; i <= managers; ++i) {
      c.AddManager(i, [](ControllerManagerOptions& o) { o.controllers = {kResourceQuotaControllerName}; });
    }
    c.Run(Seconds(20));
  }
  api::ResourceQuota Quota() {
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Get(QuotaKind(), "default", "q", std::move(d)); });
    api::ResourceQuota q;
    EXPECT_TRUE(r.ok() && q.ParseFromString(r.body)) << r.Describe();
    return q;
  }
  std::string Used(const std::string& name) {
    const auto q = Quota();
    auto it = q.status().used().find(name);
    return it == q.status().used().end() ? "<none>" : Canon(it->second);
  }
  void SetPhase(const std::string& name, const std::string& phase) {
    api::Pod p = c.List<api::Pod>("pods", "default").at(name);
    p.mutable_status()->set_phase(phase);
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(Kind("", "pods"), p, std::move(d), "status"); });
    ASSERT_TRUE(r.ok()) << r.Describe();
  }
  void Delete(const std::string& resource, const std::string& name) {
    auto r = c.api.Await([&](client::ApiClient::Done d) {
      c.kubectl->Delete(Kind("", resource), "default", name, std::move(d), {{"gracePeriodSeconds", "0"}});
    });
    ASSERT_TRUE(r.ok()) << r.Describe();
  }
  // What an unknown-outcome create leaves behind: usage above what exists.
  void OverCount(const std::string& name, const std::string& value) {
    api::ResourceQuota q = Quota();
    (*q.mutable_status()->mutable_used())[name] = value;
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(QuotaKind(), q, std::move(d), "status"); });
    ASSERT_TRUE(r.ok()) << r.Describe();
  }
  CmCluster c;
};

// Kubernetes' docs example (quota-api-object): a quota created over objects that already
// exist shows their usage; terminal pods do not count; names nothing charges show 0.
TEST_F(QuotaTest, RecomputesUsageForAQuotaCreatedOverExistingObjects) {
  ASSERT_TRUE(c.Create(MakePod("a", "100m", "64Mi")).ok());
  ASSERT_TRUE(c.Create(MakePod("b", "250m", "128Mi")).ok());
  ASSERT_TRUE(c.Create(MakePod("done", "1", "1Gi")).ok());
  SetPhase("done", "Succeeded");
  for (const char* n : {"cm1", "cm2"}) {
    api::ConfigMap cm;
    cm.mutable_metadata()->set_name(n);
    cm.mutable_metadata()->set_namespace_("default");
    ASSERT_TRUE(c.Create(cm).ok());
  }
  api::Secret s;
  s.mutable_metadata()->set_name("s");
  s.mutable_metadata()->set_namespace_("default");
  ASSERT_TRUE(c.Create(s).ok());
  Start();
  ASSERT_TRUE(c.Create(MakeQuota({{"pods", "10"},
                                  {"requests.cpu", "2"},
                                  {"limits.cpu", "4"},
                                  {"requests.memory", "1Gi"},
                                  {"configmaps", "5"},
                                  {"secrets", "5"},
                                  {"services", "5"},
                                  {"count/deployments.apps", "3"},
                                  {"requests.storage", "10Gi"}}))
                  .ok());
  c.Run(Seconds(5));
  const api::ResourceQuota q = Quota();
  ASSERT_EQ(q.status().hard_size(), q.spec().hard_size());
  for (const auto& [k, v] : q.spec().hard()) EXPECT_EQ(q.status().hard().at(k), v) << k;
  EXPECT_EQ(Used("pods"), "2");
  EXPECT_EQ(Used("requests.cpu"), Canon("350m"));
  EXPECT_EQ(Used("limits.cpu"), Canon("350m"));
  EXPECT_EQ(Used("requests.memory"), Canon("192Mi"));
  EXPECT_EQ(Used("configmaps"), "2");
  EXPECT_EQ(Used("secrets"), "1");
  EXPECT_EQ(Used("services"), "0");
  EXPECT_EQ(Used("count/deployments.apps"), "0");
  EXPECT_EQ(Used("requests.storage"), "0");
  EXPECT_TRUE(c.violations.empty());
}

// A pod turning Succeeded lowers usage, but only once the quota's revision has stood for
// resource_quota_settle (30 s): a create charged just before is counted, never dropped.
TEST_F(QuotaTest, LowersUsageOnlyAfterTheQuotaSettles) {
  Start();
  ASSERT_TRUE(c.Create(MakeQuota({{"pods", "5"}})).ok());
  for (const char* n : {"a", "b", "c"}) ASSERT_TRUE(c.Create(MakePod(n)).ok());
  c.Run(Seconds(60));
  EXPECT_EQ(Used("pods"), "3");
  SetPhase("a", "Succeeded");
  ASSERT_TRUE(c.Create(MakePod("d")).ok());  // charged: the quota's revision moves
  c.Run(Seconds(10));
  EXPECT_EQ(Used("pods"), "4") << "lowered before the quota settled";
  c.Run(Seconds(30));
  EXPECT_EQ(Used("pods"), "3");
  // An over-count (a create whose outcome the store left unknown) is corrected.
  OverCount("pods", "5");
  c.Run(Seconds(10));
  EXPECT_EQ(Used("pods"), "5");
  c.Run(Seconds(310));  // the resync period (5 m) finds it
  EXPECT_EQ(Used("pods"), "3");
  EXPECT_TRUE(c.violations.empty());
}

TEST_F(QuotaTest, DeletesAndTerminalPodsAreGivenBack) {
  Start();
  ASSERT_TRUE(c.Create(MakeQuota({{"pods", "3"}, {"requests.cpu", "1"}})).ok());
  for (const char* n : {"a", "b", "c"}) ASSERT_TRUE(c.Create(MakePod(n, "300m")).ok());
  EXPECT_FALSE(c.Create(MakePod("d", "300m")).ok()) << "over the quota";
  Delete("pods", "a");
  SetPhase("b", "Failed");
  c.Run(Seconds(45));
  EXPECT_EQ(Used("pods"), "1");
  EXPECT_EQ(Used("requests.cpu"), Canon("300m"));
  EXPECT_TRUE(c.Create(MakePod("d", "300m")).ok());
  EXPECT_TRUE(c.Create(MakePod("e", "300m")).ok());
  EXPECT_FALSE(c.Create(MakePod("f", "300m")).ok()) << "the quota holds again";
}

// The leader crashes after the quota was written; pods finish and are deleted while no
// replica leads; the second replica takes over and recomputes.
TEST_F(QuotaTest, AFailoverMidwayRecomputes) {
  Start(2);
  ASSERT_TRUE(c.Create(MakeQuota({{"pods", "10"}})).ok());
  for (const char* n : {"a", "b", "c", "d"}) ASSERT_TRUE(c.Create(MakePod(n)).ok());
  c.Run(Seconds(5));
  const int leader = c.Leader();
  ASSERT_NE(leader, 0);
  c.ManagerHost(leader).CrashProcess("controller-manager");
  SetPhase("a", "Succeeded");
  SetPhase("b", "Failed");
  OverCount("pods", "7");
  c.Run(Seconds(60));
  const int next = c.Leader();
  EXPECT_NE(next, 0);
  EXPECT_NE(next, leader);
  EXPECT_EQ(Used("pods"), "2");
  EXPECT_TRUE(c.violations.empty()) << c.violations[0];
}

// ---- Property: random controller-manager faults while pods are created, finish and are
// deleted. Safety: the active (non-terminal) pods never exceed the quota. Liveness: once
// everything heals, status.used equals the true usage. One acting replica at a time.

constexpr int kManagers = 3;
constexpr int kHardPods = 5;

enum ActionKind { kCrash, kRestart, kIsolate, kHeal, kCreate, kFinish, kDelete, kActionKinds };
struct Action {
  int at_ms = 0;
  int kind = 0;
  int target = 0;
};

std::ostream& operator<<(std::ostream& os, const Action& a) {
  static const char* names[] = {"crash", "restart", "isolate", "heal", "create", "finish", "delete"};
  return os << "t=" << a.at_ms << "ms " << names[a.kind] << " " << a.target;
}

std::string RunQuotaSchedule(std::vector<Action> schedule, uint64_t seed) {
  std::sort(schedule.begin(), schedule.end(), [](const Action& a, const Action& b) { return a.at_ms < b.at_ms; });
  CmCluster c(seed);
  for (int i = 1; i <= kManagers; ++i) {
    c.AddManager(i, [](ControllerManagerOptions& o) { o.controllers = {kResourceQuotaControllerName}; });
  }
  c.Run(Seconds(20));
  if (!c.Create(MakeQuota({{"pods", std::to_string(kHardPods)}, {"requests.cpu", "2"}})).ok()) return "quota create";
  int next_pod = 0;
  std::string failure;
  const auto pods = [&c] { return c.List<api::Pod>("pods", "default"); };
  const auto active = [](const std::map<std::string, api::Pod>& ps) {
    std::vector<std::string> out;
    for (const auto& [n, p] : ps) {
      if (p.status().phase() != "Succeeded" && p.status().phase() != "Failed") out.push_back(n);
    }
    return out;
  };
  Nanos last_action{};
  const auto check = [&] {
    const size_t n = active(pods()).size();
    if (n > static_cast<size_t>(kHardPods) && failure.empty()) {
      failure = "safety: " + std::to_string(n) + " active pods over a quota of " + std::to_string(kHardPods);
    }
    // Once the test's own calls have landed (1 s after the last action), usage must cover
    // what exists: the controller never lowers it below that.
    if (c.Now() >= last_action + Seconds(1) && failure.empty()) {
      auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Get(QuotaKind(), "default", "q", std::move(d)); });
      api::ResourceQuota q;
      if (r.ok() && q.ParseFromString(r.body) && q.status().used().count("pods")) {
        api::Quantity used;
        if (api::Quantity::Parse(q.status().used().at("pods"), &used).ok() &&
            used < api::Quantity::FromValue(static_cast<int64_t>(n))) {
          failure = "safety: used pods=" + used.String() + " below the " + std::to_string(n) + " active pods";
        }
      }
    }
    if (!c.violations.empty() && failure.empty()) failure = c.violations[0];
  };
  const auto create = [&] {  // fire and forget: creates race with the controller
    c.kubectl->Create(Kind("", "pods"), MakePod("p" + std::to_string(next_pod++), "300m"), [](const client::ApiResult&) {});
  };
  const Nanos start = c.Now();
  for (const Action& a : schedule) {
    while (c.Now() < start + Milliseconds(a.at_ms)) {
      c.Run(std::min(Seconds(1), start + Milliseconds(a.at_ms) - c.Now()));
      check();
    }
    const int m = a.target % kManagers + 1;
    last_action = c.Now();
    switch (a.kind) {
      case kCrash: c.ManagerHost(m).CrashProcess("controller-manager"); break;
      case kRestart: c.ManagerHost(m).RestartProcess("controller-manager"); break;
      case kIsolate: c.api.store.world.network().Isolate(c.ManagerHost(m).id()); break;
      case kHeal: c.api.store.world.network().Heal(); break;
      case kCreate:
        for (int i = 0; i <= a.target % 3; ++i) create();
        break;
      case kFinish:
      case kDelete: {
        const auto ps = pods();
        const auto act = active(ps);
        if (act.empty()) break;
        const std::string name = act[static_cast<size_t>(a.target) % act.size()];
        if (a.kind == kDelete) {
          c.kubectl->Delete(Kind("", "pods"), "default", name, [](const client::ApiResult&) {},
                            {{"gracePeriodSeconds", "0"}});
        } else {
          api::Pod p = ps.at(name);
          p.mutable_status()->set_phase(a.target % 2 == 0 ? "Succeeded" : "Failed");
          c.kubectl->Update(Kind("", "pods"), p, [](const client::ApiResult&) {}, "status");
        }
        // Creates racing with the recount the change triggers, spread over its window.
        for (int i = 0; i < 4; ++i) {
          c.Run(Milliseconds(1 + a.target % 4));
          create();
        }
        break;
      }
      default: break;
    }
  }
  c.api.store.world.network().Heal();
  for (int i = 1; i <= kManagers; ++i) c.ManagerHost(i).RestartProcess("controller-manager");
  const Nanos deadline = c.Now() + Seconds(120);
  std::string want_pods, want_cpu, got_pods, got_cpu;
  bool converged = false;
  while (!converged && c.Now() < deadline && failure.empty()) {
    c.Run(Seconds(2));
    check();
    const auto ps = pods();
    api::Quantity cpu = api::Quantity::FromValue(0);
    for (size_t i = 0; i < active(ps).size(); ++i) (void)cpu.Add(api::Quantity::FromMilli(300));
    want_pods = std::to_string(active(ps).size());
    want_cpu = cpu.String();
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Get(QuotaKind(), "default", "q", std::move(d)); });
    api::ResourceQuota q;
    if (!r.ok() || !q.ParseFromString(r.body)) continue;
    got_pods = q.status().used().count("pods") ? Canon(q.status().used().at("pods")) : "<none>";
    got_cpu = q.status().used().count("requests.cpu") ? Canon(q.status().used().at("requests.cpu")) : "<none>";
    converged = got_pods == want_pods && got_cpu == want_cpu;
  }
  if (failure.empty() && !converged) {
    failure = "liveness: 120 s after healing used pods=" + got_pods + " requests.cpu=" + got_cpu + ", true " +
              want_pods + " / " + want_cpu;
  }
  if (!failure.empty()) {
    std::ostringstream os;
    for (const Action& a : schedule) os << "\n  " << a;
    failure += os.str();
  }
  return failure;
}

void QuotaProperty(int cases, int schedule_ms) {
  ::ksim::testing::CheckPropertyCases("QuotaUsageConvergesAndIsNeverExceeded", cases, [schedule_ms] {
    const auto schedule = *rc::gen::container<std::vector<Action>>(
        *rc::gen::inRange(0, 24),
        rc::gen::build<Action>(rc::gen::set(&Action::at_ms, rc::gen::inRange(0, schedule_ms)),
                               rc::gen::set(&Action::kind, rc::gen::inRange(0, static_cast<int>(kActionKinds))),
                               rc::gen::set(&Action::target, rc::gen::inRange(0, 12))));
    const std::string failure = RunQuotaSchedule(schedule, *rc::gen::inRange<uint64_t>(1, 1000));
    if (!failure.empty()) RC_FAIL(failure);
  });
}

TEST(QuotaProperty, UsageConvergesAndIsNeverExceededAcrossFailovers) { QuotaProperty(5, 90000); }
// `ctest -L long` only (the CMakeLists labels it).
TEST(QuotaPropertyLong, UsageConvergesAndIsNeverExceededAcrossFailovers) { QuotaProperty(100, 120000); }

}  // namespace
}  // namespace ksim::controllers::testing
