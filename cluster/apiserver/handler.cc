// ApiHandler: a request's way in (resource lookup, the checks every verb shares) and the
// dispatch to the verb. The verbs live in handler_<section>.cc; what differs between
// kinds is in the strategy tables (strategy/strategy.h, strategy/resource_strategy.h).
#include <fmt/format.h>

#include <charconv>
#include <utility>

#include "cluster/apiserver/handler_internal.h"
#include "cluster/apiserver/kubelet_proxy.h"
#include "cluster/apiserver/strategy/service_allocation.h"
#include "cluster/net/ipv4.h"

namespace ksim::apiserver {

std::string QualifiedResource(const api::KindInfo& info) {
  return info.group.empty() ? info.resource : info.resource + "." + info.group;
}

ApiHandler::ApiHandler(Env& env, storeclient::StoreClient* store, HandlerOptions options)
    : env_(env), store_client_(store), store_(store), allocator_(&store_, env.random), options_(std::move(options)) {
  if (auto cidr = net::ParseCidr(options_.service_cluster_ip_range); cidr && cidr->prefix >= 8) {
    allocator_.AddRange(ServiceIpRange(*cidr));
  } else {
    allocator_error_ = Status::InvalidArgument("--service-cluster-ip-range \"" + options_.service_cluster_ip_range +
                                               "\": must be an IPv4 CIDR with zero host bits, /8 or longer");
  }
  const std::string& ports = options_.service_node_port_range;
  const size_t dash = ports.find('-');
  auto number = [&ports](size_t begin, size_t end, int* out) {
    auto [p, ec] = std::from_chars(ports.data() + begin, ports.data() + end, *out);
    return begin < end && ec == std::errc() && p == ports.data() + end;
  };
  int first = 0;
  int last = 0;
  if (dash != std::string::npos && number(0, dash, &first) && number(dash + 1, ports.size(), &last) && first >= 1 &&
      first <= last && last <= 65535) {
    allocator_.AddRange(NodePortRange(static_cast<uint32_t>(first), static_cast<uint32_t>(last)));
  } else {
    allocator_error_ = Status::InvalidArgument("--service-node-port-range \"" + ports +
                                               "\": must be <first>-<last> within 1-65535");
  }
  if (!options_.service_account_signing_key_pem.empty()) {
    token_key_ = JwtKey::FromPem(options_.service_account_signing_key_pem, &token_key_error_);
  }
  token_audiences_ = options_.api_audiences;
  if (token_audiences_.empty()) token_audiences_.push_back(options_.service_account_issuer);
}

ApiHandler::~ApiHandler() { *alive_ = false; }

const WatchCache* ApiHandler::cache(const std::string& resource) const {
  auto it = caches_.find(resource);
  return it == caches_.end() ? nullptr : &it->second->cache;
}

uint64_t ApiHandler::Handle(Request request, Reply reply) {
  ++stats_.requests;
  auto call = std::make_shared<Call>();
  call->request = std::move(request);
  call->reply = std::move(reply);
  call->info = api::Registry::Default().ByGroupResource(call->request.group(), call->request.resource());
  if (call->info == nullptr) {
    ReplyStatus(*call, 404, "NotFound",
                fmt::format("the server could not find the requested resource ({} {})", call->request.group(),
                            call->request.resource()));
    return 0;
  }
  const api::KindInfo& info = *call->info;
  std::string ns = info.namespaced ? call->request.namespace_() : std::string();
  if (!call->request.name().empty()) call->key = ObjectKey(info.resource, ns, call->request.name());
  const std::string& verb = call->request.verb();
  const std::string& sub = call->request.subresource();
  call->strategy = &ResourceStrategyOf(info);
  const bool served = sub.empty() || sub == "status" || (sub == "binding" && call->strategy->bind != nullptr) ||
                      (sub == "scale" && call->strategy->scale) ||
                      (sub == "finalize" && call->strategy->finalize != nullptr) ||
                      (info.group.empty() && info.resource == "pods" && (sub == "log" || sub == "exec" || sub == "eviction")) ||
                      (info.group.empty() && info.resource == "serviceaccounts" && sub == "token" && token_key_ != nullptr);
  if (!served) {
    ReplyStatus(*call, 404, "NotFound", fmt::format("{} has no subresource \"{}\"", QualifiedResource(info), sub));
    return 0;
  }
  const bool needs_name = verb == "get" || verb == "update" || verb == "patch" || verb == "delete" ||
                          (verb == "create" && !sub.empty());
  if (needs_name && call->request.name().empty()) {
    ReplyStatus(*call, 405, "MethodNotAllowed", fmt::format("{} needs a resource name", verb));
    return 0;
  }
  if (info.namespaced && call->request.namespace_().empty() &&
      (needs_name || verb == "create" || verb == "deletecollection")) {
    ReplyStatus(*call, 400, "BadRequest", "a namespace is required for " + QualifiedResource(info));
    return 0;
  }
  if (verb == "watch") {
    call->watch_handle = next_watch_handle_++;
    watches_[call->watch_handle] = WatchRef{info.resource, 0, false};
  }
  const uint64_t handle = call->watch_handle;
  Admit(std::move(call));
  return handle;
}

void ApiHandler::Dispatch(std::shared_ptr<Call> call) {
  const std::string& verb = call->request.verb();
  const std::string& sub = call->request.subresource();
  if (call->strategy->source != ResourceStrategy::Source::kStore) {
    Metrics(call);
  } else if (verb == "create" && sub == "binding") {
    Bind(call, 0);
  } else if (sub == "eviction") {
    if (verb != "create") return ReplyStatus(*call, 405, "MethodNotAllowed", "pods/eviction supports create");
    Evict(call, 0);
  } else if (sub == "token") {
    if (verb != "create") return ReplyStatus(*call, 405, "MethodNotAllowed", "serviceaccounts/token supports create");
    RequestToken(call);
  } else if (sub == "scale" && (verb == "get" || verb == "update")) {
    Scale(call);
  } else if ((sub == "log" && verb == "get") || (sub == "exec" && verb == "create")) {
    PodProxy(call);
  } else if (sub == "log" || sub == "exec") {
    ReplyStatus(*call, 405, "MethodNotAllowed", "pods/log supports get, pods/exec create");
  } else if (sub == "scale") {
    ReplyStatus(*call, 405, "MethodNotAllowed", "the scale subresource supports get and update");
  } else if (sub == "finalize" && verb != "update") {
    ReplyStatus(*call, 405, "MethodNotAllowed", "the finalize subresource supports update");
  } else if (verb == "create") {
    Create(call);
  } else if (verb == "get") {
    Get(call);
  } else if (verb == "list") {
    List(call);
  } else if (verb == "update") {
    Update(call);
  } else if (verb == "patch") {
    Patch(call, 0);
  } else if (verb == "delete") {
    Delete(call);
  } else if (verb == "deletecollection") {
    DeleteCollection(call);
  } else if (verb == "watch") {
    Watch(call);
  } else {
    ReplyStatus(*call, 405, "MethodNotAllowed", "unknown verb \"" + verb + "\"");
  }
}


}  // namespace ksim::apiserver
