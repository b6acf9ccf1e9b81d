#include "sim/container_runtime.h"

#include <fmt/format.h>

#include "sim/trace.h"
#include "sim/world.h"

namespace ksim::sim {

template <typename Fn>
void SimContainerRuntime::Later(Nanos delay, Fn fn) {
  world_->After(delay, std::function<void()>(std::move(fn)));
}

Nanos SimContainerRuntime::Now() const { return world_->now(); }

void SimContainerRuntime::PullImage(const std::string& image, std::function<void(Status)> done) {
  ++stats_.pulls;
  const ImageScript* script = world_->FindImage(image);
  if (script == nullptr) {
    ++stats_.pull_failures;
    Later(Milliseconds(20), [image, done = std::move(done)] {
      done(Status::NotFound("image '" + image + "': not found in the registry"));
    });
    return;
  }
  const bool fails = script->pull_fails;
  Later(script->pull_delay, [this, image, fails, done = std::move(done)] {
    if (fails) {
      ++stats_.pull_failures;
      done(Status::Unavailable("pull '" + image + "': registry refused (scripted failure)"));
      return;
    }
    pulled_.insert(image);
    done(Status::Ok());
  });
}

void SimContainerRuntime::Create(const ContainerSpec& spec, std::function<void(Status, std::string)> done) {
  Status result = Status::Ok();
  std::string id;
  if (!pulled_.count(spec.image)) {
    result = Status::NotFound("create '" + spec.name + "': image '" + spec.image + "' is not pulled");
  } else {
    for (const auto& [cid, c] : containers_) {
      if (c.status.name == spec.name) result = Status::AlreadyExists("container name '" + spec.name + "'");
    }
  }
  if (result.ok()) {
    id = fmt::format("c{:06}", next_id_++);
    Container c;
    c.status.id = id;
    c.status.name = spec.name;
    c.status.image = spec.image;
    c.status.labels = spec.labels;
    c.status.state = ContainerState::kCreated;
    c.script = *world_->FindImage(spec.image);
    containers_.emplace(id, std::move(c));
  }
  Later(Milliseconds(5), [result, id, done = std::move(done)] { done(result, id); });
}

void SimContainerRuntime::Exit(Container& c, int exit_code, const std::string& reason) {
  if (c.status.state != ContainerState::kRunning) return;
  ++c.run;
  ++stats_.exits;
  c.status.state = ContainerState::kExited;
  c.status.exit_code = exit_code;
  c.status.reason = reason;
  c.status.finished_at = Now();
  c.logs += fmt::format("exited code={} reason={}\n", exit_code, reason);
  world_->trace().Mix(static_cast<uint64_t>(TraceTag::kContainer) ^ (static_cast<uint64_t>(exit_code) << 8));
  if (handler_) handler_(ContainerEvent{c.status.id, ContainerState::kExited, exit_code, reason});
  auto waiters = std::move(c.stop_waiters);
  c.stop_waiters.clear();
  for (auto& w : waiters) w(Status::Ok());
}

void SimContainerRuntime::Start(const std::string& id, std::function<void(Status)> done) {
  auto it = containers_.find(id);
  if (it == containers_.end() || it->second.status.state != ContainerState::kCreated) {
    const Status s = it == containers_.end() ? Status::NotFound("start '" + id + "': no such container")
                                             : Status::InvalidArgument("start '" + id + "': not in created state");
    Later(Milliseconds(1), [s, done = std::move(done)] { done(s); });
    return;
  }
  const uint64_t run = it->second.run;
  Later(it->second.script.start_delay, [this, id, run, done = std::move(done)] {
    auto found = containers_.find(id);
    if (found == containers_.end() || found->second.run != run ||
        found->second.status.state != ContainerState::kCreated) {
      done(Status::Unavailable("start '" + id + "': container went away while starting"));
      return;
    }
    Container& c = found->second;
    ++c.run;
    ++stats_.starts;
    c.status.state = ContainerState::kRunning;
    c.status.started_at = Now();
    c.logs += "started\n";
    const uint64_t started_run = c.run;
    if (c.script.exit_after) {
      Later(*c.script.exit_after, [this, id, started_run] {
        auto f = containers_.find(id);
        if (f == containers_.end() || f->second.run != started_run) return;
        const int code = f->second.script.exit_code;
        Exit(f->second, code, code == 0 ? "Completed" : "Error");
      });
    }
    if (handler_) handler_(ContainerEvent{id, ContainerState::kRunning, 0, ""});
    done(Status::Ok());
  });
}

void SimContainerRuntime::Stop(const std::string& id, Nanos grace, std::function<void(Status)> done) {
  auto it = containers_.find(id);
  if (it == containers_.end()) {
    Later(Milliseconds(1), [id, done = std::move(done)] { done(Status::NotFound("stop '" + id + "'")); });
    return;
  }
  Container& c = it->second;
  if (c.status.state != ContainerState::kRunning) {
    Later(Milliseconds(1), [done = std::move(done)] { done(Status::Ok()); });
    return;
  }
  c.stop_waiters.push_back(std::move(done));
  const uint64_t run = c.run;
  const bool honours = !c.script.ignores_stop && c.script.stop_delay <= grace;
  const Nanos when = honours ? c.script.stop_delay : grace;
  Later(when, [this, id, run, honours] {
    auto f = containers_.find(id);
    if (f == containers_.end() || f->second.run != run) return;
    if (honours) {
      Exit(f->second, 143, "Completed");  // exited on SIGTERM
    } else {
      Exit(f->second, 137, "Killed");  // SIGKILL at the end of the grace period
    }
  });
}

void SimContainerRuntime::Remove(const std::string& id, std::function<void(Status)> done) {
  Status s = Status::Ok();
  auto it = containers_.find(id);
  if (it == containers_.end()) {
    s = Status::NotFound("remove '" + id + "': no such container");
  } else if (it->second.status.state == ContainerState::kRunning) {
    s = Status::InvalidArgument("remove '" + id + "': container is running");
  } else {
    containers_.erase(it);
  }
  Later(Milliseconds(2), [s, done = std::move(done)] { done(s); });
}

void SimContainerRuntime::Inspect(const std::string& id, std::function<void(Status, ContainerStatus)> done) {
  auto it = containers_.find(id);
  Status s = it == containers_.end() ? Status::NotFound("inspect '" + id + "'") : Status::Ok();
  ContainerStatus status = it == containers_.end() ? ContainerStatus{} : it->second.status;
  Later(Milliseconds(1), [s, status, done = std::move(done)] { done(s, status); });
}

void SimContainerRuntime::List(std::function<void(Status, std::vector<ContainerStatus>)> done) {
  Later(Milliseconds(1), [snapshot = Snapshot(), done = std::move(done)] { done(Status::Ok(), snapshot); });
}

std::vector<ContainerStatus> SimContainerRuntime::Snapshot() const {
  std::vector<ContainerStatus> out;
  for (const auto& [id, c] : containers_) out.push_back(c.status);
  return out;
}

void SimContainerRuntime::Logs(const std::string& id, std::function<void(Status, std::string)> done) {
  auto it = containers_.find(id);
  Status s = it == containers_.end() ? Status::NotFound("logs '" + id + "'") : Status::Ok();
  std::string logs = it == containers_.end() ? "" : it->second.logs;
  Later(Milliseconds(1), [s, logs, done = std::move(done)] { done(s, logs); });
}

void SimContainerRuntime::Exec(const std::string& id, const std::vector<std::string>& command, Nanos timeout,
                               std::function<void(Status, ExecResult)> done) {
  auto it = containers_.find(id);
  Status s = Status::Ok();
  ExecResult result;
  if (it == containers_.end()) {
    s = Status::NotFound("exec '" + id + "'");
  } else if (it->second.status.state != ContainerState::kRunning) {
    s = Status::InvalidArgument("exec '" + id + "': container is not running");
  } else {
    const bool ready = Now() >= it->second.status.started_at + it->second.script.ready_after;
    result.exit_code = ready ? 0 : 1;
    result.output = ready ? "ready\n" : "not ready\n";
  }
  Later(Milliseconds(1), [s, result, done = std::move(done)] { done(s, result); });
}

Status SimContainerRuntime::Kill(const std::string& id, int exit_code, const std::string& reason) {
  auto it = containers_.find(id);
  if (it == containers_.end()) return Status::NotFound("kill '" + id + "'");
  if (it->second.status.state != ContainerState::kRunning) {
    return Status::InvalidArgument("kill '" + id + "': not running");
  }
  Exit(it->second, exit_code, reason);
  return Status::Ok();
}

void SimContainerRuntime::PowerOff() {
  for (auto& [id, c] : containers_) {
    if (c.status.state == ContainerState::kRunning) {
      ++c.run;
      c.status.state = ContainerState::kExited;
      c.status.exit_code = 137;
      c.status.reason = "HostPowerOff";
      c.status.finished_at = Now();
      c.stop_waiters.clear();
    }
  }
  // Nobody is listening while the host is off; the next subscriber lists and reconciles.
  handler_ = nullptr;
}

}  // namespace ksim::sim
