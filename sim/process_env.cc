#include "sim/process_env.h"

#include <fmt/format.h>

#include "cluster/env/container_runtime.h"
#include "cluster/env/dataplane.h"
#include "sim/network.h"
#include "sim/world.h"

namespace ksim::sim {

// --- Clock ------------------------------------------------------------------------

class SimProcess::Clock final : public ksim::Clock {
 public:
  Clock(Host* host, ProcessTokenPtr token) : host_(host), token_(std::move(token)) {}

  Nanos MonotonicNow() const override { return host_->MonotonicNow(); }
  Nanos WallNow() const override { return host_->WallNow(); }

  // Timer ids are the world's event ids: the queue already knows pending from fired, so
  // no per-timer bookkeeping is needed. A dead incarnation's timers stay queued and do
  // nothing when they come due (the token check).
  TimerId Schedule(Nanos delay, std::function<void()> fn) override {
    const Nanos world_delay = host_->ToWorldDelay(delay < Nanos(0) ? Nanos(0) : delay);
    return host_->world().After(world_delay, [this, token = token_, fn = std::move(fn)]() mutable {
      if (!token->alive) return;
      if (!host_->is_paused()) {
        fn();
        return;
      }
      const TimerId id = host_->world().current_event();
      host_->RunInProcess(token, [this, id, fn = std::move(fn)] {
        if (cancelled_while_held_.erase(id)) return;
        fn();
      });
    });
  }

  bool Cancel(TimerId id) override {
    if (host_->world().Cancel(id)) return true;
    // A timer that fired while the host was paused is held; cancelling it still prevents
    // the call, but it counts as already fired.
    if (host_->is_paused() && id != 0) cancelled_while_held_.insert(id);
    return false;
  }

 private:
  Host* host_;
  ProcessTokenPtr token_;
  std::set<TimerId> cancelled_while_held_;
};

// --- Transport --------------------------------------------------------------------

class SimProcess::Transport final : public ksim::Transport {
 public:
  Transport(Host* host, ProcessTokenPtr token) : host_(host), token_(std::move(token)) {}

  Address LocalAddress(uint16_t port) const override { return host_->name() + ":" + std::to_string(port); }

  Status Listen(uint16_t port, std::function<void(std::shared_ptr<Connection>)> on_accept) override {
    Status s = host_->world().network().Listen(token_, port, [this, on_accept = std::move(on_accept)](
                                                                  std::shared_ptr<Connection> conn) {
      connections_.push_back(conn);
      on_accept(std::move(conn));
    });
    if (s.ok()) ports_.insert(port);
    return s;
  }

  void StopListening(uint16_t port) override {
    host_->world().network().StopListening(host_->id(), port, token_);
    ports_.erase(port);
  }

  std::shared_ptr<Connection> Connect(const Address& to, ConnectionHandlers handlers,
                                      std::function<void()> on_open) override {
    std::string name;
    uint16_t port = 0;
    if (!ParseAddress(to, &name, &port).ok()) return nullptr;
    auto conn = host_->world().network().Connect(token_, name, port, to, std::move(handlers), std::move(on_open));
    connections_.push_back(conn);
    return conn;
  }

  // The kernel closes a dying process's sockets. The process object is already gone, so
  // handles it dropped are closed; this closes the ones it still held.
  void CloseAll() {
    for (uint16_t port : ports_) host_->world().network().StopListening(host_->id(), port, token_);
    ports_.clear();
    for (auto& weak : connections_) {
      if (auto conn = weak.lock()) conn->Close();
    }
    connections_.clear();
  }

 private:
  Host* host_;
  ProcessTokenPtr token_;
  std::set<uint16_t> ports_;
  std::vector<std::weak_ptr<Connection>> connections_;
};

// --- Disk -------------------------------------------------------------------------

class SimProcess::Disk final : public ksim::Disk {
 public:
  Disk(Host* host, ProcessTokenPtr token) : disk_(&host->disk()), token_(std::move(token)) {}

  Status Append(const std::string& path, std::string_view data) override { return disk_->Append(path, data); }
  Status WriteFile(const std::string& path, std::string_view data) override { return disk_->WriteFile(path, data); }
  void Sync(const std::string& path, std::function<void(Status)> done) override {
    disk_->Sync(path, Wrap(std::move(done)));
  }
  void SyncDir(const std::string& dir, std::function<void(Status)> done) override {
    disk_->SyncDir(dir, Wrap(std::move(done)));
  }
  Status Rename(const std::string& from, const std::string& to) override { return disk_->Rename(from, to); }
  Status Read(const std::string& path, std::string* out) const override { return disk_->Read(path, out); }
  Status ReadAt(const std::string& path, uint64_t offset, size_t length, std::string* out) const override {
    return disk_->ReadAt(path, offset, length, out);
  }
  Status List(const std::string& dir, std::vector<std::string>* names) const override {
    return disk_->List(dir, names);
  }
  Status Remove(const std::string& path) override { return disk_->Remove(path); }

 private:
  std::function<void(Status)> Wrap(std::function<void(Status)> done) {
    return [token = token_, done = std::move(done)](Status s) {
      token->host->RunInProcess(token, [done, s] { done(s); });
    };
  }
  SimDisk* disk_;
  ProcessTokenPtr token_;
};

// --- ContainerRuntime -------------------------------------------------------------

class SimProcess::Runtime final : public ksim::ContainerRuntime {
 public:
  Runtime(Host* host, ProcessTokenPtr token) : rt_(&host->runtime()), token_(std::move(token)) {}
  ~Runtime() override { Unsubscribe(); }

  void RunPodSandbox(const PodSandboxConfig& config, std::function<void(Status, std::string)> done) override {
    rt_->RunPodSandbox(config, Wrap(std::move(done)));
  }
  void StopPodSandbox(const std::string& id, std::function<void(Status)> done) override {
    rt_->StopPodSandbox(id, Wrap(std::move(done)));
  }
  void RemovePodSandbox(const std::string& id, std::function<void(Status)> done) override {
    rt_->RemovePodSandbox(id, Wrap(std::move(done)));
  }
  void PodSandboxStatus(const std::string& id, std::function<void(Status, ksim::PodSandboxStatus)> done) override {
    rt_->PodSandboxStatus(id, Wrap(std::move(done)));
  }
  void ListPodSandboxes(std::function<void(Status, std::vector<ksim::PodSandboxStatus>)> done) override {
    rt_->ListPodSandboxes(Wrap(std::move(done)));
  }
  void CreateContainer(const std::string& sandbox_id, const ContainerConfig& config,
                       std::function<void(Status, std::string)> done) override {
    rt_->CreateContainer(sandbox_id, config, Wrap(std::move(done)));
  }
  void StartContainer(const std::string& id, std::function<void(Status)> done) override {
    rt_->StartContainer(id, Wrap(std::move(done)));
  }
  void StopContainer(const std::string& id, Nanos grace, std::function<void(Status)> done) override {
    rt_->StopContainer(id, grace, Wrap(std::move(done)));
  }
  void RemoveContainer(const std::string& id, std::function<void(Status)> done) override {
    rt_->RemoveContainer(id, Wrap(std::move(done)));
  }
  void ContainerStatus(const std::string& id, std::function<void(Status, ksim::ContainerStatus)> done) override {
    rt_->ContainerStatus(id, Wrap(std::move(done)));
  }
  void ListContainers(const std::string& sandbox_id,
                      std::function<void(Status, std::vector<ksim::ContainerStatus>)> done) override {
    rt_->ListContainers(sandbox_id, Wrap(std::move(done)));
  }
  void ContainerLogs(const std::string& id, size_t max_bytes, std::function<void(Status, std::string)> done) override {
    rt_->ContainerLogs(id, max_bytes, Wrap(std::move(done)));
  }
  void ExecSync(const std::string& id, const std::vector<std::string>& command, Nanos timeout,
                std::function<void(Status, ExecResult)> done) override {
    rt_->ExecSync(id, command, timeout, Wrap(std::move(done)));
  }
  void ListContainerStats(std::function<void(Status, std::vector<ContainerStats>)> done) override {
    rt_->ListContainerStats(Wrap(std::move(done)));
  }
  void PullImage(const std::string& image, std::function<void(Status, std::string)> done) override {
    rt_->PullImage(image, Wrap(std::move(done)));
  }
  void ImageStatus(const std::string& image, std::function<void(Status, std::optional<ImageInfo>)> done) override {
    rt_->ImageStatus(image, Wrap(std::move(done)));
  }
  void ListImages(std::function<void(Status, std::vector<ImageInfo>)> done) override {
    rt_->ListImages(Wrap(std::move(done)));
  }
  void RemoveImage(const std::string& image, std::function<void(Status)> done) override {
    rt_->RemoveImage(image, Wrap(std::move(done)));
  }
  // The host's one handler belongs to this incarnation until it unsubscribes or dies; a
  // dead incarnation's subscription is dropped so events stop reaching it.
  void Unsubscribe() {
    if (subscribed_) rt_->SubscribeEvents(nullptr);
    subscribed_ = false;
  }
  void SubscribeEvents(std::function<void(const ContainerEvent&)> on_event) override {
    subscribed_ = static_cast<bool>(on_event);
    if (!on_event) {
      rt_->SubscribeEvents(nullptr);
      return;
    }
    rt_->SubscribeEvents(Wrap(std::move(on_event)));
  }

 private:
  template <typename... Args>
  std::function<void(Args...)> Wrap(std::function<void(Args...)> fn) {
    return [token = token_, fn = std::move(fn)](Args... args) {
      token->host->RunInProcess(token, [fn, args...] { fn(args...); });
    };
  }
  SimContainerRuntime* rt_;
  ProcessTokenPtr token_;
  bool subscribed_ = false;
};

// --- Dataplane, Logger ------------------------------------------------------------

class SimProcess::Dataplane final : public ksim::Dataplane {
 public:
  explicit Dataplane(Host* host) : dp_(&host->dataplane()) {}
  Status Apply(const std::vector<ServiceRule>& rules) override { return dp_->Apply(rules); }

 private:
  SimDataplane* dp_;
};

class SimProcess::Logger final : public ksim::Logger {
 public:
  Logger(Host* host, std::string process) : host_(host), process_(std::move(process)) {}
  void Log(LogLevel level, std::string_view component, std::string_view message) override {
    host_->world().log().Add(host_->world().now(), host_->name(), level,
                             component.empty() ? std::string_view(process_) : component, message);
  }

 private:
  Host* host_;
  std::string process_;
};

// --- SimProcess -------------------------------------------------------------------

SimProcess::SimProcess(Host* host, const std::string& name, uint64_t incarnation)
    : host_(host),
      token_(std::make_shared<ProcessToken>(ProcessToken{true, host, name, incarnation})),
      random_(host->world().ChildRandom(fmt::format("host/{}/process/{}/{}", host->name(), name, incarnation))),
      // The host counts incarnations across crashes and power cycles, so the stream never
      // repeats within a world; the seed still replays it.
      entropy_(host->world().ChildRandom(fmt::format("entropy/{}/{}/{}", host->name(), name, incarnation)).seed()) {
  clock_ = std::make_unique<Clock>(host, token_);
  transport_ = std::make_unique<Transport>(host, token_);
  disk_ = std::make_unique<Disk>(host, token_);
  runtime_ = std::make_unique<Runtime>(host, token_);
  dataplane_ = std::make_unique<Dataplane>(host);
  logger_ = std::make_unique<Logger>(host, name);
  env_.host = host->name();
  env_.clock = clock_.get();
  env_.transport = transport_.get();
  env_.disk = disk_.get();
  env_.runtime = runtime_.get();
  env_.dataplane = dataplane_.get();
  env_.random = &random_;
  env_.entropy = &entropy_;
  env_.log = logger_.get();
  env_.decoder = &host->world().decoder();
}

SimProcess::~SimProcess() { Kill(false); }

void SimProcess::Launch(const ProcessFactory& factory) {
  process_ = factory(env_);
  Process* p = process_.get();
  host_->world().After(Nanos(0), [token = token_, p] { token->host->RunInProcess(token, [p] { p->Start(); }); });
}

void SimProcess::Kill(bool power_loss) {
  if (killed_) return;
  killed_ = true;
  token_->alive = false;
  process_.reset();  // the object may still call its Env while it is destroyed
  if (!power_loss) transport_->CloseAll();
  runtime_->Unsubscribe();
}

}  // namespace ksim::sim
