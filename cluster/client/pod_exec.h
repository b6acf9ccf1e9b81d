// pods/log and pods/exec through the apiserver (`kubectl logs`, `kubectl exec`): the
// apiserver proxies both to the pod's kubelet. ksim's exec runs the command to completion
// and answers a ksim.kubelet.ExecOutput (exit code, stdout then stderr); nothing streams.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/client/api_client.h"

namespace ksim::client {

struct PodLogOptions {
  std::string container;  // "" = the pod's only container
  int64_t tail_lines = 0;   // > 0: the last lines only
  int64_t limit_bytes = 0;  // > 0: at most this many bytes
  bool previous = false;    // the previous instance of the container
};

// GET pods/<name>/log: on 200 the result's body is the text.
void GetPodLogs(ApiClient& client, const std::string& ns, const std::string& name, const PodLogOptions& options,
                ApiClient::Done done);

// POST pods/<name>/exec with a ksim.kubelet.ExecRequest body.
void ExecInPod(ApiClient& client, const std::string& ns, const std::string& name, const std::string& container,
               const std::vector<std::string>& command, int64_t timeout_seconds, ApiClient::Done done);

// The exec answer of a 200 result; false if the body is not one.
bool DecodeExecOutput(const ApiResult& result, int* exit_code, std::string* output);

}  // namespace ksim::client
