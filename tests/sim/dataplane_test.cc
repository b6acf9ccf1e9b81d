// SimDataplane's choices: ready endpoints first, serving+terminating ones only when no
// endpoint is ready (KEP-1669), ClientIP session affinity with its timeout, NodePorts.
#include "sim/dataplane.h"

#include <gtest/gtest.h>

#include <set>

namespace ksim::sim {
namespace {

ServiceRule Rule(std::vector<ServiceEndpoint> endpoints) {
  ServiceRule r;
  r.name = "default/web:http";
  r.cluster_ip = "10.96.0.20";
  r.port = 80;
  r.node_port = 30080;
  r.endpoints = std::move(endpoints);
  return r;
}

ServiceEndpoint Ep(const std::string& ip, bool ready, bool serving, bool terminating) {
  return ServiceEndpoint{ip, 8080, ready, serving, terminating};
}

std::set<std::string> Destinations(SimDataplane& dp, const std::string& client, Nanos now = Nanos(0)) {
  Random random(7);
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto e = dp.Route("10.96.0.20", 80, client, now, random);
    if (e) seen.insert(e->ip);
  }
  return seen;
}

TEST(SimDataplaneRoute, ReadyEndpointsOnlyWhileAnyIsReady) {
  SimDataplane dp;
  ASSERT_TRUE(dp.Apply({Rule({Ep("10.244.0.1", true, true, false), Ep("10.244.0.2", false, true, true),
                              Ep("10.244.0.3", false, false, false), Ep("10.244.0.4", true, true, false)})})
                  .ok());
  EXPECT_EQ(Destinations(dp, ""), (std::set<std::string>{"10.244.0.1", "10.244.0.4"}));
}

TEST(SimDataplaneRoute, ServingTerminatingEndpointsWhenNoneIsReady) {
  SimDataplane dp;
  ASSERT_TRUE(dp.Apply({Rule({Ep("10.244.0.2", false, true, true), Ep("10.244.0.3", false, false, true),
                              Ep("10.244.0.5", false, true, false)})})
                  .ok());
  EXPECT_EQ(Destinations(dp, ""), (std::set<std::string>{"10.244.0.2"}))
      << "serving and terminating only; a not-ready, not-terminating pod gets nothing";
  ASSERT_TRUE(dp.Apply({Rule({Ep("10.244.0.3", false, false, true)})}).ok());
  EXPECT_TRUE(Destinations(dp, "").empty());
}

TEST(SimDataplaneRoute, ClientIpAffinityKeepsTheEndpointUntilTimeout) {
  SimDataplane dp;
  ServiceRule r = Rule({Ep("10.244.0.1", true, true, false), Ep("10.244.0.2", true, true, false),
                        Ep("10.244.0.3", true, true, false), Ep("10.244.0.4", true, true, false)});
  r.session_affinity = "ClientIP";
  r.affinity_timeout_seconds = 60;
  ASSERT_TRUE(dp.Apply({r}).ok());
  Random random(11);
  const auto first = dp.Route("10.96.0.20", 80, "10.244.9.9", Seconds(0), random);
  ASSERT_TRUE(first.has_value());
  for (int i = 1; i <= 30; ++i) {  // used every 50 s: never idle for 60 s
    auto e = dp.Route("10.96.0.20", 80, "10.244.9.9", Seconds(50 * i), random);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->ip, first->ip);
  }
  // Other clients spread over every endpoint.
  std::set<std::string> others;
  for (int i = 0; i < 64; ++i) {
    others.insert(dp.Route("10.96.0.20", 80, "10.244.8." + std::to_string(i), Seconds(1500), random)->ip);
  }
  EXPECT_EQ(others.size(), 4u);
  // After the timeout the choice is made afresh (some seed picks another endpoint).
  std::set<std::string> after;
  for (int i = 0; i < 20; ++i) {
    after.insert(dp.Route("10.96.0.20", 80, "10.244.9.9", Seconds(1500 + 61 * (i + 1)), random)->ip);
  }
  EXPECT_GT(after.size(), 1u);
  // An endpoint that stops being ready loses its clients.
  r.endpoints[0].ready = r.endpoints[1].ready = r.endpoints[2].ready = false;
  ASSERT_TRUE(dp.Apply({r}).ok());
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(dp.Route("10.96.0.20", 80, "10.244.9.9", Seconds(4000 + i), random)->ip, "10.244.0.4");
  }
}

TEST(SimDataplaneRoute, NodePortRoutesAndBadAffinityIsRefused) {
  SimDataplane dp;
  ServiceRule r = Rule({Ep("10.244.0.1", true, true, false)});
  ASSERT_TRUE(dp.Apply({r}).ok());
  Random random(1);
  ASSERT_TRUE(dp.Route("172.18.0.3", 30080, random).has_value());
  EXPECT_EQ(dp.Route("172.18.0.3", 30080, random)->ip, "10.244.0.1");
  EXPECT_FALSE(dp.Route("172.18.0.3", 30081, random).has_value());
  r.session_affinity = "Sticky";
  const Status s = dp.Apply({r});
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("sessionAffinity"), std::string::npos);
  EXPECT_EQ(dp.rules()[0].session_affinity, "None");  // unchanged
}

}  // namespace
}  // namespace ksim::sim
