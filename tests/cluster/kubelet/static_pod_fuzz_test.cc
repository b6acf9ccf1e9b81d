// The static pod manifest path meets arbitrary input (RapidCheck; fuzz/fuzz_static_pod.cc
// is the coverage-guided twin): it never crashes, an error always names the manifest, and
// what it accepts is a set of valid, uniquely named pods for this node whose uid is a
// function of the text. The folder source under random writes runs exactly the pods of
// the files that read cleanly.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster/kubelet/static_pod.h"
#include "tests/cluster/kubelet/fake_api.h"

namespace ksim::kubelet {
namespace {

constexpr char kValid[] = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: team
  labels: {app: web}
spec:
  containers:
  - name: nginx
    image: nginx:1.27
    ports: [{containerPort: 80}]
    resources: {requests: {cpu: 100m}}
---
apiVersion: v1
kind: Pod
metadata: {name: db}
spec:
  containers: [{name: pg, image: postgres}]
)";

void CheckResult(const std::string& text, const Status& s, const std::vector<std::shared_ptr<const api::Pod>>& pods) {
  if (!s.ok()) {
    RC_ASSERT(s.code() == Status::Code::kInvalidArgument);
    RC_ASSERT(s.message().rfind("m.yaml", 0) == 0);  // names the manifest first
    RC_ASSERT(pods.empty());
    return;
  }
  std::set<std::string> keys;
  for (const auto& pod : pods) {
    RC_ASSERT(pod->metadata().name().size() > 6);
    RC_ASSERT(pod->metadata().name().substr(pod->metadata().name().size() - 6) == "-node1");
    RC_ASSERT(pod->spec().node_name() == "node1");
    RC_ASSERT(pod->metadata().uid().size() == 32u);
    RC_ASSERT(pod->metadata().annotations().at(kConfigHashAnnotation) == pod->metadata().uid());
    RC_ASSERT(pod->spec().containers_size() > 0);
    for (const auto& c : pod->spec().containers()) RC_ASSERT(!c.name().empty() && !c.image().empty());
    for (char ch : pod->metadata().name()) {
      RC_ASSERT(((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'));
    }
    RC_ASSERT(keys.insert(pod->metadata().namespace_() + "/" + pod->metadata().name()).second);
  }
  // The same text reads the same way again.
  std::vector<std::shared_ptr<const api::Pod>> again;
  RC_ASSERT(ReadStaticPods(text, StaticSource::kFile, "m.yaml", "node1", {}, &again).ok());
  RC_ASSERT(again.size() == pods.size());
  for (size_t i = 0; i < pods.size(); ++i) RC_ASSERT(again[i]->metadata().uid() == pods[i]->metadata().uid());
}

RC_GTEST_PROP(StaticPodFuzz, ArbitraryTextIsRejectedWithItsNameOrReadsValidPods, (const std::string& text)) {
  std::vector<std::shared_ptr<const api::Pod>> pods;
  const Status s = ReadStaticPods(text, StaticSource::kFile, "m.yaml", "node1", {}, &pods);
  CheckResult(text, s, pods);
}

RC_GTEST_PROP(StaticPodFuzz, MutatedManifestsAreRejectedOrValid, ()) {
  std::string text = kValid;
  // Few, mostly well-formed edits, so that many mutants still parse and reach defaulting,
  // validation and the kind check.
  const int edits = *rc::gen::inRange(1, 3);
  for (int i = 0; i < edits; ++i) {
    const size_t at = *rc::gen::inRange<size_t>(0, text.size());
    switch (*rc::gen::inRange(0, 4)) {
      case 0:
        text.erase(at, *rc::gen::inRange<size_t>(1, 4));
        break;
      case 1:
        text.insert(at, *rc::gen::elementOf(std::vector<std::string>{
                            ":", "- ", "\n", "  ", "{", "]", "---\n", "x", "'", "\t", "\xc3", "&a *a", "0"}));
        break;
      default:
        text[at] = static_cast<char>(*rc::gen::inRange(0, 256));
        break;
      case 3:  // another kind for a document
        if (const size_t k = text.find("kind: Pod"); k != std::string::npos) {
          text.replace(k, 9, *rc::gen::elementOf(std::vector<std::string>{"kind: Service", "kind: Node", "kind: List"}));
        }
        break;
    }
  }
  std::vector<std::shared_ptr<const api::Pod>> pods;
  const Status s = ReadStaticPods(text, StaticSource::kFile, "m.yaml", "node1", {}, &pods);
  CheckResult(text, s, pods);
}

RC_GTEST_PROP(StaticPodFuzz, TheFolderRunsExactlyTheGoodFiles, ()) {
  testing::FakeNodeWorld w;
  std::set<std::string> running;
  StaticPodSourceOptions o;
  o.node_name = "node1";
  o.manifest_dir = "m";
  StaticPodSource source(
      w.env, o,
      [&](PodChange c, const std::shared_ptr<const api::Pod>& p) {
        const std::string key = p->metadata().namespace_() + "/" + p->metadata().name();
        if (c == PodChange::kAdd) RC_ASSERT(running.insert(key).second);
        if (c == PodChange::kUpdate) RC_ASSERT(running.count(key) == 1u);
        if (c == PodChange::kRemove) RC_ASSERT(running.erase(key) == 1u);
      },
      nullptr);
  source.Start();
  const int rounds = *rc::gen::inRange(1, 20);
  for (int round = 0; round < rounds; ++round) {
    const int writes = *rc::gen::inRange(0, 4);
    for (int i = 0; i < writes; ++i) {
      // Few files and names, so pods move between files and files disagree often.
      const std::string file = "m/f" + std::to_string(*rc::gen::inRange(0, 3)) + ".yaml";
      const std::string name = "p" + std::to_string(*rc::gen::inRange(0, 3));
      switch (*rc::gen::inRange(0, 3)) {
        case 0:
          w.disk.files[file] = "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name +
                               "}\nspec:\n  containers: [{name: c, image: nginx}]\n";
          break;
        case 1:
          w.disk.files[file] = "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + "}\nspec: {containerz: []}\n";
          break;
        default:
          w.disk.files.erase(file);
          break;
      }
    }
    w.clock.Advance(Seconds(20));
    // Expected: the pods of files that read cleanly, a name defined twice only once.
    std::set<std::string> want;
    for (const auto& [path, text] : w.disk.files) {
      std::vector<std::shared_ptr<const api::Pod>> pods;
      if (path.rfind("m/", 0) != 0) continue;
      if (!ReadStaticPods(text, StaticSource::kFile, path.substr(2), "node1", {}, &pods).ok()) continue;
      for (const auto& p : pods) want.insert(p->metadata().namespace_() + "/" + p->metadata().name());
    }
    RC_ASSERT(running == want);
    std::set<std::string> listed;
    for (const auto& p : source.Pods()) listed.insert(p->metadata().namespace_() + "/" + p->metadata().name());
    RC_ASSERT(listed == running);
  }
}

}  // namespace
}  // namespace ksim::kubelet
