// KubeletServer: logs, exec and posted manifests answered with Kubernetes-like codes and
// messages, over a connection and directly; limits in bytes and counts.
#include "cluster/kubelet/kubelet_server.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "cluster/env/wire.h"
#include "cluster/kubelet/static_pod.h"
#include "tests/cluster/kubelet/fake_api.h"
#include "tests/cluster/kubelet/fake_node_runtime.h"

namespace ksim::kubelet {
namespace {

using testing::FakeNodeWorld;
using testing::FakeNodeRuntime;

// An accepted connection the test drives: frames in through Deliver, answers in `sent`.
class TestConnection final : public Connection {
 public:
  std::vector<std::string> sent;
  bool closed = false;
  Status Send(std::string frame) override {
    sent.push_back(std::move(frame));
    return Status::Ok();
  }
  void Close() override { closed = true; }
  bool is_open() const override { return !closed; }
  const Address& peer() const override { return peer_; }
  void SetHandlers(ConnectionHandlers handlers) override { h_ = std::move(handlers); }
  void Deliver(const std::string& frame) { h_.on_frame(frame); }
  KubeletResponse Last() const {
    KubeletResponse r;
    EXPECT_TRUE(r.ParseFromString(sent.back()));
    return r;
  }

 private:
  Address peer_ = "api1:0";
  ConnectionHandlers h_;
};

class KubeletServerTest : public ::testing::Test {
 protected:
  KubeletServerTest() {
    w.env.runtime = &runtime;
    runtime.AddContainer("c1", "default", "web", "nginx", 0, ContainerState::kExited, "a\nb\nc\n");
    runtime.AddContainer("c2", "default", "web", "nginx", 1, ContainerState::kRunning, "one\ntwo\nthree\nfour");
    runtime.AddContainer("c3", "default", "two", "app", 0, ContainerState::kRunning, "app\n");
    runtime.AddContainer("c4", "default", "two", "sidecar", 0, ContainerState::kRunning, "side\n");
    StaticPodSourceOptions so;
    so.node_name = "node1";
    source = std::make_unique<StaticPodSource>(
        w.env, so, [](PodChange, const std::shared_ptr<const api::Pod>&) {}, nullptr);
    KubeletServerOptions ko;
    ko.max_connections = 2;
    ko.max_request_bytes = 4096;
    server = std::make_unique<KubeletServer>(
        w.env, ko, [this](const std::string& name, std::string_view text, std::vector<std::string>* pods) {
          return source->AcceptManifest(name, text, pods);
        });
    EXPECT_TRUE(server->Start().ok());
  }

  KubeletResponse Call(const KubeletRequest& q) {
    KubeletResponse out;
    bool answered = false;
    server->Handle(q, [&](KubeletResponse r) {
      out = std::move(r);
      answered = true;
    });
    w.clock.Advance(Milliseconds(10));
    EXPECT_TRUE(answered);
    return out;
  }
  KubeletResponse Logs(const std::string& pod, const std::string& container = "", int64_t tail = 0,
                       int64_t limit = 0, bool previous = false) {
    KubeletRequest q;
    auto* l = q.mutable_logs();
    l->set_namespace_("default");
    l->set_pod(pod);
    l->set_container(container);
    l->set_tail_lines(tail);
    l->set_limit_bytes(limit);
    l->set_previous(previous);
    return Call(q);
  }
  KubeletResponse Exec(const std::string& pod, std::vector<std::string> command, int64_t timeout_seconds = 0) {
    KubeletRequest q;
    auto* e = q.mutable_exec();
    e->set_namespace_("default");
    e->set_pod(pod);
    for (auto& c : command) e->add_command(c);
    e->set_timeout_seconds(timeout_seconds);
    return Call(q);
  }

  FakeNodeWorld w;
  FakeNodeRuntime runtime{&w.clock};
  std::unique_ptr<StaticPodSource> source;
  std::unique_ptr<KubeletServer> server;
};

TEST(SelectLogs, TailLinesThenLimitBytes) {
  bool cut = false;
  EXPECT_EQ(SelectLogs("a\nb\nc\n", 2, 0, &cut), "b\nc\n");
  EXPECT_EQ(SelectLogs("a\nb\nc", 2, 0, &cut), "b\nc");
  EXPECT_EQ(SelectLogs("a\nb\nc\n", 10, 0, &cut), "a\nb\nc\n");
  EXPECT_FALSE(cut);
  EXPECT_EQ(SelectLogs("a\nb\nc\n", 2, 3, &cut), "b\nc");
  EXPECT_TRUE(cut);
  EXPECT_EQ(SelectLogs("", 3, 3, &cut), "");
}

TEST_F(KubeletServerTest, ContainerLogs) {
  KubeletResponse r = Logs("web");
  ASSERT_EQ(r.code(), 200) << r.message();
  EXPECT_EQ(r.logs().content(), "one\ntwo\nthree\nfour") << "the current instance";
  EXPECT_EQ(Logs("web", "nginx", 2).logs().content(), "three\nfour");
  r = Logs("web", "nginx", 0, 5);
  EXPECT_EQ(r.logs().content(), "one\nt");
  EXPECT_TRUE(r.logs().truncated());
  EXPECT_EQ(Logs("web", "", 0, 0, true).logs().content(), "a\nb\nc\n") << "the previous instance";
  r = Logs("two", "", 0, 0, true);
  EXPECT_EQ(r.code(), 400);
  EXPECT_EQ(r.message(), "a container name must be specified for pod two, choose one of: [app sidecar]");
  r = Logs("two", "app", 0, 0, true);
  EXPECT_EQ(r.code(), 400);
  EXPECT_EQ(r.message(), "previous terminated container \"app\" in pod \"two\" not found");
  EXPECT_EQ(Logs("two", "nope").code(), 400);
  EXPECT_EQ(Logs("ghost").code(), 404);
  EXPECT_EQ(Logs("web", "", -1).code(), 400);
}

TEST_F(KubeletServerTest, ExecRunsToCompletion) {
  KubeletResponse r = Exec("web", {"cat", "/etc/hostname"});
  ASSERT_EQ(r.code(), 200) << r.message();
  EXPECT_EQ(r.exec().exit_code(), 0);
  EXPECT_EQ(r.exec().output(), "c2:cat") << "ran in the running instance";
  EXPECT_EQ(Exec("web", {"fail"}).exec().exit_code(), 1);
  EXPECT_EQ(Exec("web", {"sleep", "1000"}).code(), 504);
  EXPECT_EQ(Exec("web", {}).code(), 400);
  EXPECT_EQ(Exec("web", {"ls"}, 301).code(), 400);
  EXPECT_EQ(Exec("web", {std::string(70 << 10, 'x')}).code(), 413);
  runtime.containers[1].state = ContainerState::kExited;
  r = Exec("web", {"ls"});
  EXPECT_EQ(r.code(), 400);
  EXPECT_EQ(r.message(), "container nginx of pod web is not running");
  EXPECT_EQ(runtime.execs.size(), 3u) << "refused requests never reach the runtime";
}

TEST_F(KubeletServerTest, PostedManifest) {
  KubeletRequest q;
  q.mutable_manifest()->set_name("web");
  q.mutable_manifest()->set_manifest(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: c, image: nginx}]\n");
  KubeletResponse r = Call(q);
  ASSERT_EQ(r.code(), 200) << r.message();
  ASSERT_EQ(r.manifest().pods_size(), 1);
  EXPECT_EQ(r.manifest().pods(0), "default/web-node1");
  q.mutable_manifest()->set_manifest("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: 3}\n");
  r = Call(q);
  EXPECT_EQ(r.code(), 400);
  EXPECT_NE(r.message().find("web:4: spec.containers"), std::string::npos) << r.message();
  EXPECT_EQ(source->Pods().size(), 1u);
}

// stats: running containers' use grouped by pod (exited instances and containers the
// kubelet did not make are left out of pods, the latter still counted for the node),
// filtered by namespace and pod, stamped with the wall clock and the window.
TEST_F(KubeletServerTest, StatsByPod) {
  runtime.AddContainer("c5", "kube-system", "dns", "coredns", 0, ContainerState::kRunning, "");
  runtime.containers.push_back(ksim::ContainerStatus{});
  runtime.containers.back().id = "c6";  // no kubelet labels
  runtime.containers.back().state = ContainerState::kRunning;
  runtime.stats = {{"c1", "", 999, 1}, {"c2", "", 250, 100}, {"c3", "", 100, 10},
                   {"c4", "", 5, 20},  {"c5", "", 40, 30},   {"c6", "", 7, 2}};
  KubeletRequest q;
  q.mutable_stats();
  KubeletResponse r = Call(q);
  ASSERT_EQ(r.code(), 200) << r.message();
  const StatsResult& all = r.stats();
  EXPECT_EQ(all.timestamp_unix_nanos(), w.clock.WallNow().count() - Milliseconds(10).count());
  EXPECT_EQ(all.window_nanos(), Seconds(15).count());
  EXPECT_EQ(all.node_cpu_usage_nano_cores(), (250 + 100 + 5 + 40 + 7) * 1'000'000);
  EXPECT_EQ(all.node_memory_working_set_bytes(), 100 + 10 + 20 + 30 + 2);
  ASSERT_EQ(all.pods_size(), 3);
  EXPECT_EQ(all.pods(0).name(), "two");
  EXPECT_EQ(all.pods(0).uid(), "uid-two");
  ASSERT_EQ(all.pods(0).containers_size(), 2);
  EXPECT_EQ(all.pods(0).containers(0).name(), "app");
  EXPECT_EQ(all.pods(0).containers(0).cpu_usage_nano_cores(), 100'000'000);
  EXPECT_EQ(all.pods(0).containers(1).name(), "sidecar");
  EXPECT_EQ(all.pods(0).containers(1).memory_working_set_bytes(), 20);
  EXPECT_EQ(all.pods(1).name(), "web");
  ASSERT_EQ(all.pods(1).containers_size(), 1) << "the exited instance c1 is not counted";
  EXPECT_EQ(all.pods(1).containers(0).cpu_usage_nano_cores(), 250'000'000);
  EXPECT_EQ(all.pods(2).namespace_(), "kube-system");
  EXPECT_FALSE(all.truncated());

  q.mutable_stats()->set_namespace_("default");
  r = Call(q);
  ASSERT_EQ(r.stats().pods_size(), 2);
  q.mutable_stats()->set_pod("web");
  r = Call(q);
  ASSERT_EQ(r.stats().pods_size(), 1);
  EXPECT_EQ(r.stats().pods(0).name(), "web");
  q.mutable_stats()->set_pod("ghost");
  EXPECT_EQ(Call(q).code(), 404);
  q.mutable_stats()->set_namespace_("");
  r = Call(q);
  EXPECT_EQ(r.code(), 400);
  EXPECT_EQ(r.message(), "namespace: required with pod");
}

TEST_F(KubeletServerTest, StatsAnswersAtMostMaxPods) {
  KubeletServerOptions ko;
  ko.port = 10251;
  ko.max_stats_pods = 1;
  KubeletServer small(w.env, ko, nullptr);
  runtime.stats = {{"c2", "", 250, 100}, {"c3", "", 100, 10}};
  KubeletRequest q;
  q.mutable_stats();
  KubeletResponse r;
  small.Handle(q, [&](KubeletResponse got) { r = std::move(got); });
  w.clock.Advance(Milliseconds(10));
  ASSERT_EQ(r.code(), 200);
  EXPECT_EQ(r.stats().pods_size(), 1);
  EXPECT_TRUE(r.stats().truncated());
  EXPECT_EQ(r.stats().node_cpu_usage_nano_cores(), 350'000'000) << "the node sums every container";
}

TEST_F(KubeletServerTest, OverAConnectionWithLimits) {
  ASSERT_TRUE(w.transport.listeners.count(10250));
  auto conn = std::make_shared<TestConnection>();
  w.transport.listeners[10250](conn);
  KubeletRequest q;
  q.set_id(42);
  q.mutable_logs()->set_namespace_("default");
  q.mutable_logs()->set_pod("web");
  std::string frame;
  SerializeDeterministic(q, &frame);
  conn->Deliver(frame);
  w.clock.Advance(Milliseconds(10));
  ASSERT_EQ(conn->sent.size(), 1u);
  EXPECT_EQ(conn->Last().id(), 42u);
  EXPECT_EQ(conn->Last().code(), 200);
  conn->Deliver("\xff\xff garbage");
  EXPECT_EQ(conn->Last().code(), 400);
  conn->Deliver(std::string(5000, 'x'));
  EXPECT_EQ(conn->Last().code(), 413);
  KubeletRequest empty;
  empty.set_id(7);
  SerializeDeterministic(empty, &frame);
  conn->Deliver(frame);
  EXPECT_EQ(conn->Last().code(), 400);
  EXPECT_EQ(conn->Last().id(), 7u);
  // Connections beyond the limit are refused.
  auto second = std::make_shared<TestConnection>();
  auto third = std::make_shared<TestConnection>();
  w.transport.listeners[10250](second);
  w.transport.listeners[10250](third);
  EXPECT_FALSE(second->closed);
  EXPECT_TRUE(third->closed);
  EXPECT_EQ(server->stats().refused_connections, 1u);
}

}  // namespace
}  // namespace ksim::kubelet
