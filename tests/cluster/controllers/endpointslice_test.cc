// The EndpointSlice and Endpoints controllers against the API in the simulated world,
// following the Kubernetes docs' examples (EndpointSlices, Endpoints), and the pure
// plan functions on hand-built inputs.
#include <gtest/gtest.h>

#include "cluster/controllers/endpoints.h"
#include "cluster/controllers/endpointslice_plan.h"
#include "tests/cluster/controllers/eps_fixture.h"

namespace ksim::controllers::testing {
namespace {

bool WaitConverged(EpsFixture& f, const api::Service& svc, size_t max = 100, Nanos limit = Seconds(30)) {
  std::string why;
  const bool ok = f.RunUntil([&] { return f.Converged(svc, max, &why); }, limit);
  if (!ok) ADD_FAILURE() << why;
  return ok;
}

TEST(EndpointSliceTest, SliceListsSelectedPodsWithConditionsZoneAndOwner) {
  EpsFixture f;
  api::Service svc = EpsFixture::MakeService("web");
  ASSERT_TRUE(f.c.Create(svc).ok());
  ASSERT_TRUE(f.AddPod(f.MakePod("web-1", "web", "n1"), true));
  ASSERT_TRUE(f.AddPod(f.MakePod("web-2", "web", "n2"), false));
  ASSERT_TRUE(f.AddPod(f.MakePod("other", "db", "n1"), true));
  svc = f.c.List<api::Service>("services", "default").at("web");
  ASSERT_TRUE(WaitConverged(f, svc));
  const auto slices = f.Slices("web");
  ASSERT_EQ(slices.size(), 1u);
  const api::EndpointSlice& s = slices[0];
  EXPECT_EQ(s.address_type(), "IPv4");
  EXPECT_EQ(s.metadata().labels().at("endpointslice.kubernetes.io/managed-by"), "endpointslice-controller.k8s.io");
  EXPECT_EQ(s.metadata().labels().at("team"), "blue");  // the Service's labels
  ASSERT_EQ(s.metadata().owner_references_size(), 1);
  EXPECT_EQ(s.metadata().owner_references(0).uid(), svc.metadata().uid());
  EXPECT_TRUE(s.metadata().owner_references(0).controller());
  EXPECT_EQ(s.metadata().name().rfind("web-", 0), 0u);
  ASSERT_EQ(s.endpoints_size(), 2);
  ASSERT_EQ(s.ports_size(), 1);
  EXPECT_EQ(s.ports(0).port(), 8080);
  for (const auto& e : s.endpoints()) {
    EXPECT_EQ(e.target_ref().kind(), "Pod");
    EXPECT_EQ(e.node_name(), e.target_ref().name() == "web-1" ? "n1" : "n2");
    EXPECT_EQ(e.zone(), e.target_ref().name() == "web-1" ? "zone-a" : "zone-b");
  }
  auto ep = f.GetEndpoints("web");
  ASSERT_TRUE(ep.has_value());
  ASSERT_EQ(ep->subsets_size(), 1);
  EXPECT_EQ(ep->subsets(0).addresses_size(), 1);
  EXPECT_EQ(ep->subsets(0).not_ready_addresses_size(), 1);
  EXPECT_EQ(ep->metadata().labels().at("team"), "blue");
}

TEST(EndpointSliceTest, ReadyNotReadyAndTerminatingTransitions) {
  EpsFixture f;
  api::Service svc = EpsFixture::MakeService("web");
  ASSERT_TRUE(f.c.Create(svc).ok());
  ASSERT_TRUE(f.AddPod(f.MakePod("web-1", "web", "n1"), true));
  ASSERT_TRUE(WaitConverged(f, svc));
  ASSERT_TRUE(f.SetReady("web-1", false));
  ASSERT_TRUE(WaitConverged(f, svc));  // ready=false serving=false, notReadyAddresses
  ASSERT_TRUE(f.SetReady("web-1", true));
  ASSERT_TRUE(WaitConverged(f, svc));
  ASSERT_TRUE(f.StartDelete("web-1"));
  ASSERT_TRUE(WaitConverged(f, svc));  // ready=false serving=true terminating=true; out of Endpoints
  auto e = f.Slices("web").at(0).endpoints(0).conditions();
  EXPECT_FALSE(e.ready());
  EXPECT_TRUE(e.serving());
  EXPECT_TRUE(e.terminating());
  EXPECT_EQ(f.GetEndpoints("web")->subsets_size(), 0);
  ASSERT_TRUE(f.FinishDelete("web-1"));
  ASSERT_TRUE(WaitConverged(f, svc));
  // No endpoints left: one empty placeholder slice, as Kubernetes keeps.
  const auto slices = f.Slices("web");
  ASSERT_EQ(slices.size(), 1u);
  EXPECT_EQ(slices[0].endpoints_size(), 0);
}

TEST(EndpointSliceTest, PublishNotReadyAddressesMarksEveryEndpointReady) {
  EpsFixture f;
  api::Service svc = EpsFixture::MakeService("web");
  svc.mutable_spec()->set_publish_not_ready_addresses(true);
  ASSERT_TRUE(f.c.Create(svc).ok());
  ASSERT_TRUE(f.AddPod(f.MakePod("web-1", "web", "n1"), false));
  ASSERT_TRUE(f.AddPod(f.MakePod("web-2", "web", "n1"), true));
  ASSERT_TRUE(f.StartDelete("web-2"));
  ASSERT_TRUE(WaitConverged(f, svc));
  const auto slices = f.Slices("web");
  ASSERT_EQ(slices.size(), 1u);
  for (const auto& e : slices[0].endpoints()) EXPECT_TRUE(e.conditions().ready());
  auto ep = f.GetEndpoints("web");
  ASSERT_EQ(ep->subsets_size(), 1);
  EXPECT_EQ(ep->subsets(0).addresses_size(), 2);  // the terminating pod too
}

TEST(EndpointSliceTest, NamedTargetPortSplitsPodsIntoTwoSlicesAndSubsets) {
  EpsFixture f;
  api::Service svc = EpsFixture::MakeService("web", {{"http", api::MakeIntOrString("http")}});
  ASSERT_TRUE(f.c.Create(svc).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(f.AddPod(f.MakePod(fmt::format("old-{}", i), "web", "n1", {{"http", 8080}}), true));
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(f.AddPod(f.MakePod(fmt::format("new-{}", i), "web", "n2", {{"http", 9090}}), true));
  ASSERT_TRUE(f.AddPod(f.MakePod("none", "web", "n2", {{"metrics", 9100}}), true));  // no "http": no ports
  ASSERT_TRUE(WaitConverged(f, svc));
  std::map<std::string, int> by_ports;
  for (const auto& s : f.Slices("web")) by_ports[EpsFixture::PortsOf(s)] = s.endpoints_size();
  EXPECT_EQ(by_ports, (std::map<std::string, int>{{"", 1}, {"http:8080,", 3}, {"http:9090,", 2}}));
  EXPECT_EQ(f.GetEndpoints("web")->subsets_size(), 2);  // the pod without the port is in no subset
}

TEST(EndpointSliceTest, TwoHundredFiftyPodsMakeThreeSlicesAndScalingRepacksWithoutChurn) {
  EpsFixture f;
  api::Service svc = EpsFixture::MakeService("web");
  ASSERT_TRUE(f.c.Create(svc).ok());
  ASSERT_TRUE(WaitConverged(f, svc));
  for (int i = 0; i < 250; ++i) ASSERT_TRUE(f.AddPod(f.MakePod(fmt::format("web-{:03}", i), "web", i % 2 ? "n1" : "n2"), true));
  ASSERT_TRUE(WaitConverged(f, svc));
  std::multiset<int> sizes;
  for (const auto& s : f.Slices("web")) sizes.insert(s.endpoints_size());
  EXPECT_EQ(sizes, (std::multiset<int>{50, 100, 100}));
  // Scale down by 60 (every fourth pod): endpoints leave their slices in place.
  f.slice_writes.clear();
  for (int i = 0; i < 240; i += 4) ASSERT_TRUE(f.FinishDelete(fmt::format("web-{:03}", i)));
  ASSERT_TRUE(WaitConverged(f, svc));
  EXPECT_EQ(f.slice_writes["create"], 0);
  EXPECT_EQ(f.Slices("web").size(), 3u);
  // Scale up by 40: they fill the slices with room before any new slice is made.
  f.slice_writes.clear();
  for (int i = 250; i < 290; ++i) ASSERT_TRUE(f.AddPod(f.MakePod(fmt::format("web-{:03}", i), "web", "n1"), true));
  ASSERT_TRUE(WaitConverged(f, svc));
  EXPECT_EQ(f.slice_writes["create"], 0);
  EXPECT_EQ(f.slice_writes["delete"], 0);
  EXPECT_EQ(f.Slices("web").size(), 3u);
  // Down to 30 pods: emptied slices are deleted, the rest stay where they are.
  for (int i = 30; i < 290; ++i) {
    if (i % 4 != 0 || i >= 240) {
      ASSERT_TRUE(f.FinishDelete(fmt::format("web-{:03}", i)));
    }
  }
  ASSERT_TRUE(WaitConverged(f, svc));
  EXPECT_LE(f.Slices("web").size(), 2u);
}

TEST(EndpointSliceTest, DeletedServiceLosesItsSlicesAndEndpoints) {
  EpsFixture f;
  api::Service svc = EpsFixture::MakeService("web");
  ASSERT_TRUE(f.c.Create(svc).ok());
  ASSERT_TRUE(f.AddPod(f.MakePod("web-1", "web", "n1"), true));
  ASSERT_TRUE(WaitConverged(f, svc));
  ASSERT_TRUE(f.c.api.Await([&](client::ApiClient::Done d) { f.c.kubectl->Delete(Kind("", "services"), "default", "web", std::move(d)); }).ok());
  EXPECT_TRUE(f.RunUntil([&] { return f.Slices("web").empty() && !f.GetEndpoints("web").has_value(); }, Seconds(30)));
}

TEST(EndpointSliceTest, ServiceWithoutSelectorIsLeftAlone) {
  EpsFixture f;
  api::Service svc = EpsFixture::MakeService("manual");
  svc.mutable_spec()->clear_selector();
  ASSERT_TRUE(f.c.Create(svc).ok());
  api::Endpoints mine;
  mine.mutable_metadata()->set_namespace_("default");
  mine.mutable_metadata()->set_name("manual");
  auto* s = mine.add_subsets();
  s->add_addresses()->set_ip("192.168.0.10");
  s->add_ports()->set_port(80);
  ASSERT_TRUE(f.c.Create(mine).ok());
  f.c.Run(Seconds(20));
  EXPECT_TRUE(f.Slices("manual").empty());
  auto ep = f.GetEndpoints("manual");
  ASSERT_TRUE(ep.has_value());
  EXPECT_EQ(ep->subsets(0).addresses(0).ip(), "192.168.0.10");
}

TEST(EndpointSliceTest, ControllerManagerFailoverMidChurnConverges) {
  EpsFixture f(/*seed=*/3, /*managers=*/2);
  api::Service svc = EpsFixture::MakeService("web");
  ASSERT_TRUE(f.c.Create(svc).ok());
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(f.AddPod(f.MakePod(fmt::format("web-{:02}", i), "web", "n1"), i % 3 != 0));
  const int leader = f.c.Leader();
  ASSERT_NE(leader, 0);
  f.c.ManagerHost(leader).CrashProcess("controller-manager");
  for (int i = 0; i < 30; i += 2) ASSERT_TRUE(f.SetReady(fmt::format("web-{:02}", i), i % 4 == 0));
  for (int i = 1; i < 30; i += 5) ASSERT_TRUE(f.StartDelete(fmt::format("web-{:02}", i)));
  ASSERT_TRUE(WaitConverged(f, svc, 100, Seconds(60)));
  EXPECT_NE(f.c.Leader(), leader);
  EXPECT_TRUE(f.c.violations.empty()) << f.c.violations[0];
}

// ------------------------------------------------------------------ pure plans

api::Pod PlanPod(const std::string& name, const std::string& ip) {
  api::Pod p;
  p.mutable_metadata()->set_namespace_("default");
  p.mutable_metadata()->set_name(name);
  p.mutable_metadata()->set_uid("uid-" + name);
  (*p.mutable_metadata()->mutable_labels())["app"] = "web";
  p.mutable_status()->set_pod_ip(ip);
  p.mutable_status()->set_phase("Running");
  auto* c = p.mutable_status()->add_conditions();
  c->set_type("Ready");
  c->set_status("True");
  return p;
}

TEST(EndpointSlicePlanTest, ACreateTakesOverTheNameOfASliceBeingDeleted) {
  api::Service svc = EpsFixture::MakeService("web");
  svc.mutable_metadata()->set_uid("svc-uid");
  svc.mutable_spec()->set_cluster_ip("10.96.0.10");
  // An existing slice with port 1234 only (the Service's port changed to 8080).
  api::EndpointSlice old;
  old.mutable_metadata()->set_name("web-abcde");
  old.mutable_metadata()->set_uid("slice-uid");
  old.mutable_metadata()->set_resource_version("7");
  old.mutable_metadata()->add_owner_references()->set_uid("svc-uid");
  old.mutable_metadata()->mutable_owner_references(0)->set_kind("Service");
  old.mutable_metadata()->mutable_owner_references(0)->set_api_version("v1");
  old.set_address_type("IPv4");
  old.add_ports()->set_port(1234);
  api::Pod a = PlanPod("a", "10.0.0.1");
  old.add_endpoints()->add_addresses("10.0.0.1");
  EndpointSliceInputs in;
  in.service = &svc;
  in.pods = {&a};
  in.existing = {&old};
  EndpointSlicePlan plan = PlanEndpointSlices(in);
  EXPECT_TRUE(plan.creates.empty());
  EXPECT_TRUE(plan.deletes.empty());
  ASSERT_EQ(plan.updates.size(), 1u);
  EXPECT_EQ(plan.updates[0].metadata().name(), "web-abcde");
  EXPECT_EQ(plan.updates[0].metadata().resource_version(), "7");
  EXPECT_EQ(plan.updates[0].ports(0).port(), 8080);
}

TEST(EndpointSlicePlanTest, LeftoverEndpointsGoToTheUnchangedSliceTheyFillBest) {
  api::Service svc = EpsFixture::MakeService("web");
  svc.mutable_metadata()->set_uid("svc-uid");
  svc.mutable_spec()->set_cluster_ip("10.96.0.10");
  std::vector<api::Pod> pods;
  for (int i = 0; i < 9; ++i) pods.push_back(PlanPod(fmt::format("p{}", i), fmt::format("10.0.0.{}", i + 1)));
  EndpointSliceInputs in;
  in.service = &svc;
  in.max_endpoints_per_slice = 5;
  for (int i = 0; i < 7; ++i) in.pods.push_back(&pods[static_cast<size_t>(i)]);
  EndpointSlicePlan first = PlanEndpointSlices(in);
  ASSERT_EQ(first.creates.size(), 2u);  // 5 + 2
  first.creates[0].mutable_metadata()->set_name("web-1");
  first.creates[1].mutable_metadata()->set_name("web-2");
  in.existing = {&first.creates[0], &first.creates[1]};
  in.pods.push_back(&pods[7]);
  in.pods.push_back(&pods[8]);
  EndpointSlicePlan second = PlanEndpointSlices(in);
  EXPECT_TRUE(second.creates.empty());
  ASSERT_EQ(second.updates.size(), 1u);
  EXPECT_EQ(second.updates[0].metadata().name(), "web-2");
  EXPECT_EQ(second.updates[0].endpoints_size(), 4);
}

TEST(EndpointsPlanTest, TruncationKeepsAThousandReadyFirstInProportionAndAnnotates) {
  api::Service svc = EpsFixture::MakeService("web");
  svc.mutable_spec()->set_cluster_ip("10.96.0.10");
  std::vector<api::EndpointSubset> subsets(2);
  for (int i = 0; i < 900; ++i) subsets[0].add_addresses()->set_ip("10.0.0.1");
  for (int i = 0; i < 300; ++i) subsets[1].add_addresses()->set_ip("10.0.0.2");
  for (int i = 0; i < 50; ++i) subsets[1].add_not_ready_addresses()->set_ip("10.0.0.3");
  ASSERT_TRUE(TruncateEndpointSubsets(subsets));
  EXPECT_EQ(subsets[0].addresses_size(), 750);  // ceil(900/1200 * 1000)
  EXPECT_EQ(subsets[1].addresses_size(), 250);
  EXPECT_EQ(subsets[1].not_ready_addresses_size(), 0);
  std::vector<api::EndpointSubset> small(1);
  for (int i = 0; i < 990; ++i) small[0].add_addresses()->set_ip("10.0.0.1");
  for (int i = 0; i < 30; ++i) small[0].add_not_ready_addresses()->set_ip("10.0.0.2");
  ASSERT_TRUE(TruncateEndpointSubsets(small));
  EXPECT_EQ(small[0].addresses_size(), 990);
  EXPECT_EQ(small[0].not_ready_addresses_size(), 10);
  // The object: annotated when cut, and the annotation goes when it fits again.
  std::vector<api::Pod> pods;
  for (int i = 0; i < 1001; ++i) pods.push_back(PlanPod(fmt::format("p{}", i), fmt::format("10.1.{}.{}", i / 250, i % 250 + 1)));
  std::vector<const api::Pod*> ptrs;
  for (const auto& p : pods) ptrs.push_back(&p);
  api::Endpoints ep;
  ASSERT_TRUE(DesiredEndpoints(svc, ptrs, nullptr, &ep));
  EXPECT_EQ(ep.metadata().annotations().at(kOverCapacityAnnotation), "truncated");
  EXPECT_EQ(ep.subsets(0).addresses_size(), 1000);
  api::Endpoints again;
  EXPECT_FALSE(DesiredEndpoints(svc, ptrs, &ep, &again));  // no write when nothing changed
  ptrs.pop_back();
  ASSERT_TRUE(DesiredEndpoints(svc, ptrs, &ep, &again));
  EXPECT_EQ(again.metadata().annotations().count(kOverCapacityAnnotation), 0u);
}

}  // namespace
}  // namespace ksim::controllers::testing
