// validateObject (controller/apiserver/schema_validator.h) against the real CRDs of crds/ and against small
// schemas for keywords the CRDs do not use: defaults, pruning in the three fieldValidation modes, every
// schema keyword with kube-apiserver's wording, list types, and the x-kubernetes-validations rules.

#include "controller/apiserver/validation/schema_validator.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controller/apiserver/resource_registry.h"
#include "tests/support/crd_registry.h"

namespace virtsnap::meta {

// How gtest shows a cause (found by argument-dependent lookup in the cause's namespace; internal
// linkage, so no clash elsewhere).
static void PrintTo(const StatusCause& c, std::ostream* os) {
  *os << c.reason << " " << c.field << ": " << c.message;
}

}  // namespace virtsnap::meta

namespace virtsnap::apiserver {

namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

const ServedResource& crd(const std::string& kind) {
  const ServedResource* type = testsupport::crdRegistry().findKind("virtsnap.io", kind);
  if (type == nullptr) {
    ADD_FAILURE() << "no CRD for " << kind;
    static const ServedResource kNone;
    return kNone;
  }
  return *type;
}

json object(const std::string& kind, const json& spec) {
  return {{"apiVersion", "virtsnap.io/v1alpha1"},
          {"kind", kind},
          {"metadata", {{"name", "x"}, {"namespace", "default"}, {"labels", {{"a", "b"}}}}},
          {"spec", spec}};
}

json domain(const json& spec) {
  return object("Domain", spec);
}

ValidationOutcome check(const std::string& kind, json& obj, const json* old = nullptr,
                        FieldValidation mode = FieldValidation::Strict) {
  return validateObject(crd(kind), obj, old, mode);
}

ServedResource withSchema(const json& properties) {
  ServedResource type;
  type.schema = {{"type", "object"}, {"properties", properties}};
  return type;
}

// Validates {"spec": value} against a schema whose spec property is `spec`.
std::vector<StatusCause> causesFor(const json& spec, const json& value, const json* oldValue = nullptr) {
  const ServedResource type = withSchema({{"spec", spec}});
  json obj = {{"spec", value}};
  json old = {{"spec", oldValue != nullptr ? *oldValue : json()}};
  return validateObject(type, obj, oldValue != nullptr ? &old : nullptr, FieldValidation::Strict).causes;
}

StatusCause cause(const std::string& reason, const std::string& message, const std::string& field) {
  return {reason, message, field};
}

TEST(SchemaValidatorCrds, RegistryLoadsTheThreeCrdsWithSchemas) {
  for (const char* kind : {"Domain", "Snapshot", "SnapshotRevert"}) {
    EXPECT_TRUE(crd(kind).schema.is_object()) << kind;
  }
}

TEST(SchemaValidatorCrds, AMinimalDomainGetsEveryDefault) {
  json obj = domain({{"nodeName", "node-a"}});
  const ValidationOutcome outcome = check("Domain", obj);
  EXPECT_THAT(outcome.causes, IsEmpty());
  EXPECT_THAT(outcome.warnings, IsEmpty());
  const json& spec = obj["spec"];
  EXPECT_EQ(spec["adoptExisting"], false);
  EXPECT_EQ(spec["type"], "kvm");
  EXPECT_EQ(spec["vcpus"], 1);
  EXPECT_EQ(spec["memory"], "512Mi");
  EXPECT_EQ(spec["runState"], "Running");
  EXPECT_EQ(spec["deletionPolicy"], "Delete");
  EXPECT_EQ(spec["unmanagedSnapshots"], "Report");
  EXPECT_FALSE(spec.contains("os"));               // no default for os itself: nothing inside it is invented
  EXPECT_EQ(obj["metadata"]["labels"]["a"], "b");  // metadata is the store's business, untouched
}

TEST(SchemaValidatorCrds, DefaultsApplyInsideObjectsButTheCrdsDeclareNoneInsideListItems) {
  json obj = domain({{"nodeName", "n"},
                     {"os", json::object()},
                     {"disks", {{{"name", "vda"}, {"create", {{"size", "1Gi"}}}}}},
                     {"networks", {{{"network", "default"}}}}});
  EXPECT_THAT(check("Domain", obj).causes, IsEmpty());
  EXPECT_EQ(obj["spec"]["os"]["firmware"], "bios");
  // crds/README.md: a defaulted list item made every re-apply of an unchanged manifest "configured".
  EXPECT_EQ(obj["spec"]["disks"][0], json::parse(R"({"name":"vda","create":{"size":"1Gi"}})"));
  EXPECT_EQ(obj["spec"]["networks"][0], json::parse(R"({"network":"default"})"));
}

TEST(SchemaValidatorCrds, ExplicitValuesAreKept) {
  json obj = domain({{"nodeName", "n"}, {"vcpus", 4}, {"runState", "Paused"}, {"memory", 1073741824}});
  EXPECT_THAT(check("Domain", obj).causes, IsEmpty());
  EXPECT_EQ(obj["spec"]["vcpus"], 4);
  EXPECT_EQ(obj["spec"]["runState"], "Paused");
  EXPECT_EQ(obj["spec"]["memory"], 1073741824);
}

TEST(SchemaValidatorCrds, NullWithADefaultIsDefaultedAndWithoutOneIsDropped) {
  json obj = domain({{"nodeName", "n"}, {"runState", nullptr}, {"hypervisorName", nullptr}});
  EXPECT_THAT(check("Domain", obj).causes, IsEmpty());
  EXPECT_EQ(obj["spec"]["runState"], "Running");
  EXPECT_FALSE(obj["spec"].contains("hypervisorName"));
}

TEST(SchemaValidatorCrds, RequiredFields) {
  json noSpec = {{"apiVersion", "virtsnap.io/v1alpha1"}, {"kind", "Domain"}, {"metadata", {{"name", "x"}}}};
  EXPECT_THAT(check("Domain", noSpec).causes,
              ElementsAre(cause("FieldValueRequired", "Required value", "spec")));
  json noNode = domain(json::object());
  EXPECT_THAT(check("Domain", noNode).causes,
              ElementsAre(cause("FieldValueRequired", "Required value", "spec.nodeName")));
  json diskWithoutName = domain({{"nodeName", "n"}, {"disks", {{{"create", {{"size", 1}}}}}}});
  EXPECT_THAT(check("Domain", diskWithoutName).causes,
              ElementsAre(cause("FieldValueRequired", "Required value", "spec.disks[0].name")));
}

TEST(SchemaValidatorCrds, EnumIsUnsupportedValue) {
  json obj = domain({{"nodeName", "n"}, {"runState", "Foo"}});
  const auto causes = check("Domain", obj).causes;
  ASSERT_GE(causes.size(), 1u);
  EXPECT_EQ(causes[0], cause("FieldValueNotSupported",
                             R"(Unsupported value: "Foo": supported values: "Running", "Paused", "Stopped")",
                             "spec.runState"));
}

TEST(SchemaValidatorCrds, TypeMismatchAndTheRulesItBlocks) {
  json obj = domain({{"nodeName", "n"}, {"vcpus", "string"}});
  EXPECT_THAT(
      check("Domain", obj).causes,
      ElementsAre(
          cause("FieldValueTypeInvalid",
                R"(Invalid value: "string": spec.vcpus in body must be of type integer: "string")",
                "spec.vcpus"),
          cause("FieldValueInvalid",
                R"(Invalid value: "null": some validation rules were not checked because the object was )"
                "invalid; correct the existing errors to complete validation",
                "<nil>")));
  json whole = domain({{"nodeName", "n"}, {"vcpus", 2.0}});  // an integral float is an integer
  EXPECT_THAT(check("Domain", whole).causes, IsEmpty());
  json fraction = domain({{"nodeName", "n"}, {"vcpus", 2.5}});
  EXPECT_EQ(check("Domain", fraction).causes.at(0).message,
            R"(Invalid value: "number": spec.vcpus in body must be of type integer: "number")");
}

TEST(SchemaValidatorCrds, MinimumAndMaximum) {
  json big = domain({{"nodeName", "n"}, {"vcpus", 5000}});
  EXPECT_THAT(
      check("Domain", big).causes,
      ElementsAre(cause("FieldValueInvalid",
                        "Invalid value: 5000: spec.vcpus in body should be less than or equal to 4096",
                        "spec.vcpus")));
  json zero = domain({{"nodeName", "n"}, {"vcpus", 0}});
  EXPECT_THAT(check("Domain", zero).causes,
              ElementsAre(cause("FieldValueInvalid",
                                "Invalid value: 0: spec.vcpus in body should be greater than or equal to 1",
                                "spec.vcpus")));
}

TEST(SchemaValidatorCrds, LengthsAndPatterns) {
  json longName = domain({{"nodeName", std::string(254, 'a')}});
  EXPECT_THAT(
      check("Domain", longName).causes,
      ElementsAre(cause("FieldValueTooLong", "Too long: may not be more than 253 bytes", "spec.nodeName")));
  json empty = domain({{"nodeName", ""}});
  const auto causes = check("Domain", empty).causes;
  ASSERT_EQ(causes.size(), 2u);
  EXPECT_EQ(causes[0], cause("FieldValueInvalid",
                             R"(Invalid value: "": spec.nodeName in body should be at least 1 chars long)",
                             "spec.nodeName"));
  EXPECT_EQ(causes[1].field, "spec.nodeName");
  json upper = domain({{"nodeName", "Node_A"}});
  EXPECT_THAT(check("Domain", upper).causes,
              ElementsAre(cause("FieldValueInvalid",
                                R"(Invalid value: "Node_A": spec.nodeName in body should match )"
                                R"('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",
                                "spec.nodeName")));
  json badDisk = domain({{"nodeName", "n"}, {"disks", {{{"name", "nvme0"}, {"create", {{"size", 1}}}}}}});
  EXPECT_EQ(check("Domain", badDisk).causes.at(0).field, "spec.disks[0].name");
}

TEST(SchemaValidatorCrds, HugeStringsAreCheckedWithoutCrashing) {
  json obj = domain({{"nodeName", "n"}, {"hypervisorName", std::string(200000, 'a')}});
  EXPECT_THAT(check("Domain", obj).causes,
              ElementsAre(cause("FieldValueTooLong", "Too long: may not be more than 320 bytes",
                                "spec.hypervisorName")));
}

TEST(SchemaValidatorCrds, IntOrStringQuantities) {
  json number = domain({{"nodeName", "n"}, {"memory", 536870912}});
  EXPECT_THAT(check("Domain", number).causes, IsEmpty());
  json bad = domain({{"nodeName", "n"}, {"memory", "lots"}});
  EXPECT_THAT(check("Domain", bad).causes,
              ElementsAre(cause(
                  "FieldValueInvalid",
                  R"(Invalid value: "lots": spec.memory in body should match )"
                  R"('^\+?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?[0-9]+))?$')",
                  "spec.memory")));
  json boolean = domain({{"nodeName", "n"}, {"memory", true}});
  const auto causes = check("Domain", boolean).causes;
  ASSERT_EQ(causes.size(), 4u);
  EXPECT_EQ(
      causes[0],
      cause("FieldValueTypeInvalid",
            R"(Invalid value: "boolean": spec.memory in body must be of type integer,string: "boolean")",
            "spec.memory"));
  EXPECT_EQ(causes[1], cause("FieldValueInvalid",
                             R"(Invalid value: "": must validate at least one schema (anyOf))", "<nil>"));
  EXPECT_EQ(causes[2],
            cause("FieldValueTypeInvalid",
                  R"(Invalid value: "boolean": spec.memory in body must be of type integer: "boolean")",
                  "spec.memory"));
}

TEST(SchemaValidatorCrds, MaxItemsIsTooMany) {
  json networks = json::array();
  for (int i = 0; i < 17; ++i) {
    networks.push_back({{"network", "n" + std::to_string(i)}});
  }
  json obj = domain({{"nodeName", "n"}, {"networks", networks}});
  EXPECT_THAT(
      check("Domain", obj).causes,
      ElementsAre(cause("FieldValueTooMany", "Too many: 17: must have at most 16 items", "spec.networks")));
}

TEST(SchemaValidatorCrds, ListMapKeysAreUnique) {
  json obj = domain({{"nodeName", "n"},
                     {"disks",
                      {{{"name", "vda"}, {"create", {{"size", 1}}}},
                       {{"name", "vdb"}, {"create", {{"size", 1}}}},
                       {{"name", "vda"}, {"source", {{"path", "/x/y"}}}}}}});
  EXPECT_THAT(
      check("Domain", obj).causes,
      ElementsAre(cause("FieldValueDuplicate", R"(Duplicate value: map[string]interface {}{"name":"vda"})",
                        "spec.disks[2]")));
}

TEST(SchemaValidatorCrds, ListSetItemsAreUnique) {
  json obj = domain({{"nodeName", "n"}});
  obj["status"] = {{"unmanagedSnapshots", {"a", "b", "a"}}};
  EXPECT_THAT(check("Domain", obj).causes, ElementsAre(cause("FieldValueDuplicate", R"(Duplicate value: "a")",
                                                             "status.unmanagedSnapshots[2]")));
}

TEST(SchemaValidatorCrds, StatusConditionsAreValidated) {
  json obj = domain({{"nodeName", "n"}});
  obj["status"] = {{"observedGeneration", 1},
                   {"conditions",
                    {{{"type", "Ready"},
                      {"status", "True"},
                      {"lastTransitionTime", "2024-05-01T10:00:00Z"},
                      {"reason", "Reconciled"},
                      {"message", ""}}}}};
  EXPECT_THAT(check("Domain", obj).causes, IsEmpty());
  obj["status"]["conditions"][0]["lastTransitionTime"] = "yesterday";
  EXPECT_THAT(
      check("Domain", obj).causes,
      ElementsAre(cause("FieldValueTypeInvalid",
                        R"(Invalid value: "yesterday": status.conditions[0].lastTransitionTime in body must )"
                        R"(be of type date-time: "yesterday")",
                        "status.conditions[0].lastTransitionTime"),
                  cause("FieldValueInvalid",
                        R"(Invalid value: "null": some validation rules were not checked because the )"
                        "object was invalid; correct the existing errors to complete validation",
                        "<nil>")));
}

// ---- Pruning and fieldValidation ----------------------------------------------------------------------

json withUnknownFields() {
  json obj = domain({{"nodeName", "n"},
                     {"foo", 1},
                     {"os", {{"bar", true}}},
                     {"disks", {{{"name", "vda"}, {"create", {{"size", 1}}}, {"baz", 2}}}}});
  obj["extra"] = "x";
  return obj;
}

TEST(SchemaValidatorPruning, StrictRefusesUnknownFieldsSorted) {
  json obj = withUnknownFields();
  const ValidationOutcome outcome = check("Domain", obj, nullptr, FieldValidation::Strict);
  EXPECT_THAT(
      outcome.causes,
      ElementsAre(cause("FieldValueUnknown", R"(unknown field "extra")", "extra"),
                  cause("FieldValueUnknown", R"(unknown field "spec.disks[0].baz")", "spec.disks[0].baz"),
                  cause("FieldValueUnknown", R"(unknown field "spec.foo")", "spec.foo"),
                  cause("FieldValueUnknown", R"(unknown field "spec.os.bar")", "spec.os.bar")));
  EXPECT_THAT(outcome.warnings, IsEmpty());
}

TEST(SchemaValidatorPruning, WarnPrunesAndWarns) {
  json obj = withUnknownFields();
  const ValidationOutcome outcome = check("Domain", obj, nullptr, FieldValidation::Warn);
  EXPECT_THAT(outcome.causes, IsEmpty());
  EXPECT_THAT(outcome.warnings,
              ElementsAre(R"(unknown field "extra")", R"(unknown field "spec.disks[0].baz")",
                          R"(unknown field "spec.foo")", R"(unknown field "spec.os.bar")"));
  EXPECT_FALSE(obj.contains("extra"));
  EXPECT_FALSE(obj["spec"].contains("foo"));
  EXPECT_FALSE(obj["spec"]["os"].contains("bar"));
  EXPECT_FALSE(obj["spec"]["disks"][0].contains("baz"));
}

TEST(SchemaValidatorPruning, IgnorePrunesSilently) {
  json obj = withUnknownFields();
  const ValidationOutcome outcome = check("Domain", obj, nullptr, FieldValidation::Ignore);
  EXPECT_THAT(outcome.causes, IsEmpty());
  EXPECT_THAT(outcome.warnings, IsEmpty());
  EXPECT_FALSE(obj["spec"].contains("foo"));
  EXPECT_EQ(obj["spec"]["os"]["firmware"], "bios");
}

TEST(SchemaValidatorPruning, PreserveUnknownFieldsAndAdditionalProperties) {
  const json spec = json::parse(R"({
    "type": "object",
    "properties": {
      "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
               "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}}},
      "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}},
      "nested": {"type": "object", "additionalProperties": {"type": "object", "properties": {"x": {"type": "integer"}}}}
    }})");
  const ServedResource type = withSchema({{"spec", spec}});
  json obj = {{"spec", json::parse(R"({"free": {"anything": {"deep": 1}, "known": {"a": "s", "b": 1}},
                                        "labels": {"k": "abcd"}, "nested": {"one": {"x": 1, "y": 2}}})")}};
  const ValidationOutcome outcome = validateObject(type, obj, nullptr, FieldValidation::Warn);
  EXPECT_THAT(outcome.warnings,
              ElementsAre(R"(unknown field "spec.free.known.b")", R"(unknown field "spec.nested.one.y")"));
  EXPECT_EQ(obj["spec"]["free"]["anything"]["deep"], 1);
  EXPECT_THAT(outcome.causes, ElementsAre(cause("FieldValueTooLong", "Too long: may not be more than 3 bytes",
                                                "spec.labels.k")));
}

TEST(SchemaValidatorPruning, NoSchemaAcceptsAsIs) {
  ServedResource builtin;
  json obj = {{"anything", {{"goes", 1}}}};
  const ValidationOutcome outcome = validateObject(builtin, obj, nullptr, FieldValidation::Strict);
  EXPECT_THAT(outcome.causes, IsEmpty());
  EXPECT_EQ(obj["anything"]["goes"], 1);
}

// ---- Keywords the CRDs do not use, on small schemas ---------------------------------------------------

TEST(SchemaValidatorKeywords, ExclusiveBoundsAndMultipleOf) {
  const json spec = json::parse(R"({"type": "number", "minimum": 0, "exclusiveMinimum": true,
                                    "maximum": 1.5, "exclusiveMaximum": true, "multipleOf": 0.5})");
  EXPECT_THAT(causesFor(spec, 0),
              ElementsAre(cause("FieldValueInvalid",
                                "Invalid value: 0: spec in body should be greater than 0", "spec")));
  EXPECT_THAT(causesFor(spec, 1.5),
              ElementsAre(cause("FieldValueInvalid",
                                "Invalid value: 1.5: spec in body should be less than 1.5", "spec")));
  EXPECT_THAT(causesFor(spec, 0.7),
              ElementsAre(cause("FieldValueInvalid",
                                "Invalid value: 0.7: spec in body should be a multiple of 0.5", "spec")));
  EXPECT_THAT(causesFor(spec, 1), IsEmpty());
}

TEST(SchemaValidatorKeywords, ItemsAndPropertiesCounts) {
  const json list =
      json::parse(R"({"type": "array", "minItems": 1, "maxItems": 1, "items": {"type": "string"}})");
  EXPECT_THAT(causesFor(list, json::array()),
              ElementsAre(cause("FieldValueInvalid",
                                "Invalid value: 0: spec in body should have at least 1 items", "spec")));
  EXPECT_THAT(causesFor(list, {"a", "b"}),
              ElementsAre(cause("FieldValueTooMany", "Too many: 2: must have at most 1 item", "spec")));
  const json map = json::parse(R"({"type": "object", "minProperties": 1, "maxProperties": 2,
                                   "additionalProperties": {"type": "integer"}})");
  EXPECT_THAT(causesFor(map, json::object()),
              ElementsAre(cause("FieldValueInvalid",
                                "Invalid value: 0: spec in body should have at least 1 properties", "spec")));
  EXPECT_THAT(causesFor(map, {{"a", 1}, {"b", 2}, {"c", 3}}),
              ElementsAre(cause("FieldValueTooMany", "Too many: 3: must have at most 2 items", "spec")));
}

TEST(SchemaValidatorKeywords, NullableAndTypes) {
  const json nullable =
      json::parse(R"({"type": "object", "properties": {"a": {"type": "string", "nullable": true}}})");
  json kept = {{"a", nullptr}};
  EXPECT_THAT(causesFor(nullable, kept), IsEmpty());
  EXPECT_THAT(causesFor(json::parse(R"({"type": "array", "items": {"type": "string"}})"), {"a", nullptr}),
              ElementsAre(cause("FieldValueTypeInvalid",
                                R"(Invalid value: "null": spec[1] in body must be of type string: "null")",
                                "spec[1]"),
                          ::testing::Field(&StatusCause::field, "<nil>")));
  EXPECT_THAT(causesFor(json::parse(R"({"type": "boolean"})"), "yes").at(0).message,
              R"(Invalid value: "string": spec in body must be of type boolean: "string")");
  EXPECT_THAT(causesFor(json::parse(R"({"type": "object"})"), json::array()).at(0).message,
              R"(Invalid value: "array": spec in body must be of type object: "array")");
  EXPECT_THAT(causesFor(json::parse(R"({"type": "number"})"), 3), IsEmpty());
}

TEST(SchemaValidatorKeywords, EnumOfNumbersAndFormats) {
  EXPECT_THAT(causesFor(json::parse(R"({"type": "integer", "enum": [1, 2]})"), 3),
              ElementsAre(cause("FieldValueNotSupported",
                                R"(Unsupported value: 3: supported values: "1", "2")", "spec"),
                          ::testing::Field(&StatusCause::field, "<nil>")));
  EXPECT_THAT(causesFor(json::parse(R"({"type": "string", "format": "date-time"})"), "2024-02-30T25:00:00Z")
                  .at(0)
                  .reason,
              "FieldValueTypeInvalid");
  EXPECT_THAT(
      causesFor(json::parse(R"({"type": "string", "format": "date-time"})"), "2024-02-03T04:05:06.123+02:00"),
      IsEmpty());
  EXPECT_THAT(causesFor(json::parse(R"({"type": "string", "format": "int32"})"), "x"), IsEmpty());
  EXPECT_THAT(causesFor(json::parse(R"({"type": "string", "format": "uuid"})"), "nope").at(0).message,
              R"(Invalid value: "nope": spec in body must be of type uuid: "nope")");
}

// ---- x-kubernetes-validations -------------------------------------------------------------------------

TEST(SchemaValidatorRules, DomainNodeNameIsImmutable) {
  json old = domain({{"nodeName", "node-a"}});
  EXPECT_THAT(check("Domain", old).causes, IsEmpty());  // create: the transition rule is skipped
  json same = domain({{"nodeName", "node-a"}, {"vcpus", 2}});
  EXPECT_THAT(check("Domain", same, &old).causes, IsEmpty());
  json moved = domain({{"nodeName", "node-b"}});
  EXPECT_THAT(check("Domain", moved, &old).causes,
              ElementsAre(cause("FieldValueInvalid", R"(Invalid value: "string": nodeName is immutable)",
                                "spec.nodeName")));
}

TEST(SchemaValidatorRules, DomainDiskAndNetworkCrossFieldRules) {
  json neither = domain({{"nodeName", "n"}, {"disks", {{{"name", "vda"}}}}});
  EXPECT_THAT(check("Domain", neither).causes,
              ElementsAre(cause("FieldValueInvalid",
                                R"(Invalid value: "object": a disk has exactly one of source and create)",
                                "spec.disks[0]")));
  json both = domain(
      {{"nodeName", "n"}, {"networks", {{{"network", "default"}}, {{"network", "d"}, {"bridge", "br0"}}}}});
  EXPECT_THAT(check("Domain", both).causes,
              ElementsAre(cause(
                  "FieldValueInvalid",
                  R"(Invalid value: "object": a network interface has exactly one of network and bridge)",
                  "spec.networks[1]")));
  json dots =
      domain({{"nodeName", "n"}, {"disks", {{{"name", "vda"}, {"source", {{"path", "/images/../etc"}}}}}}});
  EXPECT_THAT(check("Domain", dots).causes,
              ElementsAre(cause("FieldValueInvalid",
                                R"(Invalid value: "string": path must not contain . or .. segments)",
                                "spec.disks[0].source.path")));
  json fine =
      domain({{"nodeName", "n"}, {"disks", {{{"name", "vda"}, {"source", {{"path", "/images/a.qcow2"}}}}}}});
  EXPECT_THAT(check("Domain", fine).causes, IsEmpty());
}

TEST(SchemaValidatorRules, SnapshotSpecIsImmutableExceptDescriptionAndDeletionPolicy) {
  json old = object("Snapshot", {{"domainName", "d"}, {"location", "External"}, {"memory", false}});
  EXPECT_THAT(check("Snapshot", old).causes, IsEmpty());
  json described = object("Snapshot", {{"domainName", "d"},
                                       {"location", "External"},
                                       {"memory", false},
                                       {"description", "now described"},
                                       {"deletionPolicy", "Retain"}});
  EXPECT_THAT(check("Snapshot", described, &old).causes, IsEmpty());
  json changed = object("Snapshot", {{"domainName", "e"}, {"location", "External"}, {"memory", true}});
  EXPECT_THAT(
      check("Snapshot", changed, &old).causes,
      ElementsAre(cause("FieldValueInvalid", R"(Invalid value: "object": domainName is immutable)", "spec"),
                  cause("FieldValueInvalid", R"(Invalid value: "object": memory is immutable)", "spec")));
  json quiesced = object(
      "Snapshot", {{"domainName", "d"}, {"location", "External"}, {"memory", false}, {"quiesce", true}});
  EXPECT_THAT(
      check("Snapshot", quiesced, &old).causes,
      ElementsAre(cause("FieldValueInvalid", R"(Invalid value: "object": quiesce is immutable)", "spec")));
}

TEST(SchemaValidatorRules, SnapshotLocationDefaultCountsAsSet) {
  // location defaults to Internal before the rules run, so an old object without it compares equal.
  json old = object("Snapshot", {{"domainName", "d"}});
  EXPECT_THAT(check("Snapshot", old).causes, IsEmpty());
  EXPECT_EQ(old["spec"]["location"], "Internal");
  json external = object("Snapshot", {{"domainName", "d"}, {"location", "External"}});
  EXPECT_THAT(
      check("Snapshot", external, &old).causes,
      ElementsAre(cause("FieldValueInvalid", R"(Invalid value: "object": location is immutable)", "spec")));
}

TEST(SchemaValidatorRules, SnapshotCrossFieldRules) {
  json memoryInternal = object("Snapshot", {{"domainName", "d"}, {"memory", true}});
  EXPECT_THAT(check("Snapshot", memoryInternal).causes,
              ElementsAre(cause("FieldValueInvalid",
                                R"(Invalid value: "object": memory can only be set for an External snapshot)",
                                "spec")));
  json quiesceWithMemory =
      object("Snapshot", {{"domainName", "d"}, {"location", "External"}, {"quiesce", true}});
  EXPECT_THAT(check("Snapshot", quiesceWithMemory).causes,
              ElementsAre(cause("FieldValueInvalid",
                                R"(Invalid value: "object": quiesce needs an External disk-only snapshot )"
                                "(location External, memory false)",
                                "spec")));
  json diskOnly = object(
      "Snapshot", {{"domainName", "d"}, {"location", "External"}, {"memory", false}, {"quiesce", true}});
  EXPECT_THAT(check("Snapshot", diskOnly).causes, IsEmpty());
}

TEST(SchemaValidatorRules, SnapshotRevertSpecIsImmutable) {
  json old = object("SnapshotRevert", {{"domainName", "d"}, {"snapshotName", "s1"}});
  EXPECT_THAT(check("SnapshotRevert", old).causes, IsEmpty());
  json same = old;
  EXPECT_THAT(check("SnapshotRevert", same, &old).causes, IsEmpty());
  json other = object("SnapshotRevert", {{"domainName", "d"}, {"snapshotName", "s2"}});
  EXPECT_THAT(
      check("SnapshotRevert", other, &old).causes,
      ElementsAre(cause("FieldValueInvalid", R"(Invalid value: "object": spec is immutable)", "spec")));
}

TEST(SchemaValidatorRules, TransitionRuleIsSkippedWhenTheOldValueIsAbsent) {
  const json spec = json::parse(R"({"type": "object", "properties": {"a": {"type": "string",
      "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "a is immutable"}]}}})");
  const json oldWithout = json::object();
  EXPECT_THAT(causesFor(spec, {{"a", "x"}}, &oldWithout), IsEmpty());
  const json oldWith = {{"a", "y"}};
  EXPECT_THAT(
      causesFor(spec, {{"a", "x"}}, &oldWith),
      ElementsAre(cause("FieldValueInvalid", R"(Invalid value: "string": a is immutable)", "spec.a")));
}

TEST(SchemaValidatorRules, ListMapItemsCorrelateWithTheirOldItemByKey) {
  const json spec = json::parse(
      R"({"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
      "items": {"type": "object", "properties": {"name": {"type": "string"}, "size": {"type": "integer"}},
                "x-kubernetes-validations": [{"rule": "self.size >= oldSelf.size", "message": "may not shrink"}]}})");
  const json old = json::parse(R"([{"name": "a", "size": 5}, {"name": "b", "size": 5}])");
  EXPECT_THAT(
      causesFor(
          spec,
          json::parse(R"([{"name": "b", "size": 6}, {"name": "c", "size": 1}, {"name": "a", "size": 5}])"),
          &old),
      IsEmpty());
  EXPECT_THAT(
      causesFor(spec, json::parse(R"([{"name": "b", "size": 4}])"), &old),
      ElementsAre(cause("FieldValueInvalid", R"(Invalid value: "object": may not shrink)", "spec[0]")));
}

TEST(SchemaValidatorRules, DefaultMessageFieldPathReasonAndMessageExpression) {
  const json spec = json::parse(R"({"type": "object",
      "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}},
      "x-kubernetes-validations": [
        {"rule": "self.min <= self.max"},
        {"rule": "self.min <= self.max", "message": "min above max", "fieldPath": ".min", "reason": "FieldValueForbidden"},
        {"rule": "self.min <= self.max", "messageExpression": "'min ' + string(self.min) + ' is above max'"},
        {"rule": "self.min <= self.max", "message": "kept", "messageExpression": "self.min"},
        {"rule": "self.min <= self.max", "reason": "FieldValueRequired", "message": "needed"},
        {"rule": "self.min <= self.max", "reason": "FieldValueDuplicate"}]})");
  EXPECT_THAT(causesFor(spec, {{"min", 1}, {"max", 2}}), IsEmpty());
  EXPECT_THAT(
      causesFor(spec, {{"min", 3}, {"max", 2}}),
      ElementsAre(
          cause("FieldValueInvalid", R"(Invalid value: "object": failed rule: self.min <= self.max)", "spec"),
          cause("FieldValueForbidden", "Forbidden: min above max", "spec.min"),
          cause("FieldValueInvalid", R"(Invalid value: "object": min 3 is above max)", "spec"),
          cause("FieldValueInvalid", R"(Invalid value: "object": kept)", "spec"),
          cause("FieldValueRequired", "Required value: needed", "spec"),
          cause("FieldValueDuplicate", R"(Duplicate value: "object")", "spec")));
}

TEST(SchemaValidatorRules, EvaluationAndCompileErrorsAreCauses) {
  const json spec = json::parse(R"({"type": "object", "properties": {"a": {"type": "integer"}},
      "x-kubernetes-validations": [
        {"rule": "self.b == 1", "message": "b is one"},
        {"rule": "self.a / 0 == 1"},
        {"rule": "self.a == 'x' || self.a + 'x' == 'y'"},
        {"rule": "self.a +"},
        {"rule": "self.a"}]})");
  EXPECT_THAT(
      causesFor(spec, {{"a", 1}}),
      ElementsAre(
          cause("FieldValueInvalid", R"(Invalid value: "object": no such key: b evaluating rule: b is one)",
                "spec"),
          cause("FieldValueInvalid",
                R"(Invalid value: "object": division by zero evaluating rule: self.a / 0 == 1)", "spec"),
          cause("FieldValueInvalid",
                R"(Invalid value: "object": 'no such overload': call arguments did not match a supported )"
                "operator, function or macro signature for rule: self.a == 'x' || self.a + 'x' == 'y'",
                "spec"),
          ::testing::Field(&StatusCause::message, ::testing::HasSubstr("rule compile error: ERROR:")),
          cause("FieldValueInvalid", R"(Invalid value: "object": rule result must be a boolean: self.a)",
                "spec")));
}

TEST(SchemaValidatorRules, NumberNodesAreDoublesInRules) {
  const json spec =
      json::parse(R"({"type": "number", "x-kubernetes-validations": [{"rule": "self > 0.5"}]})");
  EXPECT_THAT(causesFor(spec, 1), IsEmpty());
  EXPECT_THAT(causesFor(spec, 0), ElementsAre(::testing::Field(&StatusCause::field, "spec")));
}

}  // namespace
}  // namespace virtsnap::apiserver
