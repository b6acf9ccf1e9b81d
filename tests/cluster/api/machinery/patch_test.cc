// Patches: RFC 7386 appendix A, RFC 6902 appendix A, and Kubernetes' strategic merge patch.
#include "cluster/api/machinery/patch.h"

#include <gtest/gtest.h>

#include <string>

namespace ksim::api {
namespace {

using nlohmann::json;

json J(const char* text) { return json::parse(text); }

// A failed patch (expected == nullptr) names `error` and leaves the output ("0") alone; a
// successful one produces `expected`.
void ExpectOutcome(const char* name, const Status& s, const json& out, const char* expected, const char* error) {
  if (expected == nullptr) {
    ASSERT_FALSE(s.ok()) << name;
    EXPECT_NE(s.message().find(error), std::string::npos) << name << ": " << s.message();
    EXPECT_EQ(out, J("0")) << name;
  } else {
    ASSERT_TRUE(s.ok()) << name << ": " << s.ToString();
    EXPECT_EQ(out, J(expected)) << name << ": " << out.dump();
  }
}

struct PatchCase {
  const char* name;
  const char* document;
  const char* patch;
  const char* expected;  // nullptr: the patch must fail
  const char* error = "";  // a substring of the error
};

TEST(MergePatchTest, Rfc7386AppendixA) {
  const PatchCase cases[] = {
      {"1", R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {"2", R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {"3", R"({"a":"b"})", R"({"a":null})", R"({})"},
      {"4", R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {"5", R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {"6", R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {"7", R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {"8", R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {"9", R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {"10", R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {"11", R"({"a":"foo"})", R"(null)", R"(null)"},
      {"12", R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {"13", R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {"14", R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {"15", R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
      {"section 3",
       R"({"title":"Goodbye!","author":{"givenName":"John","familyName":"Doe"},"tags":["example","sample"],"content":"This will be unchanged"})",
       R"({"title":"Hello!","phoneNumber":"+01-123-456-7890","author":{"familyName":null},"tags":["example"]})",
       R"({"title":"Hello!","author":{"givenName":"John"},"tags":["example"],"content":"This will be unchanged","phoneNumber":"+01-123-456-7890"})"},
  };
  for (const PatchCase& c : cases) {
    json out;
    ASSERT_TRUE(ApplyMergePatch(J(c.document), J(c.patch), &out).ok()) << c.name;
    EXPECT_EQ(out, J(c.expected)) << c.name << ": " << out.dump();
  }
}

TEST(MergePatchTest, CreateMergePatchRoundTrips) {
  const json a = J(R"({"a":1,"b":{"c":2,"d":[1,2]},"e":"x"})");
  const json b = J(R"({"a":1,"b":{"c":3,"d":[2]},"f":{"g":true}})");
  const json diff = CreateMergePatch(a, b);
  EXPECT_EQ(diff, J(R"({"b":{"c":3,"d":[2]},"e":null,"f":{"g":true}})"));
  json out;
  ASSERT_TRUE(ApplyMergePatch(a, diff, &out).ok());
  EXPECT_EQ(out, b);
  EXPECT_EQ(CreateMergePatch(a, a), json::object());
}

TEST(JsonPatchTest, Rfc6902AppendixA) {
  const PatchCase cases[] = {
      {"A.1 add object member", R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])",
       R"({"baz":"qux","foo":"bar"})"},
      {"A.2 add array element", R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])",
       R"({"foo":["bar","qux","baz"]})"},
      {"A.3 remove object member", R"({"baz":"qux","foo":"bar"})", R"([{"op":"remove","path":"/baz"}])",
       R"({"foo":"bar"})"},
      {"A.4 remove array element", R"({"foo":["bar","qux","baz"]})", R"([{"op":"remove","path":"/foo/1"}])",
       R"({"foo":["bar","baz"]})"},
      {"A.5 replace", R"({"baz":"qux","foo":"bar"})", R"([{"op":"replace","path":"/baz","value":"boo"}])",
       R"({"baz":"boo","foo":"bar"})"},
      {"A.6 move", R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
       R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])",
       R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})"},
      {"A.7 move array element", R"({"foo":["all","grass","cows","eat"]})",
       R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])", R"({"foo":["all","cows","eat","grass"]})"},
      {"A.8 test success", R"({"baz":"qux","foo":["a",2,"c"]})",
       R"([{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}])",
       R"({"baz":"qux","foo":["a",2,"c"]})"},
      {"A.9 test error", R"({"baz":"qux"})", R"([{"op":"test","path":"/baz","value":"bar"}])", nullptr,
       R"(json patch operation 0 (test) at "/baz": test failed: value is "qux", expected "bar")"},
      {"A.10 add nested member", R"({"foo":"bar"})",
       R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])",
       R"({"foo":"bar","child":{"grandchild":{}}})"},
      {"A.11 ignore unrecognized elements", R"({"foo":"bar"})",
       R"([{"op":"add","path":"/baz","value":"qux","xyz":123}])", R"({"foo":"bar","baz":"qux"})"},
      {"A.12 add to nonexistent target", R"({"foo":"bar"})", R"([{"op":"add","path":"/baz/bat","value":"qux"}])",
       nullptr, R"(json patch operation 0 (add) at "/baz/bat": member "baz" does not exist)"},
      {"A.14 ~ escape ordering", R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":10}])",
       R"({"/":9,"~1":10})"},
      {"A.15 comparing strings and numbers", R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":"10"}])",
       nullptr, "test failed"},
      {"A.16 add array value", R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])",
       R"({"foo":["bar",["abc","def"]]})"},
  };
  for (const PatchCase& c : cases) {
    json out = J("0");
    const Status s = ApplyJsonPatch(J(c.document), J(c.patch), &out);
    ExpectOutcome(c.name, s, out, c.expected, c.error);
  }
}

TEST(JsonPatchTest, MoreOperationsAndErrors) {
  const PatchCase cases[] = {
      {"copy", R"({"a":{"b":1}})", R"([{"op":"copy","from":"/a","path":"/c"}])", R"({"a":{"b":1},"c":{"b":1}})"},
      {"replace root", R"({"a":1})", R"([{"op":"replace","path":"","value":[1]}])", R"([1])"},
      {"add root", R"({"a":1})", R"([{"op":"add","path":"","value":{"b":2}}])", R"({"b":2})"},
      {"add replaces member", R"({"a":1})", R"([{"op":"add","path":"/a","value":2}])", R"({"a":2})"},
      {"append at end index", R"([1])", R"([{"op":"add","path":"/1","value":2}])", R"([1,2])"},
      {"test then fail keeps nothing", R"({"a":1})",
       R"([{"op":"add","path":"/b","value":2},{"op":"test","path":"/a","value":2}])", nullptr,
       "json patch operation 1 (test) at \"/a\""},
      {"remove missing", R"({"a":1})", R"([{"op":"remove","path":"/b"}])", nullptr,
       R"(operation 0 (remove) at "/b": member "b" does not exist)"},
      {"replace missing", R"({"a":1})", R"([{"op":"replace","path":"/b","value":1}])", nullptr, "does not exist"},
      {"index out of bounds", R"([1])", R"([{"op":"add","path":"/2","value":2}])", nullptr, "out of bounds"},
      {"leading zero index", R"([1,2])", R"([{"op":"remove","path":"/01"}])", nullptr, "is not an array index"},
      {"dash only for add", R"([1,2])", R"([{"op":"remove","path":"/-"}])", nullptr, "names no existing"},
      {"move into own child", R"({"a":{"b":1}})", R"([{"op":"move","from":"/a","path":"/a/c"}])", nullptr,
       "into one of its own children"},
      {"move missing from", R"({"a":1})", R"([{"op":"move","from":"/x","path":"/y"}])", nullptr, "from \"/x\""},
      {"unknown op", R"({})", R"([{"op":"frob","path":"/a"}])", nullptr, "operation 0 (frob) at \"/a\": unknown op"},
      {"missing op", R"({})", R"([{"path":"/a"}])", nullptr, "missing string member \"op\""},
      {"missing value", R"({})", R"([{"op":"add","path":"/a"}])", nullptr, "missing member \"value\""},
      {"bad pointer", R"({})", R"([{"op":"add","path":"a","value":1}])", nullptr, "start with '/'"},
      {"bad escape", R"({})", R"([{"op":"add","path":"/~2","value":1}])", nullptr, "'~' must be followed"},
      {"not a list", R"({})", R"({"op":"add"})", nullptr, "must be a list of operations"},
      {"remove root", R"({})", R"([{"op":"remove","path":""}])", nullptr, "cannot remove the whole document"},
      {"through a scalar", R"({"a":1})", R"([{"op":"add","path":"/a/b","value":1}])", nullptr,
       "neither object nor array"},
      {"test deep equality", R"({"a":{"b":[1,{"c":2}]}})", R"([{"op":"test","path":"/a","value":{"b":[1,{"c":2}]}}])",
       R"({"a":{"b":[1,{"c":2}]}})"},
      {"test numbers numerically", R"({"a":1})", R"([{"op":"test","path":"/a","value":1.0}])", R"({"a":1})"},
  };
  for (const PatchCase& c : cases) {
    json out = J("0");
    const Status s = ApplyJsonPatch(J(c.document), J(c.patch), &out);
    ExpectOutcome(c.name, s, out, c.expected, c.error);
  }
}

TEST(JsonPatchTest, InvalidUtf8InAFailedTestIsReportedNotThrown) {
  const json document = {{"a", std::string("\xff")}};
  const json patch = json::array({{{"op", "test"}, {"path", "/a"}, {"value", "x"}}});
  json out;
  const Status s = ApplyJsonPatch(document, patch, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("test failed: value is"), std::string::npos) << s.message();
}

struct StrategicCase {
  const char* name;
  const char* kind;
  const char* document;
  const char* patch;
  const char* expected;  // nullptr: must fail
  const char* error = "";
};

TEST(StrategicMergePatchTest, KubernetesSemantics) {
  const StrategicCase cases[] = {
      {"containers merged by name", "Pod",
       R"({"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"y"}]}})",
       R"({"spec":{"containers":[{"name":"b","image":"z"},{"name":"c","image":"w"}]}})",
       R"({"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"z"},{"name":"c","image":"w"}]}})"},
      {"env item deleted with $patch: delete", "Pod",
       R"({"spec":{"containers":[{"name":"a","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]}]}})",
       R"({"spec":{"containers":[{"name":"a","env":[{"name":"A","$patch":"delete"}]}]}})",
       R"({"spec":{"containers":[{"name":"a","env":[{"name":"B","value":"2"}]}]}})"},
      {"env merged by name inside a container", "Pod",
       R"({"spec":{"containers":[{"name":"a","env":[{"name":"A","value":"1"}]}]}})",
       R"({"spec":{"containers":[{"name":"a","env":[{"name":"A","value":"2"},{"name":"C","value":"3"}]}]}})",
       R"({"spec":{"containers":[{"name":"a","env":[{"name":"A","value":"2"},{"name":"C","value":"3"}]}]}})"},
      {"ports merged by containerPort", "Pod",
       R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"http"}]}]}})",
       R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443}]}]}})",
       R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"http","protocol":"TCP"},{"containerPort":443}]}]}})"},
      {"finalizers union keeping order", "Pod", R"({"metadata":{"finalizers":["a","b"]}})",
       R"({"metadata":{"finalizers":["b","c","a","d"]}})", R"({"metadata":{"finalizers":["a","b","c","d"]}})"},
      {"$patch: replace on a map", "Pod",
       R"({"spec":{"containers":[{"name":"a","resources":{"limits":{"cpu":"1"},"requests":{"cpu":"1"}}}]}})",
       R"({"spec":{"containers":[{"name":"a","resources":{"$patch":"replace","limits":{"memory":"1Gi"}}}]}})",
       R"({"spec":{"containers":[{"name":"a","resources":{"limits":{"memory":"1Gi"}}}]}})"},
      {"$patch: replace as a list item", "Pod", R"({"spec":{"containers":[{"name":"a"},{"name":"b"}]}})",
       R"({"spec":{"containers":[{"$patch":"replace"},{"name":"c","image":"i"}]}})",
       R"({"spec":{"containers":[{"name":"c","image":"i"}]}})"},
      {"$patch: replace on a primitive merge list", "Pod", R"({"metadata":{"finalizers":["a","b"]}})",
       R"({"metadata":{"finalizers":[{"$patch":"replace"},"c"]}})", R"({"metadata":{"finalizers":["c"]}})"},
      {"$patch: delete on a map", "Pod", R"({"spec":{"affinity":{"nodeAffinity":{}},"x":1}})",
       R"({"spec":{"affinity":{"$patch":"delete"}}})", R"({"spec":{"x":1}})"},
      {"$patch: delete on the root", "Pod", R"({"spec":{"x":1}})", R"({"$patch":"delete"})", R"({})"},
      {"$patch: merge is the default", "Pod", R"({"spec":{"a":1}})", R"({"spec":{"$patch":"merge","b":2}})",
       R"({"spec":{"a":1,"b":2}})"},
      {"$setElementOrder on finalizers", "Pod", R"({"metadata":{"finalizers":["a","b","c"]}})",
       R"({"metadata":{"$setElementOrder/finalizers":["c","a","b"]}})",
       R"({"metadata":{"finalizers":["c","a","b"]}})"},
      {"$setElementOrder on containers with a change", "Pod",
       R"({"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"2"},{"name":"c","image":"3"}]}})",
       R"({"spec":{"$setElementOrder/containers":[{"name":"c"},{"name":"b"},{"name":"a"}],"containers":[{"name":"b","image":"9"}]}})",
       R"({"spec":{"containers":[{"name":"c","image":"3"},{"name":"b","image":"9"},{"name":"a","image":"1"}]}})"},
      {"$setElementOrder keeps server-only items in place", "Pod",
       R"({"spec":{"containers":[{"name":"a"},{"name":"s"},{"name":"b"}]}})",
       R"({"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"a"},{"name":"n"}],"containers":[{"name":"n"}]}})",
       R"({"spec":{"containers":[{"name":"s"},{"name":"b"},{"name":"a"},{"name":"n"}]}})"},
      {"$deleteFromPrimitiveList", "Pod", R"({"metadata":{"finalizers":["a","b","c"]}})",
       R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["b","x"]}})",
       R"({"metadata":{"finalizers":["a","c"]}})"},
      {"$deleteFromPrimitiveList before additions", "Pod", R"({"metadata":{"finalizers":["a","b"]}})",
       R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["a"],"finalizers":["c"]}})",
       R"({"metadata":{"finalizers":["b","c"]}})"},
      {"null deletes a key", "Pod", R"({"metadata":{"labels":{"x":"1","y":"2"}}})",
       R"({"metadata":{"labels":{"x":null,"z":"3"}}})", R"({"metadata":{"labels":{"y":"2","z":"3"}}})"},
      {"lists without a strategy are replaced", "Pod",
       R"({"spec":{"tolerations":[{"key":"a"}],"containers":[{"name":"a","args":["1","2"]}]}})",
       R"({"spec":{"tolerations":[{"key":"b"}],"containers":[{"name":"a","args":["3"]}]}})",
       R"({"spec":{"tolerations":[{"key":"b"}],"containers":[{"name":"a","args":["3"]}]}})"},
      {"containerStatuses replaced", "Pod", R"({"status":{"containerStatuses":[{"name":"a"},{"name":"b"}]}})",
       R"({"status":{"containerStatuses":[{"name":"b","ready":true}]}})",
       R"({"status":{"containerStatuses":[{"name":"b","ready":true}]}})"},
      {"pod conditions merged by type", "Pod",
       R"({"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"Scheduled","status":"True"}]}})",
       R"({"status":{"conditions":[{"type":"Ready","status":"True"}]}})",
       R"({"status":{"conditions":[{"type":"Ready","status":"True"},{"type":"Scheduled","status":"True"}]}})"},
      {"deployment template reuses the pod table", "Deployment",
       R"({"spec":{"template":{"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"2"}]}}}})",
       R"({"spec":{"template":{"spec":{"containers":[{"name":"a","image":"3"}]}}}})",
       R"({"spec":{"template":{"spec":{"containers":[{"name":"a","image":"3"},{"name":"b","image":"2"}]}}}})"},
      {"a Pod-shaped path in another kind is replaced", "ConfigMap",
       R"({"spec":{"containers":[{"name":"a"},{"name":"b"}]}})", R"({"spec":{"containers":[{"name":"a","x":1}]}})",
       R"({"spec":{"containers":[{"name":"a","x":1}]}})"},
      {"metadata applies to every kind", "ConfigMap", R"({"metadata":{"finalizers":["a"]}})",
       R"({"metadata":{"finalizers":["b"]}})", R"({"metadata":{"finalizers":["a","b"]}})"},
      {"ownerReferences merged by uid", "ReplicaSet",
       R"({"metadata":{"ownerReferences":[{"uid":"1","name":"d1"},{"uid":"2","name":"d2"}]}})",
       R"({"metadata":{"ownerReferences":[{"uid":"2","controller":true},{"uid":"3","name":"d3"}]}})",
       R"({"metadata":{"ownerReferences":[{"uid":"1","name":"d1"},{"uid":"2","name":"d2","controller":true},{"uid":"3","name":"d3"}]}})"},
      {"node conditions and addresses by type", "Node",
       R"({"status":{"conditions":[{"type":"Ready","status":"True"}],"addresses":[{"type":"InternalIP","address":"10.0.0.1"}]}})",
       R"({"status":{"conditions":[{"type":"MemoryPressure","status":"False"}],"addresses":[{"type":"InternalIP","address":"10.0.0.2"},{"type":"Hostname","address":"n1"}]}})",
       R"({"status":{"conditions":[{"type":"Ready","status":"True"},{"type":"MemoryPressure","status":"False"}],"addresses":[{"type":"InternalIP","address":"10.0.0.2"},{"type":"Hostname","address":"n1"}]}})"},
      {"service ports by port", "Service", R"({"spec":{"ports":[{"port":80,"targetPort":8080}]}})",
       R"({"spec":{"ports":[{"port":80,"targetPort":9090},{"port":443}]}})",
       R"({"spec":{"ports":[{"port":80,"targetPort":9090},{"port":443}]}})"},
      {"endpoints subsets replaced", "Endpoints", R"({"subsets":[{"addresses":[{"ip":"1"}]}]})",
       R"({"subsets":[{"addresses":[{"ip":"2"}]}]})", R"({"subsets":[{"addresses":[{"ip":"2"}]}]})"},
      {"new values have their directives resolved", "Pod", R"({})",
       R"({"spec":{"containers":[{"name":"a","env":[{"name":"X","value":"1"},{"name":"Y","$patch":"delete"}],"x":null}]}})",
       R"({"spec":{"containers":[{"name":"a","env":[{"name":"X","value":"1"}]}]}})"},
      {"$retainKeys clears other fields", "Pod", R"({"spec":{"strategy":{"type":"A","rollingUpdate":{"x":1}}}})",
       R"({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}})",
       R"({"spec":{"strategy":{"type":"Recreate"}}})"},
      {"item without merge key", "Pod", R"({"spec":{"containers":[{"name":"a"}]}})",
       R"({"spec":{"containers":[{"image":"x"}]}})", nullptr,
       R"(strategic merge patch at spec.containers[0]: list item has no merge key "name")"},
      {"delete item without merge key", "Pod", R"({"spec":{"containers":[{"name":"a"}]}})",
       R"({"spec":{"containers":[{"$patch":"delete"}]}})", nullptr, "has no merge key"},
      {"scalar item in a merge-by-key list", "Pod", R"({"spec":{"containers":[]}})",
       R"({"spec":{"containers":["a"]}})", nullptr, "must be an object"},
      {"object in a primitive merge list", "Pod", R"({"metadata":{"finalizers":[]}})",
       R"({"metadata":{"finalizers":[{"a":1}]}})", nullptr, "cannot hold an object"},
      {"unknown directive", "Pod", R"({})", R"({"spec":{"$frob":1}})", nullptr,
       "strategic merge patch at spec.$frob: unknown directive"},
      {"bad $patch value", "Pod", R"({})", R"({"spec":{"$patch":"frob"}})", nullptr,
       "unknown $patch directive \"frob\""},
      {"patch must be an object", "Pod", R"({})", R"([])", nullptr, "must be a JSON object"},
  };
  for (const StrategicCase& c : cases) {
    json out = J("0");
    const Status s = ApplyStrategicMergePatch(J(c.document), J(c.patch), c.kind, MergeKeyTable::BuiltIn(), &out);
    ExpectOutcome(c.name, s, out, c.expected, c.error);
  }
}

TEST(StrategicMergePatchTest, BuiltInTable) {
  const MergeKeyTable& t = MergeKeyTable::BuiltIn();
  const ListRule by_name{ListStrategy::kMerge, "name"};
  EXPECT_EQ(t.Lookup("Pod", "spec.containers"), by_name);
  EXPECT_EQ(t.Lookup("Pod", "spec.initContainers[].volumeMounts"), (ListRule{ListStrategy::kMerge, "mountPath"}));
  EXPECT_EQ(t.Lookup("Pod", "spec.ephemeralContainers[].volumeDevices"),
            (ListRule{ListStrategy::kMerge, "devicePath"}));
  EXPECT_EQ(t.Lookup("Pod", "spec.hostAliases"), (ListRule{ListStrategy::kMerge, "ip"}));
  EXPECT_EQ(t.Lookup("Pod", "spec.tolerations"), ListRule{});
  EXPECT_EQ(t.Lookup("StatefulSet", "spec.template.spec.volumes"), by_name);
  EXPECT_EQ(t.Lookup("Job", "spec.template.spec.imagePullSecrets"), by_name);
  EXPECT_EQ(t.Lookup("ReplicationController", "spec.template.spec.containers[].env"), by_name);
  EXPECT_EQ(t.Lookup("DaemonSet", "status.conditions"), (ListRule{ListStrategy::kMerge, "type"}));
  EXPECT_EQ(t.Lookup("Node", "spec.podCIDRs"), (ListRule{ListStrategy::kMergePrimitive, ""}));
  EXPECT_EQ(t.Lookup("Anything", "metadata.finalizers"), (ListRule{ListStrategy::kMergePrimitive, ""}));
  EXPECT_EQ(t.Lookup("Anything", "metadata.ownerReferences"), (ListRule{ListStrategy::kMerge, "uid"}));
  EXPECT_EQ(t.Lookup("Anything", "spec.containers"), ListRule{});

  MergeKeyTable custom;
  custom.Add("*", "items", by_name);
  custom.Add("Special", "items", ListRule{});
  EXPECT_EQ(custom.Lookup("Other", "items"), by_name);
  EXPECT_EQ(custom.Lookup("Special", "items"), ListRule{}) << "a kind's own entry wins over *";
}

TEST(PatchTest, ContentTypesAndDispatch) {
  PatchType type = PatchType::kMergePatch;
  ASSERT_TRUE(PatchTypeFromContentType("application/json-patch+json", &type).ok());
  EXPECT_EQ(type, PatchType::kJsonPatch);
  ASSERT_TRUE(PatchTypeFromContentType("application/strategic-merge-patch+json; charset=utf-8", &type).ok());
  EXPECT_EQ(type, PatchType::kStrategicMergePatch);
  ASSERT_TRUE(PatchTypeFromContentType("application/merge-patch+json", &type).ok());
  EXPECT_EQ(type, PatchType::kMergePatch);
  EXPECT_TRUE(PatchTypeFromContentType("application/apply-patch+yaml", &type).Is(Status::Code::kNotSupported));
  const Status bad = PatchTypeFromContentType("text/plain", &type);
  EXPECT_TRUE(bad.Is(Status::Code::kInvalidArgument));
  EXPECT_NE(bad.message().find("\"text/plain\""), std::string::npos);
  for (PatchType t : {PatchType::kJsonPatch, PatchType::kMergePatch, PatchType::kStrategicMergePatch}) {
    PatchType back = PatchType::kJsonPatch;
    ASSERT_TRUE(PatchTypeFromContentType(ContentTypeOf(t), &back).ok());
    EXPECT_EQ(back, t);
  }

  const json pod = J(R"({"metadata":{"finalizers":["a"]}})");
  json out;
  ASSERT_TRUE(ApplyPatch(PatchType::kStrategicMergePatch, pod, J(R"({"metadata":{"finalizers":["b"]}})"), "Pod", &out).ok());
  EXPECT_EQ(out, J(R"({"metadata":{"finalizers":["a","b"]}})"));
  ASSERT_TRUE(ApplyPatch(PatchType::kMergePatch, pod, J(R"({"metadata":{"finalizers":["b"]}})"), "Pod", &out).ok());
  EXPECT_EQ(out, J(R"({"metadata":{"finalizers":["b"]}})"));
  ASSERT_TRUE(ApplyPatch(PatchType::kJsonPatch, pod, J(R"([{"op":"add","path":"/metadata/finalizers/-","value":"c"}])"),
                         "Pod", &out)
                  .ok());
  EXPECT_EQ(out, J(R"({"metadata":{"finalizers":["a","c"]}})"));
}

}  // namespace
}  // namespace ksim::api
