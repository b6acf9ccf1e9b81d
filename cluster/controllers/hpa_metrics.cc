#include "cluster/controllers/hpa.h"

namespace ksim::controllers {

// Not built yet: metrics.k8s.io through the apiserver (docs/CONTROLLERS.md, HPA).
std::unique_ptr<PodMetricsSource> NewApiPodMetricsSource(ControllerContext&) { return nullptr; }

}  // namespace ksim::controllers
