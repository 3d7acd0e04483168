#include "controller/apiserver/storage/memory_object_store.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "base/logger.h"
#include "controller/apiserver/random_ids.h"
#include "controller/apiserver/storage/json_patch.h"
#include "controller/apiserver/storage/store_errors.h"
#include "controller/apiserver/validation/request_body.h"
#include "crds/meta/base64.h"
#include "crds/meta/time.h"
#include "crds/meta/yaml_json.h"

namespace virtsnap::apiserver {

namespace {

using nlohmann::json;

std::string resourceKey(const ServedResource& type) {
  return type.group + "/" + type.plural;
}

// CRD-backed types get kube's custom-resource behaviour (generation, no strategic merge patch).
bool isCustom(const ServedResource& type) {
  return !type.crd.is_null();
}

std::string text(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json& metadataOf(json& object) {
  json& metadata = object["metadata"];
  if (!metadata.is_object()) {
    metadata = json::object();
  }
  return metadata;
}

const json& metadataOf(const json& object) {
  static const json empty = json::object();
  auto it = object.find("metadata");
  return it != object.end() && it->is_object() ? *it : empty;
}

std::vector<std::string> finalizersOf(const json& object) {
  std::vector<std::string> out;
  const json& metadata = metadataOf(object);
  auto it = metadata.find("finalizers");
  if (it != metadata.end() && it->is_array()) {
    for (const json& item : *it) {
      if (item.is_string()) {
        out.push_back(item.get<std::string>());
      }
    }
  }
  return out;
}

bool beingDeleted(const json& object) {
  return !text(metadataOf(object), "deletionTimestamp").empty();
}

const char* const kSubdomainMessage =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start "
    "and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const char* const kLabelMessage =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end "
    "with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

bool lowerAlnum(char c) {
  return std::islower(static_cast<unsigned char>(c)) != 0 || std::isdigit(static_cast<unsigned char>(c)) != 0;
}

bool isLabel(const std::string& name) {
  if (name.empty() || name.size() > 63 || !lowerAlnum(name.front()) || !lowerAlnum(name.back())) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) { return lowerAlnum(c) || c == '-'; });
}

bool isSubdomain(const std::string& name) {
  if (name.empty() || name.size() > 253) {
    return false;
  }
  std::size_t start = 0;
  while (true) {
    std::size_t dot = name.find('.', start);
    std::string part = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty() || !lowerAlnum(part.front()) || !lowerAlnum(part.back()) ||
        !std::all_of(part.begin(), part.end(), [](char c) { return lowerAlnum(c) || c == '-'; })) {
      return false;
    }
    if (dot == std::string::npos) {
      return true;
    }
    start = dot + 1;
  }
}

// kube's name checks: namespaces are DNS-1123 labels, everything else here DNS-1123 subdomains.
std::vector<StatusCause> nameCauses(const ServedResource& type, const std::string& name) {
  std::vector<StatusCause> causes;
  bool label = type.group.empty() && type.plural == "namespaces";
  std::size_t max = label ? 63 : 253;
  if (name.size() > max) {
    causes.push_back(
        {"FieldValueInvalid",
         "Invalid value: \"" + name + "\": must be no more than " + std::to_string(max) + " characters",
         "metadata.name"});
  }
  if (!(label ? isLabel(name) : isSubdomain(name)) && name.size() <= max) {
    causes.push_back({"FieldValueInvalid",
                      "Invalid value: \"" + name + "\": " + (label ? kLabelMessage : kSubdomainMessage),
                      "metadata.name"});
  }
  return causes;
}

// apiVersion and kind must name the type when given; they are filled in when not.
std::optional<ApiError> checkTypeMeta(const ServedResource& type, json& object) {
  std::string apiVersion = text(object, "apiVersion");
  std::string kind = text(object, "kind");
  if (!apiVersion.empty() && apiVersion != type.apiVersion()) {
    return badRequestError("the API version in the data (" + apiVersion +
                           ") does not match the expected API version (" + type.apiVersion() + ")");
  }
  if (!kind.empty() && kind != type.kind) {
    return badRequestError("the kind in the data (" + kind + ") does not match the expected kind (" +
                           type.kind + ")");
  }
  object["apiVersion"] = type.apiVersion();
  object["kind"] = type.kind;
  return std::nullopt;
}

// The validator's verdict as kube answers it: unknown fields under Strict are a 400 strict decoding
// error (before any other problem), anything else a 422.
std::optional<ApiError> validate(const ServedResource& type, const std::string& name, json& object,
                                 const json* old, FieldValidation fieldValidation,
                                 std::vector<std::string>* warnings) {
  ValidationOutcome outcome = validateObject(type, object, old, fieldValidation);
  if (warnings != nullptr) {
    warnings->insert(warnings->end(), outcome.warnings.begin(), outcome.warnings.end());
  }
  std::string unknown;
  std::vector<StatusCause> others;
  for (const StatusCause& cause : outcome.causes) {
    if (cause.reason == "FieldValueUnknown") {
      unknown += (unknown.empty() ? "" : ", ") + std::string("unknown field \"") + cause.field + "\"";
    } else {
      others.push_back(cause);
    }
  }
  if (!unknown.empty() && fieldValidation == FieldValidation::Strict) {
    return badRequestError("strict decoding error: " + unknown);
  }
  if (!others.empty()) {
    return invalidError(type, name, std::move(others));
  }
  return std::nullopt;
}

// What the generation follows: everything but metadata (and status, when it is a subresource).
json generationView(const ServedResource& type, json object) {
  object.erase("metadata");
  if (type.hasStatus) {
    object.erase("status");
  }
  return object;
}

// Equal but for managedFields timestamps: such a write changes nothing (kube does not record it).
bool sameObject(json a, json b) {
  for (json* object : {&a, &b}) {
    json& metadata = metadataOf(*object);
    if (metadata.contains("managedFields") && metadata["managedFields"].is_array()) {
      for (json& entry : metadata["managedFields"]) {
        if (entry.is_object()) {
          entry.erase("time");
        }
      }
    }
  }
  return a == b;
}

FieldScope scopeFor(const ServedResource& type, bool statusSubresource) {
  if (statusSubresource) {
    return FieldScope::StatusOnly;
  }
  return type.hasStatus ? FieldScope::NoStatus : FieldScope::All;
}

// Applies the subresource rules kube's strategies apply: the main resource keeps the stored status,
// /status keeps everything of the stored object but status (and the managedFields the write brings).
json prepare(const ServedResource& type, const json& old, json incoming, bool statusSubresource) {
  if (statusSubresource) {
    json result = old;
    if (incoming.contains("status")) {
      result["status"] = incoming["status"];
    } else {
      result.erase("status");
    }
    const json& metadata = metadataOf(incoming);
    if (metadata.contains("managedFields")) {
      metadataOf(result)["managedFields"] = metadata["managedFields"];
    }
    return result;
  }
  if (type.hasStatus) {
    if (old.contains("status")) {
      incoming["status"] = old["status"];
    } else {
      incoming.erase("status");
    }
  }
  return incoming;
}

std::optional<std::uint64_t> parseVersion(const std::string& value) {
  if (value.empty() || value.size() > 19 || !std::all_of(value.begin(), value.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    return std::nullopt;
  }
  return std::stoull(value);
}

bool selected(const LabelSelector& labels, const FieldSelector& fields, const json& object) {
  const json& metadata = metadataOf(object);
  return labels.matches(metadata.value("labels", json())) && fields.matches(object);
}

}  // namespace

Expected<std::unique_ptr<MemoryObjectStore>, std::string> MemoryObjectStore::open(
    std::filesystem::path dataDir, const ResourceRegistry& registry, Now now, StoreOptions options) {
  if (!now) {
    now = [] { return std::chrono::system_clock::now(); };
  }
  std::unique_ptr<MemoryObjectStore> store(new MemoryObjectStore(std::move(now), options));
  for (const ServedResource& type : registry.all()) {
    if (type.group.empty() && type.plural == "namespaces") {
      store->namespaceType_ = type;
    }
    if (type.namespaced) {
      store->namespacedTypes_.push_back(type);
    }
  }
  WriteAheadLog::Contents contents;
  auto log = WriteAheadLog::open(dataDir, &contents);
  if (!log) {
    return log.error();
  }
  store->log_ = std::move(log).value();
  if (auto problem = store->replay(contents)) {
    return *problem;
  }
  store->hub_ = std::make_unique<WatchHub>(options.watch, store->version_);
  if (auto problem = store->createDefaultNamespaces()) {
    return *problem;
  }
  return store;
}

std::optional<std::string> MemoryObjectStore::replay(const WriteAheadLog::Contents& contents) {
  if (contents.snapshot) {
    const json& snapshot = *contents.snapshot;
    version_ = snapshot.value("rv", std::uint64_t{0});
    for (const json& item : snapshot.value("objects", json::array())) {
      const json& object = item["object"];
      const json& metadata = metadataOf(object);
      resources_[item.value("resource", "")][{text(metadata, "namespace"), text(metadata, "name")}] = object;
    }
  }
  const std::uint64_t snapshotVersion = version_;
  for (const json& record : contents.records) {
    std::uint64_t version = record.value("rv", std::uint64_t{0});
    if (version <= snapshotVersion) {
      continue;  // a compaction finished its snapshot but not the log reset
    }
    Key key{record.value("namespace", ""), record.value("name", "")};
    Objects& objects = resources_[record.value("resource", "")];
    std::string op = record.value("op", "");
    if (op == "put") {
      objects[key] = record["object"];
    } else if (op == "delete") {
      objects.erase(key);
    } else {
      return log_->logPath().string() + ": a record with the unknown operation \"" + op + "\" (rv " +
             std::to_string(version) + ")";
    }
    version_ = std::max(version_, version);
  }
  return std::nullopt;
}

std::optional<std::string> MemoryObjectStore::createDefaultNamespaces() {
  if (!namespaceType_) {
    return std::nullopt;
  }
  std::lock_guard lock(mutex_);
  for (const char* name : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    if (find(*namespaceType_, "", name) != nullptr) {
      continue;
    }
    WriteOptions options;
    options.fieldManager = "virtsnap-apiserver";
    auto created = createLocked(*namespaceType_, "", json{{"metadata", {{"name", name}}}}, options, nullptr,
                                std::nullopt);
    if (!created) {
      return "cannot create the namespace " + std::string(name) + ": " + created.error().message;
    }
  }
  return std::nullopt;
}

std::string MemoryObjectStore::timestamp() const {
  return meta::formatTime(now_());
}

const json* MemoryObjectStore::find(const ServedResource& type, const std::string& ns,
                                    const std::string& name) const {
  auto resource = resources_.find(resourceKey(type));
  if (resource == resources_.end()) {
    return nullptr;
  }
  auto it = resource->second.find({type.namespaced ? ns : std::string(), name});
  return it == resource->second.end() ? nullptr : &it->second;
}

std::uint64_t MemoryObjectStore::resourceVersion() const {
  std::lock_guard lock(mutex_);
  return version_;
}

std::uint64_t MemoryObjectStore::logBytes() const {
  std::lock_guard lock(mutex_);
  return log_->logBytes();
}

std::optional<ApiError> MemoryObjectStore::commit(const ServedResource& type, meta::WatchEventType eventType,
                                                  json& object, const json* previous) {
  const std::uint64_t version = version_ + 1;
  json& metadata = metadataOf(object);
  metadata["resourceVersion"] = std::to_string(version);
  std::string ns = text(metadata, "namespace");
  std::string name = text(metadata, "name");
  json record{{"rv", version}, {"resource", resourceKey(type)}, {"namespace", ns}, {"name", name}};
  if (eventType == meta::WatchEventType::Deleted) {
    record["op"] = "delete";
  } else {
    record["op"] = "put";
    record["object"] = object;
  }
  if (auto problem = log_->append(record)) {
    return internalError(*problem);
  }
  version_ = version;
  Objects& objects = resources_[resourceKey(type)];
  if (eventType == meta::WatchEventType::Deleted) {
    objects.erase({ns, name});
  } else {
    objects[{ns, name}] = object;
  }
  auto event = std::make_shared<StoreEvent>();
  event->type = eventType;
  event->resourceVersion = version;
  event->resource = resourceKey(type);
  event->ns = ns;
  event->object = object;
  if (previous != nullptr && eventType == meta::WatchEventType::Modified) {
    event->previous = *previous;
  }
  hub_->publish(std::move(event));
  compactIfDue();
  if (eventType == meta::WatchEventType::Deleted && type.namespaced && !ns.empty()) {
    return finishNamespaceIfEmpty(ns);  // the last object of a Terminating namespace is gone
  }
  return std::nullopt;
}

void MemoryObjectStore::compactIfDue() {
  if (log_->logBytes() < options_.compactAfterBytes) {
    return;
  }
  json objects = json::array();
  for (const auto& [resource, items] : resources_) {
    for (const auto& [key, object] : items) {
      objects.push_back({{"resource", resource}, {"object", object}});
    }
  }
  // The write that triggered this is already durable in the log, so a failure here loses nothing.
  if (auto problem = log_->compact(json{{"rv", version_}, {"objects", std::move(objects)}})) {
    logLine(LogLevel::Warning, "apiserver", "log compaction failed (will retry): " + *problem);
  }
}

ApiResult<json> MemoryObjectStore::create(const ServedResource& type, const std::string& ns, json object,
                                          const WriteOptions& options, std::vector<std::string>* warnings) {
  std::lock_guard lock(mutex_);
  return createLocked(type, ns, std::move(object), options, warnings, std::nullopt);
}

ApiResult<json> MemoryObjectStore::createLocked(const ServedResource& type, const std::string& ns,
                                                json object, const WriteOptions& options,
                                                std::vector<std::string>* warnings,
                                                const std::optional<std::string>& applyManager) {
  if (!object.is_object()) {
    return badRequestError("the body of the request must be a " + type.kind + " object");
  }
  if (auto problem = checkTypeMeta(type, object)) {
    return *problem;
  }
  json& metadata = metadataOf(object);
  std::string effectiveNs;
  if (type.namespaced) {
    std::string given = text(metadata, "namespace");
    effectiveNs = ns.empty() ? given : ns;
    if (!given.empty() && given != effectiveNs) {
      return badRequestError(
          "the namespace of the provided object does not match the namespace sent on the request");
    }
    if (effectiveNs.empty()) {
      return badRequestError("the namespace of the provided object must be set for a namespaced resource");
    }
    metadata["namespace"] = effectiveNs;
  } else {
    metadata.erase("namespace");
  }
  std::string name = text(metadata, "name");
  if (name.empty()) {
    std::string prefix = text(metadata, "generateName");
    if (prefix.empty()) {
      return invalidError(
          type, "",
          {{"FieldValueRequired", "Required value: name or generateName is required", "metadata.name"}});
    }
    for (int attempt = 0; attempt < 8; ++attempt) {
      name = prefix + randomNameSuffix();
      if (find(type, effectiveNs, name) == nullptr) {
        break;
      }
    }
    metadata["name"] = name;
  }
  if (auto causes = nameCauses(type, name); !causes.empty()) {
    return invalidError(type, name, std::move(causes));
  }
  if (!text(metadata, "resourceVersion").empty()) {
    return badRequestError("resourceVersion should not be set on objects to be created");
  }
  if (type.namespaced && namespaceType_) {
    const json* owner = find(*namespaceType_, "", effectiveNs);
    if (owner == nullptr) {
      return namespaceNotFoundError(effectiveNs);
    }
    if (beingDeleted(*owner)) {
      return namespaceTerminatingError(effectiveNs);
    }
  }
  if (find(type, effectiveNs, name) != nullptr) {
    return alreadyExistsError(type, name);
  }
  metadata["uid"] = newUid();
  metadata["creationTimestamp"] = timestamp();
  for (const char* system : {"deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "generation"}) {
    metadata.erase(system);
  }
  if (isCustom(type)) {
    metadata["generation"] = 1;
  }
  if (type.hasStatus) {
    object.erase("status");  // kube resets status on create when it is a subresource
  }
  if (namespaceType_ && type.group.empty() && type.plural == "namespaces" && !object.contains("status")) {
    object["status"] = {{"phase", "Active"}};
  }
  if (auto problem = validate(type, name, object, nullptr, options.fieldValidation, warnings)) {
    return *problem;
  }
  if (!applyManager) {
    ManagerContext context{options.fieldManager.empty() ? "unknown" : options.fieldManager, type.apiVersion(),
                           timestamp(), "", FieldScope::All};
    recordUpdate(json::object(), object, context);
  }
  if (options.dryRun) {
    return object;
  }
  if (auto problem = commit(type, meta::WatchEventType::Added, object, nullptr)) {
    return *problem;
  }
  return object;
}

ApiResult<json> MemoryObjectStore::get(const ServedResource& type, const std::string& ns,
                                       const std::string& name) {
  std::lock_guard lock(mutex_);
  const json* object = find(type, ns, name);
  if (object == nullptr) {
    return notFoundError(type, name);
  }
  return *object;
}

ApiResult<json> MemoryObjectStore::list(const ServedResource& type, const std::string& ns,
                                        const ListOptions& options) {
  auto labels = LabelSelector::parse(options.labelSelector);
  if (!labels) {
    return badRequestError(labels.error());
  }
  auto fields = FieldSelector::parse(options.fieldSelector, type);
  if (!fields) {
    return badRequestError(fields.error());
  }
  std::lock_guard lock(mutex_);
  std::uint64_t listVersion = version_;
  std::optional<Key> after;
  if (!options.continueToken.empty()) {
    if (!options.resourceVersion.empty() && options.resourceVersion != "0") {
      return badRequestError("specifying resource version is not allowed when using continue");
    }
    auto decoded = meta::base64Decode(options.continueToken);
    json token = decoded ? json::parse(*decoded, nullptr, false) : json();
    std::string start = token.is_object() ? text(token, "start") : std::string();
    std::size_t slash = start.find('/');
    if (!token.is_object() || text(token, "v") != "meta.k8s.io/v1" || slash == std::string::npos ||
        !token.contains("rv") || !token["rv"].is_number_unsigned()) {
      return badRequestError("continue key is not valid: the continue token is malformed");
    }
    listVersion = token["rv"].get<std::uint64_t>();
    std::string name = start.substr(slash + 1);
    if (!name.empty() && name.back() == '\0') {
      name.pop_back();
    }
    after = Key{start.substr(0, slash), name};
  }
  json items = json::array();
  std::optional<Key> last;
  std::int64_t remaining = 0;
  auto resource = resources_.find(resourceKey(type));
  if (resource != resources_.end()) {
    const Objects& objects = resource->second;
    auto it = after ? objects.upper_bound(*after) : objects.begin();
    for (; it != objects.end(); ++it) {
      if (!ns.empty() && type.namespaced && it->first.first != ns) {
        continue;
      }
      if (!selected(labels.value(), fields.value(), it->second)) {
        continue;
      }
      if (options.limit > 0 && static_cast<std::int64_t>(items.size()) >= options.limit) {
        ++remaining;
        continue;
      }
      items.push_back(it->second);
      last = it->first;
    }
  }
  json metadata{{"resourceVersion", std::to_string(listVersion)}};
  if (remaining > 0 && last) {
    json token{
        {"v", "meta.k8s.io/v1"}, {"rv", listVersion}, {"start", last->first + "/" + last->second + '\0'}};
    metadata["continue"] = meta::base64Encode(token.dump(), meta::Base64Alphabet::RawUrl);
    if (labels.value().empty() && fields.value().empty()) {
      metadata["remainingItemCount"] = remaining;
    }
  }
  return json{{"apiVersion", type.apiVersion()},
              {"kind", type.listKind.empty() ? type.kind + "List" : type.listKind},
              {"metadata", std::move(metadata)},
              {"items", std::move(items)}};
}

ApiResult<json> MemoryObjectStore::update(const ServedResource& type, const std::string& ns,
                                          const std::string& name, json object, bool statusSubresource,
                                          const WriteOptions& options, std::vector<std::string>* warnings) {
  std::lock_guard lock(mutex_);
  if (statusSubresource && !type.hasStatus) {
    return notFoundError(type, name);
  }
  if (!object.is_object()) {
    return badRequestError("the body of the request must be a " + type.kind + " object");
  }
  if (auto problem = checkTypeMeta(type, object)) {
    return *problem;
  }
  json& metadata = metadataOf(object);
  std::string given = text(metadata, "name");
  if (!given.empty() && given != name) {
    return badRequestError("the name of the object (" + given + ") does not match the name on the URL (" +
                           name + ")");
  }
  std::string givenNs = text(metadata, "namespace");
  if (type.namespaced && !givenNs.empty() && !ns.empty() && givenNs != ns) {
    return badRequestError(
        "the namespace of the provided object does not match the namespace sent on the request");
  }
  const json* old = find(type, ns, name);
  if (old == nullptr) {
    return notFoundError(type, name);
  }
  std::string version = text(metadata, "resourceVersion");
  if (!version.empty() && version != text(metadataOf(*old), "resourceVersion")) {
    return conflictError(type, name, kObjectModified);
  }
  json current = *old;  // finishUpdate may replace the stored object
  return finishUpdate(type, current, prepare(type, current, std::move(object), statusSubresource),
                      statusSubresource, options, warnings, true);
}

ApiResult<json> MemoryObjectStore::finishUpdate(const ServedResource& type, const json& old, json updated,
                                                bool statusSubresource, const WriteOptions& options,
                                                std::vector<std::string>* warnings, bool recordManager) {
  const json& oldMetadata = metadataOf(old);
  json& metadata = metadataOf(updated);
  const std::string name = text(oldMetadata, "name");
  std::string uid = text(metadata, "uid");
  if (!uid.empty() && uid != text(oldMetadata, "uid")) {
    return invalidError(
        type, name,
        {{"FieldValueInvalid", "Invalid value: \"" + uid + "\": field is immutable", "metadata.uid"}});
  }
  // System fields come from the stored object whatever the client sent.
  for (const char* system : {"name", "namespace", "uid", "creationTimestamp", "generation", "resourceVersion",
                             "deletionTimestamp", "deletionGracePeriodSeconds"}) {
    if (oldMetadata.contains(system)) {
      metadata[system] = oldMetadata[system];
    } else {
      metadata.erase(system);
    }
  }
  metadata.erase("selfLink");
  if (beingDeleted(old)) {
    std::vector<std::string> before = finalizersOf(old);
    std::string added;
    for (const std::string& finalizer : finalizersOf(updated)) {
      if (std::find(before.begin(), before.end(), finalizer) == before.end()) {
        added += (added.empty() ? "\"" : ", \"") + finalizer + "\"";
      }
    }
    if (!added.empty()) {
      return invalidError(
          type, name,
          {{"FieldValueForbidden",
            "Forbidden: no new finalizers can be added if the object is being deleted, found new "
            "finalizers []string{" +
                added + "}",
            "metadata.finalizers"}});
    }
  }
  if (auto problem = validate(type, name, updated, &old, options.fieldValidation, warnings)) {
    return *problem;
  }
  if (isCustom(type) && generationView(type, updated) != generationView(type, old)) {
    metadata["generation"] = oldMetadata.value("generation", std::int64_t{0}) + 1;
  }
  if (recordManager) {
    ManagerContext context{options.fieldManager.empty() ? "unknown" : options.fieldManager, type.apiVersion(),
                           timestamp(), statusSubresource ? "status" : "", scopeFor(type, statusSubresource)};
    recordUpdate(old, updated, context);
  }
  if (sameObject(updated, old)) {
    return old;  // nothing changed: no write, no new resourceVersion, no event
  }
  if (options.dryRun) {
    return updated;
  }
  const bool emptyIfNamespace = !namespaceType_ || type.plural != namespaceType_->plural ||
                                type.group != namespaceType_->group ||
                                namespaceEmpty(text(metadataOf(updated), "name"));
  if (beingDeleted(updated) && finalizersOf(updated).empty() && emptyIfNamespace) {
    // The last finalizer is gone: the deletion completes.
    if (auto problem = commit(type, meta::WatchEventType::Deleted, updated, &old)) {
      return *problem;
    }
    return updated;
  }
  if (auto problem = commit(type, meta::WatchEventType::Modified, updated, &old)) {
    return *problem;
  }
  return updated;
}

ApiResult<json> MemoryObjectStore::patch(const ServedResource& type, const std::string& ns,
                                         const std::string& name, PatchType patchType,
                                         const std::string& body, bool statusSubresource,
                                         const WriteOptions& options, std::vector<std::string>* warnings) {
  std::lock_guard lock(mutex_);
  if (statusSubresource && !type.hasStatus) {
    return notFoundError(type, name);
  }
  if (patchType == PatchType::StrategicMerge && isCustom(type)) {
    // As kube-apiserver: custom resources have no strategic merge patch (no patch strategies).
    return unsupportedMediaTypeError(
        {"application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"});
  }
  if (patchType == PatchType::Apply) {
    return applyLocked(type, ns, name, body, statusSubresource, options, warnings);
  }
  const json* stored = find(type, ns, name);
  if (stored == nullptr) {
    return notFoundError(type, name);
  }
  json old = *stored;
  auto decoded = decodeJsonBody(body);
  if (!decoded) {
    return badRequestError("error decoding patch: " + decoded.error());
  }
  json document = std::move(decoded).value();
  json patched;
  if (patchType == PatchType::Json) {
    auto result = applyJsonPatch(old, document);
    if (!result) {
      if (result.error().badRequest) {
        return badRequestError(result.error().message);
      }
      // kube: errors.NewGenericServerResponse(422, ...) with the library's text as the cause.
      ApiError error;
      error.code = 422;
      error.reason = "Invalid";
      error.message = "the server rejected our request due to an error in our request";
      error.causes.push_back({"UnexpectedServerResponse", result.error().message, ""});
      return error;
    }
    patched = std::move(result).value();
  } else {
    if (!document.is_object()) {
      return badRequestError("json: cannot unmarshal " + std::string(document.type_name()) +
                             " into Go value of type map[string]interface {}");
    }
    patched = applyMergePatch(old, document);
  }
  if (!patched.is_object()) {
    return badRequestError("the patched object must be a " + type.kind + " object");
  }
  if (auto problem = checkTypeMeta(type, patched)) {
    return *problem;
  }
  const json& metadata = metadataOf(patched);
  std::string patchedName = text(metadata, "name");
  if (patchedName != name) {
    return badRequestError("the name of the object (" + patchedName +
                           ") does not match the name on the URL (" + name + ")");
  }
  if (text(metadata, "resourceVersion") != text(metadataOf(old), "resourceVersion")) {
    return conflictError(type, name, kObjectModified);
  }
  return finishUpdate(type, old, prepare(type, old, std::move(patched), statusSubresource), statusSubresource,
                      options, warnings, true);
}

ApiResult<json> MemoryObjectStore::applyLocked(const ServedResource& type, const std::string& ns,
                                               const std::string& name, const std::string& body,
                                               bool statusSubresource, const WriteOptions& options,
                                               std::vector<std::string>* warnings) {
  if (options.fieldManager.empty()) {
    ApiError error;
    error.code = 422;
    error.reason = "Invalid";
    error.message =
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply "
        "patch";
    error.group = "meta.k8s.io";
    error.kind = "PatchOptions";
    error.causes.push_back(
        {"FieldValueRequired", "Required value: is required for apply patch", "fieldManager"});
    return error;
  }
  auto documents = meta::yamlDocumentsToJson(body, {.maxNestingDepth = kMaxNestingDepth});
  if (!documents) {
    return badRequestError("error decoding YAML: " + documents.error());
  }
  if (documents.value().size() != 1 || !documents.value().front().is_object()) {
    return badRequestError("an apply configuration must be exactly one object");
  }
  json config = documents.value().front();
  if (text(config, "apiVersion").empty() || text(config, "kind").empty()) {
    return badRequestError("apiVersion and kind must be set in an apply configuration");
  }
  if (auto problem = checkTypeMeta(type, config)) {
    return *problem;
  }
  const json& metadata = metadataOf(std::as_const(config));
  std::string givenName = text(metadata, "name");
  if (!givenName.empty() && givenName != name) {
    return badRequestError("the name of the object (" + givenName + ") does not match the name on the URL (" +
                           name + ")");
  }
  std::string givenNs = text(metadata, "namespace");
  if (type.namespaced && !givenNs.empty() && givenNs != ns) {
    return badRequestError(
        "the namespace of the provided object does not match the namespace sent on the request");
  }
  ManagerContext context{options.fieldManager, type.apiVersion(), timestamp(),
                         statusSubresource ? "status" : "", scopeFor(type, statusSubresource)};
  const json* stored = find(type, ns, name);
  if (stored == nullptr) {
    if (statusSubresource) {
      return notFoundError(type, name);
    }
    json base{{"apiVersion", type.apiVersion()}, {"kind", type.kind}, {"metadata", {{"name", name}}}};
    if (type.namespaced) {
      base["metadata"]["namespace"] = ns;
    }
    auto applied = serverSideApply(base, config, context, options.force);
    if (!applied) {
      return applied.error();
    }
    return createLocked(type, ns, std::move(applied).value(), options, warnings, options.fieldManager);
  }
  json old = *stored;
  std::string version = text(metadata, "resourceVersion");
  if (!version.empty() && version != text(metadataOf(old), "resourceVersion")) {
    return conflictError(type, name, kObjectModified);
  }
  auto applied = serverSideApply(old, config, context, options.force);
  if (!applied) {
    return applied.error();
  }
  return finishUpdate(type, old, prepare(type, old, std::move(applied).value(), statusSubresource),
                      statusSubresource, options, warnings, false);
}

ApiResult<json> MemoryObjectStore::remove(const ServedResource& type, const std::string& ns,
                                          const std::string& name, const json& deleteOptions) {
  std::lock_guard lock(mutex_);
  if (namespaceType_ && type.group == namespaceType_->group && type.plural == namespaceType_->plural) {
    return removeNamespaceLocked(name, deleteOptions);
  }
  return removeLocked(type, ns, name, deleteOptions);
}

ApiResult<json> MemoryObjectStore::removeNamespaceLocked(const std::string& name, const json& deleteOptions) {
  const json* stored = find(*namespaceType_, "", name);
  if (stored == nullptr) {
    return notFoundError(*namespaceType_, name);
  }
  const json modes = deleteOptions.is_object() ? deleteOptions.value("dryRun", json::array()) : json::array();
  const bool dryRun = modes.is_array() && std::find(modes.begin(), modes.end(), json("All")) != modes.end();
  json old = *stored;
  json terminating = old;
  if (!beingDeleted(old)) {
    metadataOf(terminating)["deletionTimestamp"] = timestamp();
    terminating["status"]["phase"] = "Terminating";
    if (dryRun) {
      return terminating;
    }
    if (auto problem = commit(*namespaceType_, meta::WatchEventType::Modified, terminating, &old)) {
      return *problem;
    }
  } else if (dryRun) {
    return old;
  }
  for (const ServedResource& type : namespacedTypes_) {
    std::vector<std::string> names;
    auto objects = resources_.find(resourceKey(type));
    if (objects == resources_.end()) {
      continue;
    }
    for (auto it = objects->second.lower_bound({name, ""});
         it != objects->second.end() && it->first.first == name; ++it) {
      names.push_back(it->first.second);
    }
    for (const std::string& objectName : names) {
      auto removed = removeLocked(type, name, objectName, json::object());
      if (!removed && removed.error().code >= 500) {
        return removed.error();
      }
    }
  }
  if (auto problem = finishNamespaceIfEmpty(name)) {
    return *problem;
  }
  const json* now = find(*namespaceType_, "", name);
  return now != nullptr ? *now : terminating;
}

bool MemoryObjectStore::namespaceEmpty(const std::string& ns) const {
  for (const ServedResource& type : namespacedTypes_) {
    auto objects = resources_.find(resourceKey(type));
    if (objects == resources_.end()) {
      continue;
    }
    auto it = objects->second.lower_bound({ns, ""});
    if (it != objects->second.end() && it->first.first == ns) {
      return false;
    }
  }
  return true;
}

std::optional<ApiError> MemoryObjectStore::finishNamespaceIfEmpty(const std::string& ns) {
  if (!namespaceType_) {
    return std::nullopt;
  }
  const json* stored = find(*namespaceType_, "", ns);
  if (stored == nullptr || !beingDeleted(*stored) || !finalizersOf(*stored).empty() || !namespaceEmpty(ns)) {
    return std::nullopt;
  }
  json last = *stored;
  json previous = *stored;
  return commit(*namespaceType_, meta::WatchEventType::Deleted, last, &previous);
}

ApiResult<json> MemoryObjectStore::removeLocked(const ServedResource& type, const std::string& ns,
                                                const std::string& name, const json& deleteOptions) {
  const json* stored = find(type, ns, name);
  if (stored == nullptr) {
    return notFoundError(type, name);
  }
  json old = *stored;
  const json& oldMetadata = metadataOf(old);
  bool dryRun = false;
  if (deleteOptions.is_object()) {
    const json& preconditions = deleteOptions.value("preconditions", json::object());
    if (preconditions.is_object()) {
      std::string uid = text(preconditions, "uid");
      if (!uid.empty() && uid != text(oldMetadata, "uid")) {
        return conflictError(type, name,
                             "Precondition failed: UID in precondition: " + uid +
                                 ", UID in object meta: " + text(oldMetadata, "uid"));
      }
      std::string version = text(preconditions, "resourceVersion");
      if (!version.empty() && version != text(oldMetadata, "resourceVersion")) {
        return conflictError(type, name,
                             "Precondition failed: ResourceVersion in precondition: " + version +
                                 ", ResourceVersion in object meta: " + text(oldMetadata, "resourceVersion"));
      }
    }
    const json& modes = deleteOptions.value("dryRun", json::array());
    dryRun = modes.is_array() && std::find(modes.begin(), modes.end(), json("All")) != modes.end();
  }
  if (!finalizersOf(old).empty()) {
    if (beingDeleted(old)) {
      return old;  // already waiting for its finalizers
    }
    json updated = old;
    json& metadata = metadataOf(updated);
    metadata["deletionTimestamp"] = timestamp();
    metadata["deletionGracePeriodSeconds"] = 0;
    if (isCustom(type)) {
      metadata["generation"] = oldMetadata.value("generation", std::int64_t{0}) + 1;
    }
    if (dryRun) {
      return updated;
    }
    if (auto problem = commit(type, meta::WatchEventType::Modified, updated, &old)) {
      return *problem;
    }
    return updated;
  }
  if (dryRun) {
    return old;
  }
  json last = old;
  if (auto problem = commit(type, meta::WatchEventType::Deleted, last, &old)) {
    return *problem;
  }
  return old;
}

ApiResult<std::shared_ptr<Watch>> MemoryObjectStore::watch(const ServedResource& type, const std::string& ns,
                                                           const ListOptions& options) {
  auto labels = LabelSelector::parse(options.labelSelector);
  if (!labels) {
    return badRequestError(labels.error());
  }
  auto fields = FieldSelector::parse(options.fieldSelector, type);
  if (!fields) {
    return badRequestError(fields.error());
  }
  std::optional<std::uint64_t> resumeAfter;
  if (!options.resourceVersion.empty() && options.resourceVersion != "0") {
    resumeAfter = parseVersion(options.resourceVersion);
    if (!resumeAfter) {
      return badRequestError("invalid resource version: " + options.resourceVersion);
    }
  }
  WatchFilter filter{resourceKey(type), type.namespaced ? ns : std::string(), labels.value(),
                     fields.value(),    options.allowWatchBookmarks,          type.apiVersion(),
                     type.kind};
  std::lock_guard lock(mutex_);
  std::vector<StoreEventPtr> initial;
  if (!resumeAfter) {
    auto resource = resources_.find(resourceKey(type));
    if (resource != resources_.end()) {
      for (const auto& [key, object] : resource->second) {
        if ((!filter.ns.empty() && key.first != filter.ns) ||
            !selected(filter.labels, filter.fields, object)) {
          continue;
        }
        auto event = std::make_shared<StoreEvent>();
        event->type = meta::WatchEventType::Added;
        event->resourceVersion = version_;
        event->resource = filter.resource;
        event->ns = key.first;
        event->object = object;
        initial.push_back(std::move(event));
      }
    }
  }
  return hub_->subscribe(std::move(filter), std::move(initial), resumeAfter, version_);
}

}  // namespace virtsnap::apiserver
