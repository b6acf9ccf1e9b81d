#include "scenarios/expectation_catalogue.h"

#include <algorithm>

namespace ksim::scenarios {

namespace {

using T = ParamValue::Type;

std::vector<ExpectationSpec> Build() {
  std::vector<ExpectationSpec> c = {
      // --- invariants (always) ---
      {"noPodOnTwoNodes", true, {}, "no pod (namespace/name, or UID) runs on two nodes at once"},
      {"podsBoundOnce", true, {}, "a pod's spec.nodeName, once set, never changes"},
      {"nodeCapacityRespected", true, {}, "the requests of the pods bound to a node never exceed its allocatable"},
      {"quotaRespected",
       true,
       {{"namespace", T::kString, false, "", "only this namespace (default: every namespace)"}},
       "a ResourceQuota's hard limits hold for the objects that exist"},
      {"storeLinearizable", true, {}, "the store's client history is linearizable (faults/lincheck)"},
      {"oneLeaderPerTerm", true, {}, "at most one store member leads each Raft term"},
      {"oneActingControllerManager", true, {}, "at most one controller-manager acts (writes) at a time"},
      {"oneActingScheduler", true, {}, "at most one scheduler binds pods at a time"},
      {"statefulSetIdentityUnique",
       true,
       {{"namespace", T::kString, false, "", "only this namespace"}, {"name", T::kString, false, "", "only this StatefulSet"}},
       "no two running pods hold one StatefulSet ordinal"},
      {"endpointsOnlyReadyPods",
       true,
       {{"namespace", T::kString, false, "", "only this namespace"}, {"service", T::kString, false, "", "only this Service"}},
       "ready endpoints name only pods that are Ready"},
      {"rollingUpdateBounds",
       true,
       {{"deployment", T::kString, true, "", "the Deployment"}, {"namespace", T::kString, false, "default", ""}},
       "during a rollout, available pods >= replicas - maxUnavailable and pods <= replicas + maxSurge"},
      {"noEvictionBeforeToleration",
       true,
       {},
       "a pod is evicted from a NotReady node only after its tolerationSeconds"},
      {"garbageCollectorKeepsLiveOwners", true, {}, "no dependent is deleted while an owner it names exists"},
      // --- conditions (eventually / atEnd) ---
      {"deploymentAvailable",
       false,
       {{"name", T::kString, true, "", ""},
        {"namespace", T::kString, false, "default", ""},
        {"replicas", T::kInt, false, "", "available replicas wanted (default: spec.replicas)"}},
       "the Deployment's rollout is complete and its available replicas reach the count"},
      {"statefulSetReady",
       false,
       {{"name", T::kString, true, "", ""}, {"namespace", T::kString, false, "default", ""}},
       "every replica of the StatefulSet is ready and current"},
      {"daemonSetReady",
       false,
       {{"name", T::kString, true, "", ""}, {"namespace", T::kString, false, "default", ""}},
       "the DaemonSet runs a ready pod on every node it should"},
      {"jobComplete",
       false,
       {{"name", T::kString, true, "", ""}, {"namespace", T::kString, false, "default", ""}},
       "the Job has its Complete condition"},
      {"podPhase",
       false,
       {{"name", T::kString, true, "", ""},
        {"namespace", T::kString, false, "default", ""},
        {"phase", T::kString, false, "Running", "Pending, Running, Succeeded or Failed"},
        {"node", T::kHost, false, "", "and bound to this worker"}},
       "the pod exists in this phase (and on this node)"},
      {"podCount",
       false,
       {{"selector", T::kString, true, "", "a label selector"},
        {"namespace", T::kString, false, "default", ""},
        {"count", T::kInt, true, "", ""},
        {"ready", T::kBool, false, "true", "count only Ready pods"}},
       "exactly this many (Ready) pods match the selector"},
      {"serviceAnswers",
       false,
       {{"name", T::kString, true, "", ""},
        {"namespace", T::kString, false, "default", ""},
        {"port", T::kInt, false, "80", ""},
        {"path", T::kString, false, "/", ""}},
       "an HTTP GET of the Service's ClusterIP from the client host answers 200"},
      {"dnsResolves",
       false,
       {{"name", T::kString, true, "", "e.g. web.default.svc.cluster.local"}},
       "cluster DNS answers an A record for the name from the client host"},
      {"nodeReady",
       false,
       {{"node", T::kHost, false, "", "this worker (default: every worker)"}},
       "the Node's Ready condition is True"},
      {"noPendingPods",
       false,
       {{"namespace", T::kString, false, "", "only this namespace"}},
       "no pod is Pending"},
  };
  std::sort(c.begin(), c.end(), [](const ExpectationSpec& a, const ExpectationSpec& b) { return a.name < b.name; });
  return c;
}

}  // namespace

const std::vector<ExpectationSpec>& ExpectationCatalogue() {
  static const std::vector<ExpectationSpec> catalogue = Build();
  return catalogue;
}

const ExpectationSpec* FindExpectation(std::string_view name) {
  const auto& c = ExpectationCatalogue();
  auto it = std::lower_bound(c.begin(), c.end(), name,
                             [](const ExpectationSpec& e, std::string_view n) { return e.name < n; });
  return it != c.end() && it->name == name ? &*it : nullptr;
}

std::string_view ParamTypeName(ParamValue::Type type) {
  switch (type) {
    case ParamValue::Type::kString: return "string";
    case ParamValue::Type::kInt: return "integer";
    case ParamValue::Type::kNumber: return "number";
    case ParamValue::Type::kBool: return "boolean";
    case ParamValue::Type::kDuration: return "duration";
    case ParamValue::Type::kHost: return "host";
  }
  return "string";
}

}  // namespace ksim::scenarios
