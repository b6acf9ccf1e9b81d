// The catalogue's conditions (`eventually:` / `atEnd:`), from the API's view (informers on
// the client host), except serviceAnswers and dnsResolves, which send a real request from
// the client host through the service network.
#include <fmt/format.h>

#include <map>

#include "cluster/api/apps.pb.h"
#include "cluster/api/batch.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/api/machinery/labels.h"
#include "scenarios/checks/check_internal.h"

namespace ksim::scenarios::checks {
namespace {

template <typename T>
const T* GetAs(client::Informer& informer, const std::string& key, client::ObjectPtr* keep) {
  *keep = informer.Get(key);
  return dynamic_cast<const T*>(keep->get());
}

bool PodReady(const api::Pod& pod) {
  for (const auto& c : pod.status().conditions()) {
    if (c.type() == "Ready") return c.status() == "True";
  }
  return false;
}

class DeploymentAvailable final : public Check {
 public:
  explicit DeploymentAvailable(const Expectation& e) : key_(Key(e)), replicas_(Int(e, "replicas", -1)) {}
  bool Holds(ClusterView& v, std::string* why) override {
    client::ObjectPtr keep;
    const auto* d = GetAs<api::Deployment>(v.deployments(), key_, &keep);
    if (d == nullptr) return Not(why, fmt::format("deployment {} not found", key_));
    const int32_t want = d->spec().has_replicas() ? d->spec().replicas() : 1;
    const int64_t available_wanted = replicas_ >= 0 ? replicas_ : want;
    const auto& st = d->status();
    if (st.observed_generation() < d->metadata().generation()) {
      return Not(why, fmt::format("generation {} not yet observed ({})", d->metadata().generation(),
                                  st.observed_generation()));
    }
    if (st.updated_replicas() < want || st.replicas() != st.updated_replicas()) {
      return Not(why, fmt::format("rollout not complete: {} of {} updated, {} in all", st.updated_replicas(), want,
                                  st.replicas()));
    }
    if (st.available_replicas() < available_wanted) {
      return Not(why, fmt::format("{} available, want {}", st.available_replicas(), available_wanted));
    }
    return true;
  }

 private:
  std::string key_;
  int64_t replicas_;
};

class StatefulSetReady final : public Check {
 public:
  explicit StatefulSetReady(const Expectation& e) : key_(Key(e)) {}
  bool Holds(ClusterView& v, std::string* why) override {
    client::ObjectPtr keep;
    const auto* s = GetAs<api::StatefulSet>(v.statefulsets(), key_, &keep);
    if (s == nullptr) return Not(why, fmt::format("statefulset {} not found", key_));
    const int32_t want = s->spec().has_replicas() ? s->spec().replicas() : 1;
    const auto& st = s->status();
    if (st.observed_generation() < s->metadata().generation()) return Not(why, "generation not yet observed");
    if (st.replicas() != want || st.ready_replicas() != want || st.updated_replicas() != want) {
      return Not(why, fmt::format("{} replicas, {} ready, {} updated; want {}", st.replicas(), st.ready_replicas(),
                                  st.updated_replicas(), want));
    }
    return true;
  }

 private:
  std::string key_;
};

class DaemonSetReady final : public Check {
 public:
  explicit DaemonSetReady(const Expectation& e) : key_(Key(e)) {}
  bool Holds(ClusterView& v, std::string* why) override {
    client::ObjectPtr keep;
    const auto* d = GetAs<api::DaemonSet>(v.daemonsets(), key_, &keep);
    if (d == nullptr) return Not(why, fmt::format("daemonset {} not found", key_));
    const auto& st = d->status();
    if (st.observed_generation() < d->metadata().generation()) return Not(why, "generation not yet observed");
    const int32_t want = st.desired_number_scheduled();
    if (st.number_ready() != want || st.updated_number_scheduled() != want || st.current_number_scheduled() != want) {
      return Not(why, fmt::format("{} scheduled, {} ready, {} updated; want {}", st.current_number_scheduled(),
                                  st.number_ready(), st.updated_number_scheduled(), want));
    }
    return true;
  }

 private:
  std::string key_;
};

class JobComplete final : public Check {
 public:
  explicit JobComplete(const Expectation& e) : key_(Key(e)) {}
  bool Holds(ClusterView& v, std::string* why) override {
    client::ObjectPtr keep;
    const auto* j = GetAs<api::Job>(v.jobs(), key_, &keep);
    if (j == nullptr) return Not(why, fmt::format("job {} not found", key_));
    for (const auto& c : j->status().conditions()) {
      if (c.type() == "Complete" && c.status() == "True") return true;
    }
    return Not(why, fmt::format("no Complete condition ({} succeeded, {} failed)", j->status().succeeded(),
                                j->status().failed()));
  }

 private:
  std::string key_;
};

class PodPhase final : public Check {
 public:
  explicit PodPhase(const Expectation& e) : key_(Key(e)), phase_(Str(e, "phase")), node_(Str(e, "node")) {}
  bool Holds(ClusterView& v, std::string* why) override {
    client::ObjectPtr keep;
    const auto* p = GetAs<api::Pod>(v.pods(), key_, &keep);
    if (p == nullptr) return Not(why, fmt::format("pod {} not found", key_));
    if (p->status().phase() != phase_) return Not(why, fmt::format("phase {}, want {}", p->status().phase(), phase_));
    if (!node_.empty() && p->spec().node_name() != node_) {
      return Not(why, fmt::format("on node \"{}\", want {}", p->spec().node_name(), node_));
    }
    return true;
  }

 private:
  std::string key_, phase_, node_;
};

// Pods of the namespace (all when empty) that are not terminating, matching `selector`.
std::vector<const api::Pod*> Pods(ClusterView& v, const std::string& ns, const api::LabelMatcher& selector,
                                  std::vector<client::ObjectPtr>* keep) {
  *keep = v.pods().List();
  std::vector<const api::Pod*> out;
  for (const client::ObjectPtr& o : *keep) {
    const auto* p = dynamic_cast<const api::Pod*>(o.get());
    if (p == nullptr || p->metadata().has_deletion_timestamp()) continue;
    if (!ns.empty() && p->metadata().namespace_() != ns) continue;
    const std::map<std::string, std::string> labels(p->metadata().labels().begin(), p->metadata().labels().end());
    if (selector.Matches(labels)) out.push_back(p);
  }
  return out;
}

class PodCount final : public Check {
 public:
  PodCount(const Expectation& e, api::LabelMatcher selector)
      : ns_(Str(e, "namespace")), selector_(std::move(selector)), count_(Int(e, "count", 0)), ready_(Bool(e, "ready")) {}
  bool Holds(ClusterView& v, std::string* why) override {
    std::vector<client::ObjectPtr> keep;
    int64_t n = 0;
    for (const api::Pod* p : Pods(v, ns_, selector_, &keep)) n += !ready_ || PodReady(*p) ? 1 : 0;
    if (n == count_) return true;
    return Not(why, fmt::format("{} {}pods match \"{}\", want {}", n, ready_ ? "ready " : "", selector_.String(), count_));
  }

 private:
  std::string ns_;
  api::LabelMatcher selector_;
  int64_t count_;
  bool ready_;
};

class NoPendingPods final : public Check {
 public:
  explicit NoPendingPods(const Expectation& e) : ns_(Str(e, "namespace")) {}
  bool Holds(ClusterView& v, std::string* why) override {
    std::vector<client::ObjectPtr> keep;
    for (const api::Pod* p : Pods(v, ns_, api::LabelMatcher(), &keep)) {
      if (p->status().phase() == "Pending" || p->status().phase().empty()) {
        return Not(why, fmt::format("pod {}/{} is Pending", p->metadata().namespace_(), p->metadata().name()));
      }
    }
    return true;
  }

 private:
  std::string ns_;
};

class NodeReady final : public Check {
 public:
  explicit NodeReady(const Expectation& e) : node_(Str(e, "node")) {}
  bool Holds(ClusterView& v, std::string* why) override {
    const std::vector<std::string> names =
        node_.empty() ? v.cluster().worker_hosts() : std::vector<std::string>{node_};
    for (const std::string& name : names) {
      client::ObjectPtr keep;
      const auto* n = GetAs<api::Node>(v.nodes(), name, &keep);
      if (n == nullptr) return Not(why, fmt::format("node {} not found", name));
      bool ready = false;
      for (const auto& c : n->status().conditions()) ready = ready || (c.type() == "Ready" && c.status() == "True");
      if (!ready) return Not(why, fmt::format("node {} is not Ready", name));
    }
    return true;
  }

 private:
  std::string node_;
};

class ServiceAnswers final : public Check {
 public:
  explicit ServiceAnswers(const Expectation& e) : key_(Key(e)), port_(Int(e, "port", 80)), path_(Str(e, "path")) {}
  bool Holds(ClusterView& v, std::string* why) override {
    client::ObjectPtr keep;
    const auto* s = GetAs<api::Service>(v.services(), key_, &keep);
    if (s == nullptr) return Not(why, fmt::format("service {} not found", key_));
    const std::string ip = s->spec().cluster_ip();
    if (ip.empty() || ip == "None") return Not(why, fmt::format("service {} has no ClusterIP", key_));
    const std::string address = fmt::format("{}:{}", ip, port_);
    if (v.cluster().CallService(address, path_, Seconds(1)).has_value()) return true;
    return Not(why, fmt::format("GET http://{}{} got no 200 answer", address, path_));
  }

 private:
  std::string key_;
  int64_t port_;
  std::string path_;
};

class DnsResolves final : public Check {
 public:
  explicit DnsResolves(const Expectation& e) : name_(Str(e, "name")) {}
  bool Holds(ClusterView& v, std::string* why) override {
    if (v.cluster().ResolveName(name_, Seconds(1)).has_value()) return true;
    return Not(why, fmt::format("no A record for {}", name_));
  }

 private:
  std::string name_;
};

Status MakePodCount(const Expectation& e, std::unique_ptr<Check>* out) {
  api::LabelMatcher selector;
  if (Status s = api::LabelMatcher::Parse(Str(e, "selector"), &selector); !s.ok()) {
    return Status::InvalidArgument(fmt::format("{}: podCount.selector: {}", Where(e), s.message()));
  }
  *out = std::make_unique<PodCount>(e, std::move(selector));
  return Status::Ok();
}

template <typename T>
Status Plain(const Expectation& e, std::unique_ptr<Check>* out) {
  *out = std::make_unique<T>(e);
  return Status::Ok();
}

}  // namespace

const std::map<std::string_view, CheckFactory>& ConditionFactories() {
  static const std::map<std::string_view, CheckFactory> table = {
      {"daemonSetReady", Plain<DaemonSetReady>},   {"deploymentAvailable", Plain<DeploymentAvailable>},
      {"dnsResolves", Plain<DnsResolves>},         {"jobComplete", Plain<JobComplete>},
      {"noPendingPods", Plain<NoPendingPods>},     {"nodeReady", Plain<NodeReady>},
      {"podCount", MakePodCount},                  {"podPhase", Plain<PodPhase>},
      {"serviceAnswers", Plain<ServiceAnswers>},   {"statefulSetReady", Plain<StatefulSetReady>},
  };
  return table;
}

}  // namespace ksim::scenarios::checks
