#include "cluster/kubelet/probe.h"

#include <fmt/format.h>

#include <utility>

namespace ksim::kubelet {

const char* ProbeTypeName(ProbeType type) {
  switch (type) {
    case ProbeType::kStartup:
      return "Startup";
    case ProbeType::kLiveness:
      return "Liveness";
    case ProbeType::kReadiness:
      return "Readiness";
  }
  return "Unknown";
}

ProbeTiming TimingOf(const api::Probe& probe) {
  ProbeTiming t;
  if (probe.initial_delay_seconds() > 0) t.initial_delay = Seconds(probe.initial_delay_seconds());
  if (probe.period_seconds() > 0) t.period = Seconds(probe.period_seconds());
  if (probe.timeout_seconds() > 0) t.timeout = Seconds(probe.timeout_seconds());
  if (probe.success_threshold() > 0) t.success_threshold = probe.success_threshold();
  if (probe.failure_threshold() > 0) t.failure_threshold = probe.failure_threshold();
  return t;
}

bool ProbeCounter::Record(bool success) {
  const ProbeResult before = result_;
  if (success) {
    failures_ = 0;
    if (++successes_ >= timing_.success_threshold) result_ = ProbeResult::kSuccess;
  } else {
    successes_ = 0;
    if (++failures_ >= timing_.failure_threshold) result_ = ProbeResult::kFailure;
  }
  return result_ != before;
}

int ResolvePort(const api::IntOrString& port, const api::Container& container) {
  if (port.value_case() == api::IntOrString::kIntVal) return port.int_val() > 0 ? port.int_val() : -1;
  for (const api::ContainerPort& p : container.ports()) {
    if (!p.name().empty() && p.name() == port.str_val()) return p.container_port();
  }
  return -1;
}

void RunAction(ContainerRuntime* runtime, NetProber* net, const api::ExecAction* exec,
               const api::HTTPGetAction* http, const api::TCPSocketAction* tcp, const api::Container& container,
               const std::string& container_id, const std::string& pod_ip, Nanos timeout,
               std::function<void(bool ok, std::string detail)> done) {
  if (exec != nullptr) {
    std::vector<std::string> command(exec->command().begin(), exec->command().end());
    runtime->ExecSync(container_id, command, timeout, [done = std::move(done)](Status s, ExecResult r) {
      if (!s.ok()) return done(false, s.ToString());
      if (r.exit_code != 0) return done(false, fmt::format("exit code {}: {}", r.exit_code, r.output));
      done(true, "");
    });
    return;
  }
  if (http != nullptr || tcp != nullptr) {
    const int port = ResolvePort(http != nullptr ? http->port() : tcp->port(), container);
    const std::string& host_field = http != nullptr ? http->host() : tcp->host();
    const std::string host = host_field.empty() ? pod_ip : host_field;
    if (port < 0) return done(false, "port names no container port");
    if (host.empty()) return done(false, "pod has no IP");
    if (http != nullptr) {
      const std::string path = http->path().empty() ? "/" : http->path();
      net->HttpGet(host, port, path, timeout, std::move(done));
    } else {
      net->TcpOpen(host, port, timeout, std::move(done));
    }
    return;
  }
  // gRPC probes and sleep hooks are not implemented by this kubelet: a probe without a
  // supported action fails (validation already requires exactly one action).
  done(false, "unsupported probe action");
}

ProbeWorker::ProbeWorker(Clock* clock, ProbeType type, api::Probe probe, Target target,
                         std::function<void(ProbeResult, const std::string&)> on_change)
    : clock_(clock),
      type_(type),
      probe_(std::move(probe)),
      target_(std::move(target)),
      timing_(TimingOf(probe_)),
      counter_(timing_, type == ProbeType::kReadiness  ? ProbeResult::kFailure
                        : type == ProbeType::kLiveness ? ProbeResult::kSuccess
                                                       : ProbeResult::kUnknown),
      on_change_(std::move(on_change)) {}

ProbeWorker::~ProbeWorker() {
  *alive_ = false;
  if (timer_ != 0) clock_->Cancel(timer_);
}

void ProbeWorker::Start() { Schedule(timing_.initial_delay); }

void ProbeWorker::Stop() {
  *alive_ = false;
  if (timer_ != 0) clock_->Cancel(timer_);
  timer_ = 0;
}

void ProbeWorker::Schedule(Nanos delay) {
  if (timer_ != 0) clock_->Cancel(timer_);
  timer_ = clock_->Schedule(delay, [this, alive = alive_] {
    if (!*alive) return;
    timer_ = 0;
    Attempt();
  });
}

void ProbeWorker::Attempt() {
  Schedule(timing_.period);
  if (in_flight_) return;  // the previous attempt is still bounded by its own timeout
  in_flight_ = true;
  ++attempts_;
  RunAction(target_.runtime, target_.net, probe_.has_exec() ? &probe_.exec() : nullptr,
            probe_.has_http_get() ? &probe_.http_get() : nullptr,
            probe_.has_tcp_socket() ? &probe_.tcp_socket() : nullptr, target_.container, target_.container_id,
            target_.pod_ip, timing_.timeout, [this, alive = alive_](bool ok, const std::string& detail) {
              if (!*alive) return;
              in_flight_ = false;
              if (counter_.Record(ok)) on_change_(counter_.result(), detail);
            });
}

}  // namespace ksim::kubelet
