#include "sim/image_behavior.h"

#include <fmt/format.h>

#include <functional>
#include <limits>
#include <set>

#include "cluster/env/container_runtime.h"
#include "cluster/env/random.h"

namespace ksim::sim {
namespace {

constexpr int64_t kMiB = 1 << 20;

struct CatalogEntry {
  const char* repository;
  std::function<void(ImageBehavior&)> shape;
};

// The built-in catalogue. Plain images keep the defaults (serve the pod's ports, run
// forever, ready at once) plus what the real image does without being told (nginx
// listens on 80); `ksim/...` images misbehave on purpose.
const std::vector<CatalogEntry>& Catalog() {
  static const std::vector<CatalogEntry> entries = {
      {"docker.io/library/nginx", [](ImageBehavior& b) { b.size_bytes = 70 * kMiB; b.http_ports = {80}; }},
      {"docker.io/library/httpd", [](ImageBehavior& b) { b.size_bytes = 60 * kMiB; b.http_ports = {80}; }},
      {"docker.io/library/redis", [](ImageBehavior& b) { b.size_bytes = 45 * kMiB; b.http_ports = {6379}; }},
      {"docker.io/library/busybox", [](ImageBehavior& b) { b.size_bytes = 2 * kMiB; b.serve_container_ports = false; }},
      {"docker.io/library/alpine", [](ImageBehavior& b) { b.size_bytes = 4 * kMiB; b.serve_container_ports = false; }},
      {"registry.k8s.io/pause", [](ImageBehavior& b) { b.size_bytes = kMiB / 2; b.serve_container_ports = false; }},
      {"docker.io/ksim/crashloop", [](ImageBehavior& b) { b.crash_after = Seconds(5); b.exit_code = 1; }},
      {"docker.io/ksim/job", [](ImageBehavior& b) { b.exit_after = Seconds(10); b.serve_container_ports = false; }},
      {"docker.io/ksim/oom",
       [](ImageBehavior& b) { b.memory_bytes = 16 * kMiB; b.memory_growth_bytes_per_second = 10 * kMiB; }},
      {"docker.io/ksim/slow-start", [](ImageBehavior& b) { b.start_delay = Seconds(10); b.ready_after = Seconds(30); }},
      {"docker.io/ksim/unhealthy", [](ImageBehavior& b) { b.unhealthy_after = Seconds(30); }},
      {"docker.io/ksim/ignore-sigterm", [](ImageBehavior& b) { b.ignore_sigterm = true; }},
      {"docker.io/ksim/logger", [](ImageBehavior& b) { b.log_every = Seconds(1); }},
      {"docker.io/ksim/cpu-burner", [](ImageBehavior& b) { b.cpu_millis = 900; }},
      {"docker.io/ksim/slow-pull", [](ImageBehavior& b) { b.pull_time = Seconds(60); }},
      {"docker.io/ksim/pull-fails", [](ImageBehavior& b) { b.pull_fails = true; }},
      {"docker.io/ksim/does-not-exist", [](ImageBehavior& b) { b.exists = false; }},
  };
  return entries;
}

// --- value parsers: each returns "" or the reason the value is bad ---

std::string ParseDuration(std::string_view v, Nanos* out) {
  size_t digits = 0;
  while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return "is not a duration (e.g. 500ms, 30s, 2m, 1h)";
  const int64_t n = std::stoll(std::string(v.substr(0, digits)));
  const std::string_view unit = v.substr(digits);
  if (unit == "ms") *out = Milliseconds(n);
  else if (unit == "s") *out = Seconds(n);
  else if (unit == "m") *out = Seconds(n * 60);
  else if (unit == "h") *out = Seconds(n * 3600);
  else return "is not a duration (e.g. 500ms, 30s, 2m, 1h)";
  if (*out > Seconds(366LL * 24 * 3600)) return "is longer than a year";
  return "";
}

std::string ParseInt(std::string_view v, int64_t lo, int64_t hi, int64_t* out) {
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string_view::npos) {
    return "is not a non-negative integer";
  }
  *out = std::stoll(std::string(v));
  if (*out < lo || *out > hi) return fmt::format("must be in {}..{}", lo, hi);
  return "";
}

// Kubernetes quantities, the binary and decimal suffixes memory uses: 64Mi, 1Gi, 500M, 1024.
std::string ParseBytes(std::string_view v, int64_t* out) {
  static const std::vector<std::pair<std::string_view, int64_t>> suffixes = {
      {"Ki", 1LL << 10}, {"Mi", 1LL << 20}, {"Gi", 1LL << 30}, {"Ti", 1LL << 40},
      {"k", 1000}, {"M", 1000000}, {"G", 1000000000}, {"T", 1000000000000}};
  int64_t unit = 1;
  for (const auto& [s, mult] : suffixes) {
    if (v.size() > s.size() && v.substr(v.size() - s.size()) == s) {
      unit = mult;
      v.remove_suffix(s.size());
      break;
    }
  }
  int64_t n = 0;
  if (!ParseInt(v, 0, (1LL << 40) / unit, &n).empty()) return "is not a byte quantity (e.g. 64Mi, 1Gi) up to 1Ti";
  *out = n * unit;
  return "";
}

// CPU: "250m" or whole cores "2"; at most 1000 cores.
std::string ParseCpu(std::string_view v, int64_t* out) {
  const bool millis = !v.empty() && v.back() == 'm';
  if (millis) v.remove_suffix(1);
  int64_t n = 0;
  if (!ParseInt(v, 0, millis ? 1000000 : 1000, &n).empty()) return "is not a CPU quantity (e.g. 250m, 2) up to 1000";
  *out = millis ? n : n * 1000;
  return "";
}

std::string ParseBool(std::string_view v, bool* out) {
  if (v == "true") *out = true;
  else if (v == "false") *out = false;
  else return "must be true or false";
  return "";
}

// Applies one key=value; "" or the reason.
std::string ApplyField(std::string_view key, std::string_view v, ImageBehavior* b) {
  Nanos d{0};
  int64_t n = 0;
  std::string why;
  if (key == "startDelay") return ParseDuration(v, &b->start_delay);
  if (key == "readyAfter") return ParseDuration(v, &b->ready_after);
  if (key == "stopDelay") return ParseDuration(v, &b->stop_delay);
  if (key == "logEvery") {
    why = ParseDuration(v, &d);
    if (why.empty() && d != Nanos(0) && d < Milliseconds(100)) return "must be 0 or at least 100ms";
    b->log_every = d;
    return why;
  }
  if (key == "unhealthyAfter" || key == "crashAfter" || key == "exitAfter") {
    why = ParseDuration(v, &d);
    std::optional<Nanos>& field =
        key == "unhealthyAfter" ? b->unhealthy_after : key == "crashAfter" ? b->crash_after : b->exit_after;
    field = d;
    return why;
  }
  if (key == "exitCode") {
    why = ParseInt(v, 0, 255, &n);
    b->exit_code = static_cast<int>(n);
    return why;
  }
  if (key == "memory") return ParseBytes(v, &b->memory_bytes);
  if (key == "memoryGrowth") return ParseBytes(v, &b->memory_growth_bytes_per_second);
  if (key == "cpu") return ParseCpu(v, &b->cpu_millis);
  if (key == "httpPort") {
    why = ParseInt(v, 1, 65535, &n);
    if (b->http_ports.size() >= 16) return "more than 16 ports";
    b->http_ports.push_back(static_cast<uint16_t>(n));
    return why;
  }
  if (key == "serveContainerPorts") return ParseBool(v, &b->serve_container_ports);
  if (key == "exec") return ParseBool(v, &b->answers_exec);
  if (key == "ignoreSigterm") return ParseBool(v, &b->ignore_sigterm);
  if (key == "pullTime" || key == "pullFails") {
    return "pull behaviour belongs to the image (CRI's PullImage sees no pod): use a catalogue image";
  }
  return "unknown key (known: startDelay, readyAfter, unhealthyAfter, crashAfter, exitCode, exitAfter, memory, "
         "memoryGrowth, cpu, httpPort, serveContainerPorts, exec, logEvery, ignoreSigterm, stopDelay)";
}

}  // namespace

std::string ImageRepository(const std::string& normalized) {
  std::string repo = normalized;
  const size_t at = repo.find('@');
  if (at != std::string::npos) repo.resize(at);
  const size_t slash = repo.rfind('/');
  const size_t colon = repo.find(':', slash == std::string::npos ? 0 : slash);
  if (colon != std::string::npos) repo.resize(colon);
  return repo;
}

ImageBehavior CatalogBehavior(const std::string& image) {
  const std::string repo = ImageRepository(NormalizeImageName(image));
  ImageBehavior b;
  for (const CatalogEntry& e : Catalog()) {
    if (repo == e.repository) e.shape(b);
  }
  return b;
}

std::vector<std::string> CatalogRepositories() {
  std::vector<std::string> out;
  for (const CatalogEntry& e : Catalog()) out.emplace_back(e.repository);
  return out;
}

int64_t ImageSizeBytes(const std::string& normalized, const ImageBehavior& behavior) {
  if (behavior.size_bytes > 0) return behavior.size_bytes;
  return 10 * kMiB + static_cast<int64_t>(Random::HashString(normalized) % static_cast<uint64_t>(190 * kMiB));
}

Nanos ImagePullTime(const std::string& normalized, const ImageBehavior& behavior) {
  if (behavior.pull_time) return *behavior.pull_time;
  return Milliseconds(200) + Milliseconds(ImageSizeBytes(normalized, behavior) * 1000 / (50 * kMiB));
}

std::string ImageId(const std::string& normalized) {
  std::string id = "sha256:";
  for (uint64_t i = 0; i < 4; ++i) id += fmt::format("{:016x}", Random::HashString(normalized, i + 1));
  return id;
}

Status ApplyBehaviorAnnotation(const std::map<std::string, std::string>& annotations, const std::string& container,
                               ImageBehavior* behavior) {
  const std::string key = std::string(kBehaviorAnnotationPrefix) + container;
  auto it = annotations.find(key);
  if (it == annotations.end()) return Status::Ok();
  const std::string& value = it->second;
  auto bad = [&](std::string_view field, std::string_view why) {
    return Status::InvalidArgument(fmt::format("annotation {}: \"{}\": {}: {}", key,
                                               value.substr(0, 128), field, why));
  };
  if (value.size() > kMaxBehaviorAnnotationBytes) {
    return bad("value", fmt::format("longer than {} bytes", kMaxBehaviorAnnotationBytes));
  }
  ImageBehavior b = *behavior;
  std::set<std::string_view> seen;
  std::string_view rest = value;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (comma != std::string_view::npos && rest.empty()) return bad("value", "ends with a comma");
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) return bad(item.empty() ? "value" : item, "must be key=value");
    const std::string_view k = item.substr(0, eq);
    const std::string_view v = item.substr(eq + 1);
    if (k != "httpPort" && !seen.insert(k).second) return bad(k, "given twice");
    if (const std::string why = ApplyField(k, v, &b); !why.empty()) {
      return bad(k, "'" + std::string(v.substr(0, 64)) + "' " + why);
    }
  }
  *behavior = std::move(b);
  return Status::Ok();
}

}  // namespace ksim::sim
