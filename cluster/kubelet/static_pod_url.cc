// StaticPodSource's URL half: GET the manifest URL every 20 s over the Transport (one
// HTTP/1.1 request and response per frame, cluster/net/http1). As Kubernetes' http source,
// a failed fetch or a bad manifest keeps the pods last read from the URL; a 200 with a
// good manifest replaces them (an empty body removes them).
#include <fmt/format.h>

#include <charconv>

#include "cluster/kubelet/api_objects.h"
#include "cluster/kubelet/static_pod.h"
#include "cluster/net/http1.h"

namespace ksim::kubelet {
namespace {

// "http://host[:port]/path" -> "host:port" and "/path". False for anything else.
bool SplitUrl(const std::string& url, std::string* address, std::string* target) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return false;
  const std::string rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  *target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.empty() || authority.find('@') != std::string::npos) return false;
  const size_t colon = authority.rfind(':');
  if (colon == std::string::npos) {
    authority += ":80";
  } else {
    uint32_t port = 0;
    const char* first = authority.data() + colon + 1;
    const char* last = authority.data() + authority.size();
    const auto [end, ec] = std::from_chars(first, last, port);
    if (ec != std::errc() || end != last || port == 0 || port > 65535 || colon == 0) return false;
  }
  *address = authority;
  return true;
}

}  // namespace

void StaticPodSource::FetchUrl() {
  if (url_timer_) env_.clock->Cancel(url_timer_);
  url_timer_ = env_.clock->Schedule(options_.url_check_frequency, [this] {
    url_timer_ = 0;
    FetchUrl();
  });
  const std::string origin = "http:" + options_.manifest_url;
  const std::string location = "url " + options_.manifest_url;
  std::string address;
  std::string target;
  if (!SplitUrl(options_.manifest_url, &address, &target)) {
    return Report(origin, location,
                  Status::InvalidArgument(fmt::format("manifest URL \"{}\": must be http://host[:port]/path",
                                                      options_.manifest_url)));
  }
  if (url_conn_) FinishFetch(url_attempt_);  // the last fetch never answered
  const uint64_t attempt = ++url_attempt_;
  auto alive = alive_;
  ConnectionHandlers h;
  h.on_frame = [this, alive, attempt](std::string_view frame) {
    if (*alive) OnUrlAnswer(attempt, frame);
  };
  h.on_closed = [this, alive, attempt, origin, location](const Status& why) {
    if (!*alive || attempt != url_attempt_ || !url_conn_) return;
    Report(origin, location, Status::Unavailable(fmt::format("fetching {}: {}", options_.manifest_url, why.message())));
    FinishFetch(attempt);
  };
  url_conn_ = env_.transport->Connect(address, std::move(h), nullptr);
  if (!url_conn_) {
    return Report(origin, location, Status::InvalidArgument(fmt::format("manifest URL address \"{}\"", address)));
  }
  (void)url_conn_->Send(http1::FormatRequest(http1::Get(address, target)));
  url_deadline_ = env_.clock->Schedule(options_.url_timeout, [this, alive, attempt, origin, location] {
    if (!*alive) return;
    url_deadline_ = 0;
    if (attempt != url_attempt_ || !url_conn_) return;
    Report(origin, location, Status::Timeout(fmt::format("fetching {}: no answer", options_.manifest_url)));
    FinishFetch(attempt);
  });
}

void StaticPodSource::FinishFetch(uint64_t attempt) {
  if (attempt != url_attempt_) return;
  if (url_deadline_) env_.clock->Cancel(url_deadline_);
  url_deadline_ = 0;
  if (url_conn_) url_conn_->Close();
  url_conn_.reset();
}

void StaticPodSource::OnUrlAnswer(uint64_t attempt, std::string_view frame) {
  if (attempt != url_attempt_ || !url_conn_) return;
  FinishFetch(attempt);
  const std::string origin = "http:" + options_.manifest_url;
  const std::string location = "url " + options_.manifest_url;
  http1::Response response;
  Status s = http1::ParseResponse(frame, &response);
  if (!s.ok()) return Report(origin, location, s);
  if (response.status != 200) {
    return Report(origin, location,
                  Status::Unavailable(fmt::format("fetching {}: HTTP {}", options_.manifest_url, response.status)));
  }
  std::vector<std::shared_ptr<const api::Pod>> pods;
  s = ReadStaticPods(response.body, StaticSource::kHttp, options_.manifest_url, options_.node_name, options_.limits,
                     &pods);
  if (!s.ok()) return Report(origin, location, s);
  ClearReport(origin);
  Replace(origin, pods);
}

}  // namespace ksim::kubelet
