// Pure helpers of the Job controller (job.cc), kept apart so tests reach them: index sets
// in Kubernetes' range syntax ("1,3-5"), the back-off before recreating failed pods, the
// pod failure policy's rule matching, and the labels and annotations Jobs put on pods.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "cluster/api/batch.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/env/time.h"

namespace ksim::controllers {

inline constexpr char kJobControllerName[] = "job";
inline constexpr char kTtlAfterFinishedControllerName[] = "ttl-after-finished";
inline constexpr char kJobTrackingFinalizer[] = "batch.kubernetes.io/job-tracking";
inline constexpr char kJobCompletionIndex[] = "batch.kubernetes.io/job-completion-index";
inline constexpr char kJobIndexFailureCount[] = "batch.kubernetes.io/job-index-failure-count";
inline constexpr char kJobControllerUid[] = "batch.kubernetes.io/controller-uid";
inline constexpr char kJobName[] = "batch.kubernetes.io/job-name";

// "1,3-5" <-> {1,3,4,5}. Parsing ignores malformed parts and indexes >= limit (a limit of
// 0 = none), as Kubernetes does with a status it cannot trust.
std::set<int32_t> ParseIndexes(const std::string& text, int32_t limit = 0);
std::string FormatIndexes(const std::set<int32_t>& indexes);

// Kubernetes' pod back-off: 10 s doubling per failure since the last success, capped at 6 min.
Nanos JobBackoff(int failures);

// The completion index a pod carries (annotation, else label); nullopt if none or malformed.
std::optional<int32_t> PodCompletionIndex(const api::Pod& pod);
bool HasJobFinalizer(const api::Pod& pod);
bool JobPodTerminal(const api::Pod& pod);

// The first pod failure policy rule that matches a Failed pod: its action ("FailJob",
// "Ignore", "Count", "FailIndex") and a message naming the pod and rule; nullopt = none.
struct PolicyMatch {
  std::string action;
  std::string message;
};
std::optional<PolicyMatch> MatchPodFailurePolicy(const api::PodFailurePolicy& policy, const api::Pod& pod);

// The Job's condition of `type` with status True, or null.
const api::JobCondition* JobConditionTrue(const api::Job& job, const std::string& type);
// Finished: Complete or Failed is True.
bool JobFinished(const api::Job& job);
// Sets (or adds) a condition; the transition time changes only when the status does.
// Returns whether anything changed.
bool SetJobCondition(api::JobStatus* status, const std::string& type, const std::string& value,
                     const std::string& reason, const std::string& message, int64_t now_seconds);

}  // namespace ksim::controllers
