#include "controller/kube/rest_client.h"

#include <utility>

#include "controller/kube/status_error.h"

namespace virtsnap::kube {

namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

KubeError clientError(ErrorKind kind, std::string message) {
  KubeError error;
  error.kind = kind;
  error.message = std::move(message);
  return error;
}

std::string snippet(const std::string& text) {
  return text.size() <= 200 ? text : text.substr(0, 200) + "...";
}

void addListQuery(Query& query, const ListOptions& options) {
  if (!options.labelSelector.empty()) {
    query.emplace_back("labelSelector", options.labelSelector);
  }
  if (!options.fieldSelector.empty()) {
    query.emplace_back("fieldSelector", options.fieldSelector);
  }
  if (options.limit > 0) {
    query.emplace_back("limit", std::to_string(options.limit));
  }
  if (!options.continueToken.empty()) {
    query.emplace_back("continue", options.continueToken);
  }
  if (!options.resourceVersion.empty()) {
    query.emplace_back("resourceVersion", options.resourceVersion);
  }
  if (!options.resourceVersionMatch.empty()) {
    query.emplace_back("resourceVersionMatch", options.resourceVersionMatch);
  }
}

void addWriteQuery(Query& query, const WriteOptions& options) {
  if (!options.fieldManager.empty()) {
    query.emplace_back("fieldManager", options.fieldManager);
  }
  if (!options.fieldValidation.empty()) {
    query.emplace_back("fieldValidation", options.fieldValidation);
  }
}

// metadata.<key> of an object, "" when absent.
std::string metadataField(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) {
    return {};
  }
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) {
    return {};
  }
  auto value = metadata->find(key);
  return value != metadata->end() && value->is_string() ? value->get<std::string>() : std::string();
}

// JSON lines -> WatchEvents. Once it has reported an error or the end, it stays ended.
class RestWatchStream final : public WatchStream {
 public:
  explicit RestWatchStream(LineStreamPtr lines) : lines_(std::move(lines)) {}

  KubeResult<std::optional<WatchEvent>> next() override {
    if (ended_) {
      return std::optional<WatchEvent>();
    }
    while (true) {
      auto line = lines_->next();
      if (!line) {
        return finish(line.error());
      }
      if (!line.value()) {
        ended_ = true;
        return std::optional<WatchEvent>();
      }
      const std::string& text = *line.value();
      if (text.find_first_not_of(" \t\r") == std::string::npos) {
        continue;  // keep-alive blank lines carry nothing
      }
      return decode(text);
    }
  }

  void cancel() override { lines_->cancel(); }

 private:
  KubeResult<std::optional<WatchEvent>> finish(KubeError error) {
    ended_ = true;
    lines_->cancel();
    return error;
  }

  KubeResult<std::optional<WatchEvent>> decode(const std::string& text) {
    const nlohmann::json event = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!event.is_object()) {
      return finish(
          clientError(ErrorKind::Decode, "a watch event that is not a JSON object: " + snippet(text)));
    }
    auto typeField = event.find("type");
    auto object = event.find("object");
    std::optional<WatchEventType> type;
    if (typeField != event.end() && typeField->is_string()) {
      type = meta::parseWatchEventType(typeField->get<std::string>());
    }
    if (!type) {
      return finish(clientError(ErrorKind::Decode, "a watch event of unknown type: " + snippet(text)));
    }
    if (object == event.end() || !object->is_object()) {
      return finish(clientError(ErrorKind::Decode, "a watch event without an object: " + snippet(text)));
    }
    if (*type == WatchEventType::Error) {
      if (!isStatus(*object)) {
        return finish(
            clientError(ErrorKind::Decode, "a watch ERROR event without a Status: " + snippet(text)));
      }
      return finish(errorFromStatus(*object));
    }
    return std::optional<WatchEvent>(WatchEvent{*type, *object});
  }

  LineStreamPtr lines_;
  bool ended_ = false;  // next() is called by one consumer at a time
};

}  // namespace

RestClient::RestClient(TransportPtr transport, RestClientOptions options)
    : transport_(std::move(transport)),
      options_(std::move(options)),
      limiter_(options_.qps, options_.burst, options_.clock ? options_.clock : systemClock()) {}

RestRequest RestClient::request(std::string method, std::string path) const {
  RestRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.headers["accept"] = "application/json";
  request.headers["user-agent"] = options_.userAgent;
  request.timeout = options_.timeout;
  return request;
}

KubeResult<RestResponse> RestClient::send(const RestRequest& request) {
  if (!options_.metrics) {
    return transport_->send(request);
  }
  const auto started = std::chrono::steady_clock::now();
  auto response = transport_->send(request);
  options_.metrics->request(request.method, response ? response->status : response.error().httpStatus,
                            std::chrono::steady_clock::now() - started);
  return response;
}

KubeResult<nlohmann::json> RestClient::call(const RestRequest& request) {
  limiter_.take();
  auto response = send(request);
  if (!response) {
    return response.error();
  }
  const RestResponse& answer = response.value();
  if (answer.status < 200 || answer.status > 299) {
    return errorFromResponse(answer.status, answer.body, answer.header("retry-after"));
  }
  nlohmann::json body = nlohmann::json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return clientError(ErrorKind::Decode, request.method + " " + request.path + " answered " +
                                              std::to_string(answer.status) +
                                              " with a body that is not JSON: " + snippet(answer.body));
  }
  return body;
}

KubeResult<nlohmann::json> RestClient::get(const meta::ResourceType& type, const std::string& ns,
                                           const std::string& name) {
  if (name.empty()) {
    return clientError(ErrorKind::BadRequest, "get " + type.plural + ": a name is required");
  }
  return call(request("GET", type.path(ns, name)));
}

KubeResult<nlohmann::json> RestClient::list(const meta::ResourceType& type, const std::string& ns,
                                            const ListOptions& options) {
  RestRequest list = request("GET", type.path(ns));
  addListQuery(list.query, options);
  if (options.timeoutSeconds) {
    list.query.emplace_back("timeoutSeconds", std::to_string(*options.timeoutSeconds));
  }
  return call(list);
}

KubeResult<nlohmann::json> RestClient::create(const meta::ResourceType& type, const nlohmann::json& object,
                                              const WriteOptions& options) {
  const std::string ns = metadataField(object, "namespace");
  if (!object.is_object()) {
    return clientError(ErrorKind::BadRequest, "create " + type.plural + ": the object is not a JSON object");
  }
  if (type.namespaced && ns.empty()) {
    return clientError(ErrorKind::BadRequest, "create " + type.plural + ": metadata.namespace is required");
  }
  RestRequest create = request("POST", type.path(ns));
  addWriteQuery(create.query, options);
  create.body = object.dump();
  create.contentType = "application/json";
  return call(create);
}

KubeResult<nlohmann::json> RestClient::put(const meta::ResourceType& type, const nlohmann::json& object,
                                           const WriteOptions& options, const std::string& subresource) {
  const std::string ns = metadataField(object, "namespace");
  const std::string name = metadataField(object, "name");
  if (name.empty() || (type.namespaced && ns.empty())) {
    return clientError(ErrorKind::BadRequest, "update " + type.plural + ": metadata.name" +
                                                  (type.namespaced ? " and metadata.namespace" : "") +
                                                  " are required");
  }
  RestRequest update = request("PUT", type.path(ns, name, subresource));
  addWriteQuery(update.query, options);
  update.body = object.dump();
  update.contentType = "application/json";
  return call(update);
}

KubeResult<nlohmann::json> RestClient::update(const meta::ResourceType& type, const nlohmann::json& object,
                                              const WriteOptions& options) {
  return put(type, object, options, "");
}

KubeResult<nlohmann::json> RestClient::updateStatus(const meta::ResourceType& type,
                                                    const nlohmann::json& object,
                                                    const WriteOptions& options) {
  return put(type, object, options, "status");
}

KubeResult<nlohmann::json> RestClient::patch(const meta::ResourceType& type, const std::string& ns,
                                             const std::string& name, PatchType patchType,
                                             const std::string& body, const PatchOptions& options) {
  if (name.empty()) {
    return clientError(ErrorKind::BadRequest, "patch " + type.plural + ": a name is required");
  }
  if (patchType == PatchType::Apply && options.fieldManager.empty()) {
    return clientError(ErrorKind::BadRequest, "apply " + type.plural + ": a fieldManager is required");
  }
  RestRequest patch = request("PATCH", type.path(ns, name, options.subresource));
  if (!options.fieldManager.empty()) {
    patch.query.emplace_back("fieldManager", options.fieldManager);
  }
  if (patchType == PatchType::Apply && options.force) {
    patch.query.emplace_back("force", "true");
  }
  patch.body = body;
  patch.contentType = std::string(meta::patchContentType(patchType));
  return call(patch);
}

KubeResult<nlohmann::json> RestClient::remove(const meta::ResourceType& type, const std::string& ns,
                                              const std::string& name, const DeleteOptions& options) {
  if (name.empty()) {
    return clientError(ErrorKind::BadRequest, "delete " + type.plural + ": a name is required");
  }
  nlohmann::json body{{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  nlohmann::json preconditions = nlohmann::json::object();
  if (options.preconditionUid) {
    preconditions["uid"] = *options.preconditionUid;
  }
  if (options.preconditionResourceVersion) {
    preconditions["resourceVersion"] = *options.preconditionResourceVersion;
  }
  if (!preconditions.empty()) {
    body["preconditions"] = std::move(preconditions);
  }
  if (!options.propagationPolicy.empty()) {
    body["propagationPolicy"] = options.propagationPolicy;
  }
  RestRequest remove = request("DELETE", type.path(ns, name));
  remove.body = body.dump();
  remove.contentType = "application/json";
  return call(remove);
}

KubeResult<WatchStreamPtr> RestClient::watch(const meta::ResourceType& type, const std::string& ns,
                                             const ListOptions& options) {
  RestRequest watch = request("GET", type.path(ns));
  watch.query.emplace_back("watch", "true");
  addListQuery(watch.query, options);
  if (options.allowWatchBookmarks) {
    watch.query.emplace_back("allowWatchBookmarks", "true");
  }
  if (options.timeoutSeconds) {
    watch.query.emplace_back("timeoutSeconds", std::to_string(*options.timeoutSeconds));
  } else if (options_.watchTimeout.count() > 0) {
    watch.query.emplace_back("timeoutSeconds", std::to_string(options_.watchTimeout.count()));
  }
  limiter_.take();
  const auto started = std::chrono::steady_clock::now();
  auto lines = transport_->stream(watch);
  if (options_.metrics) {
    // An open stream is a 200; a refused one carries the server's status.
    options_.metrics->request(watch.method, lines ? 200 : lines.error().httpStatus,
                              std::chrono::steady_clock::now() - started);
  }
  if (!lines) {
    return lines.error();
  }
  return WatchStreamPtr(std::make_unique<RestWatchStream>(std::move(lines).value()));
}

}  // namespace virtsnap::kube
