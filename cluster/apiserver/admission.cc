#include "cluster/apiserver/admission.h"

#include <fmt/format.h>

#include <algorithm>

namespace ksim::apiserver {

namespace {

using api::Quantity;

Quantity Parse(const std::string& text) {
  Quantity q;
  (void)Quantity::Parse(text, &q);  // validated when the object was decoded
  return q;
}

Quantity Zero() { return Quantity::FromValue(0); }

template <typename Fn>
void ForEachContainer(api::PodSpec* spec, Fn fn) {
  for (api::Container& c : *spec->mutable_init_containers()) fn(c);
  for (api::Container& c : *spec->mutable_containers()) fn(c);
}

template <typename Fn>
void ForEachContainer(const api::PodSpec& spec, Fn fn) {
  for (const api::Container& c : spec.init_containers()) fn(c);
  for (const api::Container& c : spec.containers()) fn(c);
}

// Sorted copies: protobuf maps must not be iterated where order reaches a message.
std::map<std::string, std::string> Sorted(const google::protobuf::Map<std::string, std::string>& m) {
  return {m.begin(), m.end()};
}

std::string Format(const std::map<std::string, Quantity>& q) {
  std::string out;
  for (const auto& [k, v] : q) {
    if (!out.empty()) out += ",";
    out += k + "=" + v.String();
  }
  return out;
}

}  // namespace

void ApplyLimitRangeDefaults(const std::vector<api::LimitRange>& ranges, api::PodSpec* spec) {
  for (const api::LimitRange& lr : ranges) {
    for (const api::LimitRangeItem& item : lr.spec().limits()) {
      if (item.type() != "Container") continue;
      const auto limits = Sorted(item.default_limit());
      const auto requests = Sorted(item.default_request());
      ForEachContainer(spec, [&](api::Container& c) {
        auto* lim = c.mutable_resources()->mutable_limits();
        auto* req = c.mutable_resources()->mutable_requests();
        for (const auto& [name, value] : limits) {
          if (!lim->contains(name)) (*lim)[name] = value;
        }
        for (const auto& [name, value] : requests) {
          if (!req->contains(name)) (*req)[name] = value;
        }
        // A limit without a request: the request is the limit.
        for (const auto& [name, value] : Sorted(*lim)) {
          if (!req->contains(name)) (*req)[name] = value;
        }
      });
    }
  }
}

std::string CheckLimitRanges(const std::vector<api::LimitRange>& ranges, const api::PodSpec& spec) {
  for (const api::LimitRange& lr : ranges) {
    for (const api::LimitRangeItem& item : lr.spec().limits()) {
      if (item.type() == "Container") {
        std::string why;
        ForEachContainer(spec, [&](const api::Container& c) {
          if (!why.empty()) return;
          const auto& lim = c.resources().limits();
          const auto& req = c.resources().requests();
          for (const auto& [name, min] : Sorted(item.min())) {
            auto r = req.find(name);
            if (r == req.end()) {
              why = fmt::format("minimum {} usage per Container is {}.  No request is specified", name, min);
            } else if (Parse(r->second) < Parse(min)) {
              why = fmt::format("minimum {} usage per Container is {}, but request is {}", name, min, r->second);
            }
            if (!why.empty()) return;
          }
          for (const auto& [name, max] : Sorted(item.max())) {
            auto l = lim.find(name);
            if (l == lim.end()) {
              why = fmt::format("maximum {} usage per Container is {}.  No limit is specified", name, max);
            } else if (Parse(l->second) > Parse(max)) {
              why = fmt::format("maximum {} usage per Container is {}, but limit is {}", name, max, l->second);
            }
            if (!why.empty()) return;
          }
          for (const auto& [name, ratio] : Sorted(item.max_limit_request_ratio())) {
            auto l = lim.find(name);
            auto r = req.find(name);
            if (l == lim.end() || r == req.end()) continue;
            const Quantity lq = Parse(l->second);
            const Quantity rq = Parse(r->second);
            if (rq.IsZero()) continue;
            // limit / request > ratio  <=>  limit > ratio * request (exact in nano-units).
            const api::Int128 lhs = lq.NanoValue() * 1000;
            const api::Int128 rhs = Parse(ratio).MilliValue() * rq.NanoValue();
            if (lhs > rhs) {
              why = fmt::format("{} max limit to request ratio per Container is {}, but provided ratio is "
                                "greater",
                                name, ratio);
              return;
            }
          }
        });
        if (!why.empty()) return why;
      } else if (item.type() == "Pod") {
        std::map<std::string, Quantity> req_sum;
        std::map<std::string, Quantity> lim_sum;
        ForEachContainer(spec, [&](const api::Container& c) {
          for (const auto& [n, v] : Sorted(c.resources().requests())) {
            auto [it, _] = req_sum.emplace(n, Zero());
            (void)it->second.Add(Parse(v));
          }
          for (const auto& [n, v] : Sorted(c.resources().limits())) {
            auto [it, _] = lim_sum.emplace(n, Zero());
            (void)it->second.Add(Parse(v));
          }
        });
        for (const auto& [name, min] : Sorted(item.min())) {
          auto r = req_sum.find(name);
          if (r == req_sum.end() || r->second < Parse(min)) {
            return fmt::format("minimum {} usage per Pod is {}, but request is {}", name, min,
                               r == req_sum.end() ? "0" : r->second.String());
          }
        }
        for (const auto& [name, max] : Sorted(item.max())) {
          auto l = lim_sum.find(name);
          if (l != lim_sum.end() && l->second > Parse(max)) {
            return fmt::format("maximum {} usage per Pod is {}, but limit is {}", name, max, l->second.String());
          }
        }
      }
    }
  }
  return {};
}

std::map<std::string, Quantity> QuotaUsage(const api::KindInfo& info, const google::protobuf::Message& object) {
  std::map<std::string, Quantity> usage;
  const std::string count_key = info.group.empty() ? "count/" + info.resource
                                                   : "count/" + info.resource + "." + info.group;
  usage[count_key] = Quantity::FromValue(1);
  static const std::set<std::string> kLegacyCounts = {"configmaps", "persistentvolumeclaims", "pods",
                                                      "replicationcontrollers", "resourcequotas", "secrets",
                                                      "services"};
  if (info.group.empty() && kLegacyCounts.count(info.resource)) usage[info.resource] = Quantity::FromValue(1);
  if (const auto* pod = dynamic_cast<const api::Pod*>(&object)) {
    // Requests of a pod: the sum over its containers (init containers: Kubernetes takes the
    // max of init containers and the sum of the rest; the sum bounds it from above).
    auto add = [&usage](const std::string& key, const std::string& value) {
      auto [it, _] = usage.emplace(key, Zero());
      (void)it->second.Add(Parse(value));
    };
    for (const api::Container& c : pod->spec().containers()) {
      for (const auto& [n, v] : Sorted(c.resources().requests())) {
        if (n == "cpu" || n == "memory") {
          add("requests." + n, v);
          add(n, v);
        }
      }
      for (const auto& [n, v] : Sorted(c.resources().limits())) {
        if (n == "cpu" || n == "memory") add("limits." + n, v);
      }
    }
  }
  return usage;
}

std::string Charge(const api::ResourceQuota& quota, const std::map<std::string, Quantity>& usage,
                   api::ResourceQuota* charged) {
  *charged = quota;
  std::map<std::string, Quantity> requested;
  std::map<std::string, Quantity> used_now;
  std::map<std::string, Quantity> limited;
  bool exceeded = false;
  for (const auto& [name, hard_text] : Sorted(quota.spec().hard())) {
    auto u = usage.find(name);
    if (u == usage.end()) continue;
    const Quantity hard = Parse(hard_text);
    auto used_it = quota.status().used().find(name);
    Quantity used = used_it == quota.status().used().end() ? Zero() : Parse(used_it->second);
    Quantity after = used;
    (void)after.Add(u->second);
    if (after > hard) {
      exceeded = true;
      requested[name] = u->second;
      used_now[name] = used;
      limited[name] = hard;
    }
    (*charged->mutable_status()->mutable_used())[name] = after.String();
    (*charged->mutable_status()->mutable_hard())[name] = hard_text;
  }
  if (!exceeded) return {};
  return fmt::format("exceeded quota: {}, requested: {}, used: {}, limited: {}", quota.metadata().name(),
                     Format(requested), Format(used_now), Format(limited));
}

void Release(const api::ResourceQuota& quota, const std::map<std::string, Quantity>& usage,
             api::ResourceQuota* released) {
  *released = quota;
  for (const auto& [name, hard_text] : Sorted(quota.spec().hard())) {
    auto u = usage.find(name);
    auto used_it = quota.status().used().find(name);
    if (u == usage.end() || used_it == quota.status().used().end()) continue;
    Quantity after = Parse(used_it->second);
    (void)after.Sub(u->second);
    if (after.Sign() < 0) after = Zero();
    (*released->mutable_status()->mutable_used())[name] = after.String();
  }
}

void ApplyDefaultTolerationSeconds(api::PodSpec* spec, int64_t not_ready_seconds, int64_t unreachable_seconds) {
  // A toleration already covers the taint when it names its key (or is a wildcard Exists)
  // and its effect is NoExecute or empty, as the Kubernetes plugin checks.
  auto covered = [spec](const std::string& key) {
    for (const auto& t : spec->tolerations()) {
      const bool key_matches = t.key() == key || (t.key().empty() && t.operator_() == "Exists");
      if (key_matches && (t.effect().empty() || t.effect() == "NoExecute")) return true;
    }
    return false;
  };
  const bool not_ready = covered("node.kubernetes.io/not-ready");
  const bool unreachable = covered("node.kubernetes.io/unreachable");
  auto add = [spec](const std::string& key, int64_t seconds) {
    api::Toleration* t = spec->add_tolerations();
    t->set_key(key);
    t->set_operator_("Exists");
    t->set_effect("NoExecute");
    t->set_toleration_seconds(seconds);
  };
  if (!not_ready) add("node.kubernetes.io/not-ready", not_ready_seconds);
  if (!unreachable) add("node.kubernetes.io/unreachable", unreachable_seconds);
}

}  // namespace ksim::apiserver
