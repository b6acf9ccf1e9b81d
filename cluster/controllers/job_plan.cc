#include "cluster/controllers/job_plan.h"

#include <fmt/format.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>

#include "cluster/controllers/replica_set.h"

namespace ksim::controllers {
namespace {

struct Verdict {
  std::string reason;
  std::string message;
};

int IndexFailureCount(const api::Pod& pod) {
  auto it = pod.metadata().annotations().find(kJobIndexFailureCount);
  if (it == pod.metadata().annotations().end()) return 0;
  int v = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return ec == std::errc() && v >= 0 ? v : 0;
}

bool Terminating(const api::Pod& p) { return p.metadata().has_deletion_timestamp() && !JobPodTerminal(p); }
bool Active(const api::Pod& p) { return !p.metadata().has_deletion_timestamp() && !JobPodTerminal(p); }

api::Pod NewPod(const api::Job& job, std::optional<int32_t> index, int failure_count) {
  const api::PodTemplateSpec& tmpl = job.spec().template_();
  const api::ObjectMeta& om = job.metadata();
  api::Pod pod;
  auto* meta = pod.mutable_metadata();
  *meta->mutable_labels() = tmpl.metadata().labels();
  *meta->mutable_annotations() = tmpl.metadata().annotations();
  *meta->mutable_finalizers() = tmpl.metadata().finalizers();
  meta->add_finalizers(kJobTrackingFinalizer);
  meta->set_namespace_(om.namespace_());
  auto* ref = meta->add_owner_references();
  ref->set_api_version("batch/v1");
  ref->set_kind("Job");
  ref->set_name(om.name());
  ref->set_uid(om.uid());
  ref->set_controller(true);
  ref->set_block_owner_deletion(true);
  *pod.mutable_spec() = tmpl.spec();
  if (!index) {
    meta->set_generate_name(om.name() + "-");
    return pod;
  }
  const std::string ix = std::to_string(*index);
  meta->set_generate_name(fmt::format("{}-{}-", om.name(), ix));
  (*meta->mutable_annotations())[kJobCompletionIndex] = ix;
  (*meta->mutable_labels())[kJobCompletionIndex] = ix;
  if (job.spec().has_backoff_limit_per_index()) {
    (*meta->mutable_annotations())[kJobIndexFailureCount] = std::to_string(failure_count);
  }
  if (pod.spec().hostname().empty()) pod.mutable_spec()->set_hostname(fmt::format("{}-{}", om.name(), ix));
  for (auto* list : {pod.mutable_spec()->mutable_containers(), pod.mutable_spec()->mutable_init_containers()}) {
    for (auto& c : *list) {
      auto* env = c.add_env();
      env->set_name("JOB_COMPLETION_INDEX");
      env->set_value(ix);
    }
  }
  return pod;
}

}  // namespace

JobPlan PlanJob(const JobPlanInput& in) {
  const api::Job& job = *in.job;
  const api::JobSpec& spec = job.spec();
  JobPlan plan;
  plan.status = job.status();
  api::JobStatus& st = plan.status;

  if (JobFinished(job)) {  // nothing more to do than let the pods go
    for (const auto& p : in.pods) {
      if (HasJobFinalizer(*p)) plan.release.push_back(p);
    }
    return plan;
  }

  const bool indexed = spec.completion_mode() == "Indexed";
  const int32_t parallelism = spec.has_parallelism() ? spec.parallelism() : 1;
  const int32_t completions = spec.completions();
  const int32_t backoff_limit = spec.has_backoff_limit() ? spec.backoff_limit() : 6;
  const bool per_index = indexed && spec.has_backoff_limit_per_index();
  // podReplacementPolicy Failed (the default with a pod failure policy): a terminating
  // pod is neither replaced nor counted failed until it is Failed.
  const bool only_failed = spec.has_pod_replacement_policy() ? spec.pod_replacement_policy() == "Failed"
                                                             : spec.has_pod_failure_policy();

  // ---- Accounting: uncounted uids whose pods lost the finalizer are counted now.
  std::map<std::string, JobPodPtr> by_uid;
  for (const auto& p : in.pods) by_uid[p->metadata().uid()] = p;
  const auto flushable = [&by_uid](const std::string& uid) {
    auto it = by_uid.find(uid);
    return it == by_uid.end() || !HasJobFinalizer(*it->second);
  };
  std::set<std::string> unc_s, unc_f;
  for (const auto& uid : job.status().uncounted_terminated_pods().succeeded()) {
    if (flushable(uid)) {
      st.set_succeeded(st.succeeded() + 1);
    } else {
      unc_s.insert(uid);
    }
  }
  for (const auto& uid : job.status().uncounted_terminated_pods().failed()) {
    if (flushable(uid)) {
      st.set_failed(st.failed() + 1);
    } else {
      unc_f.insert(uid);
    }
  }
  std::set<int32_t> completed = indexed ? ParseIndexes(st.completed_indexes(), completions) : std::set<int32_t>{};
  std::set<int32_t> failed_idx = per_index ? ParseIndexes(st.failed_indexes(), completions) : std::set<int32_t>{};

  std::optional<Verdict> fail;
  if (const auto* c = JobConditionTrue(job, "FailureTarget")) fail = Verdict{c->reason(), c->message()};
  bool success = JobConditionTrue(job, "SuccessCriteriaMet") != nullptr;

  // ---- Newly finished pods (with the finalizer, not yet recorded).
  for (const auto& p : in.pods) {
    if (!HasJobFinalizer(*p)) continue;
    const std::string& uid = p->metadata().uid();
    if (unc_s.count(uid) != 0 || unc_f.count(uid) != 0) {
      plan.release.push_back(p);
      continue;
    }
    const std::string& phase = p->status().phase();
    const std::optional<int32_t> idx = indexed ? PodCompletionIndex(*p) : std::nullopt;
    if (phase == "Succeeded") {
      if (!indexed) {
        unc_s.insert(uid);
        ++plan.new_successes;
      } else if (idx && *idx < completions && completed.insert(*idx).second) {
        ++plan.new_successes;  // the index is the record: counted once however often it shows
      }
      plan.release.push_back(p);
      continue;
    }
    const bool failed = phase == "Failed" || (!only_failed && p->metadata().has_deletion_timestamp());
    if (!failed) continue;
    std::optional<PolicyMatch> m;
    if (spec.has_pod_failure_policy() && phase == "Failed") m = MatchPodFailurePolicy(spec.pod_failure_policy(), *p);
    plan.release.push_back(p);
    if (m && m->action == "Ignore") {
      plan.log.push_back("ignored failure: " + m->message);
      continue;
    }
    unc_f.insert(uid);
    ++plan.new_failures;
    if (m && m->action == "FailJob" && !fail && !success) fail = Verdict{"PodFailurePolicy", m->message};
    if (per_index && idx && *idx < completions && completed.count(*idx) == 0) {
      if ((m && m->action == "FailIndex") || IndexFailureCount(*p) + 1 > spec.backoff_limit_per_index()) {
        failed_idx.insert(*idx);
      }
    }
  }
  auto* unc = st.mutable_uncounted_terminated_pods();
  unc->clear_succeeded();
  unc->clear_failed();
  for (const auto& uid : unc_s) unc->add_succeeded(uid);
  for (const auto& uid : unc_f) unc->add_failed(uid);
  if (indexed) {
    st.set_completed_indexes(FormatIndexes(completed));
    st.set_succeeded(static_cast<int32_t>(completed.size()));
  }
  if (per_index) st.set_failed_indexes(FormatIndexes(failed_idx));
  const int64_t succeeded = indexed ? static_cast<int64_t>(completed.size()) : st.succeeded() + static_cast<int64_t>(unc_s.size());
  const int64_t failed = st.failed() + static_cast<int64_t>(unc_f.size());
  const bool all_counted = unc_s.empty() && unc_f.empty();

  std::vector<JobPodPtr> active;
  int terminating = 0;
  for (const auto& p : in.pods) {
    if (Active(*p)) active.push_back(p);
    terminating += Terminating(*p) ? 1 : 0;
  }
  const bool suspended = spec.has_suspend() && spec.suspend();

  // ---- Failure and success criteria.
  if (!fail && !success) {
    if (failed > backoff_limit) {
      fail = Verdict{"BackoffLimitExceeded", "Job has reached the specified backoff limit"};
    } else if (per_index && spec.has_max_failed_indexes() && static_cast<int>(failed_idx.size()) > spec.max_failed_indexes()) {
      fail = Verdict{"MaxFailedIndexesExceeded", "Job has exceeded the specified maximal number of failed indexes"};
    } else if (spec.has_active_deadline_seconds() && st.has_start_time() && !suspended) {
      const int64_t left = st.start_time().seconds() + spec.active_deadline_seconds() - in.now_seconds;
      if (left <= 0) {
        fail = Verdict{"DeadlineExceeded", "Job was active longer than specified deadline"};
      } else {
        plan.requeue_after = Seconds(left);
      }
    }
  }
  if (!fail && !success) {
    if (indexed) {
      if (static_cast<int64_t>(completed.size() + failed_idx.size()) >= completions) {
        if (failed_idx.empty()) {
          success = true;
        } else {
          fail = Verdict{"FailedIndexes", "Job has failed indexes"};
        }
      }
    } else if (spec.has_completions()) {
      success = succeeded >= completions;
    } else {
      success = succeeded > 0 && active.empty();
    }
  }

  const int64_t now = in.now_seconds;
  std::vector<JobPodPtr> keep;
  if (fail || success) {
    // Kubernetes >= 1.31: FailureTarget / SuccessCriteriaMet first; Failed / Complete once
    // no pod runs or terminates and every finished pod is counted.
    if (fail) SetJobCondition(&st, "FailureTarget", "True", fail->reason, fail->message, now);
    if (success) {
      SetJobCondition(&st, "SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods", now);
    }
    plan.remove = active;
    if (active.empty() && terminating == 0 && all_counted) {
      if (fail) {
        SetJobCondition(&st, "Failed", "True", fail->reason, fail->message, now);
        plan.events.emplace_back("Warning", fail->reason, fail->message);
      } else {
        SetJobCondition(&st, "Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods", now);
        st.mutable_completion_time()->set_seconds(now);
        plan.events.emplace_back("Normal", "Completed", "Job completed");
      }
    }
    plan.requeue_after = Nanos(0);
  } else if (suspended) {
    if (JobConditionTrue(job, "Suspended") == nullptr) {
      SetJobCondition(&st, "Suspended", "True", "JobSuspended", "Job suspended", now);
      plan.events.emplace_back("Normal", "Suspended", "Job suspended");
    }
    plan.remove = active;
  } else {
    if (JobConditionTrue(job, "Suspended") != nullptr) {
      SetJobCondition(&st, "Suspended", "False", "JobResumed", "Job resumed", now);
      plan.events.emplace_back("Normal", "Resumed", "Job resumed");
      st.mutable_start_time()->set_seconds(now);  // the deadline counts from the resume
    }
    if (!st.has_start_time()) st.mutable_start_time()->set_seconds(now);
    if (spec.has_active_deadline_seconds() && plan.requeue_after == Nanos(0)) {
      plan.requeue_after = Seconds(std::max<int64_t>(1, st.start_time().seconds() + spec.active_deadline_seconds() - now));
    }
    // Back-off: 10 s doubling per failure since the last success, from the last failure.
    JobBackoffRecord rec = in.backoff;
    if (plan.new_successes > 0) rec.failures = 0;
    if (plan.new_failures > 0) {
      rec.failures += plan.new_failures;
      rec.last_failure = in.now;
    }
    const Nanos wait = rec.failures > 0 ? rec.last_failure + JobBackoff(rec.failures) - in.now : Nanos(0);
    const auto requeue = [&plan](Nanos d) {
      if (plan.requeue_after == Nanos(0) || d < plan.requeue_after) plan.requeue_after = d;
    };
    const int held = only_failed ? terminating : 0;  // terminating pods not yet replaced
    if (!indexed) {
      const int64_t want = spec.has_completions() ? std::min<int64_t>(parallelism, std::max<int64_t>(0, completions - succeeded))
                                                  : (succeeded > 0 ? static_cast<int64_t>(active.size()) : parallelism);
      const int64_t have = static_cast<int64_t>(active.size()) + held;
      if (have > want) {
        std::vector<JobPodPtr> victims = active;
        std::sort(victims.begin(), victims.end(), [](const JobPodPtr& a, const JobPodPtr& b) { return DeleteBefore(*a, *b); });
        victims.resize(static_cast<size_t>(std::min<int64_t>(have - want, static_cast<int64_t>(victims.size()))));
        plan.remove = victims;
      } else if (have < want) {
        if (wait > Nanos(0)) {
          requeue(wait);
        } else {
          for (int64_t i = have; i < want; ++i) plan.create.push_back(NewPod(job, std::nullopt, 0));
        }
      }
    } else {
      std::map<int32_t, std::vector<JobPodPtr>> by_index;
      std::set<int32_t> used;
      for (const auto& p : in.pods) {
        const auto idx = PodCompletionIndex(*p);
        if (Active(*p)) {
          if (!idx || *idx >= completions || completed.count(*idx) != 0 || failed_idx.count(*idx) != 0) {
            plan.remove.push_back(p);  // an index with nothing left to do
          } else if (!by_index[*idx].empty()) {
            plan.remove.push_back(p);  // a duplicate of an index that runs already
          } else {
            by_index[*idx].push_back(p);
            used.insert(*idx);
          }
        } else if (only_failed && Terminating(*p) && idx) {
          used.insert(*idx);
        }
      }
      int64_t running = 0;
      for (const auto& [i, ps] : by_index) running += static_cast<int64_t>(ps.size());
      int64_t room = parallelism - running - held;
      for (auto it = by_index.rbegin(); room < 0 && it != by_index.rend(); ++it, ++room) {
        plan.remove.push_back(it->second.front());
      }
      std::map<int32_t, int> failures;  // per index, for backoffLimitPerIndex
      if (per_index) {
        for (const auto& p : in.pods) {
          const auto idx = PodCompletionIndex(*p);
          if (idx) failures[*idx] = std::max(failures[*idx], IndexFailureCount(*p) + (p->status().phase() == "Failed" ? 1 : 0));
        }
      }
      for (int32_t i = 0; i < completions && room > 0; ++i) {
        if (completed.count(i) != 0 || failed_idx.count(i) != 0 || used.count(i) != 0) continue;
        if (wait > Nanos(0)) {
          requeue(wait);
          break;
        }
        plan.create.push_back(NewPod(job, i, failures[i]));
        --room;
      }
    }
  }

  // ---- Status counters.
  std::set<std::string> removed;
  for (const auto& p : plan.remove) removed.insert(p->metadata().uid());
  int32_t act = 0, ready = 0;
  for (const auto& p : active) {
    if (removed.count(p->metadata().uid()) != 0) continue;
    ++act;
    ready += PodReady(*p) ? 1 : 0;
  }
  st.set_active(act);
  st.set_ready(ready);
  st.set_terminating(terminating + static_cast<int32_t>(removed.size()));
  plan.status_changed = !google::protobuf::util::MessageDifferencer::Equals(st, job.status());
  return plan;
}

}  // namespace ksim::controllers
