// EventRecorder against a simulated store and apiserver: what an Event carries, repeats
// counted on one Event, similar events aggregated, the spam filter, the bounded queue,
// retries while the apiserver is unreachable, and a repeat of an Event that expired.
#include "cluster/client/event_recorder.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::client {
namespace {

using apiserver::testing::ApiCluster;
using apiserver::testing::Kind;

class EventRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kubectl = api.AddClient("kubectl");
    for (const char* ns : {"default", "team"}) {
      auto r = api.Await([&](ApiClient::Done d) { kubectl->Create(Kind("", "namespaces"), apiserver::testing::MakeNamespace(ns), d); });
      ASSERT_EQ(r.code, 201) << r.Describe();
    }
  }
  ~EventRecorderTest() override {
    recorder_->reset();
    client_->reset();
  }

  EventRecorder* AddRecorder(EventRecorderOptions o) {
    ApiClientOptions co;
    co.endpoints = api.endpoints;
    co.token = apiserver::testing::kAdminToken;
    auto client = client_;
    auto recorder = recorder_;
    api.store.world.AddHost("recorder").AddProcess(
        "recorder", sim::testing::Scripted([client, recorder, co, o](sim::testing::ScriptedProcess& p) {
          *client = std::make_unique<ApiClient>(p.env(), co);
          *recorder = std::make_unique<EventRecorder>(p.env(), client->get(), o);
        }));
    api.store.world.RunFor(Milliseconds(1));
    return recorder_->get();
  }

  std::vector<api::Event> Events(const std::string& ns) {
    std::vector<api::Event> out;
    auto r = api.Await([&](ApiClient::Done d) { kubectl->List(Kind("", "events"), ns, {}, std::move(d)); });
    apiserver::ObjectList l;
    if (!r.ok() || !l.ParseFromString(r.body)) return out;
    for (const auto& item : l.items()) {
      api::Event e;
      if (e.ParseFromString(item)) out.push_back(e);
    }
    return out;
  }

  api::Pod Pod(const std::string& name) {
    api::Pod p = apiserver::testing::MakePod("team", name);
    p.set_api_version("v1");
    p.mutable_metadata()->set_uid("uid-" + name);
    return p;
  }

  static EventRecorderOptions Opts(std::string component, std::string host = "", size_t max_queued = 1000) {
    EventRecorderOptions o;
    o.component = std::move(component);
    o.host = std::move(host);
    o.max_queued = max_queued;
    return o;
  }

  void Run(Nanos d) { api.store.world.RunFor(d); }

  ApiCluster api{1, 7};
  ApiClient* kubectl = nullptr;
  std::shared_ptr<std::unique_ptr<ApiClient>> client_ = std::make_shared<std::unique_ptr<ApiClient>>();
  std::shared_ptr<std::unique_ptr<EventRecorder>> recorder_ = std::make_shared<std::unique_ptr<EventRecorder>>();
};

TEST_F(EventRecorderTest, AnEventCarriesObjectReasonMessageTypeAndSource) {
  EventRecorder* rec = AddRecorder(Opts("node-controller", "node-7"));
  api::Node node;
  node.mutable_metadata()->set_name("node-7");
  node.mutable_metadata()->set_uid("uid-node-7");
  ASSERT_TRUE(rec->Event(node, "Normal", "RegisteredNode", "Node node-7 event: Registered Node node-7"));
  ASSERT_TRUE(rec->Event(Pod("web"), "Warning", "NodeNotReady", "Node is not ready"));
  Run(Seconds(2));
  ASSERT_TRUE(rec->idle());
  // A cluster-scoped object's Event lives in "default"; a pod's in the pod's namespace.
  auto defaults = Events("default");
  ASSERT_EQ(defaults.size(), 1u);
  const api::Event& e = defaults[0];
  EXPECT_EQ(e.involved_object().kind(), "Node");
  EXPECT_EQ(e.involved_object().api_version(), "v1");
  EXPECT_EQ(e.involved_object().name(), "node-7");
  EXPECT_EQ(e.involved_object().uid(), "uid-node-7");
  EXPECT_EQ(e.reason(), "RegisteredNode");
  EXPECT_EQ(e.message(), "Node node-7 event: Registered Node node-7");
  EXPECT_EQ(e.type(), "Normal");
  EXPECT_EQ(e.source().component(), "node-controller");
  EXPECT_EQ(e.source().host(), "node-7");
  EXPECT_EQ(e.reporting_component(), "node-controller");
  EXPECT_EQ(e.reporting_instance(), "recorder");
  EXPECT_EQ(e.count(), 1);
  EXPECT_EQ(e.metadata().name().rfind("node-7.", 0), 0u) << e.metadata().name();
  auto team = Events("team");
  ASSERT_EQ(team.size(), 1u);
  EXPECT_EQ(team[0].involved_object().namespace_(), "team");
  EXPECT_EQ(team[0].type(), "Warning");
  EXPECT_EQ(rec->stats().created, 2u);
}

TEST_F(EventRecorderTest, RepeatsAreCountedOnOneEvent) {
  EventRecorder* rec = AddRecorder(Opts("kubelet"));
  for (int i = 0; i < 3; ++i) {
    rec->Event(Pod("web"), "Warning", "BackOff", "Back-off restarting failed container");
    Run(Seconds(5));
  }
  auto events = Events("team");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].count(), 3);
  EXPECT_GT(events[0].last_timestamp().seconds(), events[0].first_timestamp().seconds());
  EXPECT_EQ(rec->stats().created, 1u);
  EXPECT_EQ(rec->stats().patched, 2u);
  // A different message is a different Event.
  rec->Event(Pod("web"), "Warning", "BackOff", "Back-off pulling image");
  Run(Seconds(1));
  EXPECT_EQ(Events("team").size(), 2u);
}

TEST_F(EventRecorderTest, SimilarEventsAreAggregatedAfterTen) {
  EventRecorder* rec = AddRecorder(Opts("kubelet"));
  for (int i = 0; i < 14; ++i) {
    rec->Event(Pod("web"), "Warning", "Failed", "attempt " + std::to_string(i));
    Run(Seconds(1));
  }
  auto events = Events("team");
  // Nine distinct messages, then one combined Event that counts the other five.
  ASSERT_EQ(events.size(), 10u);
  int combined = 0;
  for (const auto& e : events) {
    if (e.message().rfind("(combined from similar events): ", 0) == 0) {
      ++combined;
      EXPECT_EQ(e.count(), 5);
      EXPECT_EQ(e.message(), "(combined from similar events): attempt 13");
    }
  }
  EXPECT_EQ(combined, 1);
  EXPECT_EQ(rec->stats().aggregated, 5u);
}

TEST_F(EventRecorderTest, TheSpamFilterAllowsABurstOf25PerObjectThenOnePerFiveMinutes) {
  EventRecorder* rec = AddRecorder(Opts("kubelet"));
  for (int i = 0; i < 30; ++i) rec->Event(Pod("web"), "Normal", "Pulled", "same");
  rec->Event(Pod("other"), "Normal", "Pulled", "same");
  Run(Seconds(5));
  EXPECT_EQ(rec->stats().dropped_spam, 5u);
  EXPECT_EQ(rec->stats().created, 2u);
  EXPECT_EQ(rec->stats().patched, 24u);
  Run(Seconds(301));
  rec->Event(Pod("web"), "Normal", "Pulled", "same");
  rec->Event(Pod("web"), "Normal", "Pulled", "same");
  Run(Seconds(5));
  EXPECT_EQ(rec->stats().dropped_spam, 6u);
  EXPECT_EQ(rec->stats().patched, 25u);
}

TEST_F(EventRecorderTest, TheQueueIsBounded) {
  EventRecorder* rec = AddRecorder(Opts("kubelet", "", 3));
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += rec->Event(Pod("p" + std::to_string(i)), "Normal", "Scheduled", "x") ? 1 : 0;
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(rec->stats().dropped_full, 7u);
  Run(Seconds(2));
  EXPECT_EQ(Events("team").size(), 3u);
}

TEST_F(EventRecorderTest, WritesAreRetriedWhileTheApiserverIsUnreachable) {
  EventRecorder* rec = AddRecorder(Opts("kubelet"));
  sim::Host* host = api.store.world.FindHost("recorder");
  api.store.world.network().Isolate(host->id());
  rec->Event(Pod("web"), "Normal", "Started", "Started container app");
  Run(Seconds(60));
  EXPECT_EQ(rec->stats().created, 0u);
  EXPECT_GE(rec->stats().retries, 1u);
  api.store.world.network().Heal();
  Run(Seconds(60));
  EXPECT_EQ(rec->stats().created, 1u);
  EXPECT_EQ(rec->stats().failed, 0u);
  EXPECT_EQ(Events("team").size(), 1u);
}

TEST_F(EventRecorderTest, ARepeatOfAnExpiredEventCreatesItAnew) {
  EventRecorder* rec = AddRecorder(Opts("kubelet"));
  rec->Event(Pod("web"), "Warning", "BackOff", "again");
  Run(Seconds(1));
  auto events = Events("team");
  ASSERT_EQ(events.size(), 1u);
  auto r = api.Await([&](ApiClient::Done d) {
    kubectl->Delete(Kind("", "events"), "team", events[0].metadata().name(), std::move(d));
  });
  ASSERT_TRUE(r.ok()) << r.Describe();
  rec->Event(Pod("web"), "Warning", "BackOff", "again");
  Run(Seconds(1));
  events = Events("team");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].count(), 2);
  EXPECT_EQ(rec->stats().created, 2u);
}

}  // namespace
}  // namespace ksim::client
