// Static pods: reading manifests (defaults, uid, annotations, errors naming file, line and
// field) and the three non-API sources (folder, URL, posted) on fakes and a manual clock.
#include "cluster/kubelet/static_pod.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "cluster/net/http1.h"
#include "tests/cluster/kubelet/fake_api.h"

namespace ksim::kubelet {
namespace {

using testing::FakeNodeWorld;

constexpr char kWeb[] = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: nginx
    image: nginx:1.27
)";

constexpr char kTwo[] = R"(apiVersion: v1
kind: Pod
metadata: {name: etcd, namespace: kube-system}
spec:
  containers: [{name: etcd, image: registry.k8s.io/etcd:3.5}]
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: kube-system}
spec:
  containers: [{name: api, image: registry.k8s.io/kube-apiserver:v1.32.0}]
)";

std::vector<std::shared_ptr<const api::Pod>> Read(const std::string& text, const std::string& file = "web.yaml",
                                                  Status* status = nullptr) {
  std::vector<std::shared_ptr<const api::Pod>> pods;
  Status s = ReadStaticPods(text, StaticSource::kFile, file, "node1", StaticManifestLimits{}, &pods);
  if (status) *status = s;
  return pods;
}

TEST(ReadStaticPods, AppliesKubernetesStaticPodDefaults) {
  auto pods = Read(kWeb);
  ASSERT_EQ(pods.size(), 1u);
  const api::Pod& p = *pods[0];
  EXPECT_EQ(p.metadata().name(), "web-node1");
  EXPECT_EQ(p.metadata().namespace_(), "default");
  EXPECT_EQ(p.spec().node_name(), "node1");
  EXPECT_EQ(p.metadata().uid().size(), 32u);
  EXPECT_EQ(p.metadata().annotations().at("kubernetes.io/config.hash"), p.metadata().uid());
  EXPECT_EQ(p.metadata().annotations().at("kubernetes.io/config.source"), "file");
  EXPECT_EQ(p.spec().restart_policy(), "Always");  // the apiserver's defaults too
  ASSERT_EQ(p.spec().tolerations_size(), 1);
  EXPECT_EQ(p.spec().tolerations(0).operator_(), "Exists");
  EXPECT_EQ(p.spec().tolerations(0).effect(), "NoExecute");
  EXPECT_EQ(p.status().phase(), "Pending");
}

TEST(ReadStaticPods, UidIsDeterministicPerManifestNodeAndFile) {
  const std::string uid = Read(kWeb)[0]->metadata().uid();
  EXPECT_EQ(Read(kWeb)[0]->metadata().uid(), uid) << "same manifest, same uid";
  EXPECT_NE(Read(kWeb, "other.yaml")[0]->metadata().uid(), uid);
  std::string changed = kWeb;
  changed.replace(changed.find("nginx:1.27"), 10, "nginx:1.28");
  EXPECT_NE(Read(changed)[0]->metadata().uid(), uid);
  std::vector<std::shared_ptr<const api::Pod>> on_node2;
  ASSERT_TRUE(ReadStaticPods(kWeb, StaticSource::kFile, "web.yaml", "node2", {}, &on_node2).ok());
  EXPECT_NE(on_node2[0]->metadata().uid(), uid);
}

TEST(ReadStaticPods, MultiDocumentManifest) {
  auto pods = Read(kTwo, "control-plane.yaml");
  ASSERT_EQ(pods.size(), 2u);
  EXPECT_EQ(pods[0]->metadata().name(), "etcd-node1");
  EXPECT_EQ(pods[1]->metadata().namespace_(), "kube-system");
}

TEST(ReadStaticPods, ErrorsNameFileLineAndField) {
  Status s;
  std::string typo = kTwo;
  typo.replace(typo.find("image: registry.k8s.io/kube"), 5, "imagee");
  EXPECT_TRUE(Read(typo, "cp.yaml", &s).empty());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "cp.yaml:11: spec.containers[0].imagee: unknown field \"imagee\"");

  std::string no_image = kWeb;
  no_image.replace(no_image.find("    image: nginx:1.27\n"), 22, "");
  EXPECT_TRUE(Read(no_image, "web.yaml", &s).empty());
  EXPECT_EQ(s.message(), "web.yaml:1: spec.containers[0].image: Required value");

  EXPECT_TRUE(Read("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", "svc.yaml", &s).empty());
  EXPECT_EQ(s.message(), "svc.yaml:1: kind: \"Service\" cannot be a static pod (only Pod)");
  EXPECT_TRUE(Read(std::string(kWeb) + "---\n" + kWeb, "dup.yaml", &s).empty());
  EXPECT_NE(s.message().find("dup.yaml:11: metadata.name: Duplicate value"), std::string::npos) << s.message();
  StaticManifestLimits small;
  small.max_manifest_bytes = 10;
  std::vector<std::shared_ptr<const api::Pod>> pods;
  s = ReadStaticPods(kWeb, StaticSource::kFile, "web.yaml", "node1", small, &pods);
  EXPECT_NE(s.message().find("more than the 10 allowed"), std::string::npos);
}

class StaticPodSourceTest : public ::testing::Test {
 protected:
  void Make(StaticPodSourceOptions o) {
    o.node_name = "node1";
    source = std::make_unique<StaticPodSource>(
        w.env, o,
        [this](PodChange c, const std::shared_ptr<const api::Pod>& p) {
          const char* what[] = {"add", "update", "remove"};
          changes.push_back(std::string(what[static_cast<int>(c)]) + " " + p->metadata().name());
        },
        [this](const std::string& location, const Status& s) { bad.push_back(location + ": " + s.message()); });
    source->Start();
  }
  FakeNodeWorld w;
  std::unique_ptr<StaticPodSource> source;
  std::vector<std::string> changes;
  std::vector<std::string> bad;
};

TEST_F(StaticPodSourceTest, FolderIsReadEveryTwentySeconds) {
  w.disk.files["manifests/web.yaml"] = kWeb;
  w.disk.files["manifests/.web.yaml.swp"] = "garbage: [";
  StaticPodSourceOptions o;
  o.manifest_dir = "manifests";
  Make(o);
  EXPECT_EQ(changes, std::vector<std::string>{"add web-node1"});
  w.disk.files["manifests/cp.yaml"] = kTwo;
  w.clock.Advance(Seconds(19));
  EXPECT_EQ(changes.size(), 1u);
  w.clock.Advance(Seconds(1));
  EXPECT_EQ(changes, (std::vector<std::string>{"add web-node1", "add etcd-node1", "add api-node1"}));
  changes.clear();
  std::string v2 = kWeb;
  v2.replace(v2.find("1.27"), 4, "1.28");
  w.disk.files["manifests/web.yaml"] = v2;
  w.disk.files.erase("manifests/cp.yaml");
  w.clock.Advance(Seconds(20));
  EXPECT_EQ(changes, (std::vector<std::string>{"remove api-node1", "remove etcd-node1", "update web-node1"}));
  EXPECT_EQ(source->Pods().size(), 1u);
  EXPECT_TRUE(bad.empty());
}

TEST_F(StaticPodSourceTest, ABadFileIsReportedOnceAndOtherPodsKeepRunning) {
  w.disk.files["manifests/web.yaml"] = kWeb;
  w.disk.files["manifests/cp.yaml"] = kTwo;
  StaticPodSourceOptions o;
  o.manifest_dir = "manifests";
  Make(o);
  ASSERT_EQ(source->Pods().size(), 3u);
  changes.clear();
  std::string typo = kTwo;
  typo.replace(typo.find("containers: [{name: etcd"), 10, "containerz");
  w.disk.files["manifests/cp.yaml"] = typo;
  w.clock.Advance(Seconds(100));
  ASSERT_EQ(bad.size(), 1u) << "reported once, not at every re-read";
  EXPECT_EQ(bad[0], "file cp.yaml: cp.yaml:5: spec.containerz: unknown field \"containerz\"");
  EXPECT_TRUE(w.logger.Contains("static pod manifest file cp.yaml: cp.yaml:5: spec.containerz"))
      << "the log names file, line and field";
  // As Kubernetes: the bad file's pods stop; web keeps running.
  EXPECT_EQ(changes, (std::vector<std::string>{"remove api-node1", "remove etcd-node1"}));
  ASSERT_EQ(source->Pods().size(), 1u);
  EXPECT_EQ(source->Pods()[0]->metadata().name(), "web-node1");
  w.disk.files["manifests/cp.yaml"] = kTwo;  // fixed
  w.clock.Advance(Seconds(20));
  EXPECT_EQ(source->Pods().size(), 3u);
}

TEST_F(StaticPodSourceTest, UrlIsPolledAndFailuresKeepTheLastPods) {
  int fetches = 0;
  int status = 200;
  std::string body = kWeb;
  bool answer = true;
  w.transport.servers["10.0.0.9:8080"] = [&](std::string_view frame) -> std::string {
    http1::Request q;
    EXPECT_TRUE(http1::ParseRequest(frame, &q).ok());
    EXPECT_EQ(q.target, "/manifests/node1.yaml");
    ++fetches;
    if (!answer) return "";
    http1::Response r;
    r.status = status;
    r.body = body;
    return http1::FormatResponse(r);
  };
  StaticPodSourceOptions o;
  o.manifest_url = "http://10.0.0.9:8080/manifests/node1.yaml";
  Make(o);
  w.clock.Advance(Seconds(1));
  ASSERT_EQ(changes, std::vector<std::string>{"add web-node1"});
  EXPECT_EQ(source->Pods()[0]->metadata().annotations().at("kubernetes.io/config.source"), "http");
  status = 500;
  w.clock.Advance(Seconds(20));
  answer = false;
  w.clock.Advance(Seconds(20));
  answer = true;
  status = 200;
  body = "kind: [";
  w.clock.Advance(Seconds(20));
  EXPECT_EQ(fetches, 4);
  EXPECT_EQ(bad.size(), 3u) << "HTTP 500, no answer, a bad manifest";
  EXPECT_EQ(changes.size(), 1u) << "the URL's pods are kept through failures";
  body = kTwo;
  w.clock.Advance(Seconds(20));
  EXPECT_EQ(changes, (std::vector<std::string>{"add web-node1", "add etcd-node1", "add api-node1", "remove web-node1"}));
  body = "";
  w.clock.Advance(Seconds(20));
  EXPECT_TRUE(source->Pods().empty()) << "an empty manifest removes them";
}

TEST_F(StaticPodSourceTest, PostedManifestsByName) {
  Make({});
  std::vector<std::string> keys;
  ASSERT_TRUE(source->AcceptManifest("web", kWeb, &keys).ok());
  EXPECT_EQ(keys, std::vector<std::string>{"default/web-node1"});
  EXPECT_EQ(source->Pods()[0]->metadata().annotations().at("kubernetes.io/config.source"), "endpoint");
  // The same pod under another name is refused; a bad manifest changes nothing.
  Status s = source->AcceptManifest("again", kWeb, &keys);
  EXPECT_NE(s.message().find("already a static pod from endpoint:web"), std::string::npos) << s.message();
  s = source->AcceptManifest("web", "kind: Pod\nmetadata: {name: x}\n", &keys);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(source->Pods().size(), 1u);
  EXPECT_FALSE(source->AcceptManifest("a/b", kWeb, &keys).ok());
  ASSERT_TRUE(source->AcceptManifest("web", "", &keys).ok());
  EXPECT_TRUE(keys.empty());
  EXPECT_EQ(changes, (std::vector<std::string>{"add web-node1", "remove web-node1"}));
}

TEST_F(StaticPodSourceTest, TheSamePodFromTwoSourcesRunsOnce) {
  w.disk.files["manifests/web.yaml"] = kWeb;
  StaticPodSourceOptions o;
  o.manifest_dir = "manifests";
  Make(o);
  w.disk.files["manifests/web-copy.yaml"] = kWeb;
  w.clock.Advance(Seconds(60));
  EXPECT_EQ(changes, std::vector<std::string>{"add web-node1"});
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].find("already defined by file:web.yaml"), std::string::npos) << bad[0];
}

}  // namespace
}  // namespace ksim::kubelet
