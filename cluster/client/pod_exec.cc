#include "cluster/client/pod_exec.h"

#include <utility>

#include "cluster/env/wire.h"
#include "cluster/kubelet/kubelet_api.pb.h"

namespace ksim::client {
namespace {

apiserver::Request PodCall(const std::string& verb, const std::string& ns, const std::string& name,
                           const std::string& subresource) {
  apiserver::Request r;
  r.set_verb(verb);
  r.set_version("v1");
  r.set_resource("pods");
  r.set_namespace_(ns);
  r.set_name(name);
  r.set_subresource(subresource);
  return r;
}

}  // namespace

void GetPodLogs(ApiClient& client, const std::string& ns, const std::string& name, const PodLogOptions& options,
                ApiClient::Done done) {
  apiserver::Request r = PodCall("get", ns, name, "log");
  auto& q = *r.mutable_query();
  if (!options.container.empty()) q["container"] = options.container;
  if (options.tail_lines > 0) q["tailLines"] = std::to_string(options.tail_lines);
  if (options.limit_bytes > 0) q["limitBytes"] = std::to_string(options.limit_bytes);
  if (options.previous) q["previous"] = "true";
  client.Do(std::move(r), std::move(done));
}

void ExecInPod(ApiClient& client, const std::string& ns, const std::string& name, const std::string& container,
               const std::vector<std::string>& command, int64_t timeout_seconds, ApiClient::Done done) {
  apiserver::Request r = PodCall("create", ns, name, "exec");
  kubelet::ExecRequest e;
  e.set_container(container);
  for (const std::string& arg : command) e.add_command(arg);
  e.set_timeout_seconds(timeout_seconds);
  r.set_body(SerializeDeterministic(e));
  client.Do(std::move(r), std::move(done));
}

bool DecodeExecOutput(const ApiResult& result, int* exit_code, std::string* output) {
  kubelet::ExecOutput out;
  if (!result.ok() || !out.ParseFromString(result.body)) return false;
  *exit_code = out.exit_code();
  *output = out.output();
  return true;
}

}  // namespace ksim::client
