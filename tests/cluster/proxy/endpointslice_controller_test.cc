// DesiredEndpointSlices: which pods become endpoints, their conditions, ports (named
// targetPorts per pod), the 100-per-slice limit and the labels.
#include "cluster/proxy/endpointslice_controller.h"

#include <gtest/gtest.h>

namespace ksim::proxy {
namespace {

api::Service Web() {
  api::Service s;
  s.mutable_metadata()->set_namespace_("default");
  s.mutable_metadata()->set_name("web");
  s.mutable_metadata()->set_uid("svc-uid");
  (*s.mutable_spec()->mutable_selector())["app"] = "web";
  api::ServicePort* p = s.mutable_spec()->add_ports();
  p->set_name("http");
  p->set_port(80);
  p->set_protocol("TCP");
  p->mutable_target_port()->set_str_val("http");
  return s;
}

api::Pod Pod(const std::string& name, const std::string& ip, bool ready, int http_port = 8080) {
  api::Pod p;
  p.mutable_metadata()->set_namespace_("default");
  p.mutable_metadata()->set_name(name);
  (*p.mutable_metadata()->mutable_labels())["app"] = "web";
  p.mutable_spec()->set_node_name("node-1");
  api::Container* c = p.mutable_spec()->add_containers();
  c->set_name("app");
  api::ContainerPort* port = c->add_ports();
  port->set_name("http");
  port->set_container_port(http_port);
  p.mutable_status()->set_phase("Running");
  p.mutable_status()->set_pod_ip(ip);
  api::PodCondition* cond = p.mutable_status()->add_conditions();
  cond->set_type("Ready");
  cond->set_status(ready ? "True" : "False");
  return p;
}

TEST(DesiredEndpointSlices, ConditionsPortsAndLabels) {
  api::Pod ready = Pod("a", "10.244.1.2", true);
  api::Pod not_ready = Pod("b", "10.244.1.3", false);
  api::Pod terminating = Pod("c", "10.244.1.4", true);
  terminating.mutable_metadata()->mutable_deletion_timestamp()->set_seconds(100);
  api::Pod no_ip = Pod("d", "", true);
  api::Pod done = Pod("e", "10.244.1.6", false);
  done.mutable_status()->set_phase("Succeeded");
  api::Pod other = Pod("f", "10.244.1.7", true);
  (*other.mutable_metadata()->mutable_labels())["app"] = "db";
  api::Pod other_port = Pod("g", "10.244.1.8", true, 9090);
  const auto slices = DesiredEndpointSlices(Web(), {&terminating, &not_ready, &ready, &no_ip, &done, &other, &other_port},
                                            {{"node-1", "zone-a"}});
  ASSERT_EQ(slices.size(), 2u) << "pods whose named port resolves differently get their own slice";
  const api::EndpointSlice& s = slices[0];
  EXPECT_EQ(s.metadata().name(), "web-0");
  EXPECT_EQ(s.metadata().labels().at("kubernetes.io/service-name"), "web");
  EXPECT_EQ(s.metadata().labels().at("endpointslice.kubernetes.io/managed-by"), "endpointslice-controller.k8s.io");
  EXPECT_EQ(s.metadata().owner_references(0).uid(), "svc-uid");
  EXPECT_EQ(s.address_type(), "IPv4");
  ASSERT_EQ(s.ports_size(), 1);
  EXPECT_EQ(s.ports(0).name(), "http");
  EXPECT_EQ(s.ports(0).port(), 8080);
  ASSERT_EQ(s.endpoints_size(), 3);  // a, b, c by name
  EXPECT_EQ(s.endpoints(0).addresses(0), "10.244.1.2");
  EXPECT_TRUE(s.endpoints(0).conditions().ready());
  EXPECT_TRUE(s.endpoints(0).conditions().serving());
  EXPECT_FALSE(s.endpoints(0).conditions().terminating());
  EXPECT_EQ(s.endpoints(0).node_name(), "node-1");
  EXPECT_EQ(s.endpoints(0).zone(), "zone-a");
  EXPECT_EQ(s.endpoints(0).target_ref().name(), "a");
  EXPECT_FALSE(s.endpoints(1).conditions().ready());
  EXPECT_FALSE(s.endpoints(1).conditions().serving());
  EXPECT_FALSE(s.endpoints(2).conditions().ready()) << "a terminating pod is not ready";
  EXPECT_TRUE(s.endpoints(2).conditions().serving());
  EXPECT_TRUE(s.endpoints(2).conditions().terminating());
  EXPECT_EQ(slices[1].ports(0).port(), 9090);
  EXPECT_EQ(slices[1].endpoints(0).addresses(0), "10.244.1.8");
}

TEST(DesiredEndpointSlices, AtMostTheLimitPerSliceAndNumericTargetPorts) {
  api::Service svc = Web();
  svc.mutable_spec()->mutable_ports(0)->mutable_target_port()->set_int_val(7000);
  std::vector<api::Pod> pods;
  for (int i = 0; i < 250; ++i) pods.push_back(Pod("p" + std::to_string(1000 + i), "10.244.2." + std::to_string(i % 250), true));
  std::vector<const api::Pod*> ptrs;
  for (const api::Pod& p : pods) ptrs.push_back(&p);
  const auto slices = DesiredEndpointSlices(svc, ptrs, {});
  ASSERT_EQ(slices.size(), 3u);
  EXPECT_EQ(slices[0].endpoints_size(), 100);
  EXPECT_EQ(slices[1].endpoints_size(), 100);
  EXPECT_EQ(slices[2].endpoints_size(), 50);
  EXPECT_EQ(slices[2].metadata().name(), "web-2");
  EXPECT_EQ(slices[0].ports(0).port(), 7000);
  EXPECT_FALSE(slices[0].endpoints(0).has_zone());
  svc.mutable_spec()->clear_selector();
  EXPECT_TRUE(DesiredEndpointSlices(svc, ptrs, {}).empty()) << "a Service without a selector gets no slices";
}

}  // namespace
}  // namespace ksim::proxy
