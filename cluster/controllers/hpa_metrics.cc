// The HPA's metrics source in a cluster: metrics.k8s.io/v1beta1 PodMetrics listed through
// the controller-manager's client (Kubernetes' resource metrics client in
// pkg/controller/podautoscaler/metrics): a pod's usage is the sum over its containers; a
// pod with a container that reports no usage of the resource is left out (missing).
#include <fmt/format.h>

#include <charconv>
#include <optional>
#include <string_view>
#include <utility>

#include "cluster/api/machinery/quantity.h"
#include "cluster/api/metrics.pb.h"
#include "cluster/api/registry.h"
#include "cluster/apiserver/apiserver.pb.h"
#include "cluster/client/api_client.h"
#include "cluster/controllers/hpa.h"

namespace ksim::controllers {
namespace {

// A metav1.Duration as the apiserver writes it ("15s", "1m30s", "500ms", "10.5s");
// nullopt for anything else.
std::optional<Nanos> ParseGoDuration(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  double total_ns = 0;
  while (!text.empty()) {
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || value < 0) return std::nullopt;
    text.remove_prefix(static_cast<size_t>(end - text.data()));
    double unit = 0;
    for (const auto& [suffix, ns] : {std::pair<std::string_view, double>{"ms", 1e6}, {"us", 1e3}, {"ns", 1},
                                     {"h", 3600e9}, {"m", 60e9}, {"s", 1e9}}) {
      if (text.substr(0, suffix.size()) == suffix) {
        unit = ns;
        text.remove_prefix(suffix.size());
        break;
      }
    }
    if (unit == 0) return std::nullopt;
    total_ns += value * unit;
  }
  return Nanos(static_cast<int64_t>(total_ns));
}

class ApiPodMetricsSource final : public PodMetricsSource {
 public:
  explicit ApiPodMetricsSource(ControllerContext& ctx)
      : ctx_(ctx), info_(api::Registry::Default().ByGroupResource("metrics.k8s.io", "pods")) {}

  void GetResourceMetric(const std::string& resource, const std::string& ns, const api::LabelMatcher& selector,
                         std::function<void(Status, PodMetrics)> done) override {
    ctx_.client->List(*info_, ns, {{"labelSelector", selector.String()}},
                      [resource, done = std::move(done)](const client::ApiResult& r) {
                        if (!r.ok()) {
                          return done(Status::Unavailable("unable to fetch metrics from resource metrics API: " +
                                                          r.Describe()),
                                      {});
                        }
                        PodMetrics out;
                        if (Status s = PodMetricsFromList(resource, r.body, &out); !s.ok()) return done(s, {});
                        done(Status::Ok(), std::move(out));
                      });
  }

 private:
  ControllerContext& ctx_;
  const api::KindInfo* info_;
};

}  // namespace

Status PodMetricsFromList(const std::string& resource, const std::string& list_body, PodMetrics* out) {
  apiserver::ObjectList list;
  if (!list.ParseFromString(list_body)) {
    return Status::Corruption("resource metrics API answered a body that is not a list");
  }
  for (const std::string& item : list.items()) {
    api::PodMetrics m;
    if (!m.ParseFromString(item)) continue;
    const std::optional<Nanos> window = ParseGoDuration(m.window());
    if (!window || m.containers().empty()) continue;
    PodMetric pm;
    pm.timestamp = Seconds(m.timestamp().seconds()) + Nanos(m.timestamp().nanos());
    pm.window = *window;
    bool complete = true;
    for (const api::ContainerMetrics& c : m.containers()) {
      const auto it = c.usage().find(resource);
      api::Quantity q;
      if (it == c.usage().end() || !api::Quantity::Parse(it->second, &q).ok()) {
        complete = false;  // as Kubernetes: the pod is missing
        break;
      }
      pm.milli_value += q.MilliValue();
    }
    if (complete) (*out)[m.metadata().name()] = pm;
  }
  if (out->empty()) return Status::NotFound("no metrics returned from resource metrics API");
  return Status::Ok();
}

std::unique_ptr<PodMetricsSource> NewApiPodMetricsSource(ControllerContext& ctx) {
  return std::make_unique<ApiPodMetricsSource>(ctx);
}

}  // namespace ksim::controllers
