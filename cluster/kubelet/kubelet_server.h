// KubeletServer: the kubelet endpoint (port 10250) over the Transport. One
// ksim.kubelet.KubeletRequest per frame (kubelet_api.proto), answered by one
// KubeletResponse with the same id, in any order. Calls: container logs (tail lines, byte
// limit, previous instance), exec of a command to completion (CRI ExecSync), posting a
// static pod manifest, and the CPU / memory use of the running containers by pod (stats). Containers are found through the runtime by the kubelet's labels
// (io.kubernetes.pod.namespace/name, io.kubernetes.container.name), so the server needs
// no state of the pod workers. Errors are answers with an HTTP code and a message, never
// a dropped connection. docs/KUBELET.md ("The kubelet endpoint") is the reference for
// the apiserver's pods/log and pods/exec.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/container_runtime.h"
#include "cluster/env/env.h"
#include "cluster/kubelet/kubelet_api.pb.h"

namespace ksim::kubelet {

struct KubeletServerOptions {
  uint16_t port = 10250;
  size_t max_request_bytes = (1 << 20) + (64 << 10);  // a 1 MiB manifest and its envelope
  size_t max_connections = 64;
  size_t max_in_flight_per_connection = 16;
  size_t max_exec_command_bytes = 64 << 10;  // all arguments together
  Nanos default_exec_timeout = Seconds(10);
  Nanos max_exec_timeout = Seconds(300);
  // stats: the window a sample stands for (metrics-server's default resolution), and the
  // most pods one answer carries (a node runs at most 110 by default).
  Nanos stats_window = Seconds(15);
  size_t max_stats_pods = 1000;
};

struct KubeletServerStats {
  uint64_t requests = 0;
  uint64_t errors = 0;  // answers with code != 200
  uint64_t refused_connections = 0;
};

class KubeletServer {
 public:
  // Handles a posted manifest (StaticPodSource::AcceptManifest).
  using ManifestHandler =
      std::function<Status(const std::string& name, std::string_view text, std::vector<std::string>* pods)>;

  // REQUIRES: env (with env.runtime) outlives the server.
  KubeletServer(Env& env, KubeletServerOptions options, ManifestHandler on_manifest);
  ~KubeletServer();  // stops listening and closes every connection
  KubeletServer(const KubeletServer&) = delete;
  KubeletServer& operator=(const KubeletServer&) = delete;

  // Listens on options.port. AlreadyExists if the port is taken.
  Status Start();

  // Serves one request; `done` runs once with the answer (on the event loop, possibly
  // inside the call for requests rejected at once). For the server's connections, and
  // for tests.
  void Handle(const KubeletRequest& request, std::function<void(KubeletResponse)> done);

  const KubeletServerStats& stats() const { return stats_; }

 private:
  struct Conn {
    std::shared_ptr<Connection> connection;
    size_t in_flight = 0;
  };
  void OnAccept(std::shared_ptr<Connection> connection);
  void OnFrame(uint64_t conn_id, std::string_view frame);
  void Logs(const ContainerLogsRequest& q, std::function<void(KubeletResponse)> done);
  void Exec(const ExecRequest& q, std::function<void(KubeletResponse)> done);
  void Manifest(const StaticManifestRequest& q, std::function<void(KubeletResponse)> done);
  void Stats(const StatsRequest& q, std::function<void(KubeletResponse)> done);
  // Finds the pod's container (by labels) and passes its id, or answers the error.
  using Found = std::function<void(const ksim::ContainerStatus& container)>;
  void FindContainer(const std::string& ns, const std::string& pod, const std::string& container, bool previous,
                     bool running, std::function<void(KubeletResponse)> done, Found found);

  Env& env_;
  KubeletServerOptions options_;
  ManifestHandler on_manifest_;
  std::map<uint64_t, Conn> conns_;
  uint64_t next_conn_ = 1;
  bool listening_ = false;
  KubeletServerStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Applies tailLines then limitBytes to a container's output, as Kubernetes' log options
// do (limitBytes counts from the start of what tailLines selected). *truncated tells
// whether limitBytes cut something.
std::string SelectLogs(std::string_view all, int64_t tail_lines, int64_t limit_bytes, bool* truncated);

}  // namespace ksim::kubelet
