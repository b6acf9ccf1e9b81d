#include "sim/world.h"

#include <cassert>

#include "sim/container_runtime.h"
#include "sim/host.h"
#include "sim/network.h"

namespace ksim::sim {

World::World(uint64_t seed) : World(seed, WorldOptions{}, NetworkOptions{}) {}

World::World(uint64_t seed, const WorldOptions& options, const NetworkOptions& network_options)
    : seed_(seed),
      options_(options),
      root_random_(seed),
      world_random_(root_random_.Child("world")),
      log_(options.log_capacity_lines, options.echo_log),
      network_(std::make_unique<Network>(this, root_random_.Child("network"), network_options)) {
  trace_.Mix(seed);
}

World::~World() {
  // Processes first, while every host still exists: a dying process may still send to
  // any host. Then hosts, then the network.
  for (auto& host : hosts_) host->KillProcessesForTeardown();
  hosts_.clear();
  network_.reset();
}

EventId World::At(Nanos when, std::function<void()> fn) {
  const int64_t t = when.count() < now_ns_ ? now_ns_ : when.count();
  return queue_.Push(t, std::move(fn));
}

EventId World::After(Nanos delay, std::function<void()> fn) {
  assert(delay >= Nanos(0));
  return queue_.Push(now_ns_ + delay.count(), std::move(fn));
}

bool World::Step() {
  if (queue_.empty()) return false;
  int64_t t = 0;
  EventId id = 0;
  std::function<void()> fn = queue_.Pop(&t, &id);
  assert(t >= now_ns_);
  now_ns_ = t;
  ++events_run_;
  trace_.Mix(static_cast<uint64_t>(t) ^ (static_cast<uint64_t>(TraceTag::kEvent) << 60));
  current_event_ = id;
  fn();
  current_event_ = 0;
  return true;
}

void World::RunUntil(Nanos deadline) {
  while (!queue_.empty() && queue_.NextTime() <= deadline.count()) Step();
  if (deadline.count() > now_ns_) now_ns_ = deadline.count();
}

bool World::RunUntilCondition(const std::function<bool()>& done, Nanos deadline) {
  if (done()) return true;
  while (!queue_.empty() && queue_.NextTime() <= deadline.count()) {
    Step();
    if (done()) return true;
  }
  if (deadline.count() > now_ns_) now_ns_ = deadline.count();
  return done();
}

Host& World::AddHost(const std::string& name) { return AddHost(name, HostOptions{}); }

Host& World::AddHost(const std::string& name, const HostOptions& options) {
  assert(!name.empty() && name.find_first_of(":/") == std::string::npos);
  assert(!host_ids_.count(name));
  const uint32_t id = static_cast<uint32_t>(hosts_.size());
  hosts_.push_back(std::make_unique<Host>(this, id, name, options));
  host_ids_.emplace(name, id);
  network_->AddHost(id);
  return *hosts_.back();
}

Host* World::FindHost(std::string_view name) {
  auto it = host_ids_.find(name);
  return it == host_ids_.end() ? nullptr : hosts_[it->second].get();
}

void World::DefineImage(const std::string& name, const ImageBehavior& behavior) {
  images_[ImageRepository(NormalizeImageName(name))] = std::make_unique<ImageBehavior>(behavior);
}

const ImageBehavior* World::FindImage(const std::string& image) const {
  if (images_.empty()) return nullptr;
  auto it = images_.find(ImageRepository(NormalizeImageName(image)));
  return it == images_.end() ? nullptr : it->second.get();
}

}  // namespace ksim::sim
