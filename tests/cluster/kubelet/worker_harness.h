// One PodWorker on a FakeRuntime and FakeClock, for the kubelet's unit tests.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "cluster/api/codec.h"
#include "cluster/kubelet/pod_status.h"
#include "cluster/kubelet/pod_worker.h"
#include "tests/cluster/kubelet/fake_runtime.h"

namespace ksim::kubelet {

inline api::Pod PodFromYaml(std::string_view yaml) {
  api::Pod pod;
  const Status s = api::DecodeInto(yaml, "pod.yaml", &pod);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (pod.metadata().uid().empty()) pod.mutable_metadata()->set_uid("uid-" + pod.metadata().name());
  if (pod.metadata().namespace_().empty()) pod.mutable_metadata()->set_namespace_("default");
  if (pod.spec().restart_policy().empty()) pod.mutable_spec()->set_restart_policy("Always");
  return pod;
}

// HTTP and TCP answers by port (default: success).
class FakeNet final : public NetProber {
 public:
  explicit FakeNet(testing::FakeClock* clock) : clock_(clock) {}
  std::map<int, bool> ok_by_port;
  int calls = 0;
  void HttpGet(const std::string&, int port, const std::string&, Nanos,
               std::function<void(bool, std::string)> done) override {
    Answer(port, std::move(done));
  }
  void TcpOpen(const std::string&, int port, Nanos, std::function<void(bool, std::string)> done) override {
    Answer(port, std::move(done));
  }

 private:
  void Answer(int port, std::function<void(bool, std::string)> done) {
    ++calls;
    const auto it = ok_by_port.find(port);
    const bool ok = it == ok_by_port.end() || it->second;
    clock_->Schedule(Nanos(0), [done, ok] { done(ok, ok ? "" : "HTTP 500"); });
  }
  testing::FakeClock* clock_;
};

struct WorkerHarness {
  testing::FakeClock clock;
  testing::FakeRuntime rt{&clock};
  FakeNet net{&clock};
  PodWorkerConfig config;
  std::unique_ptr<PodWorker> worker;
  int changes = 0;
  bool terminated = false;
  std::vector<std::string> events;  // "<type> <reason>: <message>", as the worker reported them

  WorkerHarness() { config.node_ip = "172.18.0.2"; }

  void Start(api::Pod pod, const RuntimePod* recovered = nullptr) {
    PodWorker::Deps deps{&clock, &rt, &net, nullptr, &config,
                         [this](const api::Pod&, std::string_view type, std::string_view reason, std::string_view message) {
                           events.push_back(std::string(type) + " " + std::string(reason) + ": " + std::string(message));
                         }};
    worker = std::make_unique<PodWorker>(deps, std::move(pod),
                                         PodWorker::Callbacks{[this] { ++changes; }, [this] { terminated = true; }},
                                         recovered);
    rt.SubscribeEvents([this](const ContainerEvent& e) {
      if (worker && worker->OwnsContainer(e.container_id)) worker->OnContainerEvent(e);
    });
    worker->SetPodCidr("10.244.1.0/24");
    worker->Start();
    clock.RunDue();
  }
  void Advance(Nanos d) { clock.Advance(d); }
  PodView View() const { return worker->View(); }
  const ContainerView& App(size_t i = 0) const {
    static thread_local PodView v;
    v = worker->View();
    return v.containers.at(i);
  }
  const ContainerView& Init(size_t i) const {
    static thread_local PodView v;
    v = worker->View();
    return v.init_containers.at(i);
  }
  api::PodStatus Status() const {
    return ComputePodStatus(worker->pod(), worker->View(), worker->pod().status(), clock.WallNow());
  }
  std::string Phase() const { return ComputePhase(worker->pod(), worker->View()); }
  std::string IdOf(const std::string& name) const { return rt.IdOf(name); }
};

}  // namespace ksim::kubelet
