// The Job controller's decisions for one sync, as a pure function of the Job, its pods
// and the clock (job.cc sends the writes): what the status becomes, which pods lose the
// tracking finalizer, which are deleted and which are created.
#pragma once

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "cluster/api/batch.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/controllers/job_util.h"
#include "cluster/env/time.h"

namespace ksim::controllers {

using JobPodPtr = std::shared_ptr<const api::Pod>;

// Kubernetes' pod back-off record (kept in memory by the controller, lost on failover).
struct JobBackoffRecord {
  int failures = 0;  // failed pods since the last success
  Nanos last_failure{0};
};

struct JobPlanInput {
  const api::Job* job = nullptr;
  std::vector<JobPodPtr> pods;  // owned by the Job, sorted by name
  int64_t now_seconds = 0;      // wall clock
  Nanos now{0};                 // monotonic clock (back-off)
  JobBackoffRecord backoff;
};

struct JobPlan {
  api::JobStatus status;
  bool status_changed = false;
  std::vector<JobPodPtr> release;  // remove the finalizer (after the status is written)
  std::vector<JobPodPtr> remove;   // delete (finalizer removed first)
  std::vector<api::Pod> create;
  Nanos requeue_after{0};          // look again then (deadline, back-off)
  std::vector<std::tuple<std::string, std::string, std::string>> events;  // type, reason, message
  int new_failures = 0;   // failed pods recorded by this status
  int new_successes = 0;
  std::vector<std::string> log;
};

JobPlan PlanJob(const JobPlanInput& in);

}  // namespace ksim::controllers
