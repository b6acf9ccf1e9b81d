// Objects with a TTL (Events) through store leases: they go after their TTL, and writes
// within a minute share one lease.
#include <gtest/gtest.h>

#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::apiserver::testing {
namespace {

using client::ApiClient;
using client::ApiResult;

const api::KindInfo& Events() { return Kind("", "events"); }

api::Event MakeEvent(const std::string& name) {
  api::Event e;
  e.mutable_metadata()->set_name(name);
  e.mutable_metadata()->set_namespace_("default");
  e.mutable_involved_object()->set_kind("Pod");
  e.mutable_involved_object()->set_namespace_("default");
  e.mutable_involved_object()->set_name("web");
  e.set_reason("Scheduled");
  e.set_message("Successfully assigned default/web to node-a");
  e.set_type("Normal");
  return e;
}

class EventTtlTest : public ApiVerbTest {
 protected:
  int GetCode(const std::string& name) {
    return Await([&](ApiClient::Done d) { c->Get(Events(), "default", name, d); }).code;
  }
};

TEST_F(EventTtlTest, AnEventGoesAnHourAfterItsLastWrite) {
  ASSERT_EQ(Await([&](ApiClient::Done d) { c->Create(Events(), MakeEvent("first"), d); }).code, 201);
  cluster.store.world.RunFor(Seconds(30));
  ASSERT_EQ(Await([&](ApiClient::Done d) { c->Create(Events(), MakeEvent("second"), d); }).code, 201);
  // A pod is not an Event: it has no TTL.
  ASSERT_EQ(Await([&](ApiClient::Done d) { c->Create(Kind("", "pods"), MakePod("default", "web"), d); }).code, 201);

  cluster.store.world.RunFor(Seconds(3600 - 60));
  EXPECT_EQ(GetCode("first"), 200) << "kept for its TTL";
  EXPECT_EQ(GetCode("second"), 200);
  // Both share the first one's lease (granted for TTL + 60 s), so both go by then.
  cluster.store.world.RunFor(Seconds(60 + 60 + 5));
  EXPECT_EQ(GetCode("first"), 404) << "gone after TTL + the lease reuse window";
  EXPECT_EQ(GetCode("second"), 404);
  EXPECT_EQ(Await([&](ApiClient::Done d) { c->Get(Kind("", "pods"), "default", "web", d); }).code, 200);
}

TEST_F(EventTtlTest, AnUpdateRenewsTheTtl) {
  ASSERT_EQ(Await([&](ApiClient::Done d) { c->Create(Events(), MakeEvent("e"), d); }).code, 201);
  cluster.store.world.RunFor(Seconds(3000));
  const ApiResult got = Await([&](ApiClient::Done d) { c->Get(Events(), "default", "e", d); });
  api::Event e;
  ASSERT_TRUE(e.ParseFromString(got.body));
  e.set_count(2);
  ASSERT_EQ(Await([&](ApiClient::Done d) { c->Update(Events(), e, d); }).code, 200);
  cluster.store.world.RunFor(Seconds(3000));
  EXPECT_EQ(GetCode("e"), 200) << "the update attached a fresh lease";
  cluster.store.world.RunFor(Seconds(3600));
  EXPECT_EQ(GetCode("e"), 404);
}

}  // namespace
}  // namespace ksim::apiserver::testing
