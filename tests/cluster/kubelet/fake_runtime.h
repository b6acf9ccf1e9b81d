// A small in-memory ContainerRuntime for the kubelet's unit tests: completions run from
// zero-delay timers of a FakeClock (never inside the call, as the contract says), every
// call is logged, and the test decides when containers exit, what exec probes answer and
// which image pulls fail.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cluster/env/container_runtime.h"
#include "tests/cluster/client/fake_clock.h"

namespace ksim::testing {

class FakeRuntime final : public ContainerRuntime {
 public:
  explicit FakeRuntime(FakeClock* clock) : clock_(clock) {}

  // --- test controls ---
  std::set<std::string> failing_images;     // PullImage answers Unavailable
  std::set<std::string> ignores_sigterm;    // container names that exit only at SIGKILL
  // Container names that exit on their own: after this long, with this code.
  std::map<std::string, std::pair<Nanos, int>> exit_after;
  // Exec answers by container name (default: exit 0).
  std::map<std::string, std::function<int(const std::vector<std::string>&)>> exec;
  std::vector<std::string> calls;           // "RunPodSandbox <name>", "StartContainer <name>/<attempt>", ...
  std::vector<std::pair<std::string, Nanos>> stops;  // container name, grace

  // Makes a running container exit now (an event follows on the loop).
  void Exit(const std::string& id, int code, const std::string& reason = "") {
    auto it = containers_.find(id);
    if (it == containers_.end() || it->second.state != ContainerState::kRunning) return;
    it->second.state = ContainerState::kExited;
    it->second.exit_code = code;
    it->second.reason = reason.empty() ? (code == 0 ? "Completed" : "Error") : reason;
    it->second.finished_at = clock_->MonotonicNow();
    Emit(ContainerEvent{ContainerEventType::kExited, id, it->second.sandbox_id, code, it->second.reason,
                        clock_->MonotonicNow()});
  }
  // The newest container (highest attempt) of that name, "" if none.
  std::string IdOf(const std::string& name) const {
    std::string best;
    uint32_t attempt = 0;
    for (const auto& [id, c] : containers_) {
      if (c.name == name && (best.empty() || c.attempt >= attempt)) {
        best = id;
        attempt = c.attempt;
      }
    }
    return best;
  }
  const ksim::ContainerStatus* Get(const std::string& id) const {
    auto it = containers_.find(id);
    return it == containers_.end() ? nullptr : &it->second;
  }
  std::map<std::string, ksim::ContainerStatus>& containers() { return containers_; }
  std::map<std::string, ksim::PodSandboxStatus>& sandboxes() { return sandboxes_; }
  std::map<std::string, PodSandboxConfig> sandbox_configs;
  std::map<std::string, ContainerConfig> container_configs;
  int Count(const std::string& prefix) const {
    int n = 0;
    for (const std::string& c : calls) n += c.rfind(prefix, 0) == 0;
    return n;
  }

  // --- ContainerRuntime ---
  void RunPodSandbox(const PodSandboxConfig& config, std::function<void(Status, std::string)> done) override {
    calls.push_back("RunPodSandbox " + config.metadata.name);
    const std::string id = fmt::format("sb{}", ++next_);
    ksim::PodSandboxStatus s;
    s.id = id;
    s.metadata = config.metadata;
    s.state = SandboxState::kReady;
    s.created_at = clock_->MonotonicNow();
    s.ip = config.host_network ? "172.18.0.2" : fmt::format("10.244.1.{}", next_);
    s.hostname = config.hostname;
    s.labels = config.labels;
    s.annotations = config.annotations;
    sandboxes_[id] = s;
    sandbox_configs[id] = config;
    Later([done, id] { done(Status::Ok(), id); });
  }
  void StopPodSandbox(const std::string& id, std::function<void(Status)> done) override {
    calls.push_back("StopPodSandbox");
    auto it = sandboxes_.find(id);
    if (it != sandboxes_.end()) {
      it->second.state = SandboxState::kNotReady;
      it->second.ip.clear();
      for (auto& [cid, c] : containers_) {
        if (c.sandbox_id == id) Exit(cid, 137);
      }
    }
    Later([done] { done(Status::Ok()); });
  }
  void RemovePodSandbox(const std::string& id, std::function<void(Status)> done) override {
    calls.push_back("RemovePodSandbox " + id);
    sandboxes_.erase(id);
    std::erase_if(containers_, [&](const auto& kv) { return kv.second.sandbox_id == id; });
    Later([done] { done(Status::Ok()); });
  }
  void PodSandboxStatus(const std::string& id, std::function<void(Status, ksim::PodSandboxStatus)> done) override {
    auto it = sandboxes_.find(id);
    if (it == sandboxes_.end()) return Later([done] { done(Status::NotFound("sandbox"), {}); });
    auto s = it->second;
    Later([done, s] { done(Status::Ok(), s); });
  }
  void ListPodSandboxes(std::function<void(Status, std::vector<ksim::PodSandboxStatus>)> done) override {
    std::vector<ksim::PodSandboxStatus> out;
    for (const auto& [id, s] : sandboxes_) out.push_back(s);
    Later([done, out] { done(Status::Ok(), out); });
  }
  void CreateContainer(const std::string& sandbox_id, const ContainerConfig& config,
                       std::function<void(Status, std::string)> done) override {
    calls.push_back(fmt::format("CreateContainer {}/{}", config.name, config.attempt));
    const std::string id = fmt::format("c{}", ++next_);
    ksim::ContainerStatus c;
    c.id = id;
    c.sandbox_id = sandbox_id;
    c.name = config.name;
    c.attempt = config.attempt;
    c.image = config.image;
    c.image_ref = "sha256:" + config.image;
    c.state = ContainerState::kCreated;
    c.created_at = clock_->MonotonicNow();
    c.labels = config.labels;
    containers_[id] = c;
    container_configs[id] = config;
    Later([done, id] { done(Status::Ok(), id); });
  }
  void StartContainer(const std::string& id, std::function<void(Status)> done) override {
    auto& c = containers_.at(id);
    calls.push_back(fmt::format("StartContainer {}/{}", c.name, c.attempt));
    c.state = ContainerState::kRunning;
    c.started_at = clock_->MonotonicNow();
    Emit(ContainerEvent{ContainerEventType::kStarted, id, c.sandbox_id, 0, "", clock_->MonotonicNow()});
    if (auto e = exit_after.find(c.name); e != exit_after.end()) {
      const int code = e->second.second;
      clock_->Schedule(e->second.first, [this, id, code] { Exit(id, code); });
    }
    Later([done] { done(Status::Ok()); });
  }
  void StopContainer(const std::string& id, Nanos grace, std::function<void(Status)> done) override {
    auto it = containers_.find(id);
    if (it == containers_.end()) return Later([done] { done(Status::NotFound("container")); });
    calls.push_back("StopContainer " + it->second.name);
    stops.emplace_back(it->second.name, grace);
    if (it->second.state != ContainerState::kRunning) return Later([done] { done(Status::Ok()); });
    if (ignores_sigterm.count(it->second.name) != 0) {
      clock_->Schedule(grace, [this, id, done] {
        Exit(id, 137);
        done(Status::Ok());
      });
      return;
    }
    Exit(id, 143);
    Later([done] { done(Status::Ok()); });
  }
  void RemoveContainer(const std::string& id, std::function<void(Status)> done) override {
    calls.push_back("RemoveContainer " + id);
    if (auto it = containers_.find(id); it != containers_.end() && it->second.state == ContainerState::kRunning) {
      return Later([done] { done(Status::InvalidArgument("container is running")); });
    }
    containers_.erase(id);
    Later([done] { done(Status::Ok()); });
  }
  void ContainerStatus(const std::string& id, std::function<void(Status, ksim::ContainerStatus)> done) override {
    auto it = containers_.find(id);
    if (it == containers_.end()) return Later([done] { done(Status::NotFound("container"), {}); });
    auto c = it->second;
    Later([done, c] { done(Status::Ok(), c); });
  }
  void ListContainers(const std::string& sandbox_id,
                      std::function<void(Status, std::vector<ksim::ContainerStatus>)> done) override {
    std::vector<ksim::ContainerStatus> out;
    for (const auto& [id, c] : containers_) {
      if (sandbox_id.empty() || c.sandbox_id == sandbox_id) out.push_back(c);
    }
    Later([done, out] { done(Status::Ok(), out); });
  }
  void ContainerLogs(const std::string&, size_t, std::function<void(Status, std::string)> done) override {
    Later([done] { done(Status::Ok(), ""); });
  }
  void ExecSync(const std::string& id, const std::vector<std::string>& command, Nanos,
                std::function<void(Status, ExecResult)> done) override {
    auto it = containers_.find(id);
    if (it == containers_.end() || it->second.state != ContainerState::kRunning) {
      return Later([done] { done(Status::InvalidArgument("not running"), {}); });
    }
    calls.push_back("ExecSync " + it->second.name);
    int code = 0;
    if (auto e = exec.find(it->second.name); e != exec.end()) code = e->second(command);
    Later([done, code] { done(Status::Ok(), ExecResult{code, ""}); });
  }
  void ListContainerStats(std::function<void(Status, std::vector<ContainerStats>)> done) override {
    Later([done] { done(Status::Ok(), {}); });
  }
  void SubscribeEvents(std::function<void(const ContainerEvent&)> on_event) override { on_event_ = std::move(on_event); }
  void PullImage(const std::string& image, std::function<void(Status, std::string)> done) override {
    calls.push_back("PullImage " + image);
    if (failing_images.count(image) != 0) {
      return Later([done] { done(Status::Unavailable("registry refused"), ""); });
    }
    images_.insert(image);
    Later([done, image] { done(Status::Ok(), "sha256:" + image); });
  }
  void ImageStatus(const std::string& image, std::function<void(Status, std::optional<ImageInfo>)> done) override {
    std::optional<ImageInfo> info;
    if (images_.count(image) != 0) info = ImageInfo{"sha256:" + image, {image}, 1000};
    Later([done, info] { done(Status::Ok(), info); });
  }
  void ListImages(std::function<void(Status, std::vector<ImageInfo>)> done) override {
    Later([done] { done(Status::Ok(), {}); });
  }
  void RemoveImage(const std::string&, std::function<void(Status)> done) override {
    Later([done] { done(Status::Ok()); });
  }

 private:
  void Later(std::function<void()> fn) { clock_->Schedule(Nanos(0), std::move(fn)); }
  void Emit(ContainerEvent e) {
    Later([this, e] {
      if (on_event_) on_event_(e);
    });
  }

  FakeClock* clock_;
  int next_ = 0;
  std::set<std::string> images_;
  std::map<std::string, ksim::ContainerStatus> containers_;
  std::map<std::string, ksim::PodSandboxStatus> sandboxes_;
  std::function<void(const ContainerEvent&)> on_event_;
};

}  // namespace ksim::testing
