// ApiHandler: metrics.k8s.io/v1beta1 PodMetrics and NodeMetrics, what metrics-server serves
// through the aggregation layer, computed here on each get or list: the selected pods
// (or nodes) come from the watch caches, their kubelets are asked for `stats` through the
// KubeletProxy (a bounded number at once, each with a deadline), and whatever answered in
// time is returned. A pod whose kubelet failed or has no running container is left out,
// as metrics-server leaves out pods it has no sample of (docs/APISERVER.md, "Resource
// metrics").
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <utility>

#include "cluster/api/metrics.pb.h"
#include "cluster/apiserver/handler_internal.h"
#include "cluster/apiserver/kubelet_proxy.h"

namespace ksim::apiserver {

using namespace handler_internal;  // NOLINT: this file's own helpers

namespace {

// metav1.Duration's text (Go's time.Duration.String) for the windows kubelets report:
// "15s", "1m30s", "1h0m0s", "500ms", "10.5s".
std::string GoDuration(Nanos d) {
  const int64_t ns = d.count();
  if (ns <= 0) return "0s";
  if (ns < 1'000'000'000) {
    if (ns % 1'000'000 == 0) return fmt::format("{}ms", ns / 1'000'000);
    return fmt::format("{}us", ns / 1'000);
  }
  const int64_t secs = ns / 1'000'000'000;
  std::string frac;
  if (const int64_t rest = ns % 1'000'000'000; rest != 0) {
    frac = fmt::format(".{:09d}", rest);
    while (frac.back() == '0') frac.pop_back();
  }
  const int64_t h = secs / 3600, m = secs % 3600 / 60, s = secs % 60;
  if (h > 0) return fmt::format("{}h{}m{}{}s", h, m, s, frac);
  if (m > 0) return fmt::format("{}m{}{}s", m, s, frac);
  return fmt::format("{}{}s", s, frac);
}

// CPU as metrics-server writes it: nanocores in canonical form ("250m", "1500000n").
std::string CpuQuantity(int64_t nano_cores) { return api::Quantity::FromNano(nano_cores).String(); }

std::string MemoryQuantity(int64_t bytes) {
  return api::Quantity::FromValue(bytes, api::Quantity::Format::kBinarySI).String();
}

void SetSampleTime(const kubelet::StatsResult& stats, google::protobuf::Timestamp* timestamp, std::string* window) {
  SetTime(timestamp, Nanos(stats.timestamp_unix_nanos()));
  *window = GoDuration(Nanos(stats.window_nanos()));
}

}  // namespace

// One get or list in progress: the nodes to ask, and what they answered.
struct ApiHandler::MetricsScrape {
  std::shared_ptr<Call> call;
  bool pods = true;  // PodMetrics; false: NodeMetrics
  int64_t revision = 0;  // the pods' (nodes') cache revision, the list's resourceVersion
  // The selected objects, by key (namespace/name order): their node, uid and labels.
  struct Target {
    std::string ns, name, uid, node;
    std::map<std::string, std::string> labels;
  };
  std::vector<Target> targets;
  // Nodes still to ask, in name order, with their kubelet address and request.
  struct Ask {
    std::string node;
    Address address;
    kubelet::KubeletRequest request;
  };
  std::vector<Ask> asks;
  size_t next_ask = 0;
  size_t in_flight = 0;
  std::map<std::string, kubelet::StatsResult> answers;  // by node name
};

void ApiHandler::Metrics(std::shared_ptr<Call> call) {
  const std::string& verb = call->request.verb();
  if (verb == "watch") watches_.erase(call->watch_handle);  // never started
  if (!call->request.subresource().empty()) {
    return ReplyStatus(*call, 404, "NotFound",
                       fmt::format("{} has no subresource \"{}\"", QualifiedResource(*call->info),
                                   call->request.subresource()));
  }
  if (verb != "get" && verb != "list") {
    return ReplyStatus(*call, 405, "MethodNotAllowed",
                       fmt::format("{} is not supported on {}: it serves get and list", verb,
                                   QualifiedResource(*call->info)));
  }
  auto scrape = std::make_shared<MetricsScrape>();
  scrape->call = call;
  scrape->pods = call->strategy->source == ResourceStrategy::Source::kPodMetrics;
  // Selectors apply to the pods (nodes) the metrics are of, as metrics-server's do.
  const api::KindInfo* of = api::Registry::Default().ByGroupResource("", scrape->pods ? "pods" : "nodes");
  WatchFilter filter;
  if (Status s = ParseListFilter(call->request, *of, &filter); !s.ok()) {
    return ReplyStatus(*call, 400, "BadRequest", s.message());
  }
  if (verb == "get") filter.name = call->request.name();
  const api::KindInfo* nodes_info = api::Registry::Default().ByGroupResource("", "nodes");
  EnsureCache(*nodes_info, [this, scrape, of, filter](ResourceCache& nodes_cache) {
    ResourceCache* nodes = &nodes_cache;  // caches live as long as the handler
    auto with_targets = [this, scrape, nodes, filter](ResourceCache& selected) {
      const Call& asked = *scrape->call;
      scrape->revision = selected.cache.revision();
      // node name -> what to ask its kubelet.
      std::map<std::string, kubelet::StatsRequest> per_node;
      for (const CachedObjectPtr& o : selected.cache.List(filter)) {
        MetricsScrape::Target t;
        t.ns = o->namespace_;
        t.name = o->name;
        t.labels = o->labels;
        if (scrape->pods) {
          api::Pod pod;
          if (!pod.ParseFromString(o->bytes) || pod.spec().node_name().empty()) continue;
          t.uid = pod.metadata().uid();
          t.node = pod.spec().node_name();
          kubelet::StatsRequest& q = per_node[t.node];
          // A get asks for the one pod, a namespaced list for the namespace's pods.
          q.set_namespace_(asked.request.namespace_());
          if (asked.request.verb() == "get") q.set_pod(t.name);
        } else {
          t.node = t.name;
          per_node[t.node].set_node_only(true);
        }
        scrape->targets.push_back(std::move(t));
      }
      if (asked.request.verb() == "get" && scrape->targets.empty()) return ReplyNotFound(asked);
      if (per_node.size() > options_.metrics_max_nodes) {
        return ReplyStatus(asked, 500, "InternalError",
                           fmt::format("the metrics span {} nodes, more than the {} one request may ask; select "
                                       "fewer pods (a namespace, a label selector)",
                                       per_node.size(), options_.metrics_max_nodes));
      }
      for (auto& [node_name, q] : per_node) {
        api::Node node;
        const CachedObjectPtr n = nodes->cache.Get(ObjectKey("nodes", "", node_name));
        if (n == nullptr || !node.ParseFromString(n->bytes)) continue;  // its pods have no metrics
        const std::string address = KubeletAddress(node);
        if (address.empty()) continue;
        MetricsScrape::Ask ask;
        ask.node = node_name;
        ask.address = address;
        *ask.request.mutable_stats() = std::move(q);
        scrape->asks.push_back(std::move(ask));
      }
      ScrapeKubelets(scrape);
    };
    if (!scrape->pods) return with_targets(nodes_cache);
    EnsureCache(*of, with_targets);
  });
}

void ApiHandler::ScrapeKubelets(std::shared_ptr<MetricsScrape> scrape) {
  while (scrape->next_ask < scrape->asks.size() && scrape->in_flight < options_.metrics_max_parallel_kubelets) {
    MetricsScrape::Ask& ask = scrape->asks[scrape->next_ask++];
    ++scrape->in_flight;
    kubelet_proxy().Call(ask.address, std::move(ask.request), options_.metrics_kubelet_timeout,
                         [this, scrape, node = ask.node, alive = alive_](KubeletCallResult r) {
                           if (!*alive) return;
                           --scrape->in_flight;
                           // An error leaves the node's pods without metrics (the reply
                           // still comes); a 404 is a pod with nothing running.
                           if (r.code == 200 && r.response.has_stats()) {
                             scrape->answers[node] = std::move(*r.response.mutable_stats());
                           }
                           ScrapeKubelets(scrape);
                         });
  }
  if (scrape->in_flight == 0 && scrape->next_ask == scrape->asks.size()) ReplyMetrics(*scrape);
}

void ApiHandler::ReplyMetrics(const MetricsScrape& scrape) {
  const Call& call = *scrape.call;
  const Nanos now = env_.clock->WallNow();
  std::vector<std::string> items;
  for (const MetricsScrape::Target& t : scrape.targets) {
    const auto answer = scrape.answers.find(t.node);
    if (answer == scrape.answers.end()) continue;
    const kubelet::StatsResult& stats = answer->second;
    api::ObjectMeta meta;
    meta.set_name(t.name);
    if (!t.ns.empty()) meta.set_namespace_(t.ns);
    for (const auto& [k, v] : t.labels) (*meta.mutable_labels())[k] = v;
    SetTime(meta.mutable_creation_timestamp(), now);  // computed now, as metrics-server's
    if (scrape.pods) {
      const kubelet::PodUsage* usage = nullptr;
      for (const kubelet::PodUsage& p : stats.pods()) {
        if (p.namespace_() == t.ns && p.name() == t.name && (p.uid().empty() || p.uid() == t.uid)) usage = &p;
      }
      if (usage == nullptr) continue;
      api::PodMetrics m;
      *m.mutable_metadata() = std::move(meta);
      SetSampleTime(stats, m.mutable_timestamp(), m.mutable_window());
      for (const kubelet::ContainerUsage& c : usage->containers()) {
        api::ContainerMetrics* out = m.add_containers();
        out->set_name(c.name());
        (*out->mutable_usage())["cpu"] = CpuQuantity(c.cpu_usage_nano_cores());
        (*out->mutable_usage())["memory"] = MemoryQuantity(c.memory_working_set_bytes());
      }
      items.push_back(SerializeDeterministic(m));
    } else {
      api::NodeMetrics m;
      *m.mutable_metadata() = std::move(meta);
      SetSampleTime(stats, m.mutable_timestamp(), m.mutable_window());
      (*m.mutable_usage())["cpu"] = CpuQuantity(stats.node_cpu_usage_nano_cores());
      (*m.mutable_usage())["memory"] = MemoryQuantity(stats.node_memory_working_set_bytes());
      items.push_back(SerializeDeterministic(m));
    }
  }
  if (call.request.verb() == "get") {
    if (items.empty()) return ReplyNotFound(call);
    return ReplyObject(call, 200, items.front(), scrape.revision);
  }
  api::ListMeta meta;
  meta.set_resource_version(std::to_string(scrape.revision));
  std::vector<std::pair<std::string_view, int64_t>> views;
  views.reserve(items.size());
  for (const std::string& item : items) views.emplace_back(item, scrape.revision);
  ReplyList(call, meta, views);
}

}  // namespace ksim::apiserver
