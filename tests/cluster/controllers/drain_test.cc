// client::Drainer (kubectl drain) against the API in a simulated cluster: a ReplicaSet and
// the disruption controller, a fake pod runner that places pods on n1 until the drain
// starts and on n2 after. Checked: a budget holds evictions back until a replacement is
// Ready (and the drain still finishes), DaemonSet and mirror pods stay, and a pod no
// controller manages (or one with an emptyDir volume) stops the drain before any eviction.
#include "cluster/client/drain.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "tests/cluster/controllers/pdb_helpers.h"
#include "tests/sim/test_process.h"

namespace ksim::controllers::testing {
namespace {

class DrainTest : public ::testing::Test {
 public:
  ~DrainTest() override {
    drainer_->reset();
    client_->reset();
  }

  // n1 and n2 with kubelets, the ReplicaSet and disruption controllers, and `replicas` Ready
  // pods of ReplicaSet "web" on n1.
  void Start(int replicas) {
    c.AddKubelet("n1");
    c.AddKubelet("n2");
    c.AddPodRunner([drain_started = drain_started_](const api::Pod&) {
      PodPlan p = PodPlan::On(*drain_started ? "n2" : "n1");
      p.ready_after = Seconds(1);
      return p;
    });
    ASSERT_NO_FATAL_FAILURE(StartWebWithBudgets(c, replicas));
  }

  // A pod bound to n1 (the runner makes it Ready), changed by `shape` first.
  void AddPodOnN1(const std::string& name, const std::function<void(api::Pod&)>& shape) {
    api::Pod p = apiserver::testing::MakePod("default", name, {{"app", "other"}}, "n1");
    shape(p);
    ASSERT_TRUE(c.Create(p).ok());
  }

  // Drains n1 from a host of its own; runs the world until the drain answers (at most
  // `limit`), calling `each` every 100 ms.
  std::optional<client::DrainResult> Drain(client::DrainOptions options, Nanos limit,
                                           const std::function<void()>& each = nullptr) {
    *drain_started_ = true;
    auto result = std::make_shared<std::optional<client::DrainResult>>();
    client::ApiClientOptions co;
    co.endpoints = c.api.endpoints;
    co.token = apiserver::testing::kAdminToken;
    c.api.store.world.AddHost("admin-" + std::to_string(++drains_))
        .AddProcess("drain", sim::testing::Scripted([client = client_, drainer = drainer_, co, options,
                                                     result](sim::testing::ScriptedProcess& p) {
          *client = std::make_unique<client::ApiClient>(p.env(), co);
          *drainer = std::make_unique<client::Drainer>(p.env(), client->get(), options);
          (*drainer)->Drain("n1", [result](const client::DrainResult& r) { *result = r; });
        }));
    const Nanos end = c.Now() + limit;
    while (!result->has_value() && c.Now() < end) {
      c.Run(Milliseconds(100));
      if (each) each();
    }
    return *result;
  }

  std::map<std::string, api::Pod> Pods() { return c.List<api::Pod>("pods", "default"); }
  bool Cordoned() { return c.Nodes().at("n1").spec().unschedulable(); }

  CmCluster c;

 private:
  std::shared_ptr<bool> drain_started_ = std::make_shared<bool>(false);
  std::shared_ptr<std::unique_ptr<client::ApiClient>> client_ = std::make_shared<std::unique_ptr<client::ApiClient>>();
  std::shared_ptr<std::unique_ptr<client::Drainer>> drainer_ = std::make_shared<std::unique_ptr<client::Drainer>>();
  int drains_ = 0;
};

// minAvailable 2 of 3: the second eviction is refused (429) until the first pod's
// replacement on n2 is Ready; the drain retries and ends with every pod moved.
// Safety: Ready pods never fall below the budget. Liveness: the drain succeeds.
TEST_F(DrainTest, ABudgetHoldsEvictionsUntilTheReplacementIsReady) {
  Start(3);
  ASSERT_TRUE(c.Create(WebPdb("web", "2")).ok());
  c.Run(Seconds(3));
  size_t fewest_ready = 3;
  client::DrainOptions o;
  o.retry_interval = Seconds(1);
  const auto result = Drain(o, Seconds(120), [&] { fewest_ready = std::min(fewest_ready, ReadyPods(c).size()); });
  ASSERT_TRUE(result.has_value()) << "the drain did not finish";
  ASSERT_TRUE(result->status.ok()) << result->status.message();
  EXPECT_EQ(result->evicted.size(), 3u);
  EXPECT_GT(result->refusals, 0) << "the budget never held an eviction back";
  EXPECT_GE(fewest_ready, 2u) << "an eviction broke the budget";
  EXPECT_TRUE(Cordoned());
  c.Run(Seconds(5));  // the last replacement becomes Ready
  const auto pods = Pods();
  size_t on_n2 = 0;
  for (const auto& [name, p] : pods) {
    EXPECT_NE(p.spec().node_name(), "n1") << name << " is still on the drained node";
    on_n2 += p.spec().node_name() == "n2" && PodReady(p) ? 1 : 0;
  }
  EXPECT_EQ(on_n2, 3u);
  EXPECT_TRUE(c.violations.empty());
}

// A pod a DaemonSet controls and a static pod's mirror stay on the node; the rest go.
TEST_F(DrainTest, DaemonSetAndMirrorPodsAreLeftWhereTheyAre) {
  Start(1);
  AddPodOnN1("daemon", [](api::Pod& p) {
    api::OwnerReference& ref = *p.mutable_metadata()->add_owner_references();
    ref.set_api_version("apps/v1");
    ref.set_kind("DaemonSet");
    ref.set_name("agent");
    ref.set_uid("ds-uid");
    ref.set_controller(true);
  });
  AddPodOnN1("static-n1", [](api::Pod& p) { (*p.mutable_metadata()->mutable_annotations())["kubernetes.io/config.mirror"] = "x"; });
  c.Run(Seconds(3));
  const auto result = Drain({}, Seconds(60));
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->status.ok()) << result->status.message();
  EXPECT_EQ(std::set<std::string>(result->skipped.begin(), result->skipped.end()),
            (std::set<std::string>{"default/daemon", "default/static-n1"}));
  ASSERT_EQ(result->evicted.size(), 1u);
  EXPECT_EQ(result->evicted[0].rfind("default/web-", 0), 0u) << result->evicted[0];
  const auto pods = Pods();
  for (const char* name : {"daemon", "static-n1"}) {
    ASSERT_EQ(pods.count(name), 1u) << name << " was removed";
    EXPECT_FALSE(pods.at(name).metadata().has_deletion_timestamp()) << name << " is being deleted";
  }
}

// A bare pod stops the drain before any eviction (the node stays cordoned); with force it
// goes. Likewise an emptyDir volume without delete_emptydir_data.
TEST_F(DrainTest, ABarePodOrEmptyDirRefusesTheDrainUnlessForced) {
  Start(1);
  AddPodOnN1("bare", [](api::Pod&) {});
  c.Run(Seconds(3));
  auto result = Drain({}, Seconds(60));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(result->status.message().find("declare no controller"), std::string::npos) << result->status.message();
  EXPECT_NE(result->status.message().find("default/bare"), std::string::npos) << result->status.message();
  EXPECT_TRUE(result->evicted.empty());
  EXPECT_TRUE(Cordoned());
  for (const auto& [name, p] : Pods()) EXPECT_FALSE(p.metadata().has_deletion_timestamp()) << name << " was evicted";

  // A bare pod with scratch space: force alone is not enough.
  AddPodOnN1("scratch", [](api::Pod& p) {
    api::Volume& v = *p.mutable_spec()->add_volumes();
    v.set_name("tmp");
    v.mutable_empty_dir();
  });
  c.Run(Seconds(3));
  client::DrainOptions forced;
  forced.force = true;
  result = Drain(forced, Seconds(60));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(result->status.message().find("local storage"), std::string::npos) << result->status.message();
  EXPECT_EQ(result->status.message().find("default/bare"), std::string::npos) << "force lets the bare pod go";
  EXPECT_EQ(Pods().count("bare"), 1u);

  forced.delete_emptydir_data = true;
  result = Drain(forced, Seconds(60));
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->status.ok()) << result->status.message();
  EXPECT_EQ(result->evicted.size(), 3u);
  EXPECT_EQ(Pods().count("bare"), 0u);
  EXPECT_EQ(Pods().count("scratch"), 0u);
}

}  // namespace
}  // namespace ksim::controllers::testing
