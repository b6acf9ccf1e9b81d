#include "cluster/dns/server.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "cluster/api/core.pb.h"
#include "cluster/api/discovery.pb.h"
#include "cluster/api/registry.h"
#include "cluster/net/ipv4.h"

namespace ksim::dns {

namespace {

const api::KindInfo& Kind(const char* group, const char* resource) {
  return *api::Registry::Default().ByGroupResource(group, resource);
}

std::vector<std::string> Split(const std::string& name) {
  std::vector<std::string> labels;
  size_t start = 0;
  while (start <= name.size() && !name.empty()) {
    const size_t dot = name.find('.', start);
    labels.push_back(name.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return labels;
}

std::string Dashed(const std::string& ip) {
  std::string out = ip;
  std::replace(out.begin(), out.end(), '.', '-');
  return out;
}

std::optional<uint32_t> FromDashed(const std::string& label) {
  std::string dotted = label;
  std::replace(dotted.begin(), dotted.end(), '-', '.');
  return net::ParseIPv4(dotted);
}

bool Wants(uint16_t asked, uint16_t type) { return asked == type || asked == kTypeANY; }

}  // namespace

DnsServer::DnsServer(Env& env, DnsServerOptions options) : env_(env), options_(std::move(options)) {
  options_.zone = Lower(options_.zone);
}

DnsServer::~DnsServer() {
  env_.transport->StopListening(options_.port);
  for (auto& [id, c] : conns_) c->Close();
  services_.reset();
  slices_.reset();
  pods_.reset();
}

void DnsServer::Start() {
  client::ApiClientOptions o;
  o.endpoints = options_.api_endpoints;
  o.token = options_.token;
  client_ = std::make_unique<client::ApiClient>(env_, o);
  services_ = std::make_unique<client::Informer>(env_, client_.get(), Kind("", "services"));
  slices_ = std::make_unique<client::Informer>(env_, client_.get(), Kind("discovery.k8s.io", "endpointslices"));
  slices_->AddIndex("service", [](const google::protobuf::Message& m) {
    const auto& s = static_cast<const api::EndpointSlice&>(m);
    auto it = s.metadata().labels().find("kubernetes.io/service-name");
    if (it == s.metadata().labels().end()) return std::vector<std::string>{};
    return std::vector<std::string>{s.metadata().namespace_() + "/" + it->second};
  });
  services_->AddIndex("namespace", [](const google::protobuf::Message& m) {
    return std::vector<std::string>{static_cast<const api::Service&>(m).metadata().namespace_()};
  });
  services_->Start();
  slices_->Start();
  if (options_.verify_pods) {
    pods_ = std::make_unique<client::Informer>(env_, client_.get(), Kind("", "pods"));
    pods_->AddIndex("ip", [](const google::protobuf::Message& m) {
      const auto& p = static_cast<const api::Pod&>(m);
      if (p.status().pod_ip().empty()) return std::vector<std::string>{};
      return std::vector<std::string>{p.metadata().namespace_() + "/" + p.status().pod_ip()};
    });
    pods_->Start();
  }
  Status s = env_.transport->Listen(options_.port, [this](std::shared_ptr<Connection> conn) {
    if (conns_.size() >= options_.max_connections) return conn->Close();
    const uint64_t id = next_conn_++;
    ConnectionHandlers h;
    h.on_frame = [this, id](std::string_view frame) { OnFrame(id, frame); };
    h.on_closed = [this, id](const Status&) { conns_.erase(id); };
    conn->SetHandlers(std::move(h));
    conns_[id] = std::move(conn);
  });
  if (!s.ok()) env_.log->Log(LogLevel::kError, "dns", "listen failed: " + s.ToString());
}

bool DnsServer::Ready() const {
  return services_ && services_->HasSynced() && slices_->HasSynced() && (!pods_ || pods_->HasSynced());
}

void DnsServer::OnFrame(uint64_t conn, std::string_view frame) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  Message query;
  Message reply;
  if (Status s = Decode(frame, &query); !s.ok()) {
    ++stats_.malformed;
    if (frame.size() < 2) return it->second->Close();  // not even an id to answer
    reply.id = static_cast<uint16_t>((static_cast<uint8_t>(frame[0]) << 8) | static_cast<uint8_t>(frame[1]));
    reply.response = true;
    reply.rcode = kFormErr;
  } else {
    ++stats_.queries;
    reply = Answer(query);
  }
  std::string bytes;
  if (Status s = Encode(reply, &bytes); !s.ok()) {
    reply.answers.clear();
    reply.authority.clear();
    reply.additional.clear();
    reply.rcode = kServFail;
    (void)Encode(reply, &bytes);
  }
  (void)it->second->Send(bytes);
}

Message DnsServer::Answer(const Message& query) const {
  Message reply;
  reply.id = query.id;
  reply.response = true;
  reply.opcode = query.opcode;
  reply.recursion_desired = query.recursion_desired;
  reply.questions = query.questions;
  if (query.response || query.opcode != 0) {
    reply.rcode = kNotImp;
    return reply;
  }
  if (query.questions.size() != 1) {
    reply.rcode = kFormErr;
    return reply;
  }
  const Question& q = query.questions[0];
  const std::string name = Lower(q.name);
  const std::string& zone = options_.zone;
  const bool in_zone = name == zone || (name.size() > zone.size() + 1 && name.ends_with("." + zone));
  if (q.klass != kClassIN || !in_zone) {
    reply.rcode = kRefused;
    return reply;
  }
  if (!Ready()) {
    reply.rcode = kServFail;  // the informers have not listed yet: better no answer than a wrong one
    return reply;
  }
  reply.authoritative = true;
  std::vector<std::string> labels = name == zone ? std::vector<std::string>{} : Split(name.substr(0, name.size() - zone.size() - 1));
  if (labels.empty()) {
    if (Wants(q.type, kTypeSOA)) reply.answers.push_back(MakeSoa(zone, 1, options_.ttl_seconds, options_.ttl_seconds));
  } else if (labels.back() == "svc") {
    AnswerService(labels, q, &reply);
  } else if (labels.back() == "pod") {
    // <a-b-c-d>.<ns>.pod.<zone>; <ns>.pod and pod exist as names without records.
    if (labels.size() == 3) {
      const std::optional<uint32_t> ip = FromDashed(labels[0]);
      const bool known = ip && (!pods_ || !pods_->ByIndex("ip", labels[1] + "/" + net::FormatIPv4(*ip)).empty());
      if (!known) {
        reply.rcode = kNXDomain;
      } else if (Wants(q.type, kTypeA)) {
        reply.answers.push_back(MakeA(q.name, *ip, options_.ttl_seconds));
      }
    } else if (labels.size() > 3) {
      reply.rcode = kNXDomain;
    }
  } else {
    reply.rcode = kNXDomain;
  }
  if (reply.answers.empty()) reply.authority.push_back(MakeSoa(zone, 1, options_.ttl_seconds, options_.ttl_seconds));
  return reply;
}

// The ready endpoints of a Service for the port named `port_name` (any port when empty),
// as (hostname label, ip); `ports` gets each one's port when asked for.
std::vector<std::pair<std::string, uint32_t>> DnsServer::ReadyEndpoints(const std::string& ns, const std::string& svc,
                                                                        const std::string& port_name,
                                                                        std::vector<uint16_t>* ports) const {
  std::map<std::pair<uint32_t, uint16_t>, std::string> found;  // sorted, deduplicated
  for (const client::ObjectPtr& o : slices_->ByIndex("service", ns + "/" + svc)) {
    const auto& slice = static_cast<const api::EndpointSlice&>(*o);
    if (slice.address_type() != "IPv4") continue;
    uint16_t port = 0;
    if (ports != nullptr) {
      bool has = false;
      for (const api::EndpointSlicePort& p : slice.ports()) {
        if (p.name() == port_name && p.port() > 0 && p.port() <= 65535) {
          port = static_cast<uint16_t>(p.port());
          has = true;
        }
      }
      if (!has) continue;
    }
    for (const api::Endpoint& e : slice.endpoints()) {
      if (e.addresses_size() == 0) continue;
      if (e.conditions().has_ready() && !e.conditions().ready()) continue;
      const std::optional<uint32_t> ip = net::ParseIPv4(e.addresses(0));
      if (!ip) continue;
      found[{*ip, port}] = e.has_hostname() && !e.hostname().empty() ? Lower(e.hostname()) : Dashed(e.addresses(0));
    }
  }
  std::vector<std::pair<std::string, uint32_t>> out;
  for (const auto& [key, host] : found) {
    out.emplace_back(host, key.first);
    if (ports != nullptr) ports->push_back(key.second);
  }
  return out;
}

void DnsServer::AnswerService(const std::vector<std::string>& labels, const Question& q, Message* reply) const {
  const std::string& zone = options_.zone;
  const uint32_t ttl = options_.ttl_seconds;
  const size_t n = labels.size();  // labels.back() == "svc"
  if (n == 1) return;              // svc.<zone>: a name without records
  const std::string& ns = labels[n - 2];
  if (n == 2) {
    if (services_->ByIndex("namespace", ns).empty()) reply->rcode = kNXDomain;
    return;
  }
  const std::string& svc_name = labels[n - 3];
  const client::ObjectPtr o = services_->Get(ns + "/" + svc_name);
  if (!o) {
    reply->rcode = kNXDomain;
    return;
  }
  const auto& svc = static_cast<const api::Service&>(*o);
  const std::string svc_fqdn = svc_name + "." + ns + ".svc." + zone;
  const bool headless = svc.spec().cluster_ip() == "None";
  if (n == 3) {
    if (svc.spec().type() == "ExternalName") {
      reply->answers.push_back(MakeCname(q.name, Lower(svc.spec().external_name()), ttl));
    } else if (!Wants(q.type, kTypeA)) {
      return;
    } else if (headless) {
      for (const auto& [host, ip] : ReadyEndpoints(ns, svc_name, "", nullptr)) reply->answers.push_back(MakeA(q.name, ip, ttl));
    } else if (auto ip = net::ParseIPv4(svc.spec().cluster_ip())) {
      reply->answers.push_back(MakeA(q.name, *ip, ttl));
    }
    return;
  }
  if (n == 4) {  // <host>.<svc>.<ns>.svc: an endpoint of a headless Service
    if (headless) {
      for (const auto& [host, ip] : ReadyEndpoints(ns, svc_name, "", nullptr)) {
        if (host != labels[0]) continue;
        if (Wants(q.type, kTypeA)) reply->answers.push_back(MakeA(q.name, ip, ttl));
        return;
      }
    }
    reply->rcode = kNXDomain;
    return;
  }
  if (n == 5 && labels[0].size() > 1 && labels[0][0] == '_' && labels[1].size() > 1 && labels[1][0] == '_') {
    const std::string port_name = labels[0].substr(1);
    const std::string protocol = labels[1].substr(1);
    const api::ServicePort* port = nullptr;
    for (const api::ServicePort& p : svc.spec().ports()) {
      if (!p.name().empty() && Lower(p.name()) == port_name && Lower(p.protocol().empty() ? "TCP" : p.protocol()) == protocol) {
        port = &p;
      }
    }
    if (port == nullptr) {
      reply->rcode = kNXDomain;
      return;
    }
    if (!Wants(q.type, kTypeSRV)) return;
    if (!headless) {
      const auto ip = net::ParseIPv4(svc.spec().cluster_ip());
      reply->answers.push_back(MakeSrv(q.name, 0, 100, static_cast<uint16_t>(port->port()), svc_fqdn, ttl));
      if (ip) reply->additional.push_back(MakeA(svc_fqdn, *ip, ttl));
      return;
    }
    std::vector<uint16_t> ports;
    const auto endpoints = ReadyEndpoints(ns, svc_name, port->name(), &ports);
    for (size_t i = 0; i < endpoints.size(); ++i) {
      const std::string target = endpoints[i].first + "." + svc_fqdn;
      const uint16_t weight = static_cast<uint16_t>(100 / endpoints.size());
      reply->answers.push_back(MakeSrv(q.name, 0, weight, ports[i], target, ttl));
      reply->additional.push_back(MakeA(target, endpoints[i].second, ttl));
    }
    return;
  }
  reply->rcode = kNXDomain;
}

}  // namespace ksim::dns
