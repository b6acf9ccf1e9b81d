// SimCluster's API helpers: what kubectl does, synchronously, through the load balancer.
#include <fmt/format.h>

#include "cluster/api/codec.h"
#include "cluster/client/pod_exec.h"
#include "scenarios/sim_cluster.h"
#include "scenarios/sim_cluster_internal.h"

namespace ksim::scenarios {

namespace {

const api::KindInfo& Kind(const char* resource) { return *api::Registry::Default().ByGroupResource("", resource); }

std::string Failure(const client::ApiResult& r) {
  if (!r.status.ok()) return r.status.message();
  return fmt::format("{} {}: {}", r.code, r.error.reason(), r.error.message());
}

// Lists every page of `kind` in `ns` and parses the items into T.
template <typename T>
Status ListAll(SimCluster::State& s, const api::KindInfo& kind, const std::string& ns,
               std::map<std::string, std::string> query, std::vector<T>* out) {
  out->clear();
  std::string cont;
  do {
    std::map<std::string, std::string> q = query;
    q["limit"] = "500";
    if (!cont.empty()) q["continue"] = cont;
    const client::ApiResult r = s.Call(
        [&](client::ApiClient::Done done) { s.admin->List(kind, ns, std::move(q), std::move(done)); });
    apiserver::ObjectList list;
    if (!r.ok()) return Status::Unavailable(fmt::format("list {}: {}", kind.resource, Failure(r)));
    if (!list.ParseFromString(r.body)) return Status::Corruption(fmt::format("list {}: unparsable body", kind.resource));
    for (const std::string& item : list.items()) {
      T& t = out->emplace_back();
      if (!t.ParseFromString(item)) return Status::Corruption(fmt::format("list {}: unparsable item", kind.resource));
    }
    cont = list.metadata().continue_();
  } while (!cont.empty());
  return Status::Ok();
}

}  // namespace

Status SimCluster::Apply(const std::string& yaml, const std::string& source) {
  State& s = *s_;
  std::vector<api::Object> objects;
  if (Status decoded = api::DecodeYaml(yaml, source, &objects); !decoded.ok()) return decoded;
  for (api::Object& o : objects) {
    api::ObjectMeta* m = api::MutableMeta(*o.message);
    if (o.info->namespaced && m != nullptr && m->namespace_().empty()) m->set_namespace_("default");
    const client::ApiResult r =
        s.Call([&](client::ApiClient::Done done) { s.admin->Create(*o.info, *o.message, std::move(done)); });
    if (!r.ok()) {
      return Status::InvalidArgument(fmt::format("{}:{}: {} {}: {}", source, o.line, o.info->kind,
                                                 m != nullptr ? m->name() : std::string(), Failure(r)));
    }
  }
  return Status::Ok();
}

Status SimCluster::ListPods(const std::string& ns, const std::string& label_selector, std::vector<api::Pod>* out) {
  std::map<std::string, std::string> q;
  if (!label_selector.empty()) q["labelSelector"] = label_selector;
  return ListAll(*s_, Kind("pods"), ns, std::move(q), out);
}

Status SimCluster::ListNodes(std::vector<api::Node>* out) { return ListAll(*s_, Kind("nodes"), "", {}, out); }

Status SimCluster::GetPod(const std::string& ns, const std::string& name, api::Pod* out) {
  State& s = *s_;
  const client::ApiResult r =
      s.Call([&](client::ApiClient::Done done) { s.admin->Get(Kind("pods"), ns, name, std::move(done)); });
  if (r.ok() && out->ParseFromString(r.body)) return Status::Ok();
  if (r.status.ok() && r.code == 404) return Status::NotFound(fmt::format("pod {}/{}", ns, name));
  return Status::Unavailable(fmt::format("get pod {}/{}: {}", ns, name, Failure(r)));
}

Status SimCluster::DeletePod(const std::string& ns, const std::string& name) {
  State& s = *s_;
  const client::ApiResult r =
      s.Call([&](client::ApiClient::Done done) { s.admin->Delete(Kind("pods"), ns, name, std::move(done)); });
  if (r.ok()) return Status::Ok();
  return Status::Unavailable(fmt::format("delete pod {}/{}: {}", ns, name, Failure(r)));
}

namespace {

Status Refused(const client::ApiResult& r, const std::string& what) {
  const std::string why = fmt::format("{}: {}", what, Failure(r));
  if (r.status.ok() && r.code == 404) return Status::NotFound(why);
  if (r.status.ok() && r.code == 400) return Status::InvalidArgument(why);
  return Status::Unavailable(why);
}

}  // namespace

Status SimCluster::PodLogs(const std::string& ns, const std::string& name, const client::PodLogOptions& options,
                           std::string* out) {
  State& s = *s_;
  const client::ApiResult r = s.Call(
      [&](client::ApiClient::Done done) { client::GetPodLogs(*s.admin, ns, name, options, std::move(done)); });
  if (!r.ok()) return Refused(r, fmt::format("logs of pod {}/{}", ns, name));
  *out = r.body;
  return Status::Ok();
}

Status SimCluster::Exec(const std::string& ns, const std::string& name, const std::vector<std::string>& command,
                        int* exit_code, std::string* output, const std::string& container) {
  State& s = *s_;
  const client::ApiResult r = s.Call([&](client::ApiClient::Done done) {
    client::ExecInPod(*s.admin, ns, name, container, command, 0, std::move(done));
  });
  if (!r.ok()) return Refused(r, fmt::format("exec in pod {}/{}", ns, name));
  if (!client::DecodeExecOutput(r, exit_code, output)) {
    return Status::Unavailable(fmt::format("exec in pod {}/{}: the answer is not an ExecOutput", ns, name));
  }
  return Status::Ok();
}

}  // namespace ksim::scenarios
