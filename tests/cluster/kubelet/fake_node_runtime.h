// A ContainerRuntime fake for the kubelet's node side: a fixed set of images, containers
// with labels, logs and an exec answer; calls complete on the next turn of the clock.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cluster/env/clock.h"
#include "cluster/env/container_runtime.h"

namespace ksim::kubelet::testing {

class FakeNodeRuntime final : public ContainerRuntime {
 public:
  explicit FakeNodeRuntime(Clock* clock) : clock_(clock) {}

  std::vector<ImageInfo> images;
  bool fail_list_images = false;
  std::vector<ksim::ContainerStatus> containers;
  std::map<std::string, std::string> logs;  // container id -> output
  // Exec: the command's first word is echoed back with exit code 0, "fail" exits 1,
  // "sleep" times out.
  std::vector<std::vector<std::string>> execs;
  std::vector<ContainerStats> stats;  // ListContainerStats answers these

  // Adds a container of a pod with the kubelet's labels.
  void AddContainer(const std::string& id, const std::string& ns, const std::string& pod, const std::string& name,
                    uint32_t attempt, ContainerState state, const std::string& output) {
    ksim::ContainerStatus c;
    c.id = id;
    c.name = name;
    c.attempt = attempt;
    c.state = state;
    c.labels = {{"io.kubernetes.pod.namespace", ns},
                {"io.kubernetes.pod.name", pod},
                {"io.kubernetes.container.name", name},
                {"io.kubernetes.pod.uid", "uid-" + pod}};
    containers.push_back(c);
    logs[id] = output;
  }

  void RunPodSandbox(const PodSandboxConfig&, std::function<void(Status, std::string)> done) override {
    Later([done] { done(Status::NotSupported("fake"), ""); });
  }
  void StopPodSandbox(const std::string&, std::function<void(Status)> done) override { NotSupported(done); }
  void RemovePodSandbox(const std::string&, std::function<void(Status)> done) override { NotSupported(done); }
  void PodSandboxStatus(const std::string&, std::function<void(Status, ksim::PodSandboxStatus)> done) override {
    Later([done] { done(Status::NotSupported("fake"), {}); });
  }
  void ListPodSandboxes(std::function<void(Status, std::vector<ksim::PodSandboxStatus>)> done) override {
    Later([done] { done(Status::Ok(), {}); });
  }
  void CreateContainer(const std::string&, const ContainerConfig&,
                       std::function<void(Status, std::string)> done) override {
    Later([done] { done(Status::NotSupported("fake"), ""); });
  }
  void StartContainer(const std::string&, std::function<void(Status)> done) override { NotSupported(done); }
  void StopContainer(const std::string&, Nanos, std::function<void(Status)> done) override { NotSupported(done); }
  void RemoveContainer(const std::string&, std::function<void(Status)> done) override { NotSupported(done); }
  void ContainerStatus(const std::string&, std::function<void(Status, ksim::ContainerStatus)> done) override {
    Later([done] { done(Status::NotSupported("fake"), {}); });
  }
  void ListContainers(const std::string&, std::function<void(Status, std::vector<ksim::ContainerStatus>)> done) override {
    Later([this, done] { done(Status::Ok(), containers); });
  }
  void ContainerLogs(const std::string& id, size_t max_bytes, std::function<void(Status, std::string)> done) override {
    Later([this, id, max_bytes, done] {
      const auto it = logs.find(id);
      if (it == logs.end()) return done(Status::NotFound(id), "");
      const std::string& all = it->second;
      done(Status::Ok(), all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all);
    });
  }
  void ExecSync(const std::string& id, const std::vector<std::string>& command, Nanos,
                std::function<void(Status, ExecResult)> done) override {
    execs.push_back(command);
    Later([id, command, done] {
      if (command.empty()) return done(Status::InvalidArgument("empty command"), {});
      if (command[0] == "sleep") return done(Status::Timeout("exec timed out"), {});
      done(Status::Ok(), ExecResult{command[0] == "fail" ? 1 : 0, id + ":" + command[0]});
    });
  }
  void ListContainerStats(std::function<void(Status, std::vector<ContainerStats>)> done) override {
    Later([this, done] { done(Status::Ok(), stats); });
  }
  void SubscribeEvents(std::function<void(const ContainerEvent&)>) override {}
  void PullImage(const std::string&, std::function<void(Status, std::string)> done) override {
    Later([done] { done(Status::NotSupported("fake"), ""); });
  }
  void ImageStatus(const std::string&, std::function<void(Status, std::optional<ImageInfo>)> done) override {
    Later([done] { done(Status::Ok(), std::nullopt); });
  }
  void ListImages(std::function<void(Status, std::vector<ImageInfo>)> done) override {
    Later([this, done] {
      if (fail_list_images) return done(Status::Unavailable("runtime down"), {});
      done(Status::Ok(), images);
    });
  }
  void RemoveImage(const std::string&, std::function<void(Status)> done) override { NotSupported(done); }

 private:
  void Later(std::function<void()> fn) { clock_->Schedule(Nanos(0), std::move(fn)); }
  void NotSupported(const std::function<void(Status)>& done) {
    Later([done] { done(Status::NotSupported("fake")); });
  }
  Clock* clock_;
};

}  // namespace ksim::kubelet::testing
