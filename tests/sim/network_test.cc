#include "sim/network.h"

#include <gtest/gtest.h>

#include "tests/sim/test_process.h"
#include "sim/world.h"

namespace ksim::sim {
namespace {

using testing::Scripted;
using testing::ScriptedProcess;
using testing::Sink;

struct ClientLog {
  bool opened = false;
  std::vector<std::string> closes;
  std::vector<std::string> frames;
  std::shared_ptr<Connection> conn;
};

// Connects to `to` at start and sends `frames` immediately (before the connection opens).
ProcessFactory Client(const Address& to, ClientLog* log, std::vector<std::string> frames = {}) {
  return Scripted([to, log, frames](ScriptedProcess& p) {
    ConnectionHandlers h;
    h.on_frame = [log](std::string_view f) { log->frames.emplace_back(f); };
    h.on_closed = [log](const Status& why) { log->closes.push_back(why.ToString()); };
    log->conn = p.env().transport->Connect(to, std::move(h), [log] { log->opened = true; });
    for (const auto& f : frames) (void)log->conn->Send(f);
  });
}

class NetworkTest : public ::testing::Test {
 protected:
  World w{42};
  Host& a = w.AddHost("a");
  Host& b = w.AddHost("b");
  Host& c = w.AddHost("c");
};

TEST_F(NetworkTest, FramesArriveInOrderIncludingThoseSentBeforeOpen) {
  std::vector<std::string> got;
  b.AddProcess("server", Sink(80, &got));
  ClientLog log;
  std::vector<std::string> frames;
  for (int i = 0; i < 100; ++i) frames.push_back("m" + std::to_string(i));
  a.AddProcess("client", Client("b:80", &log, frames));
  w.RunFor(Seconds(1));
  EXPECT_TRUE(log.opened);
  EXPECT_EQ(got, frames);
  EXPECT_TRUE(log.closes.empty());
}

TEST_F(NetworkTest, NoListenerMeansRefused) {
  ClientLog log;
  a.AddProcess("client", Client("b:81", &log));
  w.RunFor(Seconds(1));
  EXPECT_FALSE(log.opened);
  ASSERT_EQ(log.closes.size(), 1u);
  EXPECT_NE(log.closes[0].find("refused"), std::string::npos);
}

TEST_F(NetworkTest, UnknownHostFails) {
  ClientLog log;
  a.AddProcess("client", Client("nowhere:80", &log));
  w.RunFor(Seconds(1));
  ASSERT_EQ(log.closes.size(), 1u);
  EXPECT_NE(log.closes[0].find("unknown host"), std::string::npos);
}

TEST_F(NetworkTest, ConnectToIsolatedHostTimesOut) {
  std::vector<std::string> got;
  b.AddProcess("server", Sink(80, &got));
  w.network().Isolate(b.id());
  ClientLog log;
  a.AddProcess("client", Client("b:80", &log));
  w.RunFor(Seconds(2));
  EXPECT_TRUE(log.closes.empty());  // still retrying SYNs
  w.RunFor(Seconds(2));
  ASSERT_EQ(log.closes.size(), 1u);
  EXPECT_NE(log.closes[0].find("timed out"), std::string::npos);
}

TEST_F(NetworkTest, PartitionHealedBeforeTimeoutDeliversWaitingFrames) {
  std::vector<std::string> got;
  b.AddProcess("server", Sink(80, &got));
  ClientLog log;
  a.AddProcess("client", Client("b:80", &log));
  w.RunFor(Milliseconds(100));
  ASSERT_TRUE(log.opened);
  w.network().Partition({{a.id()}, {b.id()}});
  ASSERT_TRUE(log.conn->Send("during").ok());
  w.RunFor(Seconds(2));
  EXPECT_TRUE(got.empty());
  w.network().Heal();
  w.RunFor(Milliseconds(100));
  EXPECT_EQ(got, std::vector<std::string>{"during"});
  EXPECT_TRUE(log.closes.empty());
}

TEST_F(NetworkTest, PartitionLongerThanTimeoutBreaksBothEnds) {
  std::vector<std::string> got, server_closes;
  b.AddProcess("server", Sink(80, &got, &server_closes));
  ClientLog log;
  a.AddProcess("client", Client("b:80", &log));
  w.RunFor(Milliseconds(100));
  w.network().Partition({{a.id()}, {b.id()}});
  w.RunFor(w.network().options().connection_timeout + Milliseconds(10));
  ASSERT_EQ(log.closes.size(), 1u);
  EXPECT_NE(log.closes[0].find("Timeout"), std::string::npos);
  EXPECT_EQ(server_closes.size(), 1u);
  EXPECT_FALSE(log.conn->is_open());
  EXPECT_EQ(log.conn->Send("x").code(), Status::Code::kClosed);
}

TEST_F(NetworkTest, OneWayCutBlocksOnlyOneDirectionOfLinks) {
  w.network().CutOneWay({a.id()}, {b.id()});
  EXPECT_FALSE(w.network().HasLink(a.id(), b.id()));
  EXPECT_TRUE(w.network().HasLink(b.id(), a.id()));
  // TCP needs both directions, so the pair cannot talk at all.
  EXPECT_FALSE(w.network().Reachable(a.id(), b.id()));
  EXPECT_TRUE(w.network().Reachable(a.id(), c.id()));
}

TEST_F(NetworkTest, BridgeSeesBothSidesWhichDoNotSeeEachOther) {
  Host& d = w.AddHost("d");
  w.network().Bridge({a.id(), b.id()}, {d.id()}, c.id());
  EXPECT_TRUE(w.network().Reachable(a.id(), b.id()));
  EXPECT_TRUE(w.network().Reachable(a.id(), c.id()));
  EXPECT_TRUE(w.network().Reachable(d.id(), c.id()));
  EXPECT_FALSE(w.network().Reachable(a.id(), d.id()));
  EXPECT_FALSE(w.network().Reachable(b.id(), d.id()));
}

TEST_F(NetworkTest, ComponentsFollowPartitionsAndPower) {
  EXPECT_EQ(w.network().Components(), (std::vector<std::vector<uint32_t>>{{0, 1, 2}}));
  w.network().Partition({{a.id()}, {b.id(), c.id()}});
  EXPECT_EQ(w.network().Components(), (std::vector<std::vector<uint32_t>>{{0}, {1, 2}}));
  c.PowerOff();
  EXPECT_EQ(w.network().Components(), (std::vector<std::vector<uint32_t>>{{0}, {1}}));
  w.network().Heal();
  c.PowerOn();
  EXPECT_EQ(w.network().Components(), (std::vector<std::vector<uint32_t>>{{0, 1, 2}}));
}

TEST_F(NetworkTest, ProcessCrashClosesItsConnectionsForThePeer) {
  std::vector<std::string> got, server_closes;
  b.AddProcess("server", Sink(80, &got, &server_closes));
  ClientLog log;
  a.AddProcess("client", Client("b:80", &log));
  w.RunFor(Milliseconds(100));
  ASSERT_TRUE(log.opened);
  b.CrashProcess("server");
  w.RunFor(Milliseconds(100));
  ASSERT_EQ(log.closes.size(), 1u);
  EXPECT_NE(log.closes[0].find("peer closed"), std::string::npos);
  EXPECT_TRUE(server_closes.empty());  // nothing runs in a dead process
}

TEST_F(NetworkTest, PowerOffIsNoticedByTimeoutOrByResetAfterReboot) {
  std::vector<std::string> got;
  b.AddProcess("server", Sink(80, &got));
  ClientLog log1;
  a.AddProcess("client", Client("b:80", &log1));
  w.RunFor(Milliseconds(100));
  b.PowerOff();
  w.RunFor(Seconds(1));
  EXPECT_TRUE(log1.closes.empty());  // a dead host sends nothing
  w.RunFor(w.network().options().connection_timeout);
  ASSERT_EQ(log1.closes.size(), 1u);
  EXPECT_NE(log1.closes[0].find("Timeout"), std::string::npos);

  b.PowerOn();
  ClientLog log2;
  c.AddProcess("client", Client("b:80", &log2));
  w.RunFor(Milliseconds(100));
  ASSERT_TRUE(log2.opened);
  b.PowerOff();
  b.PowerOn();  // back before the timeout: the new kernel answers with a reset
  w.RunFor(Milliseconds(100));
  ASSERT_EQ(log2.closes.size(), 1u);
  EXPECT_NE(log2.closes[0].find("reset"), std::string::npos);
}

TEST_F(NetworkTest, PausedReceiverGetsFramesAfterResumeInOrder) {
  std::vector<std::string> got;
  b.AddProcess("server", Sink(80, &got));
  ClientLog log;
  a.AddProcess("client", Client("b:80", &log));
  w.RunFor(Milliseconds(100));
  b.Pause();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log.conn->Send(std::to_string(i)).ok());
  w.RunFor(Seconds(30));  // longer than the connection timeout: a paused host still ACKs
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(log.closes.empty());
  b.Resume();
  w.RunFor(Milliseconds(10));
  EXPECT_EQ(got, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
}

TEST_F(NetworkTest, LossAndReorderDelayButNeverReorderFrames) {
  w.network().default_link().loss = 0.3;
  w.network().default_link().reorder = 0.5;
  w.network().default_link().duplicate = 0.3;
  w.network().options().max_retransmits = 100;
  std::vector<std::string> got;
  b.AddProcess("server", Sink(80, &got));
  ClientLog log;
  std::vector<std::string> frames;
  for (int i = 0; i < 200; ++i) frames.push_back(std::to_string(i));
  a.AddProcess("client", Client("b:80", &log, frames));
  w.RunFor(Seconds(60));
  EXPECT_EQ(got, frames);
  EXPECT_GT(w.network().stats().retransmits, 0u);
  EXPECT_GT(w.network().stats().duplicates_discarded, 0u);
}

TEST_F(NetworkTest, FramesBeforeSetHandlersAreHeldNotDropped) {
  std::vector<std::string> got;
  std::shared_ptr<Connection> accepted;
  b.AddProcess("server", Scripted([&](ScriptedProcess& p) {
    (void)p.env().transport->Listen(80, [&](std::shared_ptr<Connection> conn) { accepted = conn; });
  }));
  ClientLog log;
  a.AddProcess("client", Client("b:80", &log, {"x", "y"}));
  w.RunFor(Milliseconds(100));
  ASSERT_TRUE(accepted);
  ConnectionHandlers h;
  h.on_frame = [&](std::string_view f) { got.emplace_back(f); };
  accepted->SetHandlers(std::move(h));
  EXPECT_EQ(got, (std::vector<std::string>{"x", "y"}));
}

TEST_F(NetworkTest, DroppingTheHandleClosesTheConnection) {
  std::vector<std::string> got, server_closes;
  b.AddProcess("server", Sink(80, &got, &server_closes));
  ClientLog log;
  a.AddProcess("client", Client("b:80", &log));
  w.RunFor(Milliseconds(100));
  log.conn.reset();
  w.RunFor(Milliseconds(100));
  ASSERT_EQ(server_closes.size(), 1u);
  EXPECT_TRUE(log.closes.empty());  // no handler runs after the local side closed
}

TEST_F(NetworkTest, ListenTwiceOnOnePortFails) {
  Status first, second;
  a.AddProcess("p", Scripted([&](ScriptedProcess& p) {
    first = p.env().transport->Listen(80, [](std::shared_ptr<Connection>) {});
    second = p.env().transport->Listen(80, [](std::shared_ptr<Connection>) {});
  }));
  w.RunFor(Milliseconds(1));
  EXPECT_TRUE(first.ok());
  EXPECT_EQ(second.code(), Status::Code::kAlreadyExists);
}

}  // namespace
}  // namespace ksim::sim
