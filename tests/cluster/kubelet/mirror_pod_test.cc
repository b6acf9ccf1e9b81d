// MirrorPodManager against a fake apiserver: mirror pods created once the Node is known,
// re-created after a delete through the API, replaced when stale, removed when orphaned,
// and Events on the Node.
#include "cluster/kubelet/mirror_pod.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/kubelet/static_pod.h"
#include "tests/cluster/kubelet/fake_api.h"

namespace ksim::kubelet {
namespace {

using testing::FakeNodeWorld;

std::shared_ptr<const api::Pod> StaticPod(const std::string& image) {
  std::vector<std::shared_ptr<const api::Pod>> pods;
  const std::string yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: c, image: " +
                           image + "}]\n";
  EXPECT_TRUE(ReadStaticPods(yaml, StaticSource::kFile, "web.yaml", "node1", {}, &pods).ok());
  return pods.at(0);
}

class MirrorPodTest : public ::testing::Test {
 protected:
  MirrorPodTest() {
    client::ApiClientOptions o;
    o.endpoints = {"api1:6443"};
    client = std::make_unique<client::ApiClient>(w.env, o);
    MirrorPodOptions mo;
    mo.node_name = "node1";
    manager = std::make_unique<MirrorPodManager>(w.env, client.get(), mo, [this] { return node_uid; });
    manager->Start();
  }
  // Plays the kubelet's pod informer: tells the manager what the API holds now.
  void Feed() {
    std::map<std::string, std::shared_ptr<const api::Pod>> now;
    for (const auto& m : w.api.List("pods")) {
      auto pod = std::make_shared<api::Pod>();
      pod->CopyFrom(*m);
      now[pod->metadata().namespace_() + "/" + pod->metadata().name()] = pod;
    }
    for (const auto& [key, pod] : fed) {
      const auto it = now.find(key);
      if (it == now.end() || it->second->metadata().uid() != pod->metadata().uid()) manager->OnApiPodDeleted(pod);
    }
    for (const auto& [key, pod] : now) manager->OnApiPod(pod);
    fed = now;
  }
  // Time passes with the informer keeping up.
  void Run(Nanos d) {
    for (Nanos t{0}; t < d; t += Milliseconds(100)) {
      w.clock.Advance(Milliseconds(100));
      Feed();
    }
  }
  std::shared_ptr<api::Pod> Mirror() { return w.api.Get<api::Pod>("pods", "default", "web-node1"); }

  FakeNodeWorld w;
  std::string node_uid;
  std::unique_ptr<client::ApiClient> client;
  std::unique_ptr<MirrorPodManager> manager;
  std::map<std::string, std::shared_ptr<const api::Pod>> fed;
};

TEST_F(MirrorPodTest, CreatedOnceTheNodeIsRegistered) {
  auto pod = StaticPod("nginx");
  manager->SetStaticPod(pod);
  Run(Seconds(5));
  EXPECT_EQ(Mirror(), nullptr) << "no owner yet";
  node_uid = "node-uid-1";
  Run(Seconds(3));
  auto mirror = Mirror();
  ASSERT_NE(mirror, nullptr);
  EXPECT_TRUE(IsMirrorPod(*mirror));
  EXPECT_EQ(mirror->metadata().annotations().at("kubernetes.io/config.mirror"), pod->metadata().uid());
  EXPECT_EQ(mirror->metadata().annotations().at("kubernetes.io/config.hash"), pod->metadata().uid());
  EXPECT_NE(mirror->metadata().uid(), pod->metadata().uid()) << "the API gives the mirror its own uid";
  ASSERT_EQ(mirror->metadata().owner_references_size(), 1);
  EXPECT_EQ(mirror->metadata().owner_references(0).kind(), "Node");
  EXPECT_EQ(mirror->metadata().owner_references(0).uid(), "node-uid-1");
  EXPECT_TRUE(mirror->metadata().owner_references(0).controller());
  EXPECT_EQ(mirror->spec().node_name(), "node1");
  EXPECT_EQ(manager->stats().creates, 1u);
  Run(Seconds(20));
  EXPECT_EQ(manager->stats().creates, 1u) << "one mirror pod, not one per sync";
}

TEST_F(MirrorPodTest, ADeletedMirrorPodIsCreatedAgain) {
  node_uid = "n";
  manager->SetStaticPod(StaticPod("nginx"));
  Run(Seconds(3));
  const std::string first = Mirror()->metadata().uid();
  ASSERT_TRUE(w.api.Remove("pods", "default", "web-node1"));
  Run(Seconds(3));
  ASSERT_NE(Mirror(), nullptr);
  EXPECT_NE(Mirror()->metadata().uid(), first);
  // Deleted gracefully through the API (a deletionTimestamp): deleted now and created again.
  auto terminating = Mirror();
  terminating->mutable_metadata()->mutable_deletion_timestamp()->set_seconds(1);
  w.api.Put("pods", *terminating);
  Run(Seconds(5));
  ASSERT_NE(Mirror(), nullptr);
  EXPECT_FALSE(Mirror()->metadata().has_deletion_timestamp());
  EXPECT_EQ(manager->stats().creates, 3u);
}

TEST_F(MirrorPodTest, StaleMirrorReplacedAndOrphanDeleted) {
  node_uid = "n";
  manager->SetStaticPod(StaticPod("nginx"));
  Run(Seconds(3));
  auto v2 = StaticPod("nginx:1.28");
  manager->SetStaticPod(v2);
  Run(Seconds(5));
  ASSERT_NE(Mirror(), nullptr);
  EXPECT_EQ(Mirror()->metadata().annotations().at("kubernetes.io/config.mirror"), v2->metadata().uid());
  EXPECT_EQ(Mirror()->spec().containers(0).image(), "nginx:1.28");
  manager->RemoveStaticPod("default/web-node1");
  Run(Seconds(3));
  EXPECT_EQ(Mirror(), nullptr);
  EXPECT_EQ(manager->stats().deletes, 2u);
}

TEST_F(MirrorPodTest, WaitsOutAnApiserverOutage) {
  node_uid = "n";
  w.api.down = true;
  manager->SetStaticPod(StaticPod("nginx"));
  Run(Seconds(60));
  w.api.down = false;
  EXPECT_EQ(Mirror(), nullptr);
  Run(Seconds(40));  // a create sent during the outage gives up after 30 s
  EXPECT_NE(Mirror(), nullptr);
}

TEST_F(MirrorPodTest, ARegularPodHoldingTheNameIsLeftAlone) {
  node_uid = "n";
  api::Pod regular;
  regular.mutable_metadata()->set_name("web-node1");
  regular.mutable_metadata()->set_namespace_("default");
  w.api.Put("pods", regular);
  manager->SetStaticPod(StaticPod("nginx"));
  Run(Seconds(10));
  EXPECT_FALSE(IsMirrorPod(*Mirror()));
  EXPECT_EQ(w.api.Count("create pods"), 0);
  EXPECT_EQ(w.api.Count("delete pods"), 0);
}

TEST_F(MirrorPodTest, EventsOnTheNodeAreRateLimited) {
  for (int i = 0; i < 20; ++i) manager->PostNodeEvent("FailedStaticPodManifest", "web.yaml:3: bad");
  w.clock.Advance(Seconds(1));
  const auto events = w.api.List("events");
  ASSERT_EQ(events.size(), 12u);
  const auto& e = static_cast<const api::Event&>(*events[0]);
  EXPECT_EQ(e.involved_object().kind(), "Node");
  EXPECT_EQ(e.involved_object().name(), "node1");
  EXPECT_EQ(e.reason(), "FailedStaticPodManifest");
  EXPECT_EQ(e.type(), "Warning");
  EXPECT_EQ(e.source().component(), "kubelet");
  EXPECT_TRUE(w.logger.Contains("web.yaml:3: bad"));
  w.clock.Advance(Seconds(60));
  manager->PostNodeEvent("FailedStaticPodManifest", "again");
  w.clock.Advance(Seconds(1));
  EXPECT_EQ(w.api.List("events").size(), 13u);
}

}  // namespace
}  // namespace ksim::kubelet
