// Static pods: pods the kubelet runs from manifests of its own, without the API. Three
// sources besides the API (docs/KUBELET.md, "Static pods"):
//   - a folder on the kubelet's Disk, re-read every 20 s (one manifest per file, each file
//     one or more Pod documents; files whose names start with "." are ignored);
//   - a manifest URL polled every 20 s (HTTP GET over the Transport, cluster/net/http1);
//   - manifests posted to the kubelet endpoint (KubeletServer), kept by name.
// Each pod gets Kubernetes' static pod defaults: name "<name>-<node>", namespace "default"
// if unset, spec.nodeName, a uid hashed from the defaulted manifest and its origin (so the
// same manifest on the same node always gets the same uid), annotations
// kubernetes.io/config.source / config.hash, a NoExecute toleration (file source), and the
// apiserver's own defaulting and validation. A bad manifest runs none of its pods, is
// logged naming file, line and field, and reported to `on_bad_manifest`; other manifests'
// pods are unaffected.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/env/env.h"

namespace ksim::kubelet {

inline constexpr char kConfigSourceAnnotation[] = "kubernetes.io/config.source";
inline constexpr char kConfigHashAnnotation[] = "kubernetes.io/config.hash";
inline constexpr char kConfigMirrorAnnotation[] = "kubernetes.io/config.mirror";

// Where a manifest came from: config.source is "file", "http" (the URL) or "endpoint"
// (posted to the kubelet; ksim's name, Kubernetes has no such source).
enum class StaticSource { kFile, kHttp, kEndpoint };
std::string_view StaticSourceName(StaticSource source);

struct StaticManifestLimits {
  size_t max_manifest_bytes = 1 << 20;
  size_t max_pods_per_manifest = 64;
};

// Pure: the static pods of one manifest. `location` names it in errors and in the uid hash
// (a file name, the URL, a posted manifest's name). Errors are InvalidArgument and read
// "<location>:<line>: <field>: <reason>"; on error `out` is empty.
Status ReadStaticPods(std::string_view text, StaticSource source, const std::string& location,
                      const std::string& node_name, const StaticManifestLimits& limits,
                      std::vector<std::shared_ptr<const api::Pod>>* out);

struct StaticPodSourceOptions {
  std::string node_name;
  std::string manifest_dir;  // on the Disk; "" = no folder source
  std::string manifest_url;  // "http://host[:port]/path"; "" = no URL source
  Nanos file_check_frequency = Seconds(20);
  Nanos url_check_frequency = Seconds(20);
  Nanos url_timeout = Seconds(10);
  size_t max_files = 256;             // files read from the folder (the rest are reported)
  size_t max_posted_manifests = 64;
  size_t max_static_pods = 512;       // over every source
  StaticManifestLimits limits;
};

enum class PodChange { kAdd, kUpdate, kRemove };

class StaticPodSource {
 public:
  // A static pod appeared, changed (its config.hash differs) or went away. `pod` is the
  // pod as it was for kRemove.
  using OnChange = std::function<void(PodChange, const std::shared_ptr<const api::Pod>& pod)>;
  // A manifest could not be used: `location` is "file <name>", "url <url>" or "endpoint
  // <name>"; called once per distinct error, not on every re-read.
  using OnBadManifest = std::function<void(const std::string& location, const Status& error)>;

  // REQUIRES: env outlives the source; options.node_name non-empty.
  StaticPodSource(Env& env, StaticPodSourceOptions options, OnChange on_change, OnBadManifest on_bad_manifest);
  ~StaticPodSource();
  StaticPodSource(const StaticPodSource&) = delete;
  StaticPodSource& operator=(const StaticPodSource&) = delete;

  // Reads the folder and fetches the URL at once, then at their frequencies.
  void Start();

  // A manifest posted to the endpoint: replaces the pods last posted under `name` (an
  // empty manifest removes them). *pods gets "namespace/name" of the pods it now holds.
  // InvalidArgument (nothing changes) for a bad manifest, a bad name, or too many.
  Status AcceptManifest(const std::string& name, std::string_view text, std::vector<std::string>* pods);

  // The static pods now, by "namespace/name".
  std::vector<std::shared_ptr<const api::Pod>> Pods() const;

  // Re-reads the folder now (tests, and a kubelet that knows a file changed).
  void ReadFolder();

 private:
  struct Entry {
    std::string origin;
    std::shared_ptr<const api::Pod> pod;
  };
  // Replaces the pods of `origin` ("file:<name>", "http:<url>", "endpoint:<name>").
  // `releases_only`: `pods` are a subset of what the origin holds (no conflict reports).
  void Replace(const std::string& origin, const std::vector<std::shared_ptr<const api::Pod>>& pods,
               bool releases_only = false);
  void Report(const std::string& origin, const std::string& location, const Status& error);
  void ClearReport(const std::string& origin);
  void FetchUrl();
  void OnUrlAnswer(uint64_t attempt, std::string_view frame);
  void FinishFetch(uint64_t attempt);

  Env& env_;
  StaticPodSourceOptions options_;
  OnChange on_change_;
  OnBadManifest on_bad_manifest_;
  std::map<std::string, Entry> pods_;                           // "ns/name" -> entry
  std::map<std::string, std::set<std::string>> origins_;        // origin -> pod keys
  std::map<std::string, std::string> reported_;                // origin -> last error reported
  TimerId folder_timer_ = 0;
  TimerId url_timer_ = 0;
  TimerId url_deadline_ = 0;
  uint64_t url_attempt_ = 0;
  std::shared_ptr<Connection> url_conn_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::kubelet
