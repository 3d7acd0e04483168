#include "reconcilers/operation_order.h"

#include <tuple>

#include "controller/kube/json_fields.h"
#include "reconcilers/agent_context.h"

namespace virtsnap::reconcilers {
namespace {

// A string field of one of the object's sections (metadata, spec, status); "" when absent.
std::string stringAt(const nlohmann::json& object, const char* section, const char* key) {
  auto outer = object.find(section);
  return outer == object.end() ? std::string() : kube::stringField(*outer, key);
}

bool before(const PendingOperation& a, const PendingOperation& b) {
  return std::tie(a.creationTimestamp, a.name, a.kind) < std::tie(b.creationTimestamp, b.name, b.kind);
}

PendingOperation operationOf(const nlohmann::json& object, PendingOperation::Kind kind) {
  return PendingOperation{kind, stringAt(object, "metadata", "name"),
                          stringAt(object, "metadata", "creationTimestamp")};
}

}  // namespace

std::string domainKeyOf(const nlohmann::json& object) {
  const std::string domain = stringAt(object, "spec", "domainName");
  return domain.empty() ? std::string() : kube::objectKey(stringAt(object, "metadata", "namespace"), domain);
}

bool snapshotPending(const nlohmann::json& snapshot) {
  if (!stringAt(snapshot, "metadata", "deletionTimestamp").empty()) {
    return false;
  }
  const std::string phase = stringAt(snapshot, "status", "phase");
  return phase.empty() || phase == "Pending" || phase == "Creating";
}

bool revertPending(const nlohmann::json& revert) {
  const std::string phase = stringAt(revert, "status", "phase");
  return phase.empty() || phase == "Pending" || phase == "Running";
}

std::optional<PendingOperation> nextOperation(const std::vector<kube::ObjectPtr>& snapshots,
                                              const std::vector<kube::ObjectPtr>& reverts) {
  std::optional<PendingOperation> next;
  auto consider = [&next](const PendingOperation& operation) {
    if (!next || before(operation, *next)) {
      next = operation;
    }
  };
  for (const auto& snapshot : snapshots) {
    if (snapshot && snapshotPending(*snapshot)) {
      consider(operationOf(*snapshot, PendingOperation::Kind::Snapshot));
    }
  }
  for (const auto& revert : reverts) {
    if (revert && revertPending(*revert)) {
      consider(operationOf(*revert, PendingOperation::Kind::Revert));
    }
  }
  return next;
}

std::string operationOrderKey(const nlohmann::json& object) {
  return stringAt(object, "metadata", "creationTimestamp");
}

std::optional<PendingOperation> nextOperation(const kube::ObjectCache& snapshots,
                                              const kube::ObjectCache& reverts,
                                              const std::string& domainKey) {
  return nextOperation({snapshots.firstByIndex(kPendingByDomainIndex, domainKey)},
                       {reverts.firstByIndex(kPendingByDomainIndex, domainKey)});
}

}  // namespace virtsnap::reconcilers
