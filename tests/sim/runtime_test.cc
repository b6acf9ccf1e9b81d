#include "sim/container_runtime.h"

#include <gtest/gtest.h>

#include "sim/dataplane.h"
#include "sim/world.h"

namespace ksim::sim {
namespace {

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ImageScript web;
    web.ready_after = Seconds(2);
    w.DefineImage("web", web);
    ImageScript crashy;
    crashy.exit_after = Seconds(3);
    crashy.exit_code = 2;
    w.DefineImage("crashy", crashy);
    ImageScript broken;
    broken.pull_fails = true;
    w.DefineImage("broken", broken);
    rt.SetEventHandler([this](const ContainerEvent& e) { events.push_back(e); });
  }
  std::string Run(const std::string& image) {
    std::string id;
    rt.PullImage(image, [&](Status s) {
      ASSERT_TRUE(s.ok());
      ContainerSpec spec;
      spec.name = image + "-1";
      spec.image = image;
      rt.Create(spec, [&](Status cs, std::string cid) {
        ASSERT_TRUE(cs.ok());
        id = cid;
        rt.Start(cid, [](Status st) { ASSERT_TRUE(st.ok()); });
      });
    });
    w.RunFor(Seconds(1));
    return id;
  }
  int Probe(const std::string& id) {
    int code = -1;
    rt.Exec(id, {"probe"}, Seconds(1), [&](Status s, ExecResult r) { code = s.ok() ? r.exit_code : -2; });
    w.RunFor(Milliseconds(10));
    return code;
  }
  World w{1};
  SimContainerRuntime rt{&w};
  std::vector<ContainerEvent> events;
};

TEST_F(RuntimeTest, ContainerBecomesReadyAfterItsScriptedDelay) {
  const std::string id = Run("web");
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].state, ContainerState::kRunning);
  EXPECT_EQ(Probe(id), 1);
  w.RunFor(Seconds(2));
  EXPECT_EQ(Probe(id), 0);
}

TEST_F(RuntimeTest, CrashingImageExitsWithItsCode) {
  const std::string id = Run("crashy");
  w.RunFor(Seconds(3));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].state, ContainerState::kExited);
  EXPECT_EQ(events[1].exit_code, 2);
  EXPECT_EQ(events[1].reason, "Error");
  EXPECT_EQ(Probe(id), -2);  // exec into an exited container fails
}

TEST_F(RuntimeTest, PullFailureAndUnknownImage) {
  Status broken, unknown;
  rt.PullImage("broken", [&](Status s) { broken = s; });
  rt.PullImage("nope", [&](Status s) { unknown = s; });
  w.RunFor(Seconds(1));
  EXPECT_EQ(broken.code(), Status::Code::kUnavailable);
  EXPECT_EQ(unknown.code(), Status::Code::kNotFound);
  Status create;
  ContainerSpec spec;
  spec.name = "x";
  spec.image = "broken";
  rt.Create(spec, [&](Status s, std::string) { create = s; });
  w.RunFor(Seconds(1));
  EXPECT_EQ(create.code(), Status::Code::kNotFound);
}

TEST_F(RuntimeTest, StopHonouredWithinGraceElseKilled) {
  ImageScript stubborn;
  stubborn.ignores_stop = true;
  w.DefineImage("stubborn", stubborn);
  const std::string polite = Run("web");
  const std::string rude = Run("stubborn");
  bool stopped1 = false, stopped2 = false;
  rt.Stop(polite, Seconds(5), [&](Status) { stopped1 = true; });
  rt.Stop(rude, Seconds(5), [&](Status) { stopped2 = true; });
  w.RunFor(Seconds(1));
  EXPECT_TRUE(stopped1);
  EXPECT_FALSE(stopped2);
  w.RunFor(Seconds(5));
  EXPECT_TRUE(stopped2);
  auto snap = rt.Snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_EQ(snap[0].exit_code, 143);
  EXPECT_EQ(snap[1].exit_code, 137);
  Status removed;
  rt.Remove(polite, [&](Status s) { removed = s; });
  w.RunFor(Milliseconds(10));
  EXPECT_TRUE(removed.ok());
  EXPECT_EQ(rt.Snapshot().size(), 1u);
}

TEST(SimDataplane, RoutesOnlyToReadyEndpointsAndRejectsBadRules) {
  SimDataplane dp;
  ServiceRule r;
  r.name = "default/web:http";
  r.cluster_ip = "10.0.0.1";
  r.port = 80;
  r.node_port = 30080;
  r.endpoints = {{"10.1.0.1", 8080, true}, {"10.1.0.2", 8080, false}};
  ASSERT_TRUE(dp.Apply({r}).ok());
  Random random(3);
  for (int i = 0; i < 20; ++i) {
    auto e = dp.Route("10.0.0.1", 80, random);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->ip, "10.1.0.1");
  }
  EXPECT_TRUE(dp.Route("192.168.1.5", 30080, random).has_value());
  EXPECT_FALSE(dp.Route("10.0.0.1", 81, random).has_value());
  ServiceRule bad = r;
  bad.port = 0;
  Status s = dp.Apply({bad});
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("rules[0]"), std::string::npos);
  EXPECT_EQ(dp.rules().size(), 1u);  // unchanged
  EXPECT_EQ(dp.rules()[0].port, 80);
}

}  // namespace
}  // namespace ksim::sim
