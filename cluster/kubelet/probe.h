// Container probes (startup, liveness, readiness) as the kubelet runs them: an action
// (exec through the runtime's ExecSync, HTTP GET or TCP to the pod's IP), repeated every
// periodSeconds after initialDelaySeconds, each attempt bounded by timeoutSeconds, and a
// result that flips only after successThreshold successes or failureThreshold failures
// in a row. See docs/KUBELET.md "Probes".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "cluster/api/core.pb.h"
#include "cluster/env/clock.h"
#include "cluster/env/container_runtime.h"

namespace ksim::kubelet {

// HTTP GET and TCP checks against an address, for probes and lifecycle hooks. The
// kubelet's implementation goes over the process's Transport (TransportNetProber);
// tests use fakes.
class NetProber {
 public:
  virtual ~NetProber() = default;
  // GET http://host:port/path. done(true) for a 200-399 answer within `timeout`;
  // `detail` says what happened ("HTTP 500", "connection refused", "timeout").
  virtual void HttpGet(const std::string& host, int port, const std::string& path, Nanos timeout,
                       std::function<void(bool ok, std::string detail)> done) = 0;
  // done(true) if a TCP connection to host:port opens within `timeout`.
  virtual void TcpOpen(const std::string& host, int port, Nanos timeout,
                       std::function<void(bool ok, std::string detail)> done) = 0;
};

enum class ProbeType { kStartup, kLiveness, kReadiness };
const char* ProbeTypeName(ProbeType type);

enum class ProbeResult { kUnknown, kSuccess, kFailure };

// The probe's fields with Kubernetes' defaults applied (period 10 s, timeout 1 s,
// thresholds 1 and 3, delay 0).
struct ProbeTiming {
  Nanos initial_delay{0};
  Nanos period = Seconds(10);
  Nanos timeout = Seconds(1);
  int success_threshold = 1;
  int failure_threshold = 3;
};
ProbeTiming TimingOf(const api::Probe& probe);

// The threshold logic alone: feeds attempt outcomes, answers the current result.
// Starts at `initial` (readiness: Failure; liveness: Success; startup: Unknown).
class ProbeCounter {
 public:
  ProbeCounter(ProbeTiming timing, ProbeResult initial) : timing_(timing), result_(initial) {}
  // Records one attempt; returns true if the result changed.
  bool Record(bool success);
  ProbeResult result() const { return result_; }
  int consecutive_failures() const { return failures_; }

 private:
  ProbeTiming timing_;
  ProbeResult result_;
  int successes_ = 0;
  int failures_ = 0;
};

// Resolves a probe's or hook's port (a number, or a container port's name) against the
// container's ports; -1 if it names no port.
int ResolvePort(const api::IntOrString& port, const api::Container& container);

// Runs one action (the probe's or a lifecycle handler's exec / httpGet / tcpSocket) once
// against a container. done(true) on success, with a detail for failures.
void RunAction(ContainerRuntime* runtime, NetProber* net, const api::ExecAction* exec,
               const api::HTTPGetAction* http, const api::TCPSocketAction* tcp, const api::Container& container,
               const std::string& container_id, const std::string& pod_ip, Nanos timeout,
               std::function<void(bool ok, std::string detail)> done);

// One probe of one running container: schedules its attempts on the clock and reports
// result changes. Destroying it stops it (callbacks in flight are dropped).
class ProbeWorker {
 public:
  struct Target {
    ContainerRuntime* runtime = nullptr;
    NetProber* net = nullptr;
    api::Container container;
    std::string container_id;
    std::string pod_ip;
  };
  // on_change(result, detail) runs when the thresholded result changes.
  ProbeWorker(Clock* clock, ProbeType type, api::Probe probe, Target target,
              std::function<void(ProbeResult, const std::string& detail)> on_change);
  ~ProbeWorker();
  ProbeWorker(const ProbeWorker&) = delete;
  ProbeWorker& operator=(const ProbeWorker&) = delete;

  // Begins probing: the first attempt after the initial delay, then one per period.
  void Start();
  // Stops probing: no timer fires and no attempt in flight reports any more. Safe to call
  // from inside on_change (unlike destruction).
  void Stop();
  ProbeResult result() const { return counter_.result(); }
  ProbeType type() const { return type_; }
  uint64_t attempts() const { return attempts_; }

 private:
  void Attempt();
  void Schedule(Nanos delay);

  Clock* clock_;
  ProbeType type_;
  api::Probe probe_;
  Target target_;
  ProbeTiming timing_;
  ProbeCounter counter_;
  std::function<void(ProbeResult, const std::string&)> on_change_;
  TimerId timer_ = 0;
  bool in_flight_ = false;
  uint64_t attempts_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::kubelet
