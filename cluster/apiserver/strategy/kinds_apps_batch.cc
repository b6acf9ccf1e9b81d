// ControllerRevision, CronJob, HorizontalPodAutoscaler (autoscaling/v2) and
// PodDisruptionBudget (policy/v1): Kubernetes' defaults and main validation rules.
#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "cluster/api/codec.h"
#include "cluster/apiserver/strategy/more_kinds.h"
#include "cluster/apiserver/strategy/validation.h"
#include "cluster/controllers/cron_time_zone.h"

namespace ksim::apiserver {
namespace {

const Path kSpec("spec");
const Path kMeta("metadata");

size_t At(int i) { return static_cast<size_t>(i); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ---------------------------------------------------------------- cron schedules

std::vector<std::string> SplitFields(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep || (sep == ' ' && c == '\t')) {
      if (sep != ' ' || !cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (sep != ' ' || !cur.empty()) out.push_back(cur);
  return out;
}

// A number or (month, weekday) a three-letter name; false and a robfig/cron-style message if not.
bool CronValue(const std::string& text, const std::vector<std::string_view>& names, int first, int* out,
               std::string* err) {
  const std::string lower = Lower(text);
  for (size_t i = 0; i < names.size(); ++i) {
    if (lower == names[i]) {
      *out = first + static_cast<int>(i);
      return true;
    }
  }
  if (text.empty() || text.size() > 9) {
    *err = "failed to parse int from " + text;
    return false;
  }
  int v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      *err = "failed to parse int from " + text;
      return false;
    }
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// One field of a standard 5-field schedule: "*", "?", "a", "a-b", each with an optional
// "/step", separated by commas (robfig/cron's standard parser, which Kubernetes uses).
bool CronField(const std::string& field, int min, int max, const std::vector<std::string_view>& names,
               std::string* err) {
  for (const std::string& part : SplitFields(field, ',')) {
    std::vector<std::string> step = SplitFields(part, '/');
    if (step.size() > 2) {
      *err = "too many slashes: " + part;
      return false;
    }
    int lo = min;
    int hi = max;
    if (step[0] != "*" && step[0] != "?") {
      std::vector<std::string> range = SplitFields(step[0], '-');
      if (range.size() > 2) {
        *err = "too many hyphens: " + part;
        return false;
      }
      if (!CronValue(range[0], names, min, &lo, err)) return false;
      hi = lo;
      if (range.size() == 2 && !CronValue(range[1], names, min, &hi, err)) return false;
    }
    if (step.size() == 2) {
      int n = 0;
      if (!CronValue(step[1], {}, 0, &n, err)) return false;
      if (n == 0) {
        *err = "step of range should be a positive number: " + part;
        return false;
      }
    }
    if (lo < min) {
      *err = "beginning of range (" + std::to_string(lo) + ") below minimum (" + std::to_string(min) + "): " + part;
      return false;
    }
    if (hi > max) {
      *err = "end of range (" + std::to_string(hi) + ") above maximum (" + std::to_string(max) + "): " + part;
      return false;
    }
    if (lo > hi) {
      *err = "beginning of range (" + std::to_string(lo) + ") beyond end of range (" + std::to_string(hi) +
             "): " + part;
      return false;
    }
  }
  return true;
}

// "" if `schedule` parses as a standard cron schedule, else the parser's message.
std::string CronScheduleError(std::string_view schedule) {
  if (!schedule.empty() && schedule[0] == '@') {
    static const std::vector<std::string_view> kDescriptors = {"@yearly", "@annually", "@monthly", "@weekly",
                                                               "@daily",  "@midnight", "@hourly"};
    for (std::string_view d : kDescriptors) {
      if (schedule == d) return "";
    }
    if (schedule.substr(0, 7) == "@every ") return "";
    return "unrecognized descriptor: " + std::string(schedule);
  }
  const std::vector<std::string> fields = SplitFields(schedule, ' ');
  if (fields.size() != 5) {
    std::string shown = "[";
    for (size_t i = 0; i < fields.size(); ++i) shown += (i ? " " : "") + fields[i];
    return "expected exactly 5 fields, found " + std::to_string(fields.size()) + ": " + shown + "]";
  }
  static const std::vector<std::string_view> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                        "jul", "aug", "sep", "oct", "nov", "dec"};
  static const std::vector<std::string_view> kDays = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  std::string err;
  if (!CronField(fields[0], 0, 59, {}, &err) || !CronField(fields[1], 0, 23, {}, &err) ||
      !CronField(fields[2], 1, 31, {}, &err) || !CronField(fields[3], 1, 12, kMonths, &err) ||
      !CronField(fields[4], 0, 6, kDays, &err)) {
    return err;
  }
  return "";
}

// Kubernetes' check of an IANA zone name (the characters; whether the zone exists would need
// the host's tz database, which ksim does not read).
bool ZoneNameValid(std::string_view tz) {
  for (const std::string& part : SplitFields(tz, '/')) {
    if (part.empty() || part.size() > 14 || part == "." || part == ".." || part[0] == '-') return false;
    for (char c : part) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_' && c != '+') return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------- HPA

void DefaultScalingRules(api::HPAScalingRules* rules, bool up) {
  if (!rules->has_select_policy()) rules->set_select_policy("Max");
  // The scale-down window stays unset: the controller's flag decides it (300 s by default).
  if (up && !rules->has_stabilization_window_seconds()) rules->set_stabilization_window_seconds(0);
  if (rules->policies().empty()) {
    if (up) {
      api::HPAScalingPolicy* pods = rules->add_policies();
      pods->set_type("Pods");
      pods->set_value(4);
      pods->set_period_seconds(15);
    }
    api::HPAScalingPolicy* percent = rules->add_policies();
    percent->set_type("Percent");
    percent->set_value(100);
    percent->set_period_seconds(15);
  }
}

void ValidateCrossVersionRef(const api::CrossVersionObjectReference& ref, const Path& path, Errors& errs) {
  if (ref.kind().empty()) {
    errs.Required(path.Child("kind"));
  } else {
    errs.InvalidEach(path.Child("kind"), ref.kind(), IsValidPathSegmentName(ref.kind()));
  }
  if (ref.name().empty()) {
    errs.Required(path.Child("name"));
  } else {
    errs.InvalidEach(path.Child("name"), ref.name(), IsValidPathSegmentName(ref.name()));
  }
}

bool QuantityPositive(const std::string& q) { return CompareQuantities(q, "0").value_or(0) > 0; }

void ValidateMetricTarget(const api::MetricTarget& t, const Path& path, Errors& errs) {
  if (t.type().empty()) errs.Required(path.Child("type"), "must specify a metric target type");
  if (t.type() != "Utilization" && t.type() != "Value" && t.type() != "AverageValue") {
    errs.Invalid(path.Child("type"), t.type(), "must be either Utilization, Value, or AverageValue");
  }
  if (t.has_value() && ParseQuantityField(t.value(), path.Child("value"), errs, true) && !QuantityPositive(t.value())) {
    errs.Invalid(path.Child("value"), t.value(), "must be positive");
  }
  if (t.has_average_value() && ParseQuantityField(t.average_value(), path.Child("averageValue"), errs, true) &&
      !QuantityPositive(t.average_value())) {
    errs.Invalid(path.Child("averageValue"), t.average_value(), "must be positive");
  }
  if (t.has_average_utilization() && t.average_utilization() < 1) {
    errs.Invalid(path.Child("averageUtilization"), t.average_utilization(), "must be greater than 0");
  }
}

void ValidateMetricIdentifier(const api::MetricIdentifier& id, const Path& path, Errors& errs) {
  if (id.name().empty()) {
    errs.Required(path.Child("name"), "must specify a metric name");
  } else {
    errs.InvalidEach(path.Child("name"), id.name(), IsValidPathSegmentName(id.name()));
  }
  if (id.has_selector()) ValidateLabelSelector(id.selector(), path.Child("selector"), errs);
}

// Resource and ContainerResource targets: exactly one of utilization and raw average value.
void ValidateResourceTarget(const api::MetricTarget& t, const Path& path, Errors& errs) {
  ValidateMetricTarget(t, path, errs);
  if (!t.has_average_utilization() && !t.has_average_value()) {
    errs.Required(path.Child("averageUtilization"), "must set either a target raw value or a target utilization");
  } else if (t.has_average_utilization() && t.has_average_value()) {
    errs.Forbidden(path.Child("averageValue"), "may not set both a target raw value and a target utilization");
  }
}

void ValidateMetricSpec(const api::MetricSpec& m, const Path& path, Errors& errs) {
  static const std::vector<std::string_view> kTypes = {"ContainerResource", "External", "Object", "Pods", "Resource"};
  const std::vector<std::string_view> set = SetSources(m);
  std::string expected;  // the source field the type names ("Pods" -> "pods")
  if (m.type().empty()) {
    errs.Required(path.Child("type"), "must specify a metric source type");
  } else if (std::find(kTypes.begin(), kTypes.end(), m.type()) == kTypes.end()) {
    errs.NotSupported(path.Child("type"), m.type(), kTypes);
  } else {
    expected = m.type();
    expected[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(expected[0])));
    if (std::find(set.begin(), set.end(), expected) == set.end()) {
      errs.Required(path.Child(expected), "must populate information for the given metric source");
    }
  }
  // As Kubernetes: only when several sources are set, each but the type's own is forbidden.
  if (set.size() > 1) {
    for (std::string_view source : set) {
      if (source != expected) errs.Forbidden(path.Child(source), "must populate the given metric source only");
    }
  }
  if (m.has_object()) {
    const Path p = path.Child("object");
    ValidateCrossVersionRef(m.object().described_object(), p.Child("describedObject"), errs);
    ValidateMetricIdentifier(m.object().metric(), p.Child("metric"), errs);
    ValidateMetricTarget(m.object().target(), p.Child("target"), errs);
    if (!m.object().target().has_value() && !m.object().target().has_average_value()) {
      errs.Required(p.Child("target").Child("averageValue"), "must set either a target value or averageValue");
    }
  }
  if (m.has_pods()) {
    const Path p = path.Child("pods");
    ValidateMetricIdentifier(m.pods().metric(), p.Child("metric"), errs);
    ValidateMetricTarget(m.pods().target(), p.Child("target"), errs);
    if (!m.pods().target().has_average_value()) {
      errs.Required(p.Child("target").Child("averageValue"), "must specify a positive target averageValue");
    }
  }
  if (m.has_external()) {
    const Path p = path.Child("external");
    ValidateMetricIdentifier(m.external().metric(), p.Child("metric"), errs);
    ValidateMetricTarget(m.external().target(), p.Child("target"), errs);
    if (!m.external().target().has_value() && !m.external().target().has_average_value()) {
      errs.Required(p.Child("target").Child("averageValue"), "must set either a target value for metric or a per-pod target");
    }
  }
  if (m.has_resource()) {
    const Path p = path.Child("resource");
    if (m.resource().name().empty()) errs.Required(p.Child("name"), "must specify a resource name");
    ValidateResourceTarget(m.resource().target(), p.Child("target"), errs);
  }
  if (m.has_container_resource()) {
    const Path p = path.Child("containerResource");
    const api::ContainerResourceMetricSource& c = m.container_resource();
    if (c.name().empty()) errs.Required(p.Child("name"), "must specify a resource name");
    if (c.container().empty()) {
      errs.Required(p.Child("container"), "must specify a container");
    } else {
      errs.InvalidEach(p.Child("container"), c.container(), IsDNS1123Label(c.container()));
    }
    ValidateResourceTarget(c.target(), p.Child("target"), errs);
  }
}

void ValidateScalingRules(const api::HPAScalingRules& r, const Path& path, Errors& errs) {
  if (r.has_stabilization_window_seconds()) {
    const int32_t w = r.stabilization_window_seconds();
    if (w < 0) errs.Invalid(path.Child("stabilizationWindowSeconds"), w, "must be greater than or equal to zero");
    if (w > 3600) errs.Invalid(path.Child("stabilizationWindowSeconds"), w, "must be less than or equal to 3600");
  }
  if (r.has_select_policy() && r.select_policy() != "Max" && r.select_policy() != "Min" &&
      r.select_policy() != "Disabled") {
    errs.NotSupported(path.Child("selectPolicy"), r.select_policy(), {"Disabled", "Max", "Min"});
  }
  if (r.policies().empty()) errs.Required(path.Child("policies"), "must specify at least one Policy");
  for (int i = 0; i < r.policies_size(); ++i) {
    const api::HPAScalingPolicy& p = r.policies(i);
    const Path pp = path.Child("policies").Index(At(i));
    if (p.type() != "Pods" && p.type() != "Percent") errs.NotSupported(pp.Child("type"), p.type(), {"Percent", "Pods"});
    if (p.value() <= 0) errs.Invalid(pp.Child("value"), p.value(), "must be greater than zero");
    if (p.period_seconds() <= 0) {
      errs.Invalid(pp.Child("periodSeconds"), p.period_seconds(), "must be greater than zero");
    } else if (p.period_seconds() > 1800) {
      errs.Invalid(pp.Child("periodSeconds"), p.period_seconds(), "must be less than or equal to 1800");
    }
  }
}

}  // namespace

std::vector<std::string_view> SetSources(const google::protobuf::Message& message,
                                         const std::vector<std::string_view>& skip) {
  std::vector<std::string_view> out;
  const google::protobuf::Descriptor* d = message.GetDescriptor();
  const google::protobuf::Reflection* r = message.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    if (f->is_repeated() || f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (std::find(skip.begin(), skip.end(), f->json_name()) != skip.end()) continue;
    if (r->HasField(message, f)) out.push_back(f->json_name());
  }
  return out;
}

// ---------------------------------------------------------------- ControllerRevision

void ValidateControllerRevision(const api::ControllerRevision& cr, Errors& errs) {
  ValidateObjectMeta(cr.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  if (!cr.has_data()) errs.Required(Path("data"), "data is mandatory");
  ValidateNonNegative(cr.revision(), Path("revision"), errs);
}

void ValidateControllerRevisionUpdate(const api::ControllerRevision& cr, const api::ControllerRevision& old,
                                      Errors& errs) {
  ValidateObjectMetaUpdate(cr.metadata(), old.metadata(), kMeta, errs);
  if (!SameMessage(cr.data(), old.data())) errs.InvalidShown(Path("data"), "runtime.RawExtension{...}", kImmutable);
}

// ---------------------------------------------------------------- CronJob

void DefaultCronJob(api::CronJob& cj) {
  api::CronJobSpec& spec = *cj.mutable_spec();
  if (spec.concurrency_policy().empty()) spec.set_concurrency_policy("Allow");
  if (!spec.has_suspend()) spec.set_suspend(false);
  if (!spec.has_successful_jobs_history_limit()) spec.set_successful_jobs_history_limit(3);
  if (!spec.has_failed_jobs_history_limit()) spec.set_failed_jobs_history_limit(1);
  // A job template's pod spec gets the pod defaults; the Job defaults wait for the Job.
  DefaultPodSpec(*spec.mutable_job_template()->mutable_spec()->mutable_template_()->mutable_spec(), false);
}

void ValidateCronJob(const api::CronJob& cj, Errors& errs) {
  ValidateObjectMeta(cj.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  // Job names get an 11-character suffix and must stay DNS labels.
  if (cj.metadata().name().size() > 52) {
    errs.Invalid(kMeta.Child("name"), cj.metadata().name(), "must be no more than 52 characters");
  }
  const api::CronJobSpec& spec = cj.spec();
  const Path schedule = kSpec.Child("schedule");
  if (spec.schedule().empty()) {
    errs.Required(schedule);
  } else if (spec.schedule().find("TZ") != std::string::npos) {
    errs.Invalid(schedule, spec.schedule(), "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  } else if (std::string err = CronScheduleError(spec.schedule()); !err.empty()) {
    errs.Invalid(schedule, spec.schedule(), err);
  }
  if (spec.has_time_zone()) {
    const Path tz = kSpec.Child("timeZone");
    if (spec.time_zone().empty()) {
      errs.Invalid(tz, spec.time_zone(), "timeZone must be nil or non-empty string");
    } else if (Lower(spec.time_zone()) == "local") {
      errs.Invalid(tz, spec.time_zone(), "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones");
    } else if (!ZoneNameValid(spec.time_zone())) {
      errs.Invalid(tz, spec.time_zone(), "unknown time zone " + spec.time_zone());
    } else if (controllers::CronTimeZone zone; !controllers::CronTimeZone::Load(spec.time_zone(), &zone).ok()) {
      // Kubernetes loads the zone (time.LoadLocation) from the apiserver's tz database.
      errs.Invalid(tz, spec.time_zone(), "unknown time zone " + spec.time_zone());
    }
  }
  if (spec.has_starting_deadline_seconds()) {
    ValidateNonNegative(spec.starting_deadline_seconds(), kSpec.Child("startingDeadlineSeconds"), errs);
  }
  const std::string& policy = spec.concurrency_policy();
  if (policy.empty()) {
    errs.Required(kSpec.Child("concurrencyPolicy"));
  } else if (policy != "Allow" && policy != "Forbid" && policy != "Replace") {
    errs.NotSupported(kSpec.Child("concurrencyPolicy"), policy, {"Allow", "Forbid", "Replace"});
  }
  if (spec.has_successful_jobs_history_limit()) {
    ValidateNonNegative(spec.successful_jobs_history_limit(), kSpec.Child("successfulJobsHistoryLimit"), errs);
  }
  if (spec.has_failed_jobs_history_limit()) {
    ValidateNonNegative(spec.failed_jobs_history_limit(), kSpec.Child("failedJobsHistoryLimit"), errs);
  }
  const Path tmpl = kSpec.Child("jobTemplate");
  ValidateLabels(spec.job_template().metadata().labels(), tmpl.Child("metadata").Child("labels"), errs);
  const api::JobSpec& job = spec.job_template().spec();
  if (job.has_manual_selector() && job.manual_selector()) {
    errs.NotSupported(tmpl.Child("spec").Child("manualSelector"), "true", {"nil", "false"});
  }
  ValidateJobSpec(job, tmpl.Child("spec"), errs);
}

// ---------------------------------------------------------------- HorizontalPodAutoscaler

void DefaultHorizontalPodAutoscaler(api::HorizontalPodAutoscaler& hpa) {
  api::HorizontalPodAutoscalerSpec& spec = *hpa.mutable_spec();
  if (!spec.has_min_replicas()) spec.set_min_replicas(1);
  if (spec.metrics().empty()) {
    api::MetricSpec* cpu = spec.add_metrics();
    cpu->set_type("Resource");
    cpu->mutable_resource()->set_name("cpu");
    cpu->mutable_resource()->mutable_target()->set_type("Utilization");
    cpu->mutable_resource()->mutable_target()->set_average_utilization(80);
  }
  // With a behavior, both directions are filled in; without one, the controller's defaults hold.
  if (spec.has_behavior()) {
    DefaultScalingRules(spec.mutable_behavior()->mutable_scale_up(), true);
    DefaultScalingRules(spec.mutable_behavior()->mutable_scale_down(), false);
  }
}

void ValidateHorizontalPodAutoscaler(const api::HorizontalPodAutoscaler& hpa, Errors& errs) {
  ValidateObjectMeta(hpa.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  const api::HorizontalPodAutoscalerSpec& spec = hpa.spec();
  ValidateCrossVersionRef(spec.scale_target_ref(), kSpec.Child("scaleTargetRef"), errs);
  if (spec.has_min_replicas() && spec.min_replicas() < 1) {
    errs.Invalid(kSpec.Child("minReplicas"), spec.min_replicas(), "must be greater than or equal to 1");
  }
  if (spec.max_replicas() < 1) {
    errs.Invalid(kSpec.Child("maxReplicas"), spec.max_replicas(), "must be greater than 0");
  }
  if (spec.has_min_replicas() && spec.max_replicas() < spec.min_replicas()) {
    errs.Invalid(kSpec.Child("maxReplicas"), spec.max_replicas(), "must be greater than or equal to `minReplicas`");
  }
  for (int i = 0; i < spec.metrics_size(); ++i) {
    ValidateMetricSpec(spec.metrics(i), kSpec.Child("metrics").Index(At(i)), errs);
  }
  if (spec.has_behavior()) {
    const Path b = kSpec.Child("behavior");
    if (spec.behavior().has_scale_up()) ValidateScalingRules(spec.behavior().scale_up(), b.Child("scaleUp"), errs);
    if (spec.behavior().has_scale_down()) {
      ValidateScalingRules(spec.behavior().scale_down(), b.Child("scaleDown"), errs);
    }
  }
}

// ---------------------------------------------------------------- PodDisruptionBudget

void ValidatePodDisruptionBudget(const api::PodDisruptionBudget& pdb, Errors& errs) {
  ValidateObjectMeta(pdb.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  const api::PodDisruptionBudgetSpec& spec = pdb.spec();
  if (spec.has_min_available() && spec.has_max_unavailable()) {
    errs.InvalidShown(kSpec, "policy.PodDisruptionBudgetSpec{...}", "minAvailable and maxUnavailable cannot be both set");
  }
  const auto budget = [&](const api::IntOrString& v, std::string_view name) {
    bool percent = false;
    const int64_t n = ValidateIntOrPercent(v, kSpec.Child(name), errs, &percent);
    if (percent && n > 100) errs.Invalid(kSpec.Child(name), v.str_val(), "must not be greater than 100%");
  };
  if (spec.has_min_available()) budget(spec.min_available(), "minAvailable");
  if (spec.has_max_unavailable()) budget(spec.max_unavailable(), "maxUnavailable");
  // An empty selector is valid in policy/v1: it selects every pod of the namespace.
  if (spec.has_selector()) ValidateLabelSelector(spec.selector(), kSpec.Child("selector"), errs);
  if (spec.has_unhealthy_pod_eviction_policy()) {
    const std::string& p = spec.unhealthy_pod_eviction_policy();
    if (p != "IfHealthyBudget" && p != "AlwaysAllow") {
      errs.NotSupported(kSpec.Child("unhealthyPodEvictionPolicy"), p, {"AlwaysAllow", "IfHealthyBudget"});
    }
  }
}

}  // namespace ksim::apiserver
