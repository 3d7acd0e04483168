// The store's reads: one object, a list (selected, paged with continue tokens) and a watch (the
// current objects as ADDED events, or a resume after a resourceVersion).

#include <algorithm>
#include <cctype>

#include "controller/apiserver/storage/continue_token.h"
#include "controller/apiserver/storage/memory_object_store.h"
#include "controller/apiserver/storage/object_selector.h"
#include "controller/apiserver/storage/store_errors.h"

namespace virtsnap::apiserver {

namespace {

using nlohmann::json;

std::optional<std::uint64_t> parseVersion(const std::string& value) {
  if (value.empty() || value.size() > 19 || !std::all_of(value.begin(), value.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    return std::nullopt;
  }
  return std::stoull(value);
}

}  // namespace

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
  auto selector = ObjectSelector::parse(options, type);
  if (!selector) {
    return badRequestError(selector.error());
  }
  std::lock_guard lock(mutex_);
  std::uint64_t listVersion = version_;
  std::optional<Key> after;
  if (!options.continueToken.empty()) {
    if (!options.resourceVersion.empty() && options.resourceVersion != "0") {
      return badRequestError("specifying resource version is not allowed when using continue");
    }
    auto token = decodeContinueToken(options.continueToken);
    if (!token) {
      return badRequestError("continue key is not valid: the continue token is malformed");
    }
    listVersion = token->resourceVersion;
    after = Key{token->ns, token->name};
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
      if (!selector.value().matches(it->second)) {
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
    metadata["continue"] = encodeContinueToken({listVersion, last->first, last->second});
    if (selector.value().empty()) {
      metadata["remainingItemCount"] = remaining;
    }
  }
  return json{{"apiVersion", type.apiVersion()},
              {"kind", type.listKind.empty() ? type.kind + "List" : type.listKind},
              {"metadata", std::move(metadata)},
              {"items", std::move(items)}};
}

ApiResult<std::shared_ptr<Watch>> MemoryObjectStore::watch(const ServedResource& type, const std::string& ns,
                                                           const ListOptions& options) {
  auto selector = ObjectSelector::parse(options, type);
  if (!selector) {
    return badRequestError(selector.error());
  }
  std::optional<std::uint64_t> resumeAfter;
  if (!options.resourceVersion.empty() && options.resourceVersion != "0") {
    resumeAfter = parseVersion(options.resourceVersion);
    if (!resumeAfter) {
      return badRequestError("invalid resource version: " + options.resourceVersion);
    }
  }
  WatchFilter filter{resourceKey(type), type.namespaced ? ns : std::string(),
                     selector.value(),  options.allowWatchBookmarks,
                     type.apiVersion(), type.kind};
  std::lock_guard lock(mutex_);
  std::vector<StoreEventPtr> initial;
  if (!resumeAfter) {
    auto resource = resources_.find(resourceKey(type));
    if (resource != resources_.end()) {
      for (const auto& [key, object] : resource->second) {
        if ((!filter.ns.empty() && key.first != filter.ns) || !filter.selector.matches(object)) {
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
