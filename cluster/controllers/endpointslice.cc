#include "cluster/controllers/endpointslice.h"

#include "cluster/proxy/endpointslice_controller.h"

namespace ksim::controllers {
namespace {

// The proxy package's controller keeps its own informers; it is built on Start and torn
// down on Stop, so a replica that lost the lease holds no queue and sends nothing.
class EndpointSliceAdapter final : public Controller {
 public:
  explicit EndpointSliceAdapter(ControllerContext& ctx) : ctx_(ctx) {}
  void Start() override {
    if (running_ != nullptr) return;
    running_ = std::make_unique<proxy::EndpointSliceController>(ctx_.env, ctx_.client);
    running_->Start();
  }
  void Stop() override { running_.reset(); }

 private:
  ControllerContext& ctx_;
  std::unique_ptr<proxy::EndpointSliceController> running_;
};

}  // namespace

std::unique_ptr<Controller> NewEndpointSliceController(ControllerContext& ctx) {
  return std::make_unique<EndpointSliceAdapter>(ctx);
}

}  // namespace ksim::controllers
