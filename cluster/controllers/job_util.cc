#include "cluster/controllers/job_util.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <vector>

namespace ksim::controllers {
namespace {

bool ParseInt(std::string_view s, int32_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && *out >= 0;
}

}  // namespace

std::set<int32_t> ParseIndexes(const std::string& text, int32_t limit) {
  std::set<int32_t> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string_view part(text.data() + start, comma - start);
    start = comma + 1;
    if (part.empty()) continue;
    const size_t dash = part.find('-');
    int32_t lo = 0, hi = 0;
    if (dash == std::string_view::npos) {
      if (!ParseInt(part, &lo)) continue;
      hi = lo;
    } else if (!ParseInt(part.substr(0, dash), &lo) || !ParseInt(part.substr(dash + 1), &hi) || hi < lo) {
      continue;
    }
    if (limit > 0) hi = std::min(hi, limit - 1);
    for (int32_t i = lo; i <= hi; ++i) out.insert(i);
  }
  return out;
}

std::string FormatIndexes(const std::set<int32_t>& indexes) {
  std::string out;
  for (auto it = indexes.begin(); it != indexes.end();) {
    const int32_t lo = *it;
    int32_t hi = lo;
    for (++it; it != indexes.end() && *it == hi + 1; ++it) hi = *it;
    if (!out.empty()) out += ',';
    out += hi == lo ? std::to_string(lo) : fmt::format("{}-{}", lo, hi);
  }
  return out;
}

Nanos JobBackoff(int failures) {
  if (failures <= 0) return Nanos(0);
  Nanos d = Seconds(10);
  for (int i = 1; i < failures && d < Seconds(360); ++i) d *= 2;
  return std::min(d, Nanos(Seconds(360)));
}

std::optional<int32_t> PodCompletionIndex(const api::Pod& pod) {
  const auto& m = pod.metadata();
  std::string text;
  if (auto it = m.annotations().find(kJobCompletionIndex); it != m.annotations().end()) {
    text = it->second;
  } else if (auto l = m.labels().find(kJobCompletionIndex); l != m.labels().end()) {
    text = l->second;
  } else {
    return std::nullopt;
  }
  int32_t v = 0;
  if (!ParseInt(text, &v)) return std::nullopt;
  return v;
}

bool HasJobFinalizer(const api::Pod& pod) {
  const auto& f = pod.metadata().finalizers();
  return std::find(f.begin(), f.end(), kJobTrackingFinalizer) != f.end();
}

bool JobPodTerminal(const api::Pod& pod) {
  return pod.status().phase() == "Succeeded" || pod.status().phase() == "Failed";
}

std::optional<PolicyMatch> MatchPodFailurePolicy(const api::PodFailurePolicy& policy, const api::Pod& pod) {
  const std::string who = pod.metadata().namespace_() + "/" + pod.metadata().name();
  for (int i = 0; i < policy.rules_size(); ++i) {
    const api::PodFailurePolicyRule& rule = policy.rules(i);
    if (rule.has_on_exit_codes()) {
      const auto& req = rule.on_exit_codes();
      for (const auto& cs : pod.status().container_statuses()) {
        if (!cs.state().has_terminated()) continue;
        if (req.has_container_name() && req.container_name() != cs.name()) continue;
        const int32_t code = cs.state().terminated().exit_code();
        if (code == 0) continue;  // successful containers are excluded, as in Kubernetes
        const bool in = std::find(req.values().begin(), req.values().end(), code) != req.values().end();
        if ((req.operator_() == "In") == in) {
          return PolicyMatch{rule.action(), fmt::format("Container {} for pod {} failed with exit code {} matching {} rule at index {}",
                                                        cs.name(), who, code, rule.action(), i)};
        }
      }
      continue;
    }
    for (const auto& pattern : rule.on_pod_conditions()) {
      const std::string want = pattern.status().empty() ? "True" : pattern.status();
      for (const auto& c : pod.status().conditions()) {
        if (c.type() == pattern.type() && c.status() == want) {
          return PolicyMatch{rule.action(), fmt::format("Pod {} has condition {} matching {} rule at index {}", who,
                                                        c.type(), rule.action(), i)};
        }
      }
    }
  }
  return std::nullopt;
}

const api::JobCondition* JobConditionTrue(const api::Job& job, const std::string& type) {
  for (const auto& c : job.status().conditions()) {
    if (c.type() == type && c.status() == "True") return &c;
  }
  return nullptr;
}

bool JobFinished(const api::Job& job) {
  return JobConditionTrue(job, "Complete") != nullptr || JobConditionTrue(job, "Failed") != nullptr;
}

bool SetJobCondition(api::JobStatus* status, const std::string& type, const std::string& value,
                     const std::string& reason, const std::string& message, int64_t now_seconds) {
  for (auto& c : *status->mutable_conditions()) {
    if (c.type() != type) continue;
    if (c.status() == value && c.reason() == reason && c.message() == message) return false;
    if (c.status() != value) c.mutable_last_transition_time()->set_seconds(now_seconds);
    c.set_status(value);
    c.set_reason(reason);
    c.set_message(message);
    c.mutable_last_probe_time()->set_seconds(now_seconds);
    return true;
  }
  auto* c = status->add_conditions();
  c->set_type(type);
  c->set_status(value);
  c->set_reason(reason);
  c->set_message(message);
  c->mutable_last_probe_time()->set_seconds(now_seconds);
  c->mutable_last_transition_time()->set_seconds(now_seconds);
  return true;
}

}  // namespace ksim::controllers
