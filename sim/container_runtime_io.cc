// SimContainerRuntime: images, exec, logs, stats and the HTTP the containers serve.
#include <fmt/format.h>

#include <algorithm>

#include "cluster/net/http1.h"
#include "sim/container_runtime.h"
#include "sim/container_runtime_internal.h"
#include "sim/host.h"
#include "sim/trace.h"

namespace ksim::sim {

// --- images -------------------------------------------------------------------------

ImageBehavior SimContainerRuntime::BehaviorFor(const std::string& normalized) const {
  const ImageBehavior* defined = world_->FindImage(normalized);
  return defined != nullptr ? *defined : CatalogBehavior(normalized);
}

const ImageInfo* SimContainerRuntime::FindImage(const std::string& image) const {
  std::string id = image;
  if (image.rfind("sha256:", 0) != 0) {
    auto name = image_names_.find(NormalizeImageName(image));
    if (name == image_names_.end()) return nullptr;
    id = name->second;
  }
  auto it = images_.find(id);
  return it == images_.end() ? nullptr : &it->second;
}

void SimContainerRuntime::SetPullFailure(const std::string& image, bool fail) {
  const std::string key = image.empty() ? "" : NormalizeImageName(image);
  if (fail) {
    failing_pulls_.insert(key);
  } else {
    failing_pulls_.erase(key);
  }
}

void SimContainerRuntime::PullImage(const std::string& image, std::function<void(Status, std::string)> done) {
  ++stats_.pulls;
  const std::string normalized = NormalizeImageName(image);
  if (normalized.empty() || normalized.size() > 4096) {
    Later(latencies_.query, [done = std::move(done)] {
      done(Status::InvalidArgument("pull image: the name must be 1..4096 bytes"), "");
    });
    return;
  }
  const ImageBehavior b = BehaviorFor(normalized);
  Later(ImagePullTime(normalized, b), [this, image, normalized, b, done = std::move(done)] {
    const std::string what = fmt::format("failed to pull image \"{}\": {}", image, normalized);
    if (!b.exists) {
      ++stats_.pull_failures;
      return done(Status::NotFound(what + ": not found"), "");
    }
    if (b.pull_fails || failing_pulls_.count(normalized) || failing_pulls_.count("")) {
      ++stats_.pull_failures;
      return done(Status::Unavailable(what + ": the registry refused the pull"), "");
    }
    ImageInfo info;
    info.id = ImageId(normalized);
    info.repo_tags = {normalized};
    info.size_bytes = ImageSizeBytes(normalized, b);
    image_names_[normalized] = info.id;
    images_[info.id] = info;
    done(Status::Ok(), info.id);
  });
}

void SimContainerRuntime::ImageStatus(const std::string& image,
                                      std::function<void(Status, std::optional<ImageInfo>)> done) {
  Later(latencies_.query, [this, image, done = std::move(done)] {
    const ImageInfo* info = FindImage(image);
    done(Status::Ok(), info ? std::optional<ImageInfo>(*info) : std::nullopt);
  });
}

void SimContainerRuntime::ListImages(std::function<void(Status, std::vector<ImageInfo>)> done) {
  Later(latencies_.query, [this, done = std::move(done)] {
    std::vector<ImageInfo> out;
    for (const auto& [id, info] : images_) out.push_back(info);
    done(Status::Ok(), std::move(out));
  });
}

void SimContainerRuntime::RemoveImage(const std::string& image, std::function<void(Status)> done) {
  Later(latencies_.remove, [this, image, done = std::move(done)] {
    const ImageInfo* info = FindImage(image);
    if (info == nullptr) return done(Status::Ok());
    const std::string id = info->id;
    for (const auto& [cid, c] : containers_) {
      if (c->status.image_ref == id) {
        return done(Status::InvalidArgument("remove image " + image + ": in use by container " + cid));
      }
    }
    for (const std::string& name : info->repo_tags) image_names_.erase(name);
    images_.erase(id);
    done(Status::Ok());
  });
}

// --- behaviour clocks ---------------------------------------------------------------

bool SimContainerRuntime::Ready(const Container& c) const {
  return c.status.state == ContainerState::kRunning && world_->now() >= c.started_world + c.behavior.ready_after;
}

bool SimContainerRuntime::Healthy(const Container& c) const {
  return !c.behavior.unhealthy_after || world_->now() < c.started_world + *c.behavior.unhealthy_after;
}

int64_t SimContainerRuntime::MemoryNow(const Container& c) const {
  const ImageBehavior& b = c.behavior;
  const Nanos end = c.status.state == ContainerState::kRunning ? world_->now() : c.finished_world;
  const int64_t grown = b.memory_growth_bytes_per_second * ((end - c.started_world).count() / 1000000) / 1000;
  int64_t bytes = b.memory_bytes + grown;
  if (c.config.memory_limit_bytes > 0) bytes = std::min(bytes, c.config.memory_limit_bytes);
  return bytes;
}

void SimContainerRuntime::SetCpuLoad(const std::string& ns, const std::string& pod, const std::string& container,
                                     std::optional<int64_t> millis) {
  const std::vector<std::string> key = {ns, pod, container};
  if (millis) {
    cpu_loads_[key] = *millis;
  } else {
    cpu_loads_.erase(key);
  }
}

int64_t SimContainerRuntime::CpuNow(const Container& c) const {
  int64_t millis = c.behavior.cpu_millis;
  if (!cpu_loads_.empty()) {
    const auto sandbox = sandboxes_.find(c.status.sandbox_id);
    if (sandbox != sandboxes_.end()) {
      const SandboxMetadata& m = sandbox->second->status.metadata;
      // A load on the named container wins over one on the whole pod.
      auto it = cpu_loads_.find({m.namespace_, m.name, c.config.name});
      if (it == cpu_loads_.end()) it = cpu_loads_.find({m.namespace_, m.name, ""});
      if (it != cpu_loads_.end()) millis = it->second;
    }
  }
  if (c.config.cpu_limit_millis > 0) millis = std::min(millis, c.config.cpu_limit_millis);
  return millis;
}

void SimContainerRuntime::ListContainerStats(std::function<void(Status, std::vector<ContainerStats>)> done) {
  Later(latencies_.query, [this, done = std::move(done)] {
    std::vector<ContainerStats> out;
    for (const auto& [id, c] : containers_) {
      if (c->status.state != ContainerState::kRunning) continue;
      ContainerStats s;
      s.id = id;
      s.sandbox_id = c->status.sandbox_id;
      s.cpu_usage_millis = CpuNow(*c);
      s.memory_working_set_bytes = MemoryNow(*c);
      out.push_back(s);
    }
    done(Status::Ok(), std::move(out));
  });
}

// --- logs ---------------------------------------------------------------------------

void SimContainerRuntime::AppendLog(Container& c, const std::string& line) {
  c.log += line;
  // Trimmed in steps so a chatty container does not move its whole log at every line.
  if (c.log.size() > kMaxContainerLogBytes + (kMaxContainerLogBytes >> 4)) {
    c.log.erase(0, c.log.size() - kMaxContainerLogBytes);
  }
}

// Periodic lines are written lazily, when someone looks or the container exits: a
// container that logs every second costs no events.
void SimContainerRuntime::CatchUpLog(Container& c) {
  const Nanos every = c.behavior.log_every;
  if (every <= Nanos(0) || c.status.started_at == Nanos(0)) return;
  const Nanos end = c.status.state == ContainerState::kRunning ? world_->now() : c.finished_world;
  const int64_t due = (end - c.started_world) / every;
  // Lines older than the kept window would be dropped anyway: skip them.
  const int64_t keep = static_cast<int64_t>(kMaxContainerLogBytes / 16);
  if (due - c.log_ticks > keep) c.log_ticks = due - keep;
  while (c.log_ticks < due) {
    ++c.log_ticks;
    AppendLog(c, fmt::format("{} log line {}\n", c.status.name, c.log_ticks));
  }
}

void SimContainerRuntime::ContainerLogs(const std::string& id, size_t max_bytes,
                                        std::function<void(Status, std::string)> done) {
  Later(latencies_.query, [this, id, max_bytes, done = std::move(done)] {
    auto it = containers_.find(id);
    if (it == containers_.end()) return done(Status::NotFound("logs of container " + id + ": no such container"), "");
    Container& c = *it->second;
    CatchUpLog(c);
    const size_t n = std::min({max_bytes, kMaxContainerLogBytes, c.log.size()});
    done(Status::Ok(), c.log.substr(c.log.size() - n));
  });
}

// --- exec ---------------------------------------------------------------------------

// A few commands answer as a real image's shell would; everything else is a probe
// command that succeeds while the container is ready and healthy.
ExecResult SimContainerRuntime::RunExec(const Container& c, const std::vector<std::string>& command,
                                        Nanos* takes) const {
  *takes = latencies_.exec;
  if (!c.behavior.answers_exec) return {126, "exec: the image has no shell\n"};
  const Sandbox& s = *sandboxes_.at(c.status.sandbox_id);
  const std::string first = command.empty() ? "" : command[0];
  if (first == "hostname" || (command.size() == 2 && first == "cat" && command[1] == "/etc/hostname")) {
    return {0, s.status.hostname + "\n"};
  }
  if (command.size() == 2 && first == "cat" && command[1] == "/etc/resolv.conf") {
    std::string out;
    for (const std::string& server : s.config.dns.servers) out += "nameserver " + server + "\n";
    if (!s.config.dns.searches.empty()) out += "search " + fmt::format("{}", fmt::join(s.config.dns.searches, " ")) + "\n";
    if (!s.config.dns.options.empty()) out += "options " + fmt::format("{}", fmt::join(s.config.dns.options, " ")) + "\n";
    return {0, out};
  }
  if (first == "true") return {0, ""};
  if (first == "false") return {1, ""};
  if (command.size() == 2 && first == "sleep") {
    const std::string& n = command[1];
    if (n.empty() || n.size() > 6 || n.find_first_not_of("0123456789") != std::string::npos) {
      return {1, "sleep: invalid number '" + n.substr(0, 16) + "'\n"};
    }
    *takes += Seconds(std::stoll(n));
    return {0, ""};
  }
  if (!Ready(c)) return {1, "not ready\n"};
  if (!Healthy(c)) return {1, "unhealthy\n"};
  return {0, "ok\n"};
}

void SimContainerRuntime::ExecSync(const std::string& id, const std::vector<std::string>& command, Nanos timeout,
                                   std::function<void(Status, ExecResult)> done) {
  Later(latencies_.query, [this, id, command, timeout, done = std::move(done)] {
    auto it = containers_.find(id);
    if (it == containers_.end()) return done(Status::NotFound("exec in container " + id + ": no such container"), {});
    const Container& c = *it->second;
    if (c.status.state != ContainerState::kRunning) {
      return done(Status::InvalidArgument("exec in container " + id + ": it is not running"), {});
    }
    if (command.empty() || command.size() > kMaxCommandArgs) {
      return done(Status::InvalidArgument(fmt::format("exec: the command needs 1..{} words", kMaxCommandArgs)), {});
    }
    Nanos takes{0};
    ExecResult result = RunExec(c, command, &takes);
    if (result.output.size() > kMaxExecOutputBytes) result.output.resize(kMaxExecOutputBytes);
    const uint64_t run = c.run;
    if (timeout > Nanos(0) && takes > timeout) {
      Later(timeout, [id, timeout, done] {
        done(Status::Timeout(fmt::format("exec in container {}: no answer within {} ms", id, timeout.count() / 1000000)),
             {});
      });
      return;
    }
    Later(takes, [this, id, run, result, done] {
      auto found = containers_.find(id);
      if (found == containers_.end() || found->second->run != run) {
        return done(Status::Unavailable("exec in container " + id + ": the container exited"), {});
      }
      done(Status::Ok(), result);
    });
  });
}

// --- HTTP ---------------------------------------------------------------------------

std::function<void(std::shared_ptr<Connection>)> SimContainerRuntime::AcceptFor(const std::string& ip,
                                                                                 uint16_t port) {
  auto sid = sandbox_by_ip_.find(ip);
  if (sid == sandbox_by_ip_.end()) return nullptr;
  const Sandbox& s = *sandboxes_.at(sid->second);
  for (const std::string& cid : s.containers) {
    const Container& c = *containers_.at(cid);
    if (c.status.state != ContainerState::kRunning) continue;
    const ImageBehavior& b = c.behavior;
    bool serves = std::find(b.http_ports.begin(), b.http_ports.end(), port) != b.http_ports.end();
    if (!serves && b.serve_container_ports) {
      for (const PortMapping& p : s.config.port_mappings) serves = serves || p.container_port == port;
    }
    if (!serves) continue;
    return [this, cid](std::shared_ptr<Connection> conn) {
      auto it = containers_.find(cid);
      if (it == containers_.end() || it->second->status.state != ContainerState::kRunning) {
        conn->Close();
        return;
      }
      std::weak_ptr<Connection> weak = conn;
      ConnectionHandlers h;
      h.on_frame = [this, cid, weak](std::string_view frame) {
        if (auto live = weak.lock()) ServeFrame(cid, live, frame);
      };
      h.on_closed = [this, cid, weak](const Status&) {
        auto found = containers_.find(cid);
        if (found == containers_.end()) return;
        auto& conns = found->second->conns;
        std::erase_if(conns, [&](const std::shared_ptr<Connection>& held) { return held == weak.lock(); });
      };
      conn->SetHandlers(std::move(h));
      it->second->conns.push_back(std::move(conn));
    };
  }
  return nullptr;
}

// Answers one request: 200 with the pod's name while ready and healthy, 503 before it is
// ready, 500 once unhealthy, 400 for a malformed request.
void SimContainerRuntime::ServeFrame(const std::string& container_id, const std::shared_ptr<Connection>& conn,
                                     std::string_view frame) {
  auto it = containers_.find(container_id);
  if (it == containers_.end()) return;
  const Container& c = *it->second;
  ++stats_.http_requests;
  http1::Request request;
  http1::Response response;
  if (Status s = http1::ParseRequest(frame, &request); !s.ok()) {
    response.status = 400;
    response.body = s.message() + "\n";
  } else if (!Ready(c)) {
    response.status = 503;
    response.body = "not ready\n";
  } else if (!Healthy(c)) {
    response.status = 500;
    response.body = "unhealthy\n";
  } else {
    response.body = sandboxes_.at(c.status.sandbox_id)->status.metadata.name;
  }
  response.headers.emplace_back("Content-Type", "text/plain");
  (void)conn->Send(http1::FormatResponse(response));
}

}  // namespace ksim::sim
