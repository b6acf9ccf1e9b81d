#include "cluster/controllers/controller_manager.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

#include "cluster/controllers/cronjob.h"
#include "cluster/controllers/csr.h"
#include "cluster/controllers/daemonset.h"
#include "cluster/controllers/deployment.h"
#include "cluster/controllers/disruption.h"
#include "cluster/controllers/endpointslice.h"
#include "cluster/controllers/garbage_collector.h"
#include "cluster/controllers/hpa.h"
#include "cluster/controllers/job.h"
#include "cluster/controllers/node_ipam.h"
#include "cluster/controllers/node_lifecycle.h"
#include "cluster/controllers/replica_set.h"
#include "cluster/controllers/resource_quota.h"
#include "cluster/controllers/root_ca_publisher.h"
#include "cluster/controllers/service_account.h"
#include "cluster/controllers/statefulset.h"

namespace ksim::controllers {

ControllerManager::ControllerManager(Env& env, ControllerManagerOptions options)
    : env_(env), options_(std::move(options)) {
  // client-go's identity: host name and a unique suffix, so a restarted process is a new
  // candidate (it waits for the lease to expire rather than inheriting it).
  identity_ = fmt::format("{}_{:08x}", env_.host, env_.entropy != nullptr ? env_.entropy->Next64() & 0xFFFFFFFFu : 0u);
}

ControllerManager::~ControllerManager() {
  // Controllers first: they hold informers, the recorder and the client by pointer.
  elector_.reset();
  controllers_.clear();
  context_.reset();
  informers_.reset();
  client_.reset();
}

bool ControllerManager::Enabled(const std::string& name) const {
  return options_.controllers.empty() ||
         std::find(options_.controllers.begin(), options_.controllers.end(), name) != options_.controllers.end();
}

void ControllerManager::Start() {
  client::ApiClientOptions co;
  co.endpoints = options_.apiservers;
  co.token = options_.token;
  co.user_agent = "kube-controller-manager/" + identity_;
  co.request_timeout = options_.request_timeout;
  co.on_request = [this](const apiserver::Request& r) { OnRequest(r); };
  client_ = std::make_unique<client::ApiClient>(env_, co);
  informers_ = std::make_unique<SharedInformerFactory>(env_, client_.get());
  for (const auto& [resource, delay] : options_.informer_event_delay) informers_->SetEventDelay(resource, delay);
  context_ = std::unique_ptr<ControllerContext>(
      new ControllerContext{env_, client_.get(), informers_.get(), options_, identity_, [this] { return IsLeader(); }});

  if (Enabled("nodeipam") && options_.allocate_node_cidrs) {
    auto ipam = NodeIpamController::Create(*context_, &config_status_);
    if (ipam == nullptr) {
      env_.log->Log(LogLevel::kError, "controller-manager", fmt::format("bad options: {}", config_status_.message()));
      return;
    }
    controllers_.emplace_back("nodeipam", std::move(ipam));
  }
  if (Enabled("nodelifecycle")) {
    auto lifecycle = NodeLifecycleController::Create(*context_, &config_status_);
    if (lifecycle == nullptr) {
      env_.log->Log(LogLevel::kError, "controller-manager", fmt::format("bad options: {}", config_status_.message()));
      return;
    }
    controllers_.emplace_back("nodelifecycle", std::move(lifecycle));
  }
  if (Enabled(kReplicaSetControllerName)) {
    controllers_.emplace_back(kReplicaSetControllerName, NewReplicaController(*context_, NewReplicaSetKind()));
  }
  if (Enabled(kReplicationControllerName)) {
    controllers_.emplace_back(kReplicationControllerName, NewReplicaController(*context_, NewReplicationControllerKind()));
  }
  if (Enabled(kHpaControllerName)) controllers_.emplace_back(kHpaControllerName, NewHpaController(*context_));
  if (Enabled(kDeploymentControllerName)) {
    controllers_.emplace_back(kDeploymentControllerName, NewDeploymentController(*context_));
  }
  if (Enabled(kDaemonSetControllerName)) {
    controllers_.emplace_back(kDaemonSetControllerName, NewDaemonSetController(*context_));
  }
  if (Enabled(kStatefulSetControllerName)) {
    controllers_.emplace_back(kStatefulSetControllerName, NewStatefulSetController(*context_));
  }
  if (Enabled(kDisruptionControllerName)) {
    controllers_.emplace_back(kDisruptionControllerName, NewDisruptionController(*context_));
  }
  if (Enabled(kJobControllerName)) controllers_.emplace_back(kJobControllerName, NewJobController(*context_));
  if (Enabled(kCronJobControllerName)) controllers_.emplace_back(kCronJobControllerName, NewCronJobController(*context_));
  if (Enabled(kTtlAfterFinishedControllerName)) {
    controllers_.emplace_back(kTtlAfterFinishedControllerName, NewTtlAfterFinishedController(*context_));
  }
  if (Enabled(kGarbageCollectorName)) controllers_.emplace_back(kGarbageCollectorName, NewGarbageCollector(*context_));
  if (Enabled(kNamespaceControllerName)) controllers_.emplace_back(kNamespaceControllerName, NewNamespaceController(*context_));
  if (Enabled(kPodGcName)) controllers_.emplace_back(kPodGcName, NewPodGcController(*context_));
  if (Enabled(kEndpointSliceControllerName)) {
    controllers_.emplace_back(kEndpointSliceControllerName, NewEndpointSliceController(*context_));
  }
  if (Enabled(kEndpointsControllerName)) controllers_.emplace_back(kEndpointsControllerName, NewEndpointsController(*context_));
  if (Enabled(kServiceAccountControllerName)) {
    controllers_.emplace_back(kServiceAccountControllerName, NewServiceAccountController(*context_));
  }
  if (Enabled(kServiceAccountTokenControllerName)) {
    controllers_.emplace_back(kServiceAccountTokenControllerName, NewServiceAccountTokenController(*context_));
  }
  if (Enabled(kRootCaPublisherControllerName)) {
    controllers_.emplace_back(kRootCaPublisherControllerName, NewRootCaPublisher(*context_));
  }
  if (Enabled(kResourceQuotaControllerName)) {
    controllers_.emplace_back(kResourceQuotaControllerName, NewResourceQuotaController(*context_));
  }
  if (Enabled(kCsrApprovingControllerName)) {
    controllers_.emplace_back(kCsrApprovingControllerName, NewCsrApprovingController(*context_));
  }
  if (Enabled(kCsrSigningControllerName)) {
    auto signing = NewCsrSigningController(*context_, &config_status_);
    if (signing == nullptr) {
      env_.log->Log(LogLevel::kError, "controller-manager", fmt::format("bad options: {}", config_status_.message()));
      return;
    }
    controllers_.emplace_back(kCsrSigningControllerName, std::move(signing));
  }
  for (auto& [name, factory] : options_.extra_controllers) controllers_.emplace_back(name, factory(*context_));
  informers_->Start();

  if (!options_.leader_elect) {
    StartControllers();
    return;
  }
  client::LeaderElectionConfig lc;
  lc.namespace_ = options_.lease_namespace;
  lc.name = options_.lease_name;
  lc.identity = identity_;
  lc.lease_duration = options_.lease_duration;
  lc.renew_deadline = options_.renew_deadline;
  lc.retry_period = options_.retry_period;
  lc.on_started_leading = [this] { StartControllers(); };
  lc.on_stopped_leading = [this] { StopControllers(); };
  elector_ = client::LeaderElector::Create(env_, client_.get(), lc, &config_status_);
  if (elector_ == nullptr) {
    env_.log->Log(LogLevel::kError, "controller-manager", fmt::format("bad options: {}", config_status_.message()));
    return;
  }
  elector_->Start();
}

bool ControllerManager::IsLeader() const {
  return leading_ && (elector_ == nullptr ? !options_.leader_elect : elector_->IsLeader());
}

Controller* ControllerManager::Find(const std::string& name) const {
  for (const auto& [n, c] : controllers_) {
    if (n == name) return c.get();
  }
  return nullptr;
}

void ControllerManager::StartControllers() {
  leading_ = true;
  ++stats_.started_leading;
  env_.log->Log(LogLevel::kInfo, "controller-manager", fmt::format("{} started leading", identity_));
  for (auto& [name, c] : controllers_) c->Start();
}

void ControllerManager::StopControllers() {
  leading_ = false;
  ++stats_.stopped_leading;
  env_.log->Log(LogLevel::kInfo, "controller-manager", fmt::format("{} stopped leading", identity_));
  for (auto& [name, c] : controllers_) c->Stop();
}

void ControllerManager::OnRequest(const apiserver::Request& r) {
  const std::string& verb = r.verb();
  if (verb == "get" || verb == "list" || verb == "watch") return;
  // The election's own Lease writes and Events are not controller actions.
  if (r.resource() == "leases" && r.namespace_() == options_.lease_namespace &&
      (r.name() == options_.lease_name || r.name().empty())) {
    return;
  }
  if (r.resource() == "events") return;
  ++stats_.writes;
  const bool acting = IsLeader();
  if (!acting) ++stats_.writes_not_acting;
  if (options_.on_write) options_.on_write(identity_, acting, r);
}

}  // namespace ksim::controllers
