#include "controller/apiserver/storage/server_side_apply.h"

#include <algorithm>
#include <map>
#include <optional>

namespace virtsnap::apiserver {

namespace {

const std::set<std::string> kSystemMetadata = {"name",
                                               "namespace",
                                               "uid",
                                               "resourceVersion",
                                               "generation",
                                               "creationTimestamp",
                                               "deletionTimestamp",
                                               "deletionGracePeriodSeconds",
                                               "managedFields",
                                               "selfLink"};

void collect(const nlohmann::json& value, FieldPath& prefix, FieldSet& out) {
  if (value.is_null()) {
    return;
  }
  if (value.is_object() && !value.empty()) {
    for (const auto& [key, child] : value.items()) {
      prefix.push_back("f:" + key);
      collect(child, prefix, out);
      prefix.pop_back();
    }
    return;
  }
  if (!prefix.empty()) {
    out.insert(prefix);
  }
}

const nlohmann::json* valueAt(const nlohmann::json& object, const FieldPath& path) {
  const nlohmann::json* node = &object;
  for (const std::string& segment : path) {
    if (!node->is_object() || segment.size() < 2 || segment.compare(0, 2, "f:") != 0) {
      return nullptr;
    }
    auto it = node->find(segment.substr(2));
    if (it == node->end()) {
      return nullptr;
    }
    node = &*it;
  }
  return node;
}

bool sameValue(const nlohmann::json& a, const nlohmann::json& b, const FieldPath& path) {
  const nlohmann::json* x = valueAt(a, path);
  const nlohmann::json* y = valueAt(b, path);
  if (x == nullptr || y == nullptr) {
    return x == y;
  }
  return *x == *y;
}

void eraseAt(nlohmann::json& object, const FieldPath& path) {
  nlohmann::json* node = &object;
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    if (!node->is_object()) {
      return;
    }
    auto it = node->find(path[i].substr(2));
    if (it == node->end()) {
      return;
    }
    node = &*it;
  }
  if (node->is_object() && !path.empty()) {
    node->erase(path.back().substr(2));
  }
}

bool overlaps(const FieldPath& a, const FieldPath& b) {
  std::size_t n = std::min(a.size(), b.size());
  return std::equal(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n), b.begin());
}

// Two owned paths touch the same data when they are equal, or when one lies under the other and the
// outer one is atomic (a scalar or list) in `a` or `b`. Owning a map itself (`spec: {}`) does not
// clash with owning fields inside it.
bool clash(const FieldPath& x, const FieldPath& y, const nlohmann::json& a, const nlohmann::json& b) {
  if (x == y) {
    return true;
  }
  if (!overlaps(x, y)) {
    return false;
  }
  const FieldPath& shorter = x.size() < y.size() ? x : y;
  auto atomic = [&](const nlohmann::json& object) {
    const nlohmann::json* value = valueAt(object, shorter);
    return value != nullptr && !value->is_object();
  };
  return atomic(a) || atomic(b);
}

bool clashesAny(const FieldPath& path, const FieldSet& set, const nlohmann::json& a,
                const nlohmann::json& b) {
  return std::any_of(set.begin(), set.end(),
                     [&](const FieldPath& other) { return clash(path, other, a, b); });
}

void mergeInto(nlohmann::json& target, const nlohmann::json& config) {
  for (const auto& [key, value] : config.items()) {
    if (value.is_null()) {
      continue;
    }
    if (value.is_object() && target.contains(key) && target[key].is_object()) {
      mergeInto(target[key], value);
    } else {
      target[key] = value;
    }
  }
}

struct Entry {
  nlohmann::json json;  // the whole ManagedFieldsEntry as found
  FieldSet fields;

  std::string manager() const { return json.value("manager", ""); }
  std::string operation() const { return json.value("operation", ""); }
  std::string subresource() const { return json.value("subresource", ""); }
  bool is(const std::string& manager, const std::string& operation, const std::string& subresource) const {
    return this->manager() == manager && this->operation() == operation && this->subresource() == subresource;
  }
};

std::vector<Entry> readEntries(const nlohmann::json& object) {
  std::vector<Entry> out;
  const nlohmann::json* list = valueAt(object, {"f:metadata", "f:managedFields"});
  if (list == nullptr || !list->is_array()) {
    return out;
  }
  for (const nlohmann::json& item : *list) {
    if (!item.is_object() || !item.contains("manager")) {
      continue;  // `[{}]` is kube's way to clear the list
    }
    out.push_back(Entry{item, fieldsFromV1(item.value("fieldsV1", nlohmann::json::object()))});
  }
  return out;
}

void writeEntries(nlohmann::json& object, const std::vector<Entry>& entries) {
  nlohmann::json list = nlohmann::json::array();
  for (const Entry& entry : entries) {
    if (entry.fields.empty()) {
      continue;  // kube drops entries that own nothing
    }
    nlohmann::json item = entry.json;
    item["fieldsType"] = "FieldsV1";
    item["fieldsV1"] = fieldsToV1(entry.fields);
    list.push_back(std::move(item));
  }
  if (list.empty()) {
    object["metadata"].erase("managedFields");
  } else {
    object["metadata"]["managedFields"] = std::move(list);
  }
}

Entry& entryFor(std::vector<Entry>& entries, const ManagerContext& context, const std::string& operation) {
  for (Entry& entry : entries) {
    if (entry.is(context.manager, operation, context.subresource)) {
      return entry;
    }
  }
  nlohmann::json json{{"manager", context.manager}, {"operation", operation}};
  if (!context.subresource.empty()) {
    json["subresource"] = context.subresource;
  }
  entries.push_back(Entry{std::move(json), {}});
  return entries.back();
}

void stamp(Entry& entry, const ManagerContext& context) {
  entry.json["apiVersion"] = context.apiVersion;
  entry.json["time"] = context.time;
}

// How kube prints a manager in a conflict (printManager in k8s.io/apiserver fieldmanager).
std::string printManager(const Entry& entry) {
  std::string out = "\"" + entry.manager() + "\"";
  if (!entry.subresource().empty()) {
    out += " with subresource \"" + entry.subresource() + "\"";
  }
  if (entry.operation() == "Update") {
    out += " using " + entry.json.value("apiVersion", "");
    if (entry.json.contains("time")) {
      out += " at " + entry.json.value("time", "");
    }
  }
  return out;
}

}  // namespace

FieldSet ownableFields(const nlohmann::json& object, FieldScope scope) {
  FieldSet out;
  if (!object.is_object()) {
    return out;
  }
  for (const auto& [key, value] : object.items()) {
    if (key == "apiVersion" || key == "kind") {
      continue;
    }
    if ((scope == FieldScope::NoStatus && key == "status") ||
        (scope == FieldScope::StatusOnly && key != "status")) {
      continue;
    }
    FieldPath prefix{"f:" + key};
    if (key == "metadata" && value.is_object()) {
      for (const auto& [metaKey, metaValue] : value.items()) {
        if (kSystemMetadata.contains(metaKey)) {
          continue;
        }
        prefix.push_back("f:" + metaKey);
        collect(metaValue, prefix, out);
        prefix.pop_back();
      }
      continue;
    }
    collect(value, prefix, out);
  }
  return out;
}

FieldSet fieldsFromV1(const nlohmann::json& fieldsV1) {
  FieldSet out;
  FieldPath prefix;
  auto walk = [&](auto& self, const nlohmann::json& node) -> void {
    if (!node.is_object() || node.empty()) {
      if (!prefix.empty()) {
        out.insert(prefix);
      }
      return;
    }
    for (const auto& [key, child] : node.items()) {
      if (key == ".") {
        if (!prefix.empty()) {
          out.insert(prefix);
        }
        continue;
      }
      prefix.push_back(key);
      self(self, child);
      prefix.pop_back();
    }
  };
  walk(walk, fieldsV1);
  return out;
}

nlohmann::json fieldsToV1(const FieldSet& fields) {
  nlohmann::json root = nlohmann::json::object();
  // Sorted order puts a path before its extensions, so a leaf that gains children gets its ".".
  for (const FieldPath& path : fields) {
    nlohmann::json* node = &root;
    for (std::size_t i = 0; i < path.size(); ++i) {
      nlohmann::json& child = (*node)[path[i]];
      if (child.is_null()) {
        child = nlohmann::json::object();
      } else if (child.empty() && i + 1 < path.size()) {
        child["."] = nlohmann::json::object();
      }
      node = &child;
    }
  }
  return root;
}

std::string fieldPathString(const FieldPath& path) {
  std::string out;
  for (const std::string& segment : path) {
    out += "." + (segment.compare(0, 2, "f:") == 0 ? segment.substr(2) : segment);
  }
  return out;
}

Expected<nlohmann::json, ApiError> serverSideApply(const nlohmann::json& live, const nlohmann::json& config,
                                                   const ManagerContext& context, bool force) {
  FieldSet applied = ownableFields(config, context.scope);
  std::vector<Entry> entries = readEntries(live);

  // Conflicts: another manager owns a field this configuration sets to a different value.
  struct Conflict {
    std::string manager;
    std::string path;
  };
  std::vector<Conflict> conflicts;
  std::map<std::size_t, FieldSet> taken;  // forced: entry index -> paths it loses
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& entry = entries[i];
    if (entry.is(context.manager, "Apply", context.subresource)) {
      continue;
    }
    for (const FieldPath& owned : entry.fields) {
      for (const FieldPath& path : applied) {
        if (!clash(owned, path, live, config)) {
          continue;
        }
        const FieldPath& longer = path.size() >= owned.size() ? path : owned;
        if (sameValue(live, config, longer)) {
          continue;  // the same value: shared ownership, as in kube
        }
        conflicts.push_back({printManager(entry), fieldPathString(owned)});
        taken[i].insert(owned);
        break;
      }
    }
  }
  if (!conflicts.empty() && !force) {
    ApiError error;
    error.code = 409;
    error.reason = "Conflict";
    for (const Conflict& conflict : conflicts) {
      error.causes.push_back(
          StatusCause{"FieldManagerConflict", "conflict with " + conflict.manager, conflict.path});
    }
    if (conflicts.size() == 1) {
      error.message =
          "Apply failed with 1 conflict: conflict with " + conflicts[0].manager + ": " + conflicts[0].path;
    } else {
      std::map<std::string, std::vector<std::string>> byManager;
      for (const Conflict& conflict : conflicts) {
        byManager[conflict.manager].push_back(conflict.path);
      }
      std::string text;
      for (const auto& [manager, paths] : byManager) {
        text += (text.empty() ? "" : "\n") + std::string("conflicts with ") + manager + ":";
        for (const std::string& path : paths) {
          text += "\n- " + path;
        }
      }
      error.message = "Apply failed with " + std::to_string(conflicts.size()) + " conflicts: " + text;
    }
    return error;
  }
  for (const auto& [index, paths] : taken) {
    for (const FieldPath& path : paths) {
      entries[index].fields.erase(path);
    }
  }

  nlohmann::json result = live;
  // Fields this manager applied before and no longer applies go, unless someone else still owns them.
  Entry& mine = entryFor(entries, context, "Apply");
  for (const FieldPath& path : mine.fields) {
    if (clashesAny(path, applied, live, config)) {
      continue;
    }
    bool ownedElsewhere = std::any_of(entries.begin(), entries.end(), [&](const Entry& other) {
      return &other != &mine && clashesAny(path, other.fields, live, config);
    });
    if (!ownedElsewhere) {
      eraseAt(result, path);
    }
  }
  nlohmann::json scoped = nlohmann::json::object();
  for (const auto& [key, value] : config.items()) {
    if (key == "apiVersion" || key == "kind") {
      continue;
    }
    if ((context.scope == FieldScope::NoStatus && key == "status") ||
        (context.scope == FieldScope::StatusOnly && key != "status" && key != "metadata")) {
      continue;
    }
    scoped[key] = value;
  }
  if (scoped.contains("metadata") && scoped["metadata"].is_object()) {
    for (const std::string& system : kSystemMetadata) {
      scoped["metadata"].erase(system);
    }
    if (context.scope == FieldScope::StatusOnly) {
      scoped.erase("metadata");
    }
  }
  mergeInto(result, scoped);
  if (mine.fields != applied) {
    mine.fields = applied;
  }
  stamp(mine, context);
  writeEntries(result, entries);
  return result;
}

void recordUpdate(const nlohmann::json& old, nlohmann::json& updated, const ManagerContext& context) {
  const nlohmann::json* given = valueAt(updated, {"f:metadata", "f:managedFields"});
  const nlohmann::json* before = valueAt(old, {"f:metadata", "f:managedFields"});
  bool reset = given != nullptr && (before == nullptr || *given != *before);
  std::vector<Entry> entries = readEntries(reset ? updated : old);

  // Ownership of fields that no longer exist goes.
  for (Entry& entry : entries) {
    for (auto it = entry.fields.begin(); it != entry.fields.end();) {
      it = valueAt(updated, *it) == nullptr ? entry.fields.erase(it) : std::next(it);
    }
  }
  FieldSet changed;
  for (const FieldPath& path : ownableFields(updated, context.scope)) {
    if (!sameValue(old, updated, path)) {
      changed.insert(path);
    }
  }
  if (!changed.empty()) {
    for (Entry& entry : entries) {
      if (entry.is(context.manager, "Update", context.subresource)) {
        continue;
      }
      for (auto it = entry.fields.begin(); it != entry.fields.end();) {
        it = clashesAny(*it, changed, old, updated) ? entry.fields.erase(it) : std::next(it);
      }
    }
    Entry& mine = entryFor(entries, context, "Update");
    mine.fields.insert(changed.begin(), changed.end());
    stamp(mine, context);
  }
  if (!updated.contains("metadata") || !updated["metadata"].is_object()) {
    updated["metadata"] = nlohmann::json::object();
  }
  writeEntries(updated, entries);
}

}  // namespace virtsnap::apiserver
