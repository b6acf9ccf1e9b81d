// ApiHandler: pods/log and pods/exec, proxied to the kubelet of the pod's node (Node
// InternalIP and status.daemonEndpoints.kubeletEndpoint.Port) with the kubelet endpoint's
// protocol (KubeletProxy). ksim's exec is not streaming: the command runs to completion and
// the answer carries its exit code and output (docs/APISERVER.md, "Logs and exec").
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "cluster/apiserver/handler_internal.h"
#include "cluster/apiserver/kubelet_proxy.h"

namespace ksim::apiserver {

using namespace handler_internal;  // NOLINT: this file's own helpers

namespace {

// A non-negative integer query parameter: nullopt if absent; false if malformed.
bool IntQuery(const Request& r, const std::string& key, std::optional<int64_t>* out) {
  const std::string v = QueryValue(r, key);
  if (v.empty()) return true;
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < 0) return false;
  *out = n;
  return true;
}

// The container a call names: the only one when none is named.
std::optional<std::string> PickContainer(const api::Pod& pod, const std::string& wanted, std::string* error,
                                         int* code) {
  std::vector<std::string> names;
  for (const api::Container& c : pod.spec().init_containers()) names.push_back(c.name());
  for (const api::Container& c : pod.spec().containers()) names.push_back(c.name());
  if (wanted.empty()) {
    if (pod.spec().containers_size() == 1) return pod.spec().containers(0).name();
    std::string list;
    for (const api::Container& c : pod.spec().containers()) list += (list.empty() ? "" : " ") + c.name();
    *code = 400;
    *error = fmt::format("a container name must be specified for pod {}, choose one of: [{}]",
                         pod.metadata().name(), list);
    return std::nullopt;
  }
  for (const std::string& n : names) {
    if (n == wanted) return n;
  }
  *code = 404;
  *error = fmt::format("container {} is not valid for pod {}", wanted, pod.metadata().name());
  return std::nullopt;
}

}  // namespace

namespace handler_internal {

std::string KubeletAddress(const api::Node& node) {
  std::string ip;
  for (const api::NodeAddress& a : node.status().addresses()) {
    if (a.type() == "InternalIP") {
      ip = a.address();
      break;
    }
  }
  const int32_t port = node.status().daemon_endpoints().kubelet_endpoint().port();
  if (ip.empty() || port <= 0) return {};
  return fmt::format("{}:{}", ip, port);
}

}  // namespace handler_internal

KubeletProxy& ApiHandler::kubelet_proxy() {
  if (!kubelet_proxy_) kubelet_proxy_ = std::make_unique<KubeletProxy>(env_, KubeletProxyOptions{});
  return *kubelet_proxy_;
}

void ApiHandler::PodProxy(std::shared_ptr<Call> call) {
  const bool logs = call->request.subresource() == "log";
  kubelet::KubeletRequest q;
  Nanos timeout = options_.kubelet_timeout;
  if (logs) {
    std::optional<int64_t> tail, limit;
    if (!IntQuery(call->request, "tailLines", &tail)) {
      return ReplyStatus(*call, 400, "BadRequest", "tailLines: must be a non-negative integer");
    }
    if (!IntQuery(call->request, "limitBytes", &limit) || (limit && *limit == 0)) {
      return ReplyStatus(*call, 400, "BadRequest", "limitBytes: must be a positive integer");
    }
    const std::string previous = QueryValue(call->request, "previous");
    if (!previous.empty() && previous != "true" && previous != "false") {
      return ReplyStatus(*call, 400, "BadRequest", "previous: must be true or false");
    }
    kubelet::ContainerLogsRequest* l = q.mutable_logs();
    l->set_tail_lines(tail.value_or(0));
    // Never more than the apiserver's own bound, whatever the caller asked.
    l->set_limit_bytes(std::min<int64_t>(limit.value_or(options_.max_log_bytes),
                                         static_cast<int64_t>(options_.max_log_bytes)));
    l->set_previous(previous == "true");
    l->set_container(QueryValue(call->request, "container"));
  } else {
    // The body: a ksim.kubelet.ExecRequest (command, container, timeout_seconds).
    kubelet::ExecRequest e;
    if (call->request.body().size() > options_.max_exec_request_bytes) {
      return ReplyStatus(*call, 413, "RequestEntityTooLarge",
                         fmt::format("exec request over {} bytes", options_.max_exec_request_bytes));
    }
    if (!e.ParseFromString(call->request.body())) {
      return ReplyStatus(*call, 400, "BadRequest", "the body must be a ksim.kubelet.ExecRequest");
    }
    if (e.command().empty()) return ReplyStatus(*call, 400, "BadRequest", "command: Required value");
    if (e.timeout_seconds() < 0) return ReplyStatus(*call, 400, "BadRequest", "timeoutSeconds: must be non-negative");
    if (!QueryValue(call->request, "container").empty()) e.set_container(QueryValue(call->request, "container"));
    timeout = std::max(timeout, Seconds(std::min<int64_t>(e.timeout_seconds(), 300)) + Seconds(5));
    *q.mutable_exec() = std::move(e);
  }
  store_.Get(call->key, [this, call, q = std::move(q), timeout, logs, alive = alive_](
                            Status s, const StoredObject* current) mutable {
    if (!*alive) return;
    if (!s.ok()) return ReplyStoreError(*call, s);
    if (current == nullptr) return ReplyNotFound(*call);
    api::Pod pod;
    if (!pod.ParseFromString(current->value)) return ReplyStatus(*call, 500, "InternalError", "stored pod is corrupt");
    if (pod.spec().node_name().empty()) {
      return ReplyStatus(*call, 400, "BadRequest",
                         fmt::format("pod {} does not have a host assigned", pod.metadata().name()));
    }
    std::string error;
    int code = 0;
    const std::string wanted = logs ? q.logs().container() : q.exec().container();
    const std::optional<std::string> container = PickContainer(pod, wanted, &error, &code);
    if (!container) return ReplyStatus(*call, code, code == 404 ? "NotFound" : "BadRequest", error);
    if (logs) {
      q.mutable_logs()->set_namespace_(pod.metadata().namespace_());
      q.mutable_logs()->set_pod(pod.metadata().name());
      q.mutable_logs()->set_container(*container);
    } else {
      q.mutable_exec()->set_namespace_(pod.metadata().namespace_());
      q.mutable_exec()->set_pod(pod.metadata().name());
      q.mutable_exec()->set_container(*container);
    }
    const std::string node_name = pod.spec().node_name();
    store_.Get(ObjectKey("nodes", "", node_name), [this, call, q = std::move(q), timeout, logs, node_name,
                                                   alive](Status ns, const StoredObject* node_obj) mutable {
      if (!*alive) return;
      if (!ns.ok()) return ReplyStoreError(*call, ns);
      api::Node node;
      if (node_obj == nullptr || !node.ParseFromString(node_obj->value)) {
        return ReplyStatus(*call, 404, "NotFound", fmt::format("nodes \"{}\" not found", node_name));
      }
      const std::string address = KubeletAddress(node);
      if (address.empty()) {
        return ReplyStatus(*call, 503, "ServiceUnavailable",
                           fmt::format("node {} reports no InternalIP or kubelet port", node_name));
      }
      kubelet_proxy().Call(address, std::move(q), timeout, [this, call, logs, alive](KubeletCallResult r) {
        if (!*alive) return;
        if (r.code != 200) {
          const char* reason = r.code == 404   ? "NotFound"
                               : r.code == 400 ? "BadRequest"
                               : r.code == 429 ? "TooManyRequests"
                               : r.code == 504 ? "Timeout"
                               : r.code == 502 ? "BadGateway"
                                               : "ServiceUnavailable";
          return ReplyStatus(*call, r.code, reason, r.message);
        }
        Response out;
        out.set_id(call->request.id());
        out.set_code(200);
        if (logs) {
          out.set_content_type("text/plain");
          out.set_body(r.response.logs().content());
        } else {
          out.set_content_type(kProtobuf);
          out.set_body(SerializeDeterministic(r.response.exec()));
        }
        call->reply(std::move(out));
      });
    });
  });
}

}  // namespace ksim::apiserver
