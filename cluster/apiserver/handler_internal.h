// What the files of ApiHandler share (handler_*.cc): the state of one call, a resource's
// watch cache, and small helpers. Not part of the apiserver's interface.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/api/machinery/quantity.h"
#include "cluster/api/options.pb.h"
#include "cluster/apiserver/handler.h"
#include "cluster/apiserver/strategy/resource_strategy.h"
#include "cluster/apiserver/strategy/strategy.h"
#include "cluster/env/wire.h"

namespace ksim::apiserver {

inline constexpr char kJson[] = "application/json";
inline constexpr char kProtobuf[] = "application/vnd.ksim.protobuf";

// One call in flight.
struct ApiHandler::Call {
  Request request;
  Reply reply;
  const api::KindInfo* info = nullptr;
  const ResourceStrategy* strategy = nullptr;  // of `info`
  std::string key;                             // the object's key (verbs with a name)
  uint64_t watch_handle = 0;
  // delete: the request's options, parsed once (a delete re-reads after a conflict, and
  // deletecollection's deletes share the collection's).
  std::shared_ptr<const api::DeleteOptions> delete_options;
  // Who sent it (empty when authentication is off).
  UserInfo user;
  // create with generateName and no name: how many names have been drawn (0: the name
  // was given). A drawn name that exists is drawn again (Kubernetes ≥ 1.32, KEP-4420).
  int names_drawn = 0;
};

struct ApiHandler::ResourceCache {
  const api::KindInfo* info = nullptr;
  WatchCache cache;
  std::unique_ptr<storeclient::StoreWatch> watch;
  bool loading = false;
  bool feeds_auth = false;  // its objects feed the authenticator or the authorizer
  std::vector<std::function<void(ResourceCache&)>> waiting;
  explicit ResourceCache(WatchCacheOptions o) : cache(std::move(o)) {}
};

namespace handler_internal {

inline bool WantsJson(const std::string& accept) { return accept.find("json") != std::string::npos; }

// A query parameter's value, "" if absent.
std::string QueryValue(const Request& r, const std::string& key);

// Seconds-precision wall time, as Kubernetes' metav1.Time.
void SetTime(google::protobuf::Timestamp* t, Nanos wall);

// The request body as the kind's message (protobuf, JSON or YAML by content type).
Status DecodeBody(const Request& r, const api::KindInfo& info, google::protobuf::Message* out);

// A request's object, on an arena that lives exactly as long as the object.
std::shared_ptr<google::protobuf::Message> NewRequestObject(const api::KindInfo& info);

// Validation errors as a 422's causes and message.
std::vector<api::StatusCause> Causes(const std::vector<FieldError>& errors);
std::string InvalidMessage(const api::KindInfo& info, const std::string& name, const std::vector<FieldError>& errors);

// The protobuf bytes that, appended to an object's bytes, set its resourceVersion.
std::string RevisionSuffix(const api::KindInfo& info, int64_t revision);

// The last frame of a watch that cannot continue: an ERROR event with a 410 Expired Status.
Response GoneFrame(uint64_t id, const std::string& message);

// Charges (or releases) `usage` on every quota that limits part of it; the side writes
// carry the quotas' new status guarded by the revision they were read at. Returns the
// reason a charge does not fit, "" if it does.
std::string QuotaSideWrites(const std::vector<StoredObject>& quotas, const std::map<std::string, api::Quantity>& usage,
                            bool charge, std::vector<SideWrite>* side);

inline constexpr int kMaxQuotaRetries = 20;
// Attempts at a create or update whose allocation claims lose races to other apiservers.
inline constexpr int kMaxAllocationAttempts = 8;

// Kubernetes' storage preconditions (metav1.Preconditions): "" when `uid` and
// `resource_version` are empty or match the stored object (at `revision`), else
// "Precondition failed: UID in precondition: X, UID in object meta: Y" (or ResourceVersion).
std::string PreconditionFailure(const std::string& uid, const std::string& resource_version,
                                const api::ObjectMeta& meta, int64_t revision);

// Kubernetes' ValidateDeleteOptions; "" if valid, else the 422's message.
std::string InvalidDeleteOptions(const api::DeleteOptions& o);

// "ip:port" of the node's kubelet endpoint (InternalIP, daemonEndpoints.kubeletEndpoint),
// "" if it reports none.
std::string KubeletAddress(const api::Node& node);

// Parses labelSelector/fieldSelector for `info`'s objects into a filter (namespace from
// the request when namespaced); the error names the parameter.
Status ParseListFilter(const Request& r, const api::KindInfo& info, WatchFilter* f);

// Base64url without padding (continue tokens).
std::string Base64Encode(std::string_view in);
bool Base64Decode(std::string_view in, std::string* out);

}  // namespace handler_internal
}  // namespace ksim::apiserver
