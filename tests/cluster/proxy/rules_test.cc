// BuildRules: Services and EndpointSlices into dataplane rules.
#include "cluster/proxy/rules.h"

#include <gtest/gtest.h>

namespace ksim::proxy {
namespace {

api::Service Svc(const std::string& name, const std::string& ip, std::vector<std::pair<std::string, int>> ports) {
  api::Service s;
  s.mutable_metadata()->set_namespace_("default");
  s.mutable_metadata()->set_name(name);
  s.mutable_spec()->set_type("ClusterIP");
  s.mutable_spec()->set_cluster_ip(ip);
  for (auto& [n, p] : ports) {
    api::ServicePort* sp = s.mutable_spec()->add_ports();
    sp->set_name(n);
    sp->set_port(p);
    sp->set_protocol("TCP");
  }
  return s;
}

api::EndpointSlice Slice(const std::string& svc, const std::string& port_name, int port,
                         std::vector<std::tuple<std::string, std::optional<bool>, std::optional<bool>, std::optional<bool>>> eps) {
  api::EndpointSlice s;
  s.mutable_metadata()->set_namespace_("default");
  s.mutable_metadata()->set_name(svc + "-x");
  (*s.mutable_metadata()->mutable_labels())["kubernetes.io/service-name"] = svc;
  s.set_address_type("IPv4");
  api::EndpointSlicePort* p = s.add_ports();
  p->set_name(port_name);
  p->set_protocol("TCP");
  p->set_port(port);
  for (auto& [ip, ready, serving, terminating] : eps) {
    api::Endpoint* e = s.add_endpoints();
    e->add_addresses(ip);
    if (ready) e->mutable_conditions()->set_ready(*ready);
    if (serving) e->mutable_conditions()->set_serving(*serving);
    if (terminating) e->mutable_conditions()->set_terminating(*terminating);
  }
  return s;
}

TEST(BuildRules, ClusterIpNodePortAffinityAndEndpointConditions) {
  api::Service web = Svc("web", "10.96.1.1", {{"http", 80}, {"metrics", 9090}});
  web.mutable_spec()->set_type("NodePort");
  web.mutable_spec()->mutable_ports(0)->set_node_port(30080);
  web.mutable_spec()->set_session_affinity("ClientIP");
  web.mutable_spec()->mutable_session_affinity_config()->mutable_client_ip()->set_timeout_seconds(60);
  const api::EndpointSlice http = Slice("web", "http", 8080,
                                        {{"10.244.1.2", true, true, false},
                                         {"10.244.1.3", false, true, true},
                                         {"10.244.1.4", std::nullopt, std::nullopt, std::nullopt}});
  const api::EndpointSlice other = Slice("db", "http", 5432, {{"10.244.2.2", true, true, false}});
  const std::vector<ServiceRule> rules = BuildRules({&web}, {&http, &other});
  ASSERT_EQ(rules.size(), 2u);
  const ServiceRule& r = rules[0];
  EXPECT_EQ(r.name, "default/web:http");
  EXPECT_EQ(r.cluster_ip, "10.96.1.1");
  EXPECT_EQ(r.port, 80);
  EXPECT_EQ(r.node_port, 30080);
  EXPECT_EQ(r.session_affinity, "ClientIP");
  EXPECT_EQ(r.affinity_timeout_seconds, 60);
  ASSERT_EQ(r.endpoints.size(), 3u);
  EXPECT_EQ(r.endpoints[0].ip, "10.244.1.2");
  EXPECT_EQ(r.endpoints[0].port, 8080);
  EXPECT_TRUE(r.endpoints[0].ready);
  EXPECT_FALSE(r.endpoints[1].ready);
  EXPECT_TRUE(r.endpoints[1].serving);
  EXPECT_TRUE(r.endpoints[1].terminating);
  // Unset conditions: ready true, serving as ready, terminating false (the API's reading).
  EXPECT_TRUE(r.endpoints[2].ready);
  EXPECT_TRUE(r.endpoints[2].serving);
  EXPECT_FALSE(r.endpoints[2].terminating);
  EXPECT_EQ(rules[1].name, "default/web:metrics");
  EXPECT_TRUE(rules[1].endpoints.empty()) << "no slice has a port named metrics";
  EXPECT_EQ(rules[1].node_port, 0);
}

TEST(BuildRules, HeadlessAndExternalNameGetNoRulesAndDuplicatesCountOnce) {
  api::Service headless = Svc("db", "None", {{"", 5432}});
  api::Service ext = Svc("ext", "", {{"", 80}});
  ext.mutable_spec()->set_type("ExternalName");
  api::Service web = Svc("web", "10.96.1.1", {{"", 80}});
  const api::EndpointSlice a = Slice("web", "", 8080, {{"10.244.1.2", true, true, false}});
  api::EndpointSlice b = a;
  b.mutable_metadata()->set_name("web-y");
  const std::vector<ServiceRule> rules = BuildRules({&headless, &ext, &web}, {&a, &b});
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].name, "default/web:");
  EXPECT_EQ(rules[0].endpoints.size(), 1u);
  EXPECT_EQ(rules[0].session_affinity, "None");
}

}  // namespace
}  // namespace ksim::proxy
