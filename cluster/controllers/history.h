// ControllerRevision utilities, as Kubernetes' controller history package
// (pkg/controller/history): the revision of a StatefulSet's or DaemonSet's template, its
// hash and name, creation with a collision count, equality, ordering, adoption/release by
// selector, and truncation to revisionHistoryLimit. Shared by the StatefulSet and
// DaemonSet controllers.
#pragma once

#include <google/protobuf/struct.pb.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/api/apps.pb.h"
#include "cluster/api/machinery/labels.h"
#include "cluster/client/api_client.h"

namespace ksim::controllers::history {

// Label carrying a revision's hash (Kubernetes' ControllerRevisionHashLabel).
inline constexpr char kHashLabel[] = "controller.kubernetes.io/hash";
// Kubernetes' default spec.revisionHistoryLimit.
inline constexpr int32_t kDefaultHistoryLimit = 10;

// A revision's data for a pod template, in Kubernetes' shape (a strategic-merge patch that
// replaces the template): {"spec":{"template":{...,"$patch":"replace"}}}.
Status TemplateData(const api::PodTemplateSpec& tmpl, google::protobuf::Struct* out);
// The template a revision made by TemplateData records.
Status TemplateFromData(const google::protobuf::Struct& data, api::PodTemplateSpec* out);

// The data as canonical JSON: keys sorted, no spaces. Equal data, equal text.
std::string CanonicalData(const google::protobuf::Struct& data);

// The revision's hash: FNV-1 32-bit (Go's fnv.New32, as Kubernetes) over CanonicalData,
// then, when `probe` is set, the probe in decimal; the sum's decimal digits are mapped
// through Kubernetes' SafeEncodeString alphabet ("bcdfghjklmnpqrstvwxz2456789"). Kubernetes
// hashes the patch's JSON bytes as Go marshals them, so hashes are not byte-identical to
// Kubernetes', but they are a pure function of the data and probe.
std::string HashRevision(const api::ControllerRevision& revision, std::optional<int32_t> probe);

// `<prefix>-<hash>`, the prefix cut to 223 characters (Kubernetes' ControllerRevisionName).
std::string RevisionName(const std::string& prefix, const std::string& hash);

// A new revision owned (controller reference) by `owner`, labelled `labels` plus the hash
// label, named RevisionName(owner name, HashRevision(.., collision_count)).
api::ControllerRevision NewRevision(const api::ObjectMeta& owner, const std::string& owner_api_version,
                                    const std::string& owner_kind, const std::map<std::string, std::string>& labels,
                                    google::protobuf::Struct data, int64_t revision, int32_t collision_count);

// Same data (compared by canonical JSON; the hash label is compared first when both carry one).
bool EqualRevision(const api::ControllerRevision& a, const api::ControllerRevision& b);
// The revisions equal to `needle`, in the given order.
std::vector<const api::ControllerRevision*> FindEqualRevisions(const std::vector<api::ControllerRevision>& revisions,
                                                               const api::ControllerRevision& needle);
// Ascending by revision number, then creation time, then name (Kubernetes' byRevision).
void SortRevisions(std::vector<api::ControllerRevision>* revisions);
// One more than the highest revision number; 1 when there is none.
int64_t NextRevision(const std::vector<api::ControllerRevision>& revisions);

// The revisions whose controller reference names `owner_uid`.
std::vector<api::ControllerRevision> OwnedBy(const std::vector<api::ControllerRevision>& revisions,
                                             const std::string& owner_uid);

// ClaimControllerRevisions' decisions: matching orphans to adopt (with the owner's controller
// reference added) and owned revisions that no longer match to release (reference removed).
// An owner being deleted adopts nothing. Revisions of other controllers are left alone.
struct Claim {
  std::vector<api::ControllerRevision> owned;    // owned and matching, as they are
  std::vector<api::ControllerRevision> adopt;    // updated objects to write
  std::vector<api::ControllerRevision> release;  // updated objects to write
};
Claim ClaimRevisions(const std::vector<api::ControllerRevision>& revisions, const api::ObjectMeta& owner,
                     const std::string& owner_api_version, const std::string& owner_kind,
                     const api::LabelMatcher& selector);

// The revisions to delete so that at most `limit` revisions not in `live` (names still used
// by pods or as current/update revision) remain: the oldest non-live ones first.
std::vector<api::ControllerRevision> TruncatePlan(std::vector<api::ControllerRevision> revisions,
                                                  const std::set<std::string>& live, int32_t limit);

// Kubernetes' CreateControllerRevision: creates `revision` named RevisionName(`prefix`,
// hash with the collision count); if that name is taken by a revision with equal data, that
// one is the result; if by different data, the collision count is raised and it tries
// again. `done(status, revision, collision_count)` gets the created or existing revision
// and the count used (write it to the owner's status.collisionCount).
using CreateDone = std::function<void(Status, api::ControllerRevision, int32_t)>;
void CreateRevision(client::ApiClient* client, const std::string& prefix, api::ControllerRevision revision,
                    int32_t collision_count, CreateDone done);

}  // namespace ksim::controllers::history
