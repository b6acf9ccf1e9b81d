// ControllerRevision utilities (cluster/controllers/history.h): pure helpers, and creation
// with a collision count against the API in the simulated world.
#include "cluster/controllers/history.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "cluster/api/apps.pb.h"
#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::history {
namespace {

using testing::CmCluster;
using testing::Kind;

api::PodTemplateSpec Template(const std::string& image) {
  api::PodTemplateSpec t;
  (*t.mutable_metadata()->mutable_labels())["app"] = "db";
  (*t.mutable_metadata()->mutable_labels())["tier"] = "data";
  auto* c = t.mutable_spec()->add_containers();
  c->set_name("c");
  c->set_image(image);
  t.mutable_spec()->set_termination_grace_period_seconds(30);
  return t;
}

api::ObjectMeta Owner(const std::string& name = "db", const std::string& uid = "uid-1") {
  api::ObjectMeta m;
  m.set_name(name);
  m.set_namespace_("default");
  m.set_uid(uid);
  return m;
}

api::ControllerRevision Rev(const std::string& image, int64_t number, int32_t collisions = 0) {
  google::protobuf::Struct data;
  EXPECT_TRUE(TemplateData(Template(image), &data).ok());
  return NewRevision(Owner(), "apps/v1", "StatefulSet", {{"app", "db"}}, data, number, collisions);
}

TEST(HistoryTest, TemplateDataRoundTripsInKubernetesShape) {
  google::protobuf::Struct data;
  ASSERT_TRUE(TemplateData(Template("pg:16"), &data).ok());
  const std::string json = CanonicalData(data);
  EXPECT_NE(json.find(R"("$patch":"replace")"), std::string::npos) << json;
  EXPECT_EQ(json.rfind(R"({"spec":{"template":{)", 0), 0u) << json;
  api::PodTemplateSpec back;
  ASSERT_TRUE(TemplateFromData(data, &back).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(back, Template("pg:16")));
  google::protobuf::Struct empty;
  EXPECT_FALSE(TemplateFromData(empty, &back).ok());
}

TEST(HistoryTest, HashIsAFunctionOfDataAndProbe) {
  const auto a = Rev("pg:16", 1);
  const auto b = Rev("pg:16", 7);  // the revision number is not hashed
  const auto c = Rev("pg:17", 1);
  EXPECT_EQ(HashRevision(a, std::nullopt), HashRevision(b, std::nullopt));
  EXPECT_NE(HashRevision(a, 0), HashRevision(c, 0));
  EXPECT_NE(HashRevision(a, 0), HashRevision(a, 1));
  EXPECT_NE(HashRevision(a, std::nullopt), HashRevision(a, 0));
  for (char ch : HashRevision(a, 0)) EXPECT_NE(std::string("bcdfghjklmnpqrstvwxz2456789").find(ch), std::string::npos);
  // Fixed value: a change of the hash would rename every revision of existing sets.
  EXPECT_EQ(HashRevision(a, 0), "5b7cdb579d");
  EXPECT_EQ(a.metadata().name(), "db-" + HashRevision(a, 0));
  EXPECT_EQ(a.metadata().labels().at(kHashLabel), HashRevision(a, 0));
  EXPECT_EQ(a.metadata().labels().at("app"), "db");
  EXPECT_EQ(a.metadata().owner_references(0).kind(), "StatefulSet");
  EXPECT_TRUE(a.metadata().owner_references(0).controller());
  EXPECT_EQ(RevisionName(std::string(300, 'x'), "abc").size(), 223u + 4);
}

TEST(HistoryTest, EqualityOrderingNextRevision) {
  std::vector<api::ControllerRevision> revs = {Rev("pg:17", 3), Rev("pg:15", 1), Rev("pg:16", 2)};
  EXPECT_TRUE(EqualRevision(revs[0], Rev("pg:17", 9)));
  EXPECT_FALSE(EqualRevision(revs[0], revs[1]));
  auto eq = FindEqualRevisions(revs, Rev("pg:16", 5));
  ASSERT_EQ(eq.size(), 1u);
  EXPECT_EQ(eq[0]->revision(), 2);
  EXPECT_EQ(NextRevision(revs), 4);
  EXPECT_EQ(NextRevision({}), 1);
  SortRevisions(&revs);
  EXPECT_EQ(revs[0].revision(), 1);
  EXPECT_EQ(revs[2].revision(), 3);
}

TEST(HistoryTest, TruncateKeepsLiveAndTheNewestUpToTheLimit) {
  std::vector<api::ControllerRevision> revs;
  for (int i = 1; i <= 6; ++i) revs.push_back(Rev("img:" + std::to_string(i), i));
  const std::set<std::string> live = {revs[0].metadata().name(), revs[5].metadata().name()};
  auto gone = TruncatePlan(revs, live, 2);
  ASSERT_EQ(gone.size(), 2u);  // 2,3,4,5 are history; keep 4,5
  EXPECT_EQ(gone[0].revision(), 2);
  EXPECT_EQ(gone[1].revision(), 3);
  EXPECT_TRUE(TruncatePlan(revs, live, 10).empty());
  EXPECT_EQ(TruncatePlan(revs, live, 0).size(), 4u);
}

TEST(HistoryTest, ClaimAdoptsMatchingOrphansAndReleasesNonMatching) {
  api::LabelMatcher sel;
  ASSERT_TRUE(api::LabelMatcher::FromMap({{"app", "db"}}, &sel).ok());
  auto mine = Rev("a", 1);
  auto orphan = Rev("b", 2);
  orphan.mutable_metadata()->clear_owner_references();
  auto mismatched = Rev("c", 3);
  (*mismatched.mutable_metadata()->mutable_labels())["app"] = "web";
  auto other = Rev("d", 4);
  other.mutable_metadata()->mutable_owner_references(0)->set_uid("uid-2");
  auto stranger = orphan;
  (*stranger.mutable_metadata()->mutable_labels())["app"] = "web";
  Claim c = ClaimRevisions({mine, orphan, mismatched, other, stranger}, Owner(), "apps/v1", "StatefulSet", sel);
  ASSERT_EQ(c.owned.size(), 1u);
  ASSERT_EQ(c.adopt.size(), 1u);
  EXPECT_EQ(c.adopt[0].metadata().owner_references(0).uid(), "uid-1");
  ASSERT_EQ(c.release.size(), 1u);
  EXPECT_EQ(c.release[0].metadata().owner_references_size(), 0);
  EXPECT_EQ(OwnedBy({mine, orphan, other}, "uid-1").size(), 1u);
  // Being deleted: adopts nothing, keeps even non-matching ones.
  api::ObjectMeta deleting = Owner();
  deleting.mutable_deletion_timestamp()->set_seconds(1);
  c = ClaimRevisions({mine, orphan, mismatched}, deleting, "apps/v1", "StatefulSet", sel);
  EXPECT_EQ(c.owned.size(), 2u);
  EXPECT_TRUE(c.adopt.empty());
  EXPECT_TRUE(c.release.empty());
}

// Creation against the apiserver: an equal revision under the name is reused; a different
// one under the name raises the collision count.
TEST(HistoryTest, CreateReusesEqualAndCountsCollisions) {
  CmCluster c;
  client::ApiClient* cl = c.kubectl;
  const auto create = [&](api::ControllerRevision r, int32_t count) {
    Status st;
    api::ControllerRevision got;
    int32_t used = -1;
    bool finished = false;
    CreateRevision(cl, "db", std::move(r), count, [&](Status s, api::ControllerRevision rev, int32_t n) {
      st = s;
      got = std::move(rev);
      used = n;
      finished = true;
    });
    for (int i = 0; i < 100 && !finished; ++i) c.Run(Milliseconds(100));
    EXPECT_TRUE(finished);
    EXPECT_TRUE(st.ok()) << st.message();
    return std::make_pair(got, used);
  };
  auto [first, n1] = create(Rev("pg:16", 1), 0);
  EXPECT_EQ(n1, 0);
  EXPECT_EQ(first.metadata().name(), "db-" + HashRevision(Rev("pg:16", 1), 0));
  EXPECT_FALSE(first.metadata().uid().empty());
  auto [again, n2] = create(Rev("pg:16", 2), 0);  // equal data: the existing one
  EXPECT_EQ(n2, 0);
  EXPECT_EQ(again.metadata().uid(), first.metadata().uid());
  EXPECT_EQ(again.revision(), 1);
  // Squat the name the next template would get with different data: a collision.
  auto squat = Rev("squatter", 1);
  squat.mutable_metadata()->set_name("db-" + HashRevision(Rev("pg:17", 1), 0));
  ASSERT_TRUE(c.Create(squat).ok());
  auto [third, n3] = create(Rev("pg:17", 2), 0);
  EXPECT_EQ(n3, 1);
  EXPECT_EQ(third.metadata().name(), "db-" + HashRevision(Rev("pg:17", 1), 1));
  EXPECT_EQ(third.revision(), 2);
}

}  // namespace
}  // namespace ksim::controllers::history
