// The simulated HAProxy: balancing, active health checks (fall/rise), sessions closed
// when their backend dies, redispatch past a refusing backend.
#include "sim/load_balancer.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/host.h"
#include "sim/world.h"

namespace ksim::sim {
namespace {

// Answers every frame with "<host>|<frame>".
class Echo : public Process {
 public:
  explicit Echo(Env& env) : env_(env) {}
  void Start() override {
    (void)env_.transport->Listen(80, [this](std::shared_ptr<Connection> c) {
      Connection* raw = c.get();
      conns_.push_back(c);
      c->SetHandlers(ConnectionHandlers{
          .on_frame = [this, raw](std::string_view f) { (void)raw->Send(env_.host + "|" + std::string(f)); },
          .on_closed = [](const Status&) {},
      });
    });
  }

 private:
  Env& env_;
  std::vector<std::shared_ptr<Connection>> conns_;
};

class Holder : public Process {
 public:
  void Start() override {}
};

struct Fixture {
  explicit Fixture(Balance balance = Balance::kRoundRobin, bool l7 = true) : world(7) {
    LoadBalancerOptions o;
    o.port = 6443;
    o.balance = balance;
    for (const char* b : {"b1", "b2", "b3"}) {
      world.AddHost(b).AddProcess("echo", [](Env& env) { return std::make_unique<Echo>(env); });
      o.backends.push_back(std::string(b) + ":80");
    }
    if (l7) {
      o.check_send = "ping";
      o.check_expect = [](std::string_view reply) { return reply.ends_with("|ping"); };
    }
    world.AddHost("lb").AddProcess("haproxy", [o](Env& env) { return std::make_unique<LoadBalancer>(env, o); });
    world.AddHost("client").AddProcess("client", [this](Env& env) {
      client_env = &env;
      return std::make_unique<Holder>();
    });
  }
  LoadBalancer& lb() { return *world.FindHost("lb")->Find<LoadBalancer>("haproxy"); }

  // Opens a session through the LB; its answers are appended to `answers`, its close
  // sets `closed`.
  struct Session {
    std::shared_ptr<Connection> conn;
    std::vector<std::string> answers;
    bool closed = false;
  };
  std::unique_ptr<Session> Open() {
    auto s = std::make_unique<Session>();
    Session* raw = s.get();
    s->conn = client_env->transport->Connect(
        "lb:6443",
        ConnectionHandlers{.on_frame = [raw](std::string_view f) { raw->answers.emplace_back(f); },
                           .on_closed = [raw](const Status&) { raw->closed = true; }},
        [] {});
    return s;
  }
  // Sends one request on a new session and returns which backend answered ("" if none).
  std::string AskOnce() {
    auto s = Open();
    (void)s->conn->Send("hello");
    world.RunUntilCondition([&] { return !s->answers.empty() || s->closed; }, world.now() + Seconds(10));
    std::string who = s->answers.empty() ? "" : s->answers[0].substr(0, s->answers[0].find('|'));
    s->conn->Close();
    return who;
  }

  World world;
  Env* client_env = nullptr;
};

TEST(LoadBalancer, RoundRobinSpreadsSessionsAndForwardsBothWays) {
  Fixture f;
  f.world.RunFor(Milliseconds(10));
  std::map<std::string, int> by_backend;
  for (int i = 0; i < 9; ++i) ++by_backend[f.AskOnce()];
  EXPECT_EQ(by_backend, (std::map<std::string, int>{{"b1", 3}, {"b2", 3}, {"b3", 3}}));
  EXPECT_GE(f.lb().stats().frames_forwarded, 18u);
}

TEST(LoadBalancer, LeastConnectionsPrefersTheIdleBackend) {
  Fixture f(Balance::kLeastConnections);
  f.world.RunFor(Milliseconds(10));
  auto held1 = f.Open();
  auto held2 = f.Open();
  f.world.RunFor(Milliseconds(50));
  // b1 and b2 each hold a session: the next two go to b3, then b3 is no longer the idlest.
  EXPECT_EQ(f.lb().backends()[0].sessions_now, 1u);
  EXPECT_EQ(f.lb().backends()[1].sessions_now, 1u);
  auto s3 = f.Open();
  (void)s3->conn->Send("x");
  f.world.RunFor(Milliseconds(50));
  ASSERT_EQ(s3->answers.size(), 1u);
  EXPECT_EQ(s3->answers[0], "b3|x");
}

TEST(LoadBalancer, ACrashedBackendIsTakenOutAfterFallChecksAndBackAfterRise) {
  Fixture f;
  f.world.RunFor(Seconds(5));
  EXPECT_EQ(f.lb().UpBackends().size(), 3u);
  EXPECT_GT(f.lb().backends()[1].checks_ok, 0u);
  auto on_b2 = f.Open();  // round robin: b1 first
  auto second = f.Open();
  (void)second->conn->Send("who");
  f.world.RunFor(Milliseconds(50));
  ASSERT_EQ(second->answers.size(), 1u);
  ASSERT_EQ(second->answers[0], "b2|who");
  f.world.FindHost("b2")->CrashProcess("echo");
  f.world.RunFor(Milliseconds(50));
  EXPECT_TRUE(second->closed) << "a session whose backend died must be closed";
  // Three failed checks, two seconds apart: down within 2s*3 (+ the check in progress).
  f.world.RunFor(Seconds(7));
  EXPECT_EQ(f.lb().UpBackends(), (std::vector<Address>{"b1:80", "b3:80"}));
  EXPECT_EQ(f.lb().backends()[1].went_down, 1u);
  for (int i = 0; i < 6; ++i) EXPECT_NE(f.AskOnce(), "b2");
  f.world.FindHost("b2")->RestartProcess("echo");
  f.world.RunFor(Seconds(5));  // two good checks
  EXPECT_EQ(f.lb().UpBackends().size(), 3u);
  EXPECT_EQ(f.lb().backends()[1].went_up, 1u);
}

TEST(LoadBalancer, ARefusingBackendIsSkippedBeforeTheChecksNotice) {
  Fixture f;
  f.world.RunFor(Milliseconds(10));
  f.world.FindHost("b1")->CrashProcess("echo");
  // Checks have not failed yet: b1 is still "up", but its refusal redispatches.
  for (int i = 0; i < 6; ++i) EXPECT_NE(f.AskOnce(), "") << i;
  EXPECT_GT(f.lb().stats().redispatched, 0u);
}

TEST(LoadBalancer, AHungBackendFailsTheL7CheckAndItsSessionsAreShutDown) {
  Fixture f;
  f.world.RunFor(Milliseconds(10));
  auto s1 = f.Open();  // b1
  f.world.RunFor(Milliseconds(10));
  f.world.FindHost("b1")->Pause();  // accepts nothing, answers nothing, breaks nothing
  f.world.RunFor(Seconds(8));
  EXPECT_EQ(f.lb().UpBackends(), (std::vector<Address>{"b2:80", "b3:80"}));
  EXPECT_TRUE(s1->closed) << "on-marked-down shutdown-sessions";
  EXPECT_GE(f.lb().stats().sessions_shut_down, 1u);
}

TEST(LoadBalancer, WithEveryBackendDownClientsAreClosed) {
  Fixture f(Balance::kRoundRobin, /*l7=*/false);
  f.world.RunFor(Milliseconds(10));
  for (const char* b : {"b1", "b2", "b3"}) f.world.FindHost(b)->PowerOff();
  f.world.RunFor(Seconds(10));
  EXPECT_TRUE(f.lb().UpBackends().empty());
  EXPECT_EQ(f.AskOnce(), "");
  EXPECT_GT(f.lb().stats().refused, 0u);
}

}  // namespace
}  // namespace ksim::sim
