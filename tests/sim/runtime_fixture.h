// A world with one host whose runtime the test drives directly: each helper makes one
// call and runs the world until its completion arrives.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "sim/container_runtime.h"
#include "sim/host.h"
#include "sim/world.h"

namespace ksim::sim::testing {

class RuntimeFixture : public ::testing::Test {
 protected:
  RuntimeFixture() : host(w.AddHost("n1")), rt(host.runtime()) {
    rt.SubscribeEvents([this](const ContainerEvent& e) { events.push_back(e); });
  }

  // Runs the world until `fired` (at most 10 simulated minutes).
  void Await(const bool& fired) {
    ASSERT_TRUE(w.RunUntilCondition([&] { return fired; }, w.now() + Seconds(600))) << "no completion";
  }

  static PodSandboxConfig Pod(const std::string& name, const std::string& cidr = "10.244.1.0/24") {
    PodSandboxConfig c;
    c.metadata = {name, "default", "uid-" + name, 0};
    c.hostname = name;
    c.pod_cidr = cidr;
    c.labels = {{"io.kubernetes.pod.name", name}, {"io.kubernetes.pod.namespace", "default"}};
    return c;
  }

  std::string RunSandbox(const PodSandboxConfig& config, Status* status = nullptr) {
    bool fired = false;
    std::string id;
    Status s;
    rt.RunPodSandbox(config, [&](Status st, std::string got) {
      fired = true;
      s = st;
      id = got;
    });
    Await(fired);
    if (status) *status = s;
    else EXPECT_TRUE(s.ok()) << s.ToString();
    return id;
  }

  std::string Pull(const std::string& image, Status* status = nullptr) {
    bool fired = false;
    std::string id;
    Status s;
    rt.PullImage(image, [&](Status st, std::string got) {
      fired = true;
      s = st;
      id = got;
    });
    Await(fired);
    if (status) *status = s;
    else EXPECT_TRUE(s.ok()) << s.ToString();
    return id;
  }

  std::string Create(const std::string& sandbox, const ContainerConfig& config, Status* status = nullptr) {
    bool fired = false;
    std::string id;
    Status s;
    rt.CreateContainer(sandbox, config, [&](Status st, std::string got) {
      fired = true;
      s = st;
      id = got;
    });
    Await(fired);
    if (status) *status = s;
    else EXPECT_TRUE(s.ok()) << s.ToString();
    return id;
  }

  template <typename Call>
  Status Done(Call call) {
    bool fired = false;
    Status s;
    call([&](Status st) {
      fired = true;
      s = st;
    });
    Await(fired);
    return s;
  }
  Status Start(const std::string& id) { return Done([&](auto cb) { rt.StartContainer(id, cb); }); }
  Status Stop(const std::string& id, Nanos grace) { return Done([&](auto cb) { rt.StopContainer(id, grace, cb); }); }
  Status Remove(const std::string& id) { return Done([&](auto cb) { rt.RemoveContainer(id, cb); }); }
  Status StopSandbox(const std::string& id) { return Done([&](auto cb) { rt.StopPodSandbox(id, cb); }); }
  Status RemoveSandbox(const std::string& id) { return Done([&](auto cb) { rt.RemovePodSandbox(id, cb); }); }
  Status RemoveImage(const std::string& image) { return Done([&](auto cb) { rt.RemoveImage(image, cb); }); }

  ksim::ContainerStatus Get(const std::string& id) {
    for (const auto& c : rt.Snapshot()) {
      if (c.id == id) return c;
    }
    ADD_FAILURE() << "no container " << id;
    return {};
  }
  ksim::PodSandboxStatus GetSandbox(const std::string& id) {
    for (const auto& s : rt.SandboxSnapshot()) {
      if (s.id == id) return s;
    }
    ADD_FAILURE() << "no sandbox " << id;
    return {};
  }

  // A sandbox for `pod` with one started container of `image` (pulled first).
  std::string RunContainer(const std::string& pod, const std::string& image, ContainerConfig config = {},
                           PodSandboxConfig sandbox = {}) {
    if (sandbox.metadata.name.empty()) sandbox = Pod(pod);
    const std::string sid = RunSandbox(sandbox);
    Pull(image);
    if (config.name.empty()) config.name = "app";
    config.image = image;
    const std::string id = Create(sid, config);
    EXPECT_TRUE(Start(id).ok());
    return id;
  }

  ExecResult Exec(const std::string& id, std::vector<std::string> command, Status* status = nullptr,
                  Nanos timeout = Seconds(1)) {
    bool fired = false;
    ExecResult result;
    Status s;
    rt.ExecSync(id, command, timeout, [&](Status st, ExecResult r) {
      fired = true;
      s = st;
      result = r;
    });
    Await(fired);
    if (status) *status = s;
    else EXPECT_TRUE(s.ok()) << s.ToString();
    return result;
  }

  std::vector<ContainerEvent> EventsOf(const std::string& id, ContainerEventType type) const {
    std::vector<ContainerEvent> out;
    for (const auto& e : events) {
      if (e.container_id == id && e.type == type) out.push_back(e);
    }
    return out;
  }

  World w{1};
  Host& host;
  SimContainerRuntime& rt;
  std::vector<ContainerEvent> events;
};

}  // namespace ksim::sim::testing
