#include "sim/host.h"

#include <cassert>

#include "sim/network.h"
#include "sim/process_env.h"
#include "sim/trace.h"
#include "sim/world.h"

namespace ksim::sim {
namespace {
__extension__ typedef __int128 Int128;  // GCC/Clang builtin; not ISO C++
}  // namespace

Host::Host(World* world, uint32_t id, std::string name, const HostOptions& options)
    : world_(world), id_(id), name_(std::move(name)), drift_ppm_(options.clock_drift_ppm),
      clock_offset_(options.clock_offset) {
  anchor_world_ns_ = world->now().count();
  anchor_local_ns_ = anchor_world_ns_;
  disk_ = std::make_unique<SimDisk>(world, world->ChildRandom("host/" + name_ + "/disk"), options.disk);
  runtime_ = std::make_unique<SimContainerRuntime>(world, this);
  dataplane_ = std::make_unique<SimDataplane>();
}

Host::~Host() { KillProcessesForTeardown(); }

void Host::KillProcessesForTeardown() {
  for (auto& [name, slot] : processes_) {
    if (slot.running) slot.running->Kill(true);
  }
}

// --- processes ----------------------------------------------------------------------

void Host::AddProcess(const std::string& name, ProcessFactory factory) {
  assert(!processes_.count(name));
  ProcessSlot& slot = processes_[name];
  slot.factory = std::move(factory);
  if (up_) StartProcess(name, slot);
}

void Host::StartProcess(const std::string& name, ProcessSlot& slot) {
  ++slot.incarnations;
  slot.running = std::make_unique<SimProcess>(this, name, slot.incarnations);
  slot.running->Launch(slot.factory);
}

void Host::KillProcess(ProcessSlot& slot, bool power_loss) {
  if (!slot.running) return;
  slot.running->Kill(power_loss);
  slot.running.reset();
}

void Host::CrashProcess(const std::string& name) {
  auto it = processes_.find(name);
  if (it == processes_.end() || !it->second.running) return;
  world_->trace().Mix(static_cast<uint64_t>(TraceTag::kFault) ^ (uint64_t{10} << 8) ^ (uint64_t{id_} << 16));
  KillProcess(it->second, false);
}

void Host::RestartProcess(const std::string& name) {
  auto it = processes_.find(name);
  if (it == processes_.end() || it->second.running || !up_) return;
  world_->trace().Mix(static_cast<uint64_t>(TraceTag::kFault) ^ (uint64_t{11} << 8) ^ (uint64_t{id_} << 16));
  StartProcess(name, it->second);
}

bool Host::IsRunning(const std::string& name) const {
  auto it = processes_.find(name);
  return it != processes_.end() && it->second.running != nullptr;
}

Process* Host::FindProcess(const std::string& name) {
  auto it = processes_.find(name);
  if (it == processes_.end() || !it->second.running) return nullptr;
  return it->second.running->process();
}

std::vector<std::string> Host::ProcessNames() const {
  std::vector<std::string> names;
  for (const auto& [name, slot] : processes_) names.push_back(name);
  return names;
}

// --- power --------------------------------------------------------------------------

void Host::PowerOff() {
  if (!up_) return;
  world_->trace().Mix(static_cast<uint64_t>(TraceTag::kFault) ^ (uint64_t{12} << 8) ^ (uint64_t{id_} << 16));
  up_ = false;
  paused_ = false;
  held_.clear();
  world_->network().OnHostDown(id_);
  for (auto& [name, slot] : processes_) KillProcess(slot, true);
  runtime_->PowerOff();
  disk_->Crash();
}

void Host::PowerOn() {
  if (up_) return;
  world_->trace().Mix(static_cast<uint64_t>(TraceTag::kFault) ^ (uint64_t{13} << 8) ^ (uint64_t{id_} << 16));
  up_ = true;
  world_->network().OnHostUp(id_);
  for (auto& [name, slot] : processes_) StartProcess(name, slot);
}

void Host::Pause() {
  if (!up_ || paused_) return;
  world_->trace().Mix(static_cast<uint64_t>(TraceTag::kFault) ^ (uint64_t{14} << 8) ^ (uint64_t{id_} << 16));
  paused_ = true;
}

void Host::Resume() {
  if (!paused_) return;
  world_->trace().Mix(static_cast<uint64_t>(TraceTag::kFault) ^ (uint64_t{15} << 8) ^ (uint64_t{id_} << 16));
  paused_ = false;
  // Held calls run in the order they arrived, each as its own event.
  auto held = std::move(held_);
  held_.clear();
  for (auto& [token, fn] : held) {
    world_->After(Nanos(0), [this, token = token, fn = std::move(fn)]() mutable { RunInProcess(token, std::move(fn)); });
  }
}

// --- clock --------------------------------------------------------------------------

Nanos Host::MonotonicNow() const {
  const int64_t elapsed = world_->now().count() - anchor_world_ns_;
  const Int128 scaled = static_cast<Int128>(elapsed) * (1000000 + drift_ppm_) / 1000000;
  return Nanos(anchor_local_ns_ + static_cast<int64_t>(scaled));
}

Nanos Host::WallNow() const { return world_->options().wall_epoch + MonotonicNow() + clock_offset_; }

void Host::SetClockOffset(Nanos offset) {
  world_->trace().Mix(static_cast<uint64_t>(TraceTag::kFault) ^ (uint64_t{16} << 8) ^ (uint64_t{id_} << 16));
  world_->trace().Mix(static_cast<uint64_t>(offset.count()));
  clock_offset_ = offset;
}

void Host::SetClockDriftPpm(int64_t ppm) {
  assert(ppm > -500000 && ppm < 500000);
  anchor_local_ns_ = MonotonicNow().count();
  anchor_world_ns_ = world_->now().count();
  drift_ppm_ = ppm;
  world_->trace().Mix(static_cast<uint64_t>(TraceTag::kFault) ^ (uint64_t{17} << 8) ^ (uint64_t{id_} << 16));
  world_->trace().Mix(static_cast<uint64_t>(ppm));
}

Nanos Host::ToWorldDelay(Nanos local_delay) const {
  if (drift_ppm_ == 0) return local_delay;
  // Round up so a timer never fires before its local deadline.
  const Int128 num = static_cast<Int128>(local_delay.count()) * 1000000;
  const Int128 den = 1000000 + drift_ppm_;
  return Nanos(static_cast<int64_t>((num + den - 1) / den));
}

}  // namespace ksim::sim
