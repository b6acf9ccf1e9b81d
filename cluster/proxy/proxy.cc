#include "cluster/proxy/proxy.h"

#include <utility>

#include "cluster/api/registry.h"
#include "cluster/proxy/rules.h"

namespace ksim::proxy {

namespace {

client::ApiClientOptions ClientOptions(const ProxyOptions& o) {
  client::ApiClientOptions c;
  c.endpoints = o.api_endpoints;
  c.token = o.token;
  return c;
}

}  // namespace

ServiceProxy::ServiceProxy(Env& env, ProxyOptions options)
    : env_(env),
      options_(std::move(options)),
      own_client_(std::make_unique<client::ApiClient>(env, ClientOptions(options_))),
      client_(own_client_.get()) {}

ServiceProxy::ServiceProxy(Env& env, client::ApiClient* client, ProxyOptions options)
    : env_(env), options_(std::move(options)), client_(client) {}

ServiceProxy::~ServiceProxy() {
  if (sync_timer_ != 0) env_.clock->Cancel(sync_timer_);
  if (periodic_timer_ != 0) env_.clock->Cancel(periodic_timer_);
  services_.reset();
  slices_.reset();
}

void ServiceProxy::Start() {
  const api::Registry& registry = api::Registry::Default();
  services_ = std::make_unique<client::Informer>(env_, client_, *registry.ByGroupResource("", "services"));
  slices_ = std::make_unique<client::Informer>(env_, client_,
                                               *registry.ByGroupResource("discovery.k8s.io", "endpointslices"));
  client::EventHandlers h;
  h.on_add = [this](const client::ObjectPtr&) { Changed(); };
  h.on_update = [this](const client::ObjectPtr&, const client::ObjectPtr&) { Changed(); };
  h.on_delete = [this](const client::ObjectPtr&) { Changed(); };
  services_->AddHandlers(h);
  slices_->AddHandlers(h);
  services_->Start();
  slices_->Start();
  Changed();  // the first sync waits for both lists
}

// Coalesces: at most one sync per min_sync_period; changes meanwhile wait for it.
void ServiceProxy::Changed() {
  dirty_ = true;
  if (sync_timer_ != 0) return;
  const Nanos now = env_.clock->MonotonicNow();
  const Nanos earliest = synced_once_ ? last_sync_ + options_.min_sync_period : now;
  sync_timer_ = env_.clock->Schedule(earliest > now ? earliest - now : Nanos(0), [this] {
    sync_timer_ = 0;
    Sync();
  });
}

void ServiceProxy::Sync() {
  // Until both have listed, rules would drop every endpoint of a Service seen before its
  // slices (kube-proxy waits for both informers too).
  if (!services_->HasSynced() || !slices_->HasSynced()) {
    sync_timer_ = env_.clock->Schedule(Milliseconds(100), [this] {
      sync_timer_ = 0;
      Sync();
    });
    return;
  }
  const std::vector<client::ObjectPtr> service_objects = services_->List();
  const std::vector<client::ObjectPtr> slice_objects = slices_->List();
  std::vector<const api::Service*> services;
  std::vector<const api::EndpointSlice*> slices;
  for (const client::ObjectPtr& o : service_objects) services.push_back(static_cast<const api::Service*>(o.get()));
  for (const client::ObjectPtr& o : slice_objects) slices.push_back(static_cast<const api::EndpointSlice*>(o.get()));
  std::vector<ServiceRule> rules = BuildRules(services, slices);
  last_sync_ = env_.clock->MonotonicNow();
  dirty_ = false;
  synced_once_ = true;
  ++stats_.syncs;
  if (rules.size() > options_.max_rules) {
    ++stats_.sync_errors;
    env_.log->Log(LogLevel::kError, "proxy",
                  "not installing " + std::to_string(rules.size()) + " rules: more than max_rules " +
                      std::to_string(options_.max_rules));
  } else if (Status s = env_.dataplane->Apply(rules); !s.ok()) {
    ++stats_.sync_errors;
    env_.log->Log(LogLevel::kError, "proxy", "dataplane refused the rules: " + s.message());
  } else {
    stats_.rules = rules.size();
  }
  if (periodic_timer_ == 0) {  // at least every sync_period, changes or not
    periodic_timer_ = env_.clock->Schedule(options_.sync_period, [this] {
      periodic_timer_ = 0;
      Changed();
    });
  }
}

}  // namespace ksim::proxy
