// Controllers that own pods: ReplicationController, ReplicaSet, Deployment, StatefulSet,
// DaemonSet, Job (Kubernetes' apps and batch validation).
#include "cluster/api/codec.h"
#include "cluster/apiserver/strategy/validation.h"

namespace ksim::apiserver {
namespace {

const Path kSpec("spec");
const Path kMeta("metadata");

PodSpecRules AlwaysRestart(std::string_view kind) {
  PodSpecRules rules;
  rules.restart_policies = {"Always"};
  rules.forbid_active_deadline_in = kind;
  return rules;
}

// A required, non-empty selector matching the template, as every apps/v1 kind has.
void ValidateSelectorAndTemplate(const std::string& kind_lower, bool has_selector, const api::LabelSelector& selector,
                                 bool has_template, const api::PodTemplateSpec& tmpl, const PodSpecRules& rules,
                                 Errors& errs) {
  const Path sel = kSpec.Child("selector");
  bool matches = true;
  if (!has_selector) {
    errs.Required(sel);
  } else {
    const size_t before = errs.size();
    ValidateLabelSelector(selector, sel, errs);
    if (SelectorEmpty(selector)) {
      errs.InvalidShown(sel, SelectorString(selector), "empty selector is invalid for " + kind_lower);
    } else if (errs.size() == before) {
      matches = SelectorMatches(selector, tmpl.metadata().labels());
    }
  }
  if (!has_template) {
    errs.Required(kSpec.Child("template"));
    return;
  }
  ValidatePodTemplate(tmpl, matches, rules, kSpec.Child("template"), errs);
}

void ValidateReplicas(bool has, int32_t replicas, Errors& errs) {
  if (has) ValidateNonNegative(replicas, kSpec.Child("replicas"), errs);
}

void ValidateOptionalNonNegative(bool has, int64_t value, const Path& path, Errors& errs) {
  if (has) ValidateNonNegative(value, path, errs);
}

// maxUnavailable and maxSurge of a rolling update: not both zero, percents at most 100%.
void ValidateRollingUpdateBudget(const api::IntOrString& max_unavailable, const api::IntOrString& max_surge,
                                 const Path& path, Errors& errs) {
  bool unavailable_percent = false;
  bool surge_percent = false;
  const int64_t unavailable = ValidateIntOrPercent(max_unavailable, path.Child("maxUnavailable"), errs, &unavailable_percent);
  const int64_t surge = ValidateIntOrPercent(max_surge, path.Child("maxSurge"), errs, &surge_percent);
  if (unavailable_percent && unavailable > 100) {
    errs.Invalid(path.Child("maxUnavailable"), max_unavailable.str_val(), "must not be greater than 100%");
  }
  if (unavailable == 0 && surge == 0) {
    errs.InvalidShown(path.Child("maxUnavailable"), api::ToString(max_unavailable), "may not be 0 when `maxSurge` is 0");
  }
}

void ValidateSelectorImmutable(const api::LabelSelector& selector, const api::LabelSelector& old, Errors& errs) {
  if (!SameMessage(selector, old)) errs.InvalidShown(kSpec.Child("selector"), SelectorString(selector), kImmutable);
}

}  // namespace

// An int-or-percent: a non-negative integer or "<n>%". Returns the value (a percent as
// its number) or -1 when invalid; `is_percent` tells which.
int64_t ValidateIntOrPercent(const api::IntOrString& v, const Path& path, Errors& errs, bool* is_percent) {
  *is_percent = false;
  if (v.value_case() == api::IntOrString::kStrVal) {
    const std::string& s = v.str_val();
    bool ok = s.size() >= 2 && s.back() == '%' && s.size() <= 11;
    int64_t n = 0;
    for (size_t i = 0; ok && i + 1 < s.size(); ++i) {
      ok = s[i] >= '0' && s[i] <= '9';
      n = n * 10 + (s[i] - '0');
    }
    if (!ok) {
      errs.Invalid(path, s, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  "
                            "or '93%', regex used for validation is '[0-9]+%')");
      return -1;
    }
    *is_percent = true;
    return n;
  }
  if (v.int_val() < 0) {
    errs.Invalid(path, v.int_val(), kNonNegative);
    return -1;
  }
  return v.int_val();
}

void ValidateReplicationController(const api::ReplicationController& rc, Errors& errs) {
  ValidateObjectMeta(rc.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  const api::ReplicationControllerSpec& spec = rc.spec();
  const Path sel = kSpec.Child("selector");
  bool matches = true;
  if (spec.selector().empty()) {
    errs.Required(sel);
  } else {
    ValidateLabels(spec.selector(), sel, errs);
    for (const auto& [key, value] : SortedView(spec.selector())) {
      auto it = spec.template_().metadata().labels().find(std::string(key));
      matches = matches && it != spec.template_().metadata().labels().end() && it->second == value;
    }
  }
  ValidateReplicas(spec.has_replicas(), spec.replicas(), errs);
  ValidateNonNegative(spec.min_ready_seconds(), kSpec.Child("minReadySeconds"), errs);
  if (!spec.has_template_()) {
    errs.Required(kSpec.Child("template"));
  } else {
    ValidatePodTemplate(spec.template_(), matches, AlwaysRestart("ReplicationController"), kSpec.Child("template"), errs);
  }
}

void ValidateReplicaSet(const api::ReplicaSet& rs, Errors& errs) {
  ValidateObjectMeta(rs.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  const api::ReplicaSetSpec& spec = rs.spec();
  ValidateReplicas(spec.has_replicas(), spec.replicas(), errs);
  ValidateNonNegative(spec.min_ready_seconds(), kSpec.Child("minReadySeconds"), errs);
  ValidateSelectorAndTemplate("replicaset", spec.has_selector(), spec.selector(), spec.has_template_(), spec.template_(),
                              AlwaysRestart("ReplicaSet"), errs);
}

void ValidateReplicaSetUpdate(const api::ReplicaSet& rs, const api::ReplicaSet& old, Errors& errs) {
  ValidateObjectMetaUpdate(rs.metadata(), old.metadata(), kMeta, errs);
  ValidateSelectorImmutable(rs.spec().selector(), old.spec().selector(), errs);
}

void ValidateDeployment(const api::Deployment& d, Errors& errs) {
  ValidateObjectMeta(d.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  const api::DeploymentSpec& spec = d.spec();
  ValidateReplicas(spec.has_replicas(), spec.replicas(), errs);
  ValidateSelectorAndTemplate("deployment", spec.has_selector(), spec.selector(), spec.has_template_(), spec.template_(),
                              AlwaysRestart("ReplicaSet"), errs);
  const Path strategy = kSpec.Child("strategy");
  const std::string& type = spec.strategy().type();
  if (type.empty()) {
    errs.Required(strategy.Child("type"));
  } else if (type == "Recreate") {
    if (spec.strategy().has_rolling_update()) {
      errs.Forbidden(strategy.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'");
    }
  } else if (type == "RollingUpdate") {
    if (spec.strategy().has_rolling_update()) {
      ValidateRollingUpdateBudget(spec.strategy().rolling_update().max_unavailable(),
                                  spec.strategy().rolling_update().max_surge(), strategy.Child("rollingUpdate"), errs);
    }
  } else {
    errs.NotSupported(strategy.Child("type"), type, {"Recreate", "RollingUpdate"});
  }
  ValidateNonNegative(spec.min_ready_seconds(), kSpec.Child("minReadySeconds"), errs);
  ValidateOptionalNonNegative(spec.has_revision_history_limit(), spec.revision_history_limit(),
                              kSpec.Child("revisionHistoryLimit"), errs);
  if (spec.has_progress_deadline_seconds()) {
    const Path pds = kSpec.Child("progressDeadlineSeconds");
    if (spec.progress_deadline_seconds() < 0) {
      errs.Invalid(pds, spec.progress_deadline_seconds(), kNonNegative);
    } else if (spec.progress_deadline_seconds() <= spec.min_ready_seconds()) {
      errs.Invalid(pds, spec.progress_deadline_seconds(), "must be greater than minReadySeconds");
    }
  }
}

void ValidateDeploymentUpdate(const api::Deployment& d, const api::Deployment& old, Errors& errs) {
  ValidateObjectMetaUpdate(d.metadata(), old.metadata(), kMeta, errs);
  ValidateSelectorImmutable(d.spec().selector(), old.spec().selector(), errs);
}

void ValidateStatefulSet(const api::StatefulSet& s, Errors& errs) {
  ValidateObjectMeta(s.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  const api::StatefulSetSpec& spec = s.spec();
  const std::string& policy = spec.pod_management_policy();
  if (policy.empty()) {
    errs.Required(kSpec.Child("podManagementPolicy"));
  } else if (policy != "OrderedReady" && policy != "Parallel") {
    errs.NotSupported(kSpec.Child("podManagementPolicy"), policy, {"OrderedReady", "Parallel"});
  }
  const Path strategy = kSpec.Child("updateStrategy");
  const std::string& type = spec.update_strategy().type();
  if (type.empty()) {
    errs.Required(strategy.Child("type"));
  } else if (type == "OnDelete") {
    if (spec.update_strategy().has_rolling_update()) {
      errs.InvalidShown(strategy.Child("rollingUpdate"), "{...}",
                        "only allowed for updateStrategy 'RollingUpdate'");
    }
  } else if (type == "RollingUpdate") {
    const auto& ru = spec.update_strategy().rolling_update();
    ValidateOptionalNonNegative(ru.has_partition(), ru.partition(), strategy.Child("rollingUpdate").Child("partition"),
                                errs);
  } else {
    errs.NotSupported(strategy.Child("type"), type, {"OnDelete", "RollingUpdate"});
  }
  ValidateReplicas(spec.has_replicas(), spec.replicas(), errs);
  ValidateNonNegative(spec.min_ready_seconds(), kSpec.Child("minReadySeconds"), errs);
  ValidateOptionalNonNegative(spec.has_revision_history_limit(), spec.revision_history_limit(),
                              kSpec.Child("revisionHistoryLimit"), errs);
  if (!spec.service_name().empty()) {
    errs.InvalidEach(kSpec.Child("serviceName"), spec.service_name(), IsDNS1123Label(spec.service_name()));
  }
  ValidateSelectorAndTemplate("statefulset", spec.has_selector(), spec.selector(), spec.has_template_(),
                              spec.template_(), AlwaysRestart("StatefulSet"), errs);
}

void ValidateStatefulSetUpdate(const api::StatefulSet& s, const api::StatefulSet& old, Errors& errs) {
  ValidateObjectMetaUpdate(s.metadata(), old.metadata(), kMeta, errs);
  // Only these may change; the rest of the spec (selector, serviceName, volume claims...) is fixed.
  auto strip = [](api::StatefulSetSpec spec) {
    spec.clear_replicas();
    spec.clear_ordinals();
    spec.clear_template_();
    spec.clear_update_strategy();
    spec.clear_persistent_volume_claim_retention_policy();
    spec.clear_min_ready_seconds();
    return spec;
  };
  if (!SameMessage(strip(s.spec()), strip(old.spec()))) {
    errs.Forbidden(kSpec, "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                          "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden");
  }
}

void ValidateDaemonSet(const api::DaemonSet& d, Errors& errs) {
  ValidateObjectMeta(d.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  const api::DaemonSetSpec& spec = d.spec();
  ValidateSelectorAndTemplate("daemonset", spec.has_selector(), spec.selector(), spec.has_template_(), spec.template_(),
                              AlwaysRestart("DaemonSet"), errs);
  const Path strategy = kSpec.Child("updateStrategy");
  const std::string& type = spec.update_strategy().type();
  if (type.empty()) {
    errs.Required(strategy.Child("type"));
  } else if (type == "RollingUpdate") {
    if (!spec.update_strategy().has_rolling_update()) {
      errs.Required(strategy.Child("rollingUpdate"));
    } else {
      const auto& ru = spec.update_strategy().rolling_update();
      ValidateRollingUpdateBudget(ru.max_unavailable(), ru.max_surge(), strategy.Child("rollingUpdate"), errs);
      // Unlike a Deployment's, a DaemonSet's update either surges or takes nodes down.
      Errors scratch;
      bool percent = false;
      if (ValidateIntOrPercent(ru.max_unavailable(), Path("x"), scratch, &percent) > 0 &&
          ValidateIntOrPercent(ru.max_surge(), Path("x"), scratch, &percent) > 0) {
        errs.InvalidShown(strategy.Child("rollingUpdate").Child("maxSurge"), api::ToString(ru.max_surge()),
                          "may not be set when maxUnavailable is non-zero");
      }
    }
  } else if (type != "OnDelete") {
    errs.NotSupported(strategy.Child("type"), type, {"OnDelete", "RollingUpdate"});
  }
  ValidateNonNegative(spec.min_ready_seconds(), kSpec.Child("minReadySeconds"), errs);
  ValidateOptionalNonNegative(spec.has_revision_history_limit(), spec.revision_history_limit(),
                              kSpec.Child("revisionHistoryLimit"), errs);
}

void ValidateDaemonSetUpdate(const api::DaemonSet& d, const api::DaemonSet& old, Errors& errs) {
  ValidateObjectMetaUpdate(d.metadata(), old.metadata(), kMeta, errs);
  ValidateSelectorImmutable(d.spec().selector(), old.spec().selector(), errs);
}

void ValidateJobSpec(const api::JobSpec& spec, const Path& path, Errors& errs) {
  ValidateOptionalNonNegative(spec.has_parallelism(), spec.parallelism(), path.Child("parallelism"), errs);
  ValidateOptionalNonNegative(spec.has_completions(), spec.completions(), path.Child("completions"), errs);
  ValidateOptionalNonNegative(spec.has_backoff_limit(), spec.backoff_limit(), path.Child("backoffLimit"), errs);
  ValidateOptionalNonNegative(spec.has_ttl_seconds_after_finished(), spec.ttl_seconds_after_finished(),
                              path.Child("ttlSecondsAfterFinished"), errs);
  if (spec.has_active_deadline_seconds() && spec.active_deadline_seconds() <= 0) {
    errs.Invalid(path.Child("activeDeadlineSeconds"), spec.active_deadline_seconds(), kPositive);
  }
  if (spec.has_completion_mode()) {
    const std::string& mode = spec.completion_mode();
    if (mode != "NonIndexed" && mode != "Indexed") {
      errs.NotSupported(path.Child("completionMode"), mode, {"NonIndexed", "Indexed"});
    } else if (mode == "Indexed" && !spec.has_completions()) {
      errs.Required(path.Child("completions"), "when completion mode is Indexed");
    }
  }
  bool matches = true;
  const bool manual = spec.has_manual_selector() && spec.manual_selector();
  if (spec.has_selector()) {
    const size_t before = errs.size();
    ValidateLabelSelector(spec.selector(), path.Child("selector"), errs);
    if (errs.size() == before) matches = SelectorMatches(spec.selector(), spec.template_().metadata().labels());
  } else if (manual) {
    errs.Required(path.Child("selector"));
  }
  PodSpecRules rules;
  rules.restart_policies = {"OnFailure", "Never"};
  if (!spec.has_template_()) {
    errs.Required(path.Child("template"));
  } else {
    ValidatePodTemplate(spec.template_(), matches, rules, path.Child("template"), errs);
  }
}

void ValidateJob(const api::Job& job, Errors& errs) {
  ValidateObjectMeta(job.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  ValidateJobSpec(job.spec(), kSpec, errs);
}

void ValidateJobUpdate(const api::Job& job, const api::Job& old, Errors& errs) {
  ValidateObjectMetaUpdate(job.metadata(), old.metadata(), kMeta, errs);
  if (old.spec().has_selector()) ValidateSelectorImmutable(job.spec().selector(), old.spec().selector(), errs);
  if (!SameMessage(job.spec().template_(), old.spec().template_())) {
    errs.InvalidShown(kSpec.Child("template"), "core.PodTemplateSpec{...}", kImmutable);
  }
  if (job.spec().has_completions() != old.spec().has_completions() ||
      job.spec().completions() != old.spec().completions()) {
    errs.Invalid(kSpec.Child("completions"), job.spec().completions(), kImmutable);
  }
}

}  // namespace ksim::apiserver
