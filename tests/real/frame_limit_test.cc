// The frame limit, checked by the same calls in both worlds: the simulated network and
// TcpTransport on loopback refuse a frame over kMaxFrameBytes with the same Status, in
// every build, and the connection stays usable (the simulated network used to assert,
// which Release builds compiled out).
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/env/transport.h"
#include "real/event_loop.h"
#include "real/tcp_transport.h"
#include "sim/host.h"
#include "sim/world.h"
#include "tests/sim/test_process.h"

namespace ksim {
namespace {

// One client connection to a server that keeps every frame it receives.
class Pair {
 public:
  virtual ~Pair() = default;
  virtual Connection& client() = 0;
  // Runs the world until `done` holds (bounded); returns whether it did.
  virtual bool RunUntil(const std::function<bool()>& done) = 0;
  std::vector<std::string> received;
};

class SimPair final : public Pair {
 public:
  SimPair() {
    world_.AddHost("server").AddProcess("sink", sim::testing::Sink(80, &received));
    world_.AddHost("client").AddProcess("c", sim::testing::Scripted([this](sim::testing::ScriptedProcess& p) {
      conn_ = p.env().transport->Connect("server:80", ConnectionHandlers{}, [] {});
    }));
    world_.RunFor(Milliseconds(100));
  }
  ~SimPair() override { conn_.reset(); }
  Connection& client() override { return *conn_; }
  bool RunUntil(const std::function<bool()>& done) override {
    return world_.RunUntilCondition(done, world_.now() + Seconds(10));
  }

 private:
  sim::World world_{7};
  std::shared_ptr<Connection> conn_;
};

class TcpPair final : public Pair {
 public:
  TcpPair() {
    EXPECT_TRUE(real::EventLoop::Create(&loop_).ok());
    real::TcpTransportOptions options;
    options.bind_ip = "127.0.0.1";
    server_ = std::make_unique<real::TcpTransport>(loop_.get(), "127.0.0.1", options);
    client_ = std::make_unique<real::TcpTransport>(loop_.get(), "127.0.0.1", options);
    uint16_t port = 0;
    EXPECT_TRUE(server_
                    ->Listen(
                        0,
                        [this](std::shared_ptr<Connection> c) {
                          ConnectionHandlers h;
                          h.on_frame = [this](std::string_view f) { received.emplace_back(f); };
                          c->SetHandlers(std::move(h));
                          accepted_.push_back(std::move(c));
                        },
                        &port)
                    .ok());
    bool open = false;
    conn_ = client_->Connect("127.0.0.1:" + std::to_string(port), ConnectionHandlers{}, [&open] { open = true; });
    EXPECT_TRUE(loop_->RunUntil([&] { return open; }, Seconds(10)));
  }
  ~TcpPair() override {
    conn_.reset();
    accepted_.clear();
    client_.reset();
    server_.reset();
  }
  Connection& client() override { return *conn_; }
  bool RunUntil(const std::function<bool()>& done) override { return loop_->RunUntil(done, Seconds(10)); }

 private:
  std::unique_ptr<real::EventLoop> loop_;
  std::unique_ptr<real::TcpTransport> server_;
  std::unique_ptr<real::TcpTransport> client_;
  std::vector<std::shared_ptr<Connection>> accepted_;
  std::shared_ptr<Connection> conn_;
};

// Sends one frame over the limit, then one exactly at it and a small one: the first is
// refused with CheckFrameSize's Status and nothing of it arrives; the others arrive
// intact, in order, on the same connection.
Status Exercise(Pair& pair) {
  const Status refused = pair.client().Send(std::string(kMaxFrameBytes + 1, 'x'));
  EXPECT_TRUE(pair.client().is_open()) << "a refused frame does not break the connection";
  EXPECT_TRUE(pair.client().Send(std::string(kMaxFrameBytes, 'y')).ok());
  EXPECT_TRUE(pair.client().Send("after").ok());
  EXPECT_TRUE(pair.RunUntil([&] { return pair.received.size() >= 2; }));
  EXPECT_EQ(pair.received.size(), 2u);
  if (pair.received.size() == 2) {  // compared without printing 16 MiB on a failure
    EXPECT_EQ(pair.received[0].size(), kMaxFrameBytes);
    EXPECT_TRUE(pair.received[0].find_first_not_of('y') == std::string::npos) << "the first frame is the y's";
    EXPECT_TRUE(pair.received[1] == "after") << "second frame of " << pair.received[1].size() << " bytes";
  }
  return refused;
}

TEST(FrameLimit, BothWorldsRefuseAnOversizedFrameWithTheSameStatus) {
  SimPair sim;
  TcpPair tcp;
  const Status in_sim = Exercise(sim);
  const Status over_tcp = Exercise(tcp);
  EXPECT_EQ(in_sim.code(), Status::Code::kInvalidArgument) << in_sim.ToString();
  EXPECT_EQ(in_sim.ToString(), over_tcp.ToString());
  EXPECT_EQ(in_sim.ToString(), CheckFrameSize(kMaxFrameBytes + 1).ToString());
  EXPECT_NE(in_sim.message().find(std::to_string(kMaxFrameBytes + 1)), std::string::npos) << in_sim.message();
}

TEST(FrameLimit, TheLimitItselfIsAccepted) {
  EXPECT_TRUE(CheckFrameSize(kMaxFrameBytes).ok());
  EXPECT_TRUE(CheckFrameSize(0).ok());
  EXPECT_EQ(CheckFrameSize(kMaxFrameBytes + 1).code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace ksim
