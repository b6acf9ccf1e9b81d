// Kubernetes' documented defaults (pkg/apis/*/v1/defaults.go), filled in place. Each
// default only fills what is unset, so applying them twice changes nothing.
#include "cluster/api/codec.h"
#include "cluster/apiserver/strategy/more_kinds.h"
#include "cluster/apiserver/strategy/validation.h"

namespace ksim::apiserver {
namespace {

constexpr int32_t kDefaultFileMode = 0644;

void DefaultIfEmpty(std::string* field, std::string_view value) {
  if (field->empty()) *field = value;
}

void InsertIfAbsent(google::protobuf::Map<std::string, std::string>* map, const std::string& key,
                    const std::string& value) {
  if (map->count(key) == 0) (*map)[key] = value;
}

void DefaultHttpGet(api::HTTPGetAction* get) {
  DefaultIfEmpty(get->mutable_path(), "/");
  DefaultIfEmpty(get->mutable_scheme(), "HTTP");
}

void DefaultProbe(api::Probe* probe) {
  if (probe->timeout_seconds() == 0) probe->set_timeout_seconds(1);
  if (probe->period_seconds() == 0) probe->set_period_seconds(10);
  if (probe->success_threshold() == 0) probe->set_success_threshold(1);
  if (probe->failure_threshold() == 0) probe->set_failure_threshold(3);
  if (probe->has_http_get()) DefaultHttpGet(probe->mutable_http_get());
}

void DefaultLifecycleHandler(api::LifecycleHandler* handler) {
  if (handler->has_http_get()) DefaultHttpGet(handler->mutable_http_get());
}

// A container's imagePullPolicy, and an image volume's pullPolicy.
void DefaultPullPolicy(const std::string& image, std::string* policy) {
  if (!policy->empty()) return;
  const std::string tag = ImageTag(image);
  // No tag and no digest means ":latest", which is pulled every time.
  const bool latest = tag == "latest" || (tag.empty() && !ImageHasDigest(image));
  *policy = latest ? "Always" : "IfNotPresent";
}

void DefaultContainer(api::Container* c, bool host_network) {
  // Kubernetes always shows `resources: {}`: the field is a struct, not a pointer.
  c->mutable_resources();
  DefaultPullPolicy(c->image(), c->mutable_image_pull_policy());
  DefaultIfEmpty(c->mutable_termination_message_path(), "/dev/termination-log");
  DefaultIfEmpty(c->mutable_termination_message_policy(), "File");
  for (api::ContainerPort& port : *c->mutable_ports()) {
    DefaultIfEmpty(port.mutable_protocol(), "TCP");
    if (host_network && port.host_port() == 0) port.set_host_port(port.container_port());
  }
  for (api::EnvVar& env : *c->mutable_env()) {
    if (env.has_value_from() && env.value_from().has_field_ref()) {
      DefaultIfEmpty(env.mutable_value_from()->mutable_field_ref()->mutable_api_version(), "v1");
    }
  }
  if (c->has_liveness_probe()) DefaultProbe(c->mutable_liveness_probe());
  if (c->has_readiness_probe()) DefaultProbe(c->mutable_readiness_probe());
  if (c->has_startup_probe()) DefaultProbe(c->mutable_startup_probe());
  if (c->has_lifecycle()) {
    if (c->lifecycle().has_post_start()) DefaultLifecycleHandler(c->mutable_lifecycle()->mutable_post_start());
    if (c->lifecycle().has_pre_stop()) DefaultLifecycleHandler(c->mutable_lifecycle()->mutable_pre_stop());
  }
}

void DefaultVolume(api::Volume* v) {
  if (SetSources(*v).empty()) v->mutable_empty_dir();
  if (v->has_image()) DefaultPullPolicy(v->image().reference(), v->mutable_image()->mutable_pull_policy());
  if (v->has_secret() && !v->secret().has_default_mode()) v->mutable_secret()->set_default_mode(kDefaultFileMode);
  if (v->has_config_map() && !v->config_map().has_default_mode()) {
    v->mutable_config_map()->set_default_mode(kDefaultFileMode);
  }
  if (v->has_downward_api() && !v->downward_api().has_default_mode()) {
    v->mutable_downward_api()->set_default_mode(kDefaultFileMode);
  }
  if (v->has_projected() && !v->projected().has_default_mode()) {
    v->mutable_projected()->set_default_mode(kDefaultFileMode);
  }
}

// Requests default to limits, per resource, when a container gives only limits.
void DefaultRequestsFromLimits(api::ResourceRequirements* resources) {
  for (const auto& [name, limit] : Sorted(resources->limits())) {
    InsertIfAbsent(resources->mutable_requests(), name, limit);
  }
}

void DefaultTemplate(api::PodTemplateSpec* tmpl, bool default_restart_policy) {
  DefaultPodSpec(*tmpl->mutable_spec(), default_restart_policy);
}

api::IntOrString Percent25() { return api::MakeIntOrString(std::string("25%")); }

bool IsSet(const api::IntOrString& v) { return v.value_case() != api::IntOrString::VALUE_NOT_SET; }

}  // namespace

void DefaultPodSpec(api::PodSpec& spec, bool default_restart_policy) {
  DefaultIfEmpty(spec.mutable_dns_policy(), "ClusterFirst");
  if (default_restart_policy) DefaultIfEmpty(spec.mutable_restart_policy(), "Always");
  if (!spec.has_security_context()) spec.mutable_security_context();
  if (!spec.has_termination_grace_period_seconds()) spec.set_termination_grace_period_seconds(30);
  DefaultIfEmpty(spec.mutable_scheduler_name(), "default-scheduler");
  if (!spec.has_enable_service_links()) spec.set_enable_service_links(true);
  // serviceAccount is the deprecated spelling of serviceAccountName: read when the new one
  // is empty, and always written back equal to it (Kubernetes' v1 conversion does both).
  if (spec.service_account_name().empty() && !spec.service_account().empty()) {
    spec.set_service_account_name(spec.service_account());
  }
  spec.set_service_account(spec.service_account_name());
  for (api::Volume& v : *spec.mutable_volumes()) DefaultVolume(&v);
  for (api::Container& c : *spec.mutable_init_containers()) DefaultContainer(&c, spec.host_network());
  for (api::Container& c : *spec.mutable_containers()) DefaultContainer(&c, spec.host_network());
}

void DefaultPod(api::Pod& pod) {
  DefaultPodSpec(*pod.mutable_spec(), true);
  // Only pods (not templates) get requests from limits, as in Kubernetes.
  for (api::Container& c : *pod.mutable_spec()->mutable_init_containers()) DefaultRequestsFromLimits(c.mutable_resources());
  for (api::Container& c : *pod.mutable_spec()->mutable_containers()) DefaultRequestsFromLimits(c.mutable_resources());
  if (pod.spec().has_resources()) DefaultRequestsFromLimits(pod.mutable_spec()->mutable_resources());
  DefaultIfEmpty(pod.mutable_status()->mutable_phase(), "Pending");
}

void DefaultReplicationController(api::ReplicationController& rc) {
  api::ReplicationControllerSpec& spec = *rc.mutable_spec();
  if (spec.has_template_()) {
    const auto& labels = spec.template_().metadata().labels();
    if (spec.selector().empty()) *spec.mutable_selector() = labels;
    if (rc.metadata().labels().empty()) *rc.mutable_metadata()->mutable_labels() = labels;
    DefaultTemplate(spec.mutable_template_(), true);
  }
  if (!spec.has_replicas()) spec.set_replicas(1);
}

void DefaultReplicaSet(api::ReplicaSet& rs) {
  if (!rs.spec().has_replicas()) rs.mutable_spec()->set_replicas(1);
  DefaultTemplate(rs.mutable_spec()->mutable_template_(), true);
}

void DefaultDeployment(api::Deployment& d) {
  api::DeploymentSpec& spec = *d.mutable_spec();
  if (!spec.has_replicas()) spec.set_replicas(1);
  api::DeploymentStrategy& strategy = *spec.mutable_strategy();
  DefaultIfEmpty(strategy.mutable_type(), "RollingUpdate");
  if (strategy.type() == "RollingUpdate") {
    api::RollingUpdateDeployment& ru = *strategy.mutable_rolling_update();
    if (!IsSet(ru.max_unavailable())) *ru.mutable_max_unavailable() = Percent25();
    if (!IsSet(ru.max_surge())) *ru.mutable_max_surge() = Percent25();
  }
  if (!spec.has_revision_history_limit()) spec.set_revision_history_limit(10);
  if (!spec.has_progress_deadline_seconds()) spec.set_progress_deadline_seconds(600);
  DefaultTemplate(spec.mutable_template_(), true);
}

void DefaultStatefulSet(api::StatefulSet& s) {
  api::StatefulSetSpec& spec = *s.mutable_spec();
  if (!spec.has_replicas()) spec.set_replicas(1);
  DefaultIfEmpty(spec.mutable_pod_management_policy(), "OrderedReady");
  api::StatefulSetUpdateStrategy& strategy = *spec.mutable_update_strategy();
  DefaultIfEmpty(strategy.mutable_type(), "RollingUpdate");
  if (strategy.type() == "RollingUpdate" && !strategy.rolling_update().has_partition()) {
    strategy.mutable_rolling_update()->set_partition(0);
  }
  if (!spec.has_revision_history_limit()) spec.set_revision_history_limit(10);
  auto& retention = *spec.mutable_persistent_volume_claim_retention_policy();
  DefaultIfEmpty(retention.mutable_when_deleted(), "Retain");
  DefaultIfEmpty(retention.mutable_when_scaled(), "Retain");
  DefaultTemplate(spec.mutable_template_(), true);
}

void DefaultDaemonSet(api::DaemonSet& d) {
  api::DaemonSetSpec& spec = *d.mutable_spec();
  api::DaemonSetUpdateStrategy& strategy = *spec.mutable_update_strategy();
  DefaultIfEmpty(strategy.mutable_type(), "RollingUpdate");
  if (strategy.type() == "RollingUpdate") {
    api::RollingUpdateDaemonSet& ru = *strategy.mutable_rolling_update();
    if (!IsSet(ru.max_unavailable())) *ru.mutable_max_unavailable() = api::MakeIntOrString(1);
    if (!IsSet(ru.max_surge())) *ru.mutable_max_surge() = api::MakeIntOrString(0);
  }
  if (!spec.has_revision_history_limit()) spec.set_revision_history_limit(10);
  DefaultTemplate(spec.mutable_template_(), true);
}

void DefaultJob(api::Job& job) {
  api::JobSpec& spec = *job.mutable_spec();
  if (!spec.has_completions() && !spec.has_parallelism()) {
    spec.set_completions(1);
    spec.set_parallelism(1);
  }
  if (!spec.has_parallelism()) spec.set_parallelism(1);
  if (!spec.has_backoff_limit()) {
    // With a per-index limit the global one is effectively off.
    spec.set_backoff_limit(spec.has_backoff_limit_per_index() ? 2147483647 : 6);
  }
  if (!spec.has_completion_mode()) spec.set_completion_mode("NonIndexed");
  if (!spec.has_suspend()) spec.set_suspend(false);
  if (!spec.has_pod_replacement_policy()) {
    spec.set_pod_replacement_policy(spec.has_pod_failure_policy() ? "Failed" : "TerminatingOrFailed");
  }
  if (!spec.has_manual_selector() || !spec.manual_selector()) {
    // Kubernetes generates the selector from the Job's uid, which the apiserver assigns first.
    const std::string& uid = job.metadata().uid();
    if (!uid.empty() && !spec.has_selector()) {
      (*spec.mutable_selector()->mutable_match_labels())["batch.kubernetes.io/controller-uid"] = uid;
      auto& labels = *spec.mutable_template_()->mutable_metadata()->mutable_labels();
      InsertIfAbsent(&labels, "batch.kubernetes.io/controller-uid", uid);
      InsertIfAbsent(&labels, "controller-uid", uid);
      InsertIfAbsent(&labels, "batch.kubernetes.io/job-name", job.metadata().name());
      InsertIfAbsent(&labels, "job-name", job.metadata().name());
    }
  }
  // Job templates get no restartPolicy: the user must choose OnFailure or Never.
  DefaultTemplate(spec.mutable_template_(), false);
}

void DefaultService(api::Service& svc) {
  api::ServiceSpec& spec = *svc.mutable_spec();
  DefaultIfEmpty(spec.mutable_type(), "ClusterIP");
  DefaultIfEmpty(spec.mutable_session_affinity(), "None");
  if (spec.session_affinity() == "ClientIP" && !spec.session_affinity_config().client_ip().has_timeout_seconds()) {
    spec.mutable_session_affinity_config()->mutable_client_ip()->set_timeout_seconds(10800);
  }
  for (api::ServicePort& port : *spec.mutable_ports()) {
    DefaultIfEmpty(port.mutable_protocol(), "TCP");
    if (!IsSet(port.target_port())) *port.mutable_target_port() = api::MakeIntOrString(port.port());
  }
  if (spec.type() == "ExternalName") return;
  if (!spec.has_internal_traffic_policy()) spec.set_internal_traffic_policy("Cluster");
  if ((spec.type() == "NodePort" || spec.type() == "LoadBalancer") && spec.external_traffic_policy().empty()) {
    spec.set_external_traffic_policy("Cluster");
  }
  if (spec.type() == "LoadBalancer" && !spec.has_allocate_load_balancer_node_ports()) {
    spec.set_allocate_load_balancer_node_ports(true);
  }
  if (!spec.has_ip_family_policy()) spec.set_ip_family_policy("SingleStack");
  if (spec.ip_families().empty()) {
    const bool v6 = !spec.cluster_ip().empty() && spec.cluster_ip().find(':') != std::string::npos;
    spec.add_ip_families(v6 ? "IPv6" : "IPv4");
  }
}

void DefaultSecret(api::Secret& secret) {
  DefaultIfEmpty(secret.mutable_type(), "Opaque");
  // stringData is write-only: it is merged into data, overriding equal keys.
  for (const auto& [key, value] : Sorted(secret.string_data())) (*secret.mutable_data())[key] = value;
  secret.clear_string_data();
}

void DefaultNamespace(api::Namespace& ns) {
  // An empty phase marks a namespace being created (updates carry the stored status).
  if (ns.status().phase().empty()) {
    bool has_kubernetes = false;
    for (const std::string& f : ns.spec().finalizers()) has_kubernetes = has_kubernetes || f == "kubernetes";
    if (!has_kubernetes) ns.mutable_spec()->add_finalizers("kubernetes");
    ns.mutable_status()->set_phase("Active");
  }
}

void DefaultEndpoints(api::Endpoints& ep) {
  for (api::EndpointSubset& subset : *ep.mutable_subsets()) {
    for (api::EndpointPort& port : *subset.mutable_ports()) DefaultIfEmpty(port.mutable_protocol(), "TCP");
  }
}

void DefaultLimitRange(api::LimitRange& lr) {
  for (api::LimitRangeItem& item : *lr.mutable_spec()->mutable_limits()) {
    if (item.type() != "Container") continue;
    // Default limit from max; default request from the default limit, else from min.
    for (const auto& [name, max] : Sorted(item.max())) InsertIfAbsent(item.mutable_default_limit(), name, max);
    for (const auto& [name, def] : Sorted(item.default_limit())) InsertIfAbsent(item.mutable_default_request(), name, def);
    for (const auto& [name, min] : Sorted(item.min())) InsertIfAbsent(item.mutable_default_request(), name, min);
  }
}

void DefaultPriorityClass(api::PriorityClass& pc) {
  if (!pc.has_preemption_policy()) pc.set_preemption_policy("PreemptLowerPriority");
}

void DefaultRoleBinding(api::RoleRef& ref, google::protobuf::RepeatedPtrField<api::Subject>& subjects) {
  DefaultIfEmpty(ref.mutable_api_group(), "rbac.authorization.k8s.io");
  for (api::Subject& s : subjects) {
    if (s.kind() == "User" || s.kind() == "Group") DefaultIfEmpty(s.mutable_api_group(), "rbac.authorization.k8s.io");
  }
}

}  // namespace ksim::apiserver
