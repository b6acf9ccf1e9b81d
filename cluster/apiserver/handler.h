// ApiHandler: the apiserver's request logic, independent of how requests arrive. A
// Request (verb, group/resource, namespace, name, subresource, query, body) goes in; one
// Response comes out, or, for a watch, a first Response followed by event frames. The
// Transport server (apiserver.h) and a later HTTP face are thin adapters over it.
//
// Reads: get and paginated lists go to the store (linearizable); lists with
// resourceVersion=0 and every watch are served from a per-resource WatchCache, which one
// store watch keeps current. Writes are store transactions guarded by the object's mod
// revision, so several apiservers run active-active over one store.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster/api/codec.h"
#include "cluster/apiserver/allocator.h"
#include "cluster/apiserver/apiserver.pb.h"
#include "cluster/apiserver/auth/authn.h"
#include "cluster/apiserver/auth/rbac.h"
#include "cluster/apiserver/object_store.h"
#include "cluster/apiserver/quota_batcher.h"
#include "cluster/apiserver/watch_cache.h"
#include "cluster/env/env.h"
#include "cluster/store/client/store_client.h"
#include "cluster/store/client/store_watch.h"

namespace ksim::api {
class Eviction;
class TokenRequest;
}

namespace ksim::apiserver {

struct ResourceStrategy;
class KubeletProxy;

struct HandlerOptions {
  std::vector<Address> store_members;
  // Authentication and authorization. With `authenticate` off every request runs as a
  // member of system:masters (for tests of other layers). On: a request without a known
  // bearer token is 401, one RBAC does not allow is 403, both as Kubernetes Statuses.
  bool authenticate = true;
  // Creates default, kube-system, kube-public and kube-node-lease at start, as Kubernetes'
  // apiserver does (tests of namespace semantics turn it off to start from nothing).
  bool system_namespaces = true;
  std::string token_file;  // static tokens, Kubernetes' CSV format (token,user,uid,"groups")
  size_t watch_window_events = 100000;
  int64_t max_list_page = 10000;  // keys per store range when paging internally
  // Bytes of objects per store range when paging internally, and per list page a client
  // asked for with `limit`: a page may stop early (with a continue token) below `limit`.
  size_t max_list_page_bytes = size_t{4} << 20;
  // The largest reply body: a list that would be larger answers 500 (page it instead).
  // One Response frame carries the body plus a few fields.
  size_t max_reply_bytes = kMaxFrameBytes - (size_t{64} << 10);
  int max_update_retries = 5;     // patch and binding re-read and retry on conflict
  // Where Services' ClusterIPs and NodePorts come from (kube-apiserver's
  // --service-cluster-ip-range and --service-node-port-range). Start() reports a bad one.
  std::string service_cluster_ip_range = "10.96.0.0/12";
  std::string service_node_port_range = "30000-32767";
  // pods/log and pods/exec, proxied to the pod's kubelet: how long to wait for a kubelet
  // (exec: at least its own timeout + 5 s), the largest log answer, the largest exec body.
  Nanos kubelet_timeout = Seconds(30);
  size_t max_log_bytes = size_t{1} << 20;
  size_t max_exec_request_bytes = size_t{64} << 10;
  // metrics.k8s.io (handler_metrics.cc): the kubelets one request asks at once, how long
  // it waits for each (a slow or down kubelet's pods are left out), the most nodes one
  // request asks (more: 500, as for a too large list).
  size_t metrics_max_parallel_kubelets = 16;
  Nanos metrics_kubelet_timeout = Seconds(5);
  size_t metrics_max_nodes = 5000;
  // Bound service-account tokens (serviceaccounts/token, docs/AUTH.md): the private key
  // in PEM (--service-account-signing-key-file's contents; RSA, EC P-256 or Ed25519; every
  // apiserver of a cluster gets the same one), the tokens' issuer
  // (--service-account-issuer) and the audiences accepted (--api-audiences; empty: the
  // issuer). No key: the subresource is not served and no JWT authenticates.
  std::string service_account_signing_key_pem;
  std::string service_account_issuer = "https://kubernetes.default.svc.cluster.local";
  std::vector<std::string> api_audiences;
  // The ServiceAccount admission plugin (admission_service_account.h), on by default as in
  // Kubernetes: a pod runs as an account that must exist (else 403) and gets the
  // kube-api-access token volume. Test fixtures without a controller-manager (nothing
  // makes the `default` accounts) turn it off; docs/APISERVER.md.
  bool service_account_admission = true;
};

struct HandlerStats {
  uint64_t requests = 0;
  uint64_t creates = 0;
  uint64_t conflicts = 0;
  uint64_t watch_events_sent = 0;
  uint64_t watch_frames_sent = 0;  // events of one store batch share a frame
};

class ApiHandler {
 public:
  // Called once for a plain request; for a watch, once per frame until it returns false
  // or a frame with end=true was sent.
  using Reply = std::function<bool(Response)>;

  ApiHandler(Env& env, storeclient::StoreClient* store, HandlerOptions options);
  ~ApiHandler();
  ApiHandler(const ApiHandler&) = delete;
  ApiHandler& operator=(const ApiHandler&) = delete;

  // Reads the token file and starts loading what authorization needs (RBAC objects and
  // service-account token Secrets); writes the bootstrap RBAC policy if it is missing.
  // Requests that arrive before that is loaded wait. A bad token file is returned and
  // leaves only service-account tokens usable. A bad service range option is returned too
  // (Services are then stored without those allocations).
  Status Start();

  // Handles one request. For a watch, returns a handle for CancelWatch (0 otherwise).
  uint64_t Handle(Request request, Reply reply);
  void CancelWatch(uint64_t handle);

  // Sends a bookmark to every watcher (the server calls this on a timer).
  void Bookmark();
  // Fault: every cache forgets its event window (WatchCache::ExpireWindow), as after a
  // compaction of the store's history: all watches end with 410 Gone and their clients
  // must re-list. Returns how many watches were ended.
  size_t ExpireWatchWindows();

  const HandlerStats& stats() const { return stats_; }
  const QuotaBatcherStats& quota_stats() const { return quota_batcher_.stats(); }
  // The cache of a resource, if it has been started (tests, benchmarks).
  const WatchCache* cache(const std::string& resource) const;
  // Who a bearer token authenticates as (tests: a kubelet's projected token, end to end).
  const TokenAuthenticator& authenticator() const { return authenticator_; }

 private:
  struct ResourceCache;
  struct Call;

  // Authentication, authorization, then the verb.
  void Admit(std::shared_ptr<Call> call);
  void Dispatch(std::shared_ptr<Call> call);
  void LoadAuthCaches();
  void OnAuthObject(const api::KindInfo& info, const std::string& key, const CachedObjectPtr& object);
  void OnAuthReset(ResourceCache& rc);
  void WriteSystemNamespaces();
  void WriteBootstrapPolicy();

  // Verbs.
  void Create(std::shared_ptr<Call> call);
  void AdmitCreate(std::shared_ptr<Call> call, std::shared_ptr<google::protobuf::Message> obj);
  // ServiceAccount admission (HandlerOptions::service_account_admission), then `then`.
  void AdmitServiceAccount(std::shared_ptr<Call> call, std::shared_ptr<google::protobuf::Message> obj,
                           std::function<void()> then);
  // `written`, if set, learns whether the object was written (or may have been).
  void WriteCreate(std::shared_ptr<Call> call, std::shared_ptr<google::protobuf::Message> obj,
                   std::function<void(bool)> written = {});
  void WriteCreateAllocated(std::shared_ptr<Call> call, std::shared_ptr<google::protobuf::Message> obj,
                            std::shared_ptr<const google::protobuf::Message> pristine,
                            std::function<void(bool)> written, int64_t lease, int attempt);
  // The create's transaction. `claim_lost` (if set) runs instead of a reply when an
  // allocation claim lost its race.
  void StoreCreate(std::shared_ptr<Call> call, std::shared_ptr<google::protobuf::Message> obj,
                   std::vector<SideWrite> side, std::function<void(bool)> written, int64_t lease,
                   std::function<void(std::function<void(bool)>)> claim_lost);
  // A create in a namespace with quotas: charged by quota_batcher_, then written.
  void WriteQuotaCreate(std::shared_ptr<Call> call, std::shared_ptr<google::protobuf::Message> obj,
                        std::vector<StoredObject> quotas);
  // The namespace's ResourceQuotas, read linearizably (after a quota guard failed).
  void ReadQuotas(const std::string& ns, std::function<void(Status, std::vector<StoredObject>)> done);
  void Get(std::shared_ptr<Call> call);
  void List(std::shared_ptr<Call> call);
  void ListFromStore(std::shared_ptr<Call> call, WatchFilter filter, int64_t revision, std::string start_key,
                     int64_t limit, std::vector<StoredObject> acc);
  void Update(std::shared_ptr<Call> call);
  void Patch(std::shared_ptr<Call> call, int attempt);
  void Delete(std::shared_ptr<Call> call);
  void DeleteCollection(std::shared_ptr<Call> call);
  void Watch(std::shared_ptr<Call> call);
  void Bind(std::shared_ptr<Call> call, int attempt);
  void Scale(std::shared_ptr<Call> call);
  // pods/eviction (handler_eviction.cc): the pod's disruption budget is checked and
  // decremented, then the pod is deleted.
  void Evict(std::shared_ptr<Call> call, int attempt);
  void EvictWithBudgets(std::shared_ptr<Call> call, int attempt, std::shared_ptr<const api::Eviction> eviction,
                        StoredObject pod, std::vector<StoredObject> pdbs);
  void EvictDelete(std::shared_ptr<Call> call, int attempt, std::shared_ptr<const api::Eviction> eviction,
                   const StoredObject& pod, bool pin_revision);
  void PodProxy(std::shared_ptr<Call> call);  // pods/log (get), pods/exec (create)
  // metrics.k8s.io PodMetrics / NodeMetrics (handler_metrics.cc): get and list, computed
  // from the kubelets' stats of the selected pods' (or the nodes') kubelets.
  struct MetricsScrape;
  void Metrics(std::shared_ptr<Call> call);
  void ScrapeKubelets(std::shared_ptr<MetricsScrape> scrape);
  void ReplyMetrics(const MetricsScrape& scrape);
  // serviceaccounts/token (handler_token.cc): a TokenRequest answered with a signed JWT.
  void RequestToken(std::shared_ptr<Call> call);
  void IssueToken(std::shared_ptr<Call> call, std::shared_ptr<api::TokenRequest> request,
                  const api::ObjectMeta& account, const api::ObjectMeta* bound);
  // The uid and deletion time of a cached object (what a bound token's check needs).
  std::optional<BoundObjectState> CachedObjectState(std::string_view resource, std::string_view ns,
                                                    std::string_view name) const;

  // Shared steps.
  // Writes `updated` over `current` (an update, patch or status write), keeping what the
  // caller may not change, and answers.
  void WriteUpdate(std::shared_ptr<Call> call, std::unique_ptr<google::protobuf::Message> updated,
                   const StoredObject& current, std::function<void()> on_conflict);
  void StoreUpdate(std::shared_ptr<Call> call, std::string bytes, const StoredObject& current,
                   std::vector<SideWrite> side, std::function<void()> on_conflict);
  void DeleteNow(std::shared_ptr<Call> call, const StoredObject& current);
  void WriteDelete(std::shared_ptr<Call> call, const StoredObject& current, std::vector<StoredObject> quotas,
                   int attempt);
  // The namespace's ResourceQuotas, from the cache, as the guarded write needs them.
  void WithNamespaceQuotas(const std::string& ns, std::function<void(std::vector<StoredObject>)> then);
  void EnsureCache(const api::KindInfo& info, std::function<void(ResourceCache&)> then);
  void LoadCache(ResourceCache& rc, std::string start_key, int64_t revision, std::vector<CachedObjectPtr> acc);
  void OnStoreEvents(ResourceCache& rc, const std::vector<const store::Event*>& events);

  // The store lease writes of a kind with a TTL attach to (0, at once, for other kinds):
  // Kubernetes' lease manager, one lease per TTL reused for kLeaseReuseSeconds, so
  // objects live between their TTL and a minute more.
  void WithLease(const ResourceStrategy& strategy, std::function<void(Status, int64_t lease)> then);
  void GrantLease(int64_t ttl_seconds, int attempt);
  static constexpr int64_t kLeaseReuseSeconds = 60;
  struct LeaseCache {
    int64_t id = 0;
    Nanos expires{0};  // monotonic, counted from before the grant was asked for
    bool granting = false;
    std::vector<std::function<void(Status, int64_t)>> waiting;
  };
  std::map<int64_t, LeaseCache> leases_;  // by TTL in seconds

  // Encoding.
  CachedObjectPtr ToCached(const api::KindInfo& info, const std::string& key, const std::string& bytes,
                           int64_t revision) const;
  std::string ObjectBody(const Call& call, const std::string& bytes, int64_t revision) const;
  void ReplyObject(const Call& call, int code, const std::string& bytes, int64_t revision) const;
  // A 200 list: each item's bytes with its resourceVersion, as protobuf or JSON.
  // 500 InternalError for a list reply of `bytes` over max_reply_bytes.
  void ReplyTooLarge(const Call& call, size_t items, size_t bytes) const;
  void ReplyList(const Call& call, const api::ListMeta& meta,
                 const std::vector<std::pair<std::string_view, int64_t>>& items) const;
  void ReplyStatus(const Call& call, int code, const std::string& reason, const std::string& message,
                   std::vector<api::StatusCause> causes = {}) const;
  void ReplyStoreError(const Call& call, const Status& status) const;
  // Kubernetes' 404 and 409 (stale resourceVersion) for the call's object.
  void ReplyNotFound(const Call& call) const;
  void ReplyConflict(const Call& call) const;
  std::string NewUid(const std::string& request_id) const;

  Env& env_;
  storeclient::StoreClient* store_client_;
  ObjectStore store_;
  QuotaBatcher quota_batcher_{env_, &store_};
  Allocator allocator_;
  Status allocator_error_;  // a bad range option, reported by Start()
  std::shared_ptr<const JwtKey> token_key_;  // null: no bound tokens
  Status token_key_error_;                    // a bad signing key, reported by Start()
  std::vector<std::string> token_audiences_;  // --api-audiences, else the issuer
  HandlerOptions options_;
  std::map<std::string, std::unique_ptr<ResourceCache>> caches_;  // by resource
  struct WatchRef {
    std::string resource;
    int64_t cache_watch_id = 0;  // 0 while the cache is loading
    bool canceled = false;
  };
  uint64_t next_watch_handle_ = 1;
  std::map<uint64_t, WatchRef> watches_;
  // The events of one store batch reach each watcher as one frame (up to the limits
  // below): a frame per event cost every watcher a message, a parse and a wake-up per
  // object. Frames gather while OnStoreEvents runs and go out when it ends.
  struct PendingWatchFrame {
    std::shared_ptr<Call> call;
    Response frame;
    size_t bytes = 0;
  };
  static constexpr int kMaxWatchFrameEvents = 256;
  static constexpr size_t kMaxWatchFrameBytes = size_t{1} << 20;
  bool gathering_watch_frames_ = false;
  std::map<uint64_t, PendingWatchFrame> pending_watch_frames_;  // by watch handle
  // Sends one watch's gathered frame; a watcher that cannot take it is dropped, as when
  // its sink refuses an event. Returns whether it took the frame.
  bool FlushWatchFrame(uint64_t handle);
  void FlushWatchFrames();
  HandlerStats stats_;
  TokenAuthenticator authenticator_;
  RbacAuthorizer authorizer_;
  int auth_caches_loaded_ = 0;  // of kAuthResources
  bool auth_ready_ = false;
  std::vector<std::shared_ptr<Call>> waiting_for_auth_;
  std::map<std::string, std::set<std::string>> auth_keys_;  // resource -> keys fed to authn/authz
  std::unique_ptr<KubeletProxy> kubelet_proxy_;  // made at the first kubelet call
  KubeletProxy& kubelet_proxy();
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// "pods \"x\" not found" style names for messages: resource plus group when not core.
std::string QualifiedResource(const api::KindInfo& info);

}  // namespace ksim::apiserver
