#include "cluster/kubelet/kubelet_server.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

#include "cluster/env/wire.h"
#include "cluster/kubelet/api_objects.h"

namespace ksim::kubelet {
namespace {

KubeletResponse Answer(int code, std::string message) {
  KubeletResponse r;
  r.set_code(code);
  r.set_message(std::move(message));
  return r;
}

// A runtime error as an HTTP code: what the caller did wrong is 4xx, the runtime's own
// trouble 5xx.
int CodeFor(const Status& s) {
  switch (s.code()) {
    case Status::Code::kNotFound:
      return 404;
    case Status::Code::kInvalidArgument:
      return 400;
    case Status::Code::kTimeout:
      return 504;
    default:
      return 503;
  }
}

const std::string& Label(const ksim::ContainerStatus& c, const char* key) {
  static const std::string kEmpty;
  const auto it = c.labels.find(key);
  return it == c.labels.end() ? kEmpty : it->second;
}

}  // namespace

std::string SelectLogs(std::string_view all, int64_t tail_lines, int64_t limit_bytes, bool* truncated) {
  *truncated = false;
  std::string_view out = all;
  if (tail_lines > 0) {
    // The last N lines; a final line without '\n' counts as a line.
    size_t end = out.size();
    if (end > 0 && out[end - 1] == '\n') --end;
    size_t start = end;
    int64_t lines = 0;
    while (start > 0) {
      if (out[start - 1] == '\n' && ++lines == tail_lines) break;
      --start;
    }
    out = out.substr(start);
  }
  if (limit_bytes > 0 && out.size() > static_cast<uint64_t>(limit_bytes)) {
    out = out.substr(0, static_cast<size_t>(limit_bytes));
    *truncated = true;
  }
  return std::string(out);
}

KubeletServer::KubeletServer(Env& env, KubeletServerOptions options, ManifestHandler on_manifest)
    : env_(env), options_(options), on_manifest_(std::move(on_manifest)) {}

KubeletServer::~KubeletServer() {
  *alive_ = false;
  if (listening_) env_.transport->StopListening(options_.port);
  for (auto& [id, c] : conns_) c.connection->Close();
}

Status KubeletServer::Start() {
  auto alive = alive_;
  Status s = env_.transport->Listen(options_.port, [this, alive](std::shared_ptr<Connection> c) {
    if (*alive) OnAccept(std::move(c));
  });
  listening_ = s.ok();
  return s;
}

void KubeletServer::OnAccept(std::shared_ptr<Connection> connection) {
  if (conns_.size() >= options_.max_connections) {
    ++stats_.refused_connections;
    connection->Close();
    return;
  }
  const uint64_t id = next_conn_++;
  auto alive = alive_;
  ConnectionHandlers h;
  h.on_frame = [this, alive, id](std::string_view frame) {
    if (*alive) OnFrame(id, frame);
  };
  h.on_closed = [this, alive, id](const Status&) {
    if (*alive) conns_.erase(id);
  };
  connection->SetHandlers(std::move(h));
  conns_[id] = Conn{std::move(connection), 0};
}

void KubeletServer::OnFrame(uint64_t conn_id, std::string_view frame) {
  auto it = conns_.find(conn_id);
  if (it == conns_.end()) return;
  auto reply = [this, alive = alive_, conn_id](KubeletResponse r) {
    if (!*alive) return;
    const auto c = conns_.find(conn_id);
    if (c == conns_.end()) return;
    if (c->second.in_flight > 0) --c->second.in_flight;
    if (r.code() != 200) ++stats_.errors;
    std::string bytes;
    SerializeDeterministic(r, &bytes);
    (void)c->second.connection->Send(std::move(bytes));
  };
  ++it->second.in_flight;
  ++stats_.requests;
  if (frame.size() > options_.max_request_bytes) {
    return reply(Answer(413, fmt::format("request is {} bytes, more than the {} allowed", frame.size(),
                                         options_.max_request_bytes)));
  }
  KubeletRequest q;
  if (!q.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    return reply(Answer(400, "request is not a KubeletRequest"));
  }
  if (it->second.in_flight > options_.max_in_flight_per_connection) {
    KubeletResponse r = Answer(429, fmt::format("more than {} requests in flight on one connection",
                                                options_.max_in_flight_per_connection));
    r.set_id(q.id());
    return reply(std::move(r));
  }
  const uint64_t id = q.id();
  Handle(q, [reply, id](KubeletResponse r) {
    r.set_id(id);
    reply(std::move(r));
  });
}

void KubeletServer::Handle(const KubeletRequest& request, std::function<void(KubeletResponse)> done) {
  switch (request.call_case()) {
    case KubeletRequest::kLogs:
      return Logs(request.logs(), std::move(done));
    case KubeletRequest::kExec:
      return Exec(request.exec(), std::move(done));
    case KubeletRequest::kManifest:
      return Manifest(request.manifest(), std::move(done));
    case KubeletRequest::kStats:
      return Stats(request.stats(), std::move(done));
    case KubeletRequest::CALL_NOT_SET:
      break;
  }
  done(Answer(400, "request names no call (logs, exec, manifest or stats)"));
}

void KubeletServer::FindContainer(const std::string& ns, const std::string& pod, const std::string& container,
                                  bool previous, bool running, std::function<void(KubeletResponse)> done,
                                  Found found) {
  if (ns.empty() || pod.empty()) return done(Answer(400, "namespace and pod are required"));
  if (!env_.runtime) return done(Answer(503, "no container runtime"));
  auto alive = alive_;
  env_.runtime->ListContainers(
      "", [alive, ns, pod, container, previous, running, done, found](Status s, std::vector<ksim::ContainerStatus> all) {
        if (!*alive) return;
        if (!s.ok()) return done(Answer(CodeFor(s), "listing containers: " + s.message()));
        std::vector<ksim::ContainerStatus> mine;
        std::set<std::string> names;
        for (auto& c : all) {
          if (Label(c, "io.kubernetes.pod.namespace") != ns || Label(c, "io.kubernetes.pod.name") != pod) continue;
          names.insert(Label(c, "io.kubernetes.container.name"));
          mine.push_back(std::move(c));
        }
        if (mine.empty()) return done(Answer(404, fmt::format("pod \"{}\" in namespace \"{}\" not found", pod, ns)));
        std::string name = container;
        if (name.empty()) {
          if (names.size() != 1) {
            return done(Answer(400, fmt::format("a container name must be specified for pod {}, choose one of: [{}]",
                                                pod, fmt::join(names, " "))));
          }
          name = *names.begin();
        }
        if (!names.count(name)) {
          return done(Answer(400, fmt::format("container {} is not valid for pod {}", name, pod)));
        }
        std::vector<ksim::ContainerStatus> instances;
        for (auto& c : mine) {
          if (Label(c, "io.kubernetes.container.name") == name) instances.push_back(std::move(c));
        }
        std::sort(instances.begin(), instances.end(), [](const auto& a, const auto& b) {
          return a.attempt != b.attempt ? a.attempt > b.attempt : a.id > b.id;
        });
        if (previous) {
          if (instances.size() < 2) {
            return done(
                Answer(400, fmt::format("previous terminated container \"{}\" in pod \"{}\" not found", name, pod)));
          }
          return found(instances[1]);
        }
        if (running && instances[0].state != ContainerState::kRunning) {
          return done(Answer(400, fmt::format("container {} of pod {} is not running", name, pod)));
        }
        found(instances[0]);
      });
}

void KubeletServer::Logs(const ContainerLogsRequest& q, std::function<void(KubeletResponse)> done) {
  if (q.tail_lines() < 0) return done(Answer(400, "tailLines: must be non-negative"));
  if (q.limit_bytes() < 0) return done(Answer(400, "limitBytes: must be non-negative"));
  auto alive = alive_;
  const int64_t tail = q.tail_lines();
  const int64_t limit = q.limit_bytes();
  FindContainer(q.namespace_(), q.pod(), q.container(), q.previous(), false, done,
                [this, alive, tail, limit, done](const ksim::ContainerStatus& c) {
                  env_.runtime->ContainerLogs(c.id, kMaxContainerLogBytes,
                                              [alive, tail, limit, done](Status s, std::string all) {
                                                if (!*alive) return;
                                                if (!s.ok()) return done(Answer(CodeFor(s), s.message()));
                                                KubeletResponse r = Answer(200, "");
                                                bool truncated = false;
                                                r.mutable_logs()->set_content(SelectLogs(all, tail, limit, &truncated));
                                                r.mutable_logs()->set_truncated(truncated);
                                                done(std::move(r));
                                              });
                });
}

void KubeletServer::Exec(const ExecRequest& q, std::function<void(KubeletResponse)> done) {
  if (q.command_size() == 0) return done(Answer(400, "command: Required value"));
  if (static_cast<size_t>(q.command_size()) > kMaxCommandArgs) {
    return done(Answer(400, fmt::format("command: more than {} arguments", kMaxCommandArgs)));
  }
  size_t bytes = 0;
  for (const std::string& a : q.command()) bytes += a.size();
  if (bytes > options_.max_exec_command_bytes) {
    return done(Answer(413, fmt::format("command: {} bytes, more than the {} allowed", bytes,
                                        options_.max_exec_command_bytes)));
  }
  if (q.timeout_seconds() < 0) return done(Answer(400, "timeoutSeconds: must be non-negative"));
  const Nanos timeout = q.timeout_seconds() == 0 ? options_.default_exec_timeout : Seconds(q.timeout_seconds());
  if (timeout > options_.max_exec_timeout) {
    return done(Answer(400, fmt::format("timeoutSeconds: must be at most {}",
                                        options_.max_exec_timeout.count() / 1'000'000'000)));
  }
  std::vector<std::string> command(q.command().begin(), q.command().end());
  auto alive = alive_;
  FindContainer(q.namespace_(), q.pod(), q.container(), false, true, done,
                [this, alive, command, timeout, done](const ksim::ContainerStatus& c) {
                  env_.runtime->ExecSync(c.id, command, timeout, [alive, done](Status s, ExecResult result) {
                    if (!*alive) return;
                    if (!s.ok()) return done(Answer(CodeFor(s), s.message()));
                    KubeletResponse r = Answer(200, "");
                    r.mutable_exec()->set_exit_code(result.exit_code);
                    if (result.output.size() > kMaxExecOutputBytes) result.output.resize(kMaxExecOutputBytes);
                    r.mutable_exec()->set_output(std::move(result.output));
                    done(std::move(r));
                  });
                });
}

void KubeletServer::Manifest(const StaticManifestRequest& q, std::function<void(KubeletResponse)> done) {
  if (!on_manifest_) return done(Answer(404, "this kubelet takes no posted manifests"));
  std::vector<std::string> pods;
  Status s = on_manifest_(q.name(), q.manifest(), &pods);
  if (!s.ok()) return done(Answer(400, s.message()));
  KubeletResponse r = Answer(200, "");
  for (std::string& p : pods) r.mutable_manifest()->add_pods(std::move(p));
  done(std::move(r));
}

void KubeletServer::Stats(const StatsRequest& q, std::function<void(KubeletResponse)> done) {
  if (q.namespace_().empty() && !q.pod().empty()) return done(Answer(400, "namespace: required with pod"));
  if (!env_.runtime) return done(Answer(503, "no container runtime"));
  auto alive = alive_;
  const Nanos now = env_.clock->WallNow();
  env_.runtime->ListContainers("", [this, alive, q, now, done](Status s, std::vector<ksim::ContainerStatus> all) {
    if (!*alive) return;
    if (!s.ok()) return done(Answer(CodeFor(s), "listing containers: " + s.message()));
    env_.runtime->ListContainerStats([this, alive, q, now, done, all = std::move(all)](
                                         Status ss, std::vector<ContainerStats> stats) {
      if (!*alive) return;
      if (!ss.ok()) return done(Answer(CodeFor(ss), "listing container stats: " + ss.message()));
      std::map<std::string, const ContainerStats*> by_id;
      for (const ContainerStats& c : stats) by_id[c.id] = &c;
      // (namespace, pod) -> the pod's usage; containers are keyed by name so a pod's
      // answer does not depend on container ids.
      std::map<std::pair<std::string, std::string>, PodUsage> pods;
      std::map<std::pair<std::string, std::string>, std::map<std::string, ContainerUsage>> containers;
      KubeletResponse r = Answer(200, "");
      StatsResult* out = r.mutable_stats();
      for (const ksim::ContainerStatus& c : all) {
        const auto st = by_id.find(c.id);
        if (c.state != ContainerState::kRunning || st == by_id.end()) continue;
        const int64_t nano_cores = st->second->cpu_usage_millis * 1'000'000;
        out->set_node_cpu_usage_nano_cores(out->node_cpu_usage_nano_cores() + nano_cores);
        out->set_node_memory_working_set_bytes(out->node_memory_working_set_bytes() +
                                               st->second->memory_working_set_bytes);
        const std::string& ns = Label(c, "io.kubernetes.pod.namespace");
        const std::string& pod = Label(c, "io.kubernetes.pod.name");
        if (ns.empty() || pod.empty() || q.node_only()) continue;  // not the kubelet's, or not asked for
        if (!q.namespace_().empty() && ns != q.namespace_()) continue;
        if (!q.pod().empty() && pod != q.pod()) continue;
        PodUsage& p = pods[{ns, pod}];
        p.set_namespace_(ns);
        p.set_name(pod);
        p.set_uid(Label(c, "io.kubernetes.pod.uid"));
        ContainerUsage& u = containers[{ns, pod}][Label(c, "io.kubernetes.container.name")];
        u.set_name(Label(c, "io.kubernetes.container.name"));
        u.set_cpu_usage_nano_cores(u.cpu_usage_nano_cores() + nano_cores);
        u.set_memory_working_set_bytes(u.memory_working_set_bytes() + st->second->memory_working_set_bytes);
      }
      if (!q.pod().empty() && pods.empty()) {
        return done(Answer(404, fmt::format("pod \"{}\" in namespace \"{}\" has no running containers", q.pod(),
                                            q.namespace_())));
      }
      out->set_timestamp_unix_nanos(now.count());
      out->set_window_nanos(options_.stats_window.count());
      for (auto& [key, p] : pods) {
        if (static_cast<size_t>(out->pods_size()) >= options_.max_stats_pods) {
          out->set_truncated(true);
          break;
        }
        for (auto& [name, u] : containers[key]) *p.add_containers() = std::move(u);
        *out->add_pods() = std::move(p);
      }
      done(std::move(r));
    });
  });
}

}  // namespace ksim::kubelet
