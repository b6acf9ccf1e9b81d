#include "cluster/apiserver/strategy/service_allocation.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "cluster/api/core.pb.h"
#include "cluster/apiserver/strategy/message_cast.h"

namespace ksim::apiserver {

namespace gp = google::protobuf;

namespace {

// Kubernetes' static band: min(max(16, size / step), cap) values at the range's start.
uint64_t StaticBand(uint64_t size, uint64_t step, uint64_t cap) {
  const uint64_t band = std::min(std::max<uint64_t>(16, size / step), cap);
  return band < size ? band : 0;
}

bool NeedsClusterIp(const api::ServiceSpec& spec) { return spec.type() != "ExternalName" && spec.cluster_ip() != "None"; }

bool NeedsNodePorts(const api::ServiceSpec& spec) {
  if (spec.type() == "NodePort") return true;
  return spec.type() == "LoadBalancer" &&
         (!spec.has_allocate_load_balancer_node_ports() || spec.allocate_load_balancer_node_ports());
}

using Held = std::set<std::pair<std::string, uint64_t>>;  // (range name, value)

// What a Service holds: its clusterIP (if an IP in the range) and its nodePorts.
Held HeldBy(const Allocator& allocator, const api::Service& svc) {
  Held held;
  const AllocationRange* ips = allocator.Range(kServiceIpRange);
  const AllocationRange* ports = allocator.Range(kNodePortRange);
  if (ips != nullptr && NeedsClusterIp(svc.spec())) {
    if (auto ip = net::ParseIPv4(svc.spec().cluster_ip()); ip && ips->Contains(*ip)) held.insert({ips->name, *ip});
  }
  if (ports != nullptr) {
    for (const api::ServicePort& p : svc.spec().ports()) {
      if (p.node_port() > 0 && ports->Contains(static_cast<uint64_t>(p.node_port()))) {
        held.insert({ports->name, static_cast<uint64_t>(p.node_port())});
      }
    }
  }
  return held;
}

// One value to settle: a requested one to check, or one to pick (port -1: the clusterIP).
struct Want {
  int port = -1;
  bool pick = false;
};

struct Job {
  Allocator* allocator = nullptr;
  std::shared_ptr<gp::Message> object;
  std::shared_ptr<const gp::Message> old;
  int attempt = 0;
  std::function<void(AllocationOutcome)> done;
  std::vector<Want> wants;
  size_t next = 0;
  std::set<uint64_t> picked_ports;  // a service's own ports are not picked twice
  AllocationOutcome outcome;
};

api::Service& Svc(Job& job) { return AsMutable<api::Service>(*job.object); }

std::string Owner(const api::Service& svc) {
  return fmt::format("services/{}/{}", svc.metadata().namespace_(), svc.metadata().name());
}

void Invalid(Job& job, std::string field, std::string message) {
  job.outcome.invalid.push_back(FieldError{std::move(field), "FieldValueInvalid", std::move(message)});
}

Refusal StoreRefusal(const Status& s) {
  return Refusal{503, "ServiceUnavailable", "the allocation records could not be read: " + s.message()};
}

void Finish(std::shared_ptr<Job> job) {
  api::Service& svc = Svc(*job);
  svc.mutable_spec()->clear_cluster_ips();
  if (!svc.spec().cluster_ip().empty()) svc.mutable_spec()->add_cluster_ips(svc.spec().cluster_ip());
  if (job->outcome.invalid.empty() && !job->outcome.refusal) {
    const Allocator& a = *job->allocator;
    const Held now = HeldBy(a, svc);
    const Held before = job->old ? HeldBy(a, As<api::Service>(*job->old)) : Held{};
    for (const auto& [range, value] : now) {
      if (before.count({range, value}) == 0) job->outcome.side.push_back(Allocator::Claim(*a.Range(range), value, Owner(svc)));
    }
    for (const auto& [range, value] : before) {
      if (now.count({range, value}) == 0) job->outcome.side.push_back(Allocator::Release(*a.Range(range), value));
    }
  }
  job->done(std::move(job->outcome));
}

void Step(std::shared_ptr<Job> job) {
  if (job->next == job->wants.size() || job->outcome.refusal) return Finish(job);
  const Want want = job->wants[job->next++];
  Allocator& a = *job->allocator;
  api::ServiceSpec& spec = *Svc(*job).mutable_spec();
  const AllocationRange& range = *a.Range(want.port < 0 ? kServiceIpRange : kNodePortRange);
  const std::string field =
      want.port < 0 ? std::string("spec.clusterIPs") : fmt::format("spec.ports[{}].nodePort", want.port);
  if (want.pick) {
    a.Pick(range, job->attempt > 0, want.port < 0 ? std::set<uint64_t>{} : job->picked_ports, [job, want, field](Status s, uint64_t v) {
      api::ServiceSpec& picked = *Svc(*job).mutable_spec();
      if (s.code() == Status::Code::kNotFound) {
        job->outcome.refusal = Refusal{500, "InternalError",
                                       want.port < 0 ? "Internal error occurred: failed to allocate a serviceIP: range is full"
                                                     : "Internal error occurred: failed to allocate a nodePort: range is full"};
      } else if (!s.ok()) {
        job->outcome.refusal = StoreRefusal(s);
      } else if (want.port < 0) {
        picked.set_cluster_ip(net::FormatIPv4(static_cast<uint32_t>(v)));
      } else {
        picked.mutable_ports(want.port)->set_node_port(static_cast<int32_t>(v));
        job->picked_ports.insert(v);
      }
      Step(job);
    });
    return;
  }
  // A requested value: in the range, and not held by anyone else.
  uint64_t value = 0;
  std::string shown;
  if (want.port < 0) {
    value = *net::ParseIPv4(spec.cluster_ip());
    shown = fmt::format("Invalid value: [\"{0}\"]: failed to allocate IP {0}: ", spec.cluster_ip());
    if (!range.Contains(value)) {
      Invalid(*job, field, shown + fmt::format("the provided IP ({}) is not in the valid range. The range of valid IPs is {}",
                                               spec.cluster_ip(), range.description));
      return Step(job);
    }
  } else {
    value = static_cast<uint64_t>(spec.ports(want.port).node_port());
    shown = fmt::format("Invalid value: {}: ", value);
    if (!range.Contains(value)) {
      Invalid(*job, field, shown + "provided port is not in the valid range. The range of valid ports is " + range.description);
      return Step(job);
    }
  }
  a.IsAllocated(range, value, [job, field, shown, want](Status s, bool allocated) {
    if (!s.ok()) {
      job->outcome.refusal = StoreRefusal(s);
    } else if (allocated) {
      Invalid(*job, field, shown + (want.port < 0 ? "provided IP is already allocated" : "provided port is already allocated"));
    }
    Step(job);
  });
}

}  // namespace

AllocationRange ServiceIpRange(const net::Cidr& cidr) {
  AllocationRange r;
  r.name = kServiceIpRange;
  r.description = cidr.ToString();
  // The network and broadcast addresses are never handed out (a /31 or /32 has neither).
  const bool ends_reserved = cidr.prefix <= 30;
  r.first = cidr.base + (ends_reserved ? 1 : 0);
  r.size = cidr.size() - (ends_reserved ? 2 : 0);
  r.static_band = StaticBand(r.size, 16, 256);
  return r;
}

AllocationRange NodePortRange(uint32_t first, uint32_t last) {
  AllocationRange r;
  r.name = kNodePortRange;
  r.description = fmt::format("{}-{}", first, last);
  r.first = first;
  r.size = uint64_t{last} - first + 1;
  r.static_band = StaticBand(r.size, 32, 128);
  return r;
}

void CarryServiceAllocations(const gp::Message& old_message, gp::Message& updated) {
  const api::ServiceSpec& old = As<api::Service>(old_message).spec();
  api::ServiceSpec& spec = *AsMutable<api::Service>(updated).mutable_spec();
  if (spec.cluster_ip().empty() && NeedsClusterIp(spec) && NeedsClusterIp(old)) spec.set_cluster_ip(old.cluster_ip());
  if (!NeedsNodePorts(spec)) return;
  // A port that keeps its (port, protocol) keeps its nodePort.
  std::map<std::pair<int32_t, std::string>, int32_t> before;
  for (const api::ServicePort& p : old.ports()) before[{p.port(), p.protocol()}] = p.node_port();
  for (api::ServicePort& p : *spec.mutable_ports()) {
    auto it = before.find({p.port(), p.protocol()});
    if (p.node_port() == 0 && it != before.end()) p.set_node_port(it->second);
  }
}

void AllocateService(Allocator& allocator, std::shared_ptr<gp::Message> object, std::shared_ptr<const gp::Message> old,
                     int attempt, std::function<void(AllocationOutcome)> done) {
  auto job = std::make_shared<Job>();
  job->allocator = &allocator;
  job->object = std::move(object);
  job->old = std::move(old);
  job->attempt = attempt;
  job->done = std::move(done);
  const api::ServiceSpec& spec = Svc(*job).spec();
  const Held before = job->old ? HeldBy(allocator, As<api::Service>(*job->old)) : Held{};
  if (allocator.Range(kServiceIpRange) != nullptr && NeedsClusterIp(spec)) {
    if (spec.cluster_ip().empty()) {
      job->wants.push_back(Want{-1, true});
    } else if (auto ip = net::ParseIPv4(spec.cluster_ip()); ip && before.count({kServiceIpRange, *ip}) == 0) {
      job->wants.push_back(Want{-1, false});
    }
  }
  if (allocator.Range(kNodePortRange) != nullptr && NeedsNodePorts(spec)) {
    std::set<int32_t> requested;
    for (int i = 0; i < spec.ports_size(); ++i) {
      const int32_t port = spec.ports(i).node_port();
      if (port == 0) {
        job->wants.push_back(Want{i, true});
      } else if (before.count({kNodePortRange, static_cast<uint64_t>(port)}) == 0 && requested.insert(port).second) {
        job->wants.push_back(Want{i, false});  // two protocols of one port share a nodePort
      }
      if (port != 0) job->picked_ports.insert(static_cast<uint64_t>(port));
    }
  }
  Step(job);
}

std::vector<SideWrite> ReleaseServiceAllocations(const Allocator& allocator, const gp::Message& object) {
  std::vector<SideWrite> side;
  for (const auto& [range, value] : HeldBy(allocator, As<api::Service>(object))) {
    side.push_back(Allocator::Release(*allocator.Range(range), value));
  }
  return side;
}

}  // namespace ksim::apiserver
