// GenerateEntrySchedule: a scenario file's nemesis entry as a schedule (faults/nemesis.h).
#include <algorithm>

#include "faults/nemesis.h"

// GCC 12 reports a false free-nonheap-object on the Fault locals once Draw is inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
#endif

namespace ksim::faults {
namespace {

std::vector<std::string> Shuffled(Random& random, std::vector<std::string> v) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[random.Uniform(i)]);
  return v;
}

// Exponential with mean `mean`, by von Neumann's method (comparisons of uniforms only, so
// no libm and the same bits everywhere), capped at 20 means.
Nanos Exponential(Random& random, Nanos mean) {
  for (int whole = 0; whole < 20; ++whole) {
    const double first = random.NextDouble();
    double prev = first;
    int run = 1;  // length of the descending run starting at `first`
    for (;;) {
      const double next = random.NextDouble();
      if (next >= prev) break;
      prev = next;
      ++run;
    }
    if (run % 2 == 1) return Nanos(static_cast<int64_t>((whole + first) * static_cast<double>(mean.count())));
  }
  return mean * 20;
}

// Splits `hosts` (shuffled) into two non-empty sorted groups in `out`.
void Split(Random& random, const std::vector<std::string>& hosts, std::vector<std::vector<std::string>>* out) {
  const size_t cut = 1 + random.Uniform(hosts.size() - 1);
  out->resize(2);
  (*out)[0].assign(hosts.begin(), hosts.begin() + static_cast<ptrdiff_t>(cut));
  (*out)[1].assign(hosts.begin() + static_cast<ptrdiff_t>(cut), hosts.end());
  for (auto& v : *out) std::sort(v.begin(), v.end());
}

// Draws one fault of `kind` and its undo; false if the targets cannot have it (a
// partition of one host, a crash where no target runs a chosen process).
bool Draw(Random& random, FaultKind kind, const NemesisEntryOptions& o, Fault* inject, Fault* undo) {
  const std::vector<std::string> hosts = Shuffled(random, o.targets);
  if (hosts.empty()) return false;
  inject->kind = kind;
  undo->kind = FaultKind::kHeal;
  switch (kind) {
    case FaultKind::kPartition:
    case FaultKind::kOneWay:
      if (hosts.size() < 2) return false;
      Split(random, hosts, &inject->groups);
      return true;
    case FaultKind::kBridge: {
      if (hosts.size() < 3) return false;
      inject->host = hosts[0];
      Split(random, std::vector<std::string>(hosts.begin() + 1, hosts.end()), &inject->groups);
      return true;
    }
    case FaultKind::kIsolate:
      inject->host = hosts[0];
      return true;
    case FaultKind::kCrashProcess: {
      std::vector<std::pair<std::string, std::string>> candidates;  // in processes_by_host order
      for (const auto& [host, processes] : o.processes_by_host) {
        for (const std::string& p : processes) candidates.emplace_back(host, p);
      }
      if (candidates.empty()) return false;
      const auto& [host, process] = candidates[random.Uniform(candidates.size())];
      inject->host = host;
      inject->process = process;
      undo->kind = FaultKind::kRestartProcess;
      undo->host = host;
      undo->process = process;
      return true;
    }
    case FaultKind::kPowerOff:
    case FaultKind::kPause:
      inject->host = hosts[0];
      undo->kind = kind == FaultKind::kPowerOff ? FaultKind::kPowerOn : FaultKind::kResume;
      undo->host = hosts[0];
      return true;
    case FaultKind::kClockSkew:
    case FaultKind::kClockJump:
      inject->host = hosts[0];
      inject->amount = Milliseconds(random.Range(-30000, 30000));
      undo->kind = FaultKind::kClockSkew;  // offset back to 0
      undo->host = hosts[0];
      return true;
    case FaultKind::kClockDrift:
      inject->host = hosts[0];
      inject->ppm = random.Range(-200000, 200000);
      undo->kind = FaultKind::kClockDrift;
      undo->host = hosts[0];
      return true;
    case FaultKind::kSlowDisk:
    case FaultKind::kDiskErrors:
      inject->host = hosts[0];
      if (kind == FaultKind::kSlowDisk) inject->amount = Milliseconds(random.Range(10, 500));
      if (kind == FaultKind::kDiskErrors) inject->rate = static_cast<double>(random.Range(5, 50)) / 100;
      undo->kind = FaultKind::kDiskHeal;
      undo->host = hosts[0];
      return true;
    case FaultKind::kLinkFaults:
      inject->loss = static_cast<double>(random.Range(1, 20)) / 100;
      inject->duplicate = static_cast<double>(random.Range(0, 20)) / 100;
      inject->reorder = static_cast<double>(random.Range(0, 30)) / 100;
      undo->kind = FaultKind::kLinkClear;
      return true;
    case FaultKind::kImagePullFailure:
      inject->host = hosts[0];  // image "": every image
      undo->kind = FaultKind::kImagePullHeal;
      undo->host = hosts[0];
      return true;
    default:
      return false;
  }
}

}  // namespace

bool NemesisCanDraw(FaultKind kind) {
  switch (kind) {
    case FaultKind::kPartition:
    case FaultKind::kIsolate:
    case FaultKind::kOneWay:
    case FaultKind::kBridge:
    case FaultKind::kCrashProcess:
    case FaultKind::kPowerOff:
    case FaultKind::kPause:
    case FaultKind::kClockSkew:
    case FaultKind::kClockJump:
    case FaultKind::kClockDrift:
    case FaultKind::kSlowDisk:
    case FaultKind::kDiskErrors:
    case FaultKind::kLinkFaults:
    case FaultKind::kImagePullFailure:
      return true;
    default:
      return false;
  }
}

std::vector<TimedFault> GenerateEntrySchedule(Random& random, const NemesisEntryOptions& o) {
  std::vector<TimedFault> out;
  if (o.kinds.empty() || o.mean_interval <= Nanos(0) || o.end <= o.start) return out;
  Nanos t = o.start;
  Nanos busy_until = o.start;
  for (int drawn = 0; drawn < o.max_faults; ++drawn) {
    t = std::max(t + Exponential(random, o.mean_interval), busy_until);
    if (t + o.fault_duration > o.end) break;
    const FaultKind kind = o.kinds[random.Uniform(o.kinds.size())];
    Fault inject, undo;
    if (!Draw(random, kind, o, &inject, &undo)) continue;
    out.push_back(TimedFault{t, inject});
    out.push_back(TimedFault{t + o.fault_duration, undo});
    busy_until = t + o.fault_duration;
  }
  return out;
}

}  // namespace ksim::faults
