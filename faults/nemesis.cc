#include "faults/nemesis.h"

#include <algorithm>
#include <cassert>

namespace ksim::faults {
namespace {

enum class Episode { kPartition, kIsolate, kOneWay, kBridge, kCrash, kPower, kPause, kClock, kLinks, kDisk };

std::vector<std::string> Shuffled(Random& random, std::vector<std::string> v) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[random.Uniform(i)]);
  return v;
}

Nanos Between(Random& random, Nanos lo, Nanos hi) { return Nanos(random.Range(lo.count(), std::max(lo, hi).count())); }

}  // namespace

std::vector<TimedFault> GenerateSchedule(Random& random, const NemesisOptions& o) {
  assert(o.hosts.size() >= 2);
  std::vector<Episode> kinds;
  if (o.network) kinds.insert(kinds.end(), {Episode::kPartition, Episode::kIsolate, Episode::kOneWay});
  if (o.network && o.hosts.size() >= 3) kinds.push_back(Episode::kBridge);
  if (o.processes_crash && !o.processes.empty()) kinds.push_back(Episode::kCrash);
  if (o.power) kinds.push_back(Episode::kPower);
  if (o.pause) kinds.push_back(Episode::kPause);
  if (o.clocks) kinds.push_back(Episode::kClock);
  if (o.links) kinds.push_back(Episode::kLinks);
  if (o.disks) kinds.push_back(Episode::kDisk);
  std::vector<TimedFault> out;
  if (kinds.empty()) return out;

  Nanos t = o.start;
  // Bounded: each episode advances t by at least min_gap + min_duration > 0.
  for (int episodes = 0; episodes < 10000; ++episodes) {
    const Nanos duration = Between(random, o.min_duration, o.max_duration);
    if (t + duration > o.end) break;
    const Episode kind = kinds[random.Uniform(kinds.size())];
    const std::vector<std::string> hosts = Shuffled(random, o.hosts);
    const std::string& victim = hosts[0];
    Fault inject, undo;
    switch (kind) {
      case Episode::kPartition: {
        const size_t cut = 1 + random.Uniform(hosts.size() - 1);
        inject.kind = FaultKind::kPartition;
        inject.groups = {{hosts.begin(), hosts.begin() + cut}, {hosts.begin() + cut, hosts.end()}};
        for (auto& g : inject.groups) std::sort(g.begin(), g.end());
        undo.kind = FaultKind::kHeal;
        break;
      }
      case Episode::kIsolate:
        inject.kind = FaultKind::kIsolate;
        inject.host = victim;
        undo.kind = FaultKind::kHeal;
        break;
      case Episode::kOneWay: {
        const size_t cut = 1 + random.Uniform(hosts.size() - 1);
        inject.kind = FaultKind::kOneWay;
        inject.groups = {{hosts.begin(), hosts.begin() + cut}, {hosts.begin() + cut, hosts.end()}};
        for (auto& g : inject.groups) std::sort(g.begin(), g.end());
        undo.kind = FaultKind::kHeal;
        break;
      }
      case Episode::kBridge: {
        const size_t rest = hosts.size() - 1;
        const size_t cut = 1 + random.Uniform(rest - 1);
        inject.kind = FaultKind::kBridge;
        inject.host = victim;
        inject.groups = {{hosts.begin() + 1, hosts.begin() + 1 + cut}, {hosts.begin() + 1 + cut, hosts.end()}};
        for (auto& g : inject.groups) std::sort(g.begin(), g.end());
        undo.kind = FaultKind::kHeal;
        break;
      }
      case Episode::kCrash:
        inject.kind = FaultKind::kCrashProcess;
        inject.host = victim;
        inject.process = o.processes[random.Uniform(o.processes.size())];
        undo = inject;
        undo.kind = FaultKind::kRestartProcess;
        break;
      case Episode::kPower:
        inject.kind = FaultKind::kPowerOff;
        inject.host = victim;
        undo.kind = FaultKind::kPowerOn;
        undo.host = victim;
        break;
      case Episode::kPause:
        inject.kind = FaultKind::kPause;
        inject.host = victim;
        undo.kind = FaultKind::kResume;
        undo.host = victim;
        break;
      case Episode::kClock:
        if (random.Bernoulli(0.5)) {
          inject.kind = FaultKind::kClockJump;
          inject.amount = Milliseconds(random.Range(-30000, 30000));
          undo.kind = FaultKind::kClockSkew;  // back to no offset
        } else {
          inject.kind = FaultKind::kClockDrift;
          inject.ppm = random.Range(-200000, 200000);
          undo.kind = FaultKind::kClockDrift;
          undo.ppm = 0;
        }
        inject.host = victim;
        undo.host = victim;
        break;
      case Episode::kLinks:
        inject.kind = FaultKind::kLinkFaults;
        inject.loss = static_cast<double>(random.Range(1, 20)) / 100;
        inject.duplicate = static_cast<double>(random.Range(0, 20)) / 100;
        inject.reorder = static_cast<double>(random.Range(0, 30)) / 100;
        undo.kind = FaultKind::kLinkClear;
        break;
      case Episode::kDisk:
        if (!o.disk_write_errors || random.Bernoulli(0.5)) {
          inject.kind = FaultKind::kSlowDisk;
          inject.amount = Milliseconds(random.Range(10, 500));
        } else {
          inject.kind = FaultKind::kDiskErrors;
          inject.rate = static_cast<double>(random.Range(5, 50)) / 100;
        }
        inject.host = victim;
        undo.kind = FaultKind::kDiskHeal;
        undo.host = victim;
        break;
    }
    out.push_back(TimedFault{t, inject});
    out.push_back(TimedFault{t + duration, undo});
    t += duration + Between(random, o.min_gap, o.max_gap);
  }
  return out;
}

}  // namespace ksim::faults
