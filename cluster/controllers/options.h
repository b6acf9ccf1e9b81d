// ControllerManagerOptions: the kube-controller-manager flags ksim implements, with
// Kubernetes' defaults (flag names in comments).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/apiserver/apiserver.pb.h"
#include "cluster/env/env.h"

namespace ksim::controllers {

class Controller;
struct ControllerContext;
class PodMetricsSource;
using ControllerFactory = std::function<std::unique_ptr<Controller>(ControllerContext&)>;

struct ControllerManagerOptions {
  std::vector<Address> apiservers;
  std::string token;
  // Every API call gives up after this. Node IPAM waits as long after it starts leading
  // before its first allocation, so a write the previous leader sent has landed or failed.
  Nanos request_timeout = Seconds(10);

  // --leader-elect and --leader-elect-{lease-duration,renew-deadline,retry-period}.
  bool leader_elect = true;
  std::string lease_namespace = "kube-system";
  std::string lease_name = "kube-controller-manager";
  Nanos lease_duration = Seconds(15);
  Nanos renew_deadline = Seconds(10);
  Nanos retry_period = Seconds(2);

  // --controllers: the built-in controllers to run; empty = all ("nodeipam", "nodelifecycle",
  // "replicaset", "replicationcontroller", "horizontalpodautoscaling", "deployment", "daemonset",
  // "statefulset", "disruption", "job", "cronjob", "ttl-after-finished", "garbagecollector",
  // "namespace", "podgc", "endpointslice", "endpoints", "serviceaccount",
  // "serviceaccount-token", "root-ca-cert-publisher", "resourcequota", "csrapproving",
  // "csrsigning"). The disruption
  // controller has no flags in Kubernetes either (one worker; its 2 min DeletionTimeout is a
  // constant).
  std::vector<std::string> controllers;
  // Controllers added by other packages (name, factory), run beside the built-in ones.
  std::vector<std::pair<std::string, ControllerFactory>> extra_controllers;

  // Node IPAM: --allocate-node-cidrs, --cluster-cidr, --node-cidr-mask-size.
  bool allocate_node_cidrs = true;
  std::string cluster_cidr = "10.244.0.0/16";
  int node_cidr_mask_size = 24;

  // Node lifecycle: --node-monitor-period, --node-monitor-grace-period,
  // --node-startup-grace-period, --node-eviction-rate, --secondary-node-eviction-rate,
  // --large-cluster-size-threshold, --unhealthy-zone-threshold.
  Nanos node_monitor_period = Seconds(5);
  Nanos node_monitor_grace_period = Seconds(50);
  Nanos node_startup_grace_period = Seconds(60);
  double node_eviction_rate = 0.1;             // nodes per second
  double secondary_node_eviction_rate = 0.01;  // in an unhealthy zone of a large cluster
  int large_cluster_size_threshold = 50;
  double unhealthy_zone_threshold = 0.55;

  // ReplicaSet and ReplicationController: --concurrent-replicaset-syncs,
  // --concurrent-rc-syncs; at most `replica_burst` creates or deletes per sync (burstReplicas).
  int concurrent_replicaset_syncs = 5;
  int concurrent_rc_syncs = 5;
  int replica_burst = 500;
  // Expectations (client-go's ControllerExpectations). Off only in tests, to show the
  // duplicate creates they prevent.
  bool replica_expectations = true;
  Nanos expectations_timeout = Seconds(300);

  // HorizontalPodAutoscaler: --horizontal-pod-autoscaler-sync-period, -tolerance,
  // -cpu-initialization-period, -initial-readiness-delay, -downscale-stabilization,
  // --concurrent-horizontal-pod-autoscaler-syncs.
  Nanos hpa_sync_period = Seconds(15);
  double hpa_tolerance = 0.1;
  Nanos hpa_cpu_initialization_period = Seconds(300);
  Nanos hpa_initial_readiness_delay = Seconds(30);
  Nanos hpa_downscale_stabilization = Seconds(300);
  int concurrent_hpa_syncs = 5;
  // Where the HPA controller reads pod usage; unset: metrics.k8s.io through the apiserver.
  std::function<std::unique_ptr<PodMetricsSource>(ControllerContext&)> hpa_metrics_source;
  // Test hook: each recommendation (the metrics' proposal before normalization) per HPA key.
  std::function<void(const std::string& key, int32_t replicas)> hpa_on_recommendation;
  // Job, CronJob, TTL-after-finished: --concurrent-job-syncs, --concurrent-cron-job-syncs,
  // --concurrent-ttl-after-finished-syncs.
  int concurrent_job_syncs = 5;
  int concurrent_cron_job_syncs = 5;
  int concurrent_ttl_after_finished_syncs = 5;

  // Deployment: --concurrent-deployment-syncs.
  int concurrent_deployment_syncs = 5;
  // DaemonSet: --concurrent-daemonset-syncs.
  int concurrent_daemonset_syncs = 2;

  // StatefulSet: --concurrent-statefulset-syncs.
  int concurrent_statefulset_syncs = 5;

  // Garbage collector, namespace controller, pod GC: --concurrent-gc-syncs,
  // --concurrent-namespace-syncs, --terminated-pod-gc-threshold (<= 0: terminated pods
  // are not collected by count).
  int concurrent_gc_syncs = 20;
  int concurrent_namespace_syncs = 10;
  int terminated_pod_gc_threshold = 12500;

  // EndpointSlice: --concurrent-service-endpoint-syncs, --max-endpoints-per-slice.
  // Endpoints: --concurrent-endpoint-syncs.
  int concurrent_service_endpoint_syncs = 5;
  int max_endpoints_per_slice = 100;
  int concurrent_endpoint_syncs = 5;

  // ResourceQuota: --concurrent-resource-quota-syncs, --resource-quota-sync-period. Usage is
  // lowered only once a quota's revision has stood `resource_quota_settle` (ksim's rule:
  // a create charged at that revision has been written or given up by then).
  int concurrent_resource_quota_syncs = 5;
  Nanos resource_quota_sync_period = Seconds(300);
  Nanos resource_quota_settle = Seconds(30);

  // ServiceAccount and token controllers: --concurrent-serviceaccount-token-syncs; the
  // root CA written into token Secrets as ca.crt (--root-ca-file's contents; empty: the
  // cluster signing CA's certificate when there is one).
  int concurrent_serviceaccount_token_syncs = 5;
  std::string root_ca_pem;

  // CSR signing: --cluster-signing-cert-file / --cluster-signing-key-file (PEM contents;
  // empty: a CA generated from this process's Entropy, deterministic in simulation) and
  // --cluster-signing-duration (the longest, and default, certificate lifetime).
  std::string cluster_signing_cert_pem;
  std::string cluster_signing_key_pem;
  Nanos cluster_signing_duration = Seconds(365LL * 24 * 3600);

  // Test hook: the informers of these resources lag by this much (an overloaded informer).
  std::map<std::string, Nanos> informer_event_delay;

  // Bound on each work queue's keys.
  size_t max_queue_keys = 200000;
  // Test hook: every mutating call the controllers send (not the election's Lease writes,
  // not Events), with this replica's identity and whether it was acting when it sent it.
  std::function<void(const std::string& identity, bool acting, const apiserver::Request&)> on_write;
};

}  // namespace ksim::controllers
