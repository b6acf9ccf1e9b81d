// The demo service, run in the simulated world.
#include "cluster/demo/gossip_counter.h"

#include <gtest/gtest.h>

#include "cluster/demo/demo.pb.h"
#include "cluster/env/wire.h"
#include "cluster/storage/record_log.h"
#include "sim/host.h"
#include "sim/world.h"
#include "tests/sim/test_process.h"

namespace ksim::demo {
namespace {

using sim::testing::Scripted;
using sim::testing::ScriptedProcess;

class GossipCounterTest : public ::testing::Test {
 protected:
  void Build(int n, size_t compact_after_bytes = 4096, Nanos gossip_interval = Milliseconds(200)) {
    for (int i = 0; i < n; ++i) names.push_back("n" + std::to_string(i));
    for (int i = 0; i < n; ++i) {
      GossipCounterOptions o;
      o.name = names[i];
      o.compact_after_bytes = compact_after_bytes;
      o.gossip_interval = gossip_interval;
      for (int j = 0; j < n; ++j) {
        if (j != i) o.peers[names[j]] = names[j] + ":7000";
      }
      w.AddHost(names[i]).AddProcess("counter", [o](Env& env) { return std::make_unique<GossipCounterNode>(env, o); });
    }
  }
  GossipCounterNode* Node(int i) { return w.host(static_cast<uint32_t>(i)).Find<GossipCounterNode>("counter"); }

  sim::World w{3};
  std::vector<std::string> names;
};

TEST_F(GossipCounterTest, NodesCountAndConverge) {
  Build(3);
  w.RunFor(Seconds(5));
  for (int i = 0; i < 3; ++i) EXPECT_GT(Node(i)->own_value(), 30u);
  for (int i = 0; i < 3; ++i) Node(i)->StopIncrementing();
  w.RunFor(Seconds(2));
  EXPECT_EQ(Node(0)->Known(), Node(1)->Known());
  EXPECT_EQ(Node(1)->Known(), Node(2)->Known());
  EXPECT_EQ(Node(0)->Known().at("n2"), Node(2)->own_value());
}

TEST_F(GossipCounterTest, CrashRecoversOwnValueFromDisk) {
  Build(2);
  w.RunFor(Seconds(3));
  const uint64_t before = Node(0)->own_value();
  ASSERT_GT(before, 10u);
  w.host(0).CrashProcess("counter");
  w.host(0).RestartProcess("counter");
  w.RunFor(Milliseconds(1));
  EXPECT_GE(Node(0)->stats().recovered_value, before);  // a process crash loses nothing
}

TEST_F(GossipCounterTest, PowerLossNeverTakesAValueBelowWhatWasAnnounced) {
  // Compact often (the rename path meets power loss) and gossip often; slow fsyncs keep a
  // write unsynced most of the time, so power failures do lose data, and a node that
  // announced before its fsync completed would be caught here.
  Build(3, /*compact_after_bytes=*/64, /*gossip_interval=*/Milliseconds(20));
  for (int i = 0; i < 3; ++i) w.host(static_cast<uint32_t>(i)).disk().options().fsync_extra_latency = Milliseconds(150);
  for (int round = 0; round < 20; ++round) {
    w.RunFor(Milliseconds(700 + 37 * round));
    const int victim = round % 3;
    w.host(victim).PowerOff();
    w.RunFor(Milliseconds(300));
    w.host(victim).PowerOn();
    w.RunFor(Milliseconds(1));  // recovered, not yet incremented
    for (int peer = 0; peer < 3; ++peer) {
      if (peer == victim) continue;
      EXPECT_LE(Node(peer)->Known()[names[victim]], Node(victim)->own_value()) << "round " << round;
    }
  }
  w.RunFor(Seconds(2));
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(Node(i)->violations().empty()) << Node(i)->violations().front();
  }
  uint64_t compactions = 0;
  for (int i = 0; i < 3; ++i) compactions += Node(i)->stats().compactions;
  EXPECT_GT(compactions, 0u);
  uint64_t lost = 0;
  for (int i = 0; i < 3; ++i) lost += w.host(static_cast<uint32_t>(i)).disk().stats().ops_lost_at_crash;
  EXPECT_GT(lost, 0u);  // power loss did lose unsynced writes
  for (int i = 0; i < 3; ++i) EXPECT_GT(Node(i)->own_value(), 20u);
}

TEST_F(GossipCounterTest, ViolationIsReportedWhenAPeerClaimsMoreThanIsDurable) {
  Build(1);
  // A lying peer: claims n0 reached 1000000.
  w.AddHost("liar").AddProcess("liar", Scripted([](ScriptedProcess& p) {
    auto conn = p.env().transport->Connect("n0:7000", {}, nullptr);
    Gossip g;
    g.set_from("liar");
    auto* e = g.add_counters();
    e->set_node("n0");
    e->set_value(1000000);
    (void)SendMessage(*conn, g);
    p.connections.push_back(conn);
  }));
  w.RunFor(Seconds(1));
  ASSERT_EQ(Node(0)->violations().size(), 1u);
  EXPECT_NE(Node(0)->violations()[0].find("heard 1000000"), std::string::npos);
}

TEST_F(GossipCounterTest, MalformedFramesAreCountedAndIgnored) {
  Build(1);
  w.AddHost("junk").AddProcess("junk", Scripted([](ScriptedProcess& p) {
    auto conn = p.env().transport->Connect("n0:7000", {}, nullptr);
    (void)conn->Send(std::string("\xff\xff\xff\xff\xff", 5));
    p.connections.push_back(conn);
  }));
  w.RunFor(Seconds(1));
  EXPECT_EQ(Node(0)->stats().malformed_frames, 1u);
  EXPECT_TRUE(Node(0)->violations().empty());
}

TEST_F(GossipCounterTest, TornTailIsDroppedAtRecovery) {
  std::string log;
  CounterRecord r;
  r.set_value(41);
  AppendRecord(r.SerializeAsString(), &log);
  log += "\x05\x00\x00\x00garbage";  // a torn record
  sim::Host& h = w.AddHost("n0");
  ASSERT_TRUE(h.disk().WriteFile("counter/log", log).ok());
  GossipCounterOptions o;
  o.name = "n0";
  h.AddProcess("counter", [o](Env& env) { return std::make_unique<GossipCounterNode>(env, o); });
  w.RunFor(Milliseconds(1));
  EXPECT_EQ(Node(0)->stats().recovered_value, 41u);
  EXPECT_TRUE(Node(0)->stats().recovered_torn_tail);
  w.RunFor(Seconds(1));
  EXPECT_GT(Node(0)->own_value(), 41u);  // appends continue after the valid prefix
  std::string after;
  ASSERT_TRUE(h.disk().Read("counter/log", &after).ok());
  EXPECT_FALSE(DecodeRecords(after).torn_tail);
}

TEST(PeerLink, RedialsUntilThePeerComesBackThenDelivers) {
  sim::World w(9);
  std::vector<std::string> got;
  sim::Host& server = w.AddHost("s");
  sim::Host& client = w.AddHost("c");
  server.AddProcess("sink", sim::testing::Sink(80, &got));
  server.CrashProcess("sink");
  std::unique_ptr<PeerLink> link;
  client.AddProcess("link", Scripted([&](ScriptedProcess& p) {
    link = std::make_unique<PeerLink>(p.env(), "s:80", PeerLinkOptions{}, nullptr);
    link->Start();
  }));
  w.RunFor(Seconds(3));
  ASSERT_TRUE(link);
  EXPECT_FALSE(link->connected());
  EXPECT_EQ(link->Send("x").code(), Status::Code::kUnavailable);
  EXPECT_GE(link->dials(), 3u);  // backed off, but kept trying
  server.RestartProcess("sink");
  w.RunFor(Seconds(3));
  EXPECT_TRUE(link->connected());
  ASSERT_TRUE(link->Send("hello").ok());
  w.RunFor(Milliseconds(10));
  EXPECT_EQ(got, std::vector<std::string>{"hello"});
  link.reset();  // destroy before the world
}

}  // namespace
}  // namespace ksim::demo
