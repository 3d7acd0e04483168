// Each CRD has the pieces docs/design.md (The API) describes: names, status subresource, printer
// columns, selectable fields, immutability and cross-field CEL rules, bounded lists.
#include <algorithm>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crds/api_names.h"
#include "tests/support/schema_walk.h"

namespace virtsnap::crds {
namespace {

using ::testing::Contains;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using testsupport::loadCrd;
using testsupport::openApiSchema;
using testsupport::resolveSchemaPath;

struct CrdExpectation {
  std::string file;
  std::string kind;
  std::string plural;
  std::string shortName;
  std::vector<std::string> columns;  // the leading printer columns, as kubectl shows them
  std::string selectableField;
};

void PrintTo(const CrdExpectation& expectation, std::ostream* out) {
  *out << expectation.file;
}

std::vector<CrdExpectation> expectations() {
  return {
      {"virtsnap.io_domains.yaml",
       "Domain",
       "domains",
       "dom",
       {"NODE", "STATE", "CURRENT", "SNAPSHOTS", "READY"},
       ".spec.nodeName"},
      {"virtsnap.io_snapshots.yaml",
       "Snapshot",
       "snapshots",
       "snap",
       {"DOMAIN", "PARENT", "CURRENT", "PHASE", "AGE"},
       ".spec.domainName"},
      {"virtsnap.io_snapshotreverts.yaml",
       "SnapshotRevert",
       "snapshotreverts",
       "revert",
       {"DOMAIN", "SNAPSHOT", "PHASE", "AGE"},
       ".spec.domainName"},
  };
}

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
  return text;
}

// ".status.conditions[?(@.type==\"Ready\")].status" -> "status.conditions[].status"
std::string jsonPathToSchemaPath(std::string jsonPath) {
  const std::size_t filter = jsonPath.find("[?(");
  if (filter != std::string::npos) {
    jsonPath.replace(filter, jsonPath.find(")]", filter) + 2 - filter, "[]");
  }
  return jsonPath.substr(1);
}

// All rules of x-kubernetes-validations at a schema node.
std::vector<std::string> validationRules(const nlohmann::json& node) {
  std::vector<std::string> rules;
  for (const nlohmann::json& validation : node.value("x-kubernetes-validations", nlohmann::json::array())) {
    rules.push_back(validation.at("rule").get<std::string>());
    EXPECT_TRUE(validation.contains("message")) << validation.dump();
  }
  return rules;
}

void forEachSchemaNode(const nlohmann::json& node, const std::string& path,
                       const std::function<void(const nlohmann::json&, const std::string&)>& visit) {
  visit(node, path);
  if (node.contains("properties")) {
    for (const auto& [key, child] : node["properties"].items()) {
      forEachSchemaNode(child, path.empty() ? key : path + "." + key, visit);
    }
  }
  if (node.contains("items")) {
    forEachSchemaNode(node["items"], path + "[]", visit);
  }
}

class CrdStructureTest : public ::testing::TestWithParam<CrdExpectation> {
 protected:
  const nlohmann::json crd_ = loadCrd(GetParam().file);
  const nlohmann::json& spec_ = crd_.at("spec");
  const nlohmann::json& version_ = spec_.at("versions").at(0);
  const nlohmann::json& schema_ = openApiSchema(crd_);
};

TEST_P(CrdStructureTest, NamesGroupVersionAndScope) {
  EXPECT_EQ(crd_["apiVersion"], "apiextensions.k8s.io/v1");
  EXPECT_EQ(crd_["kind"], "CustomResourceDefinition");
  EXPECT_EQ(crd_["metadata"]["name"], GetParam().plural + "." + std::string(kGroup));
  EXPECT_EQ(spec_["group"], kGroup);
  EXPECT_EQ(spec_["scope"], "Namespaced");
  EXPECT_EQ(spec_["names"]["kind"], GetParam().kind);
  EXPECT_EQ(spec_["names"]["plural"], GetParam().plural);
  EXPECT_THAT(spec_["names"]["shortNames"], Contains(GetParam().shortName));
  EXPECT_THAT(spec_["names"]["categories"], Contains("virtsnap"));
  ASSERT_EQ(spec_["versions"].size(), 1u);
  EXPECT_EQ(version_["name"], kVersion);
  EXPECT_EQ(version_["served"], true);
  EXPECT_EQ(version_["storage"], true);
}

TEST_P(CrdStructureTest, HasStatusSubresource) {
  ASSERT_TRUE(version_.contains("subresources"));
  EXPECT_EQ(version_["subresources"]["status"], nlohmann::json::object());
}

TEST_P(CrdStructureTest, PrinterColumnsAreTheDocumentedOnesAndResolve) {
  std::vector<std::string> names;
  for (const nlohmann::json& column : version_.at("additionalPrinterColumns")) {
    const std::string path = jsonPathToSchemaPath(column.at("jsonPath").get<std::string>());
    if (path != "metadata.creationTimestamp") {
      EXPECT_NE(resolveSchemaPath(schema_, path), nullptr) << column.dump();
    }
    if (column.value("priority", 0) == 0) {
      names.push_back(upper(column.at("name").get<std::string>()));
    }
  }
  ASSERT_GE(names.size(), GetParam().columns.size());
  names.resize(GetParam().columns.size());
  EXPECT_THAT(names, ElementsAreArray(GetParam().columns));
}

TEST_P(CrdStructureTest, FieldSelectorOnTheOwningName) {
  ASSERT_TRUE(version_.contains("selectableFields"));
  EXPECT_THAT(version_["selectableFields"],
              Contains(nlohmann::json{{"jsonPath", GetParam().selectableField}}));
  for (const nlohmann::json& field : version_["selectableFields"]) {
    const nlohmann::json* node = resolveSchemaPath(schema_, jsonPathToSchemaPath(field["jsonPath"]));
    ASSERT_NE(node, nullptr);
    EXPECT_EQ((*node)["type"], "string");  // selectable fields must be scalar
  }
}

TEST_P(CrdStructureTest, SpecIsRequiredAndStatusHasConditionsAndObservedGeneration) {
  EXPECT_THAT(schema_["required"], Contains("spec"));
  const nlohmann::json* conditions = resolveSchemaPath(schema_, "status.conditions");
  ASSERT_NE(conditions, nullptr);
  EXPECT_EQ((*conditions)["x-kubernetes-list-type"], "map");
  EXPECT_EQ((*conditions)["x-kubernetes-list-map-keys"], nlohmann::json::array({"type"}));
  const nlohmann::json& item = (*conditions)["items"];
  EXPECT_EQ(item["required"],
            nlohmann::json::array({"type", "status", "lastTransitionTime", "reason", "message"}));
  EXPECT_EQ(item["properties"]["lastTransitionTime"]["format"], "date-time");
  EXPECT_EQ(item["properties"]["status"]["enum"], nlohmann::json::array({"True", "False", "Unknown"}));
  EXPECT_EQ(item["properties"]["type"]["pattern"],
            "^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
            "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$");
  EXPECT_NE(resolveSchemaPath(schema_, "status.observedGeneration"), nullptr);
}

TEST_P(CrdStructureTest, EveryListIsBoundedAndTyped) {
  forEachSchemaNode(schema_, "", [](const nlohmann::json& node, const std::string& path) {
    if (node.value("type", "") != "array") {
      return;
    }
    EXPECT_TRUE(node.contains("maxItems")) << path;
    ASSERT_TRUE(node.contains("x-kubernetes-list-type")) << path;
    if (node["x-kubernetes-list-type"] == "map") {
      for (const nlohmann::json& key : node.at("x-kubernetes-list-map-keys")) {
        EXPECT_THAT(node["items"]["required"], Contains(key)) << path << ": map keys must be required";
      }
    }
  });
}

// crds/README.md: a default inside a list item makes the stored list differ from an applied manifest
// that leaves the field out, so client-side `kubectl apply` re-sent the list and said "configured".
TEST_P(CrdStructureTest, NoDefaultsInsideListItems) {
  forEachSchemaNode(schema_, "", [](const nlohmann::json& node, const std::string& path) {
    if (path.find("[]") != std::string::npos) {
      EXPECT_FALSE(node.contains("default")) << path << " is inside a list item and has a default";
    }
  });
}

TEST_P(CrdStructureTest, EveryNodeIsStructuralAndDefaultsAreValid) {
  forEachSchemaNode(schema_, "", [](const nlohmann::json& node, const std::string& path) {
    if (node.value("x-kubernetes-int-or-string", false)) {
      EXPECT_FALSE(node.contains("type")) << path;
      EXPECT_EQ(node["anyOf"], nlohmann::json::parse(R"([{"type":"integer"},{"type":"string"}])")) << path;
      return;
    }
    EXPECT_TRUE(node.contains("type")) << path << " has no type";
    if (node.contains("default") && node.contains("enum")) {
      EXPECT_THAT(node["enum"], Contains(node["default"])) << path;
    }
    if (path.rfind("status", 0) == 0) {
      EXPECT_FALSE(node.contains("default")) << path << ": status has no defaults";
    }
  });
}

TEST(CrdRules, DomainNodeNameIsImmutable) {
  const nlohmann::json schema = openApiSchema(loadCrd("virtsnap.io_domains.yaml"));
  EXPECT_THAT(validationRules(*resolveSchemaPath(schema, "spec.nodeName")), Contains("self == oldSelf"));
  EXPECT_THAT(schema["properties"]["spec"]["required"], Contains("nodeName"));
}

TEST(CrdRules, DomainDiskHasExactlyOneOfSourceAndCreate) {
  const nlohmann::json schema = openApiSchema(loadCrd("virtsnap.io_domains.yaml"));
  EXPECT_THAT(validationRules(*resolveSchemaPath(schema, "spec.disks[]")),
              Contains("has(self.source) != has(self.create)"));
  EXPECT_THAT(validationRules(*resolveSchemaPath(schema, "spec.networks[]")),
              Contains("has(self.network) != has(self.bridge)"));
  EXPECT_THAT(validationRules(*resolveSchemaPath(schema, "spec.disks[].source.path")),
              Contains(HasSubstr("[.][.]?")));
}

TEST(CrdRules, DomainQuantitiesAreIntOrString) {
  const nlohmann::json schema = openApiSchema(loadCrd("virtsnap.io_domains.yaml"));
  for (const char* path : {"spec.memory", "spec.disks[].create.size"}) {
    EXPECT_EQ((*resolveSchemaPath(schema, path))["x-kubernetes-int-or-string"], true) << path;
  }
  EXPECT_EQ((*resolveSchemaPath(schema, "status.snapshotTree"))["maxItems"], 1000);
}

TEST(CrdRules, SnapshotSpecIsImmutableExceptDescriptionAndDeletionPolicy) {
  const nlohmann::json schema = openApiSchema(loadCrd("virtsnap.io_snapshots.yaml"));
  const std::vector<std::string> rules = validationRules(schema["properties"]["spec"]);
  for (const std::string field : {"domainName", "location", "memory", "quiesce"}) {
    EXPECT_THAT(rules, Contains(::testing::AllOf(HasSubstr("self." + field), HasSubstr("oldSelf." + field))))
        << field;
  }
  for (const std::string field : {"description", "deletionPolicy"}) {
    EXPECT_THAT(rules, ::testing::Not(Contains(HasSubstr("oldSelf." + field)))) << field;
  }
  // Every spec field is covered one way or the other, so a new field needs a decision here.
  std::vector<std::string> fields;
  for (const auto& [key, unused] : schema["properties"]["spec"]["properties"].items()) {
    fields.push_back(key);
  }
  EXPECT_THAT(fields, ::testing::UnorderedElementsAre("domainName", "description", "location", "memory",
                                                      "quiesce", "deletionPolicy"));
}

TEST(CrdRules, SnapshotMemoryAndQuiesceCrossFieldRules) {
  const nlohmann::json schema = openApiSchema(loadCrd("virtsnap.io_snapshots.yaml"));
  const std::vector<std::string> rules = validationRules(schema["properties"]["spec"]);
  EXPECT_THAT(rules, Contains("!has(self.memory) || (has(self.location) && self.location == 'External')"));
  EXPECT_THAT(rules,
              Contains(::testing::AllOf(HasSubstr("!self.quiesce"), HasSubstr("self.location == 'External'"),
                                        HasSubstr("!self.memory"))));
}

TEST(CrdRules, SnapshotRevertSpecIsImmutable) {
  const nlohmann::json schema = openApiSchema(loadCrd("virtsnap.io_snapshotreverts.yaml"));
  EXPECT_THAT(validationRules(schema["properties"]["spec"]), Contains("self == oldSelf"));
}

INSTANTIATE_TEST_SUITE_P(AllCrds, CrdStructureTest, ::testing::ValuesIn(expectations()),
                         [](const ::testing::TestParamInfo<CrdExpectation>& param) {
                           return param.param.kind;
                         });

}  // namespace
}  // namespace virtsnap::crds
