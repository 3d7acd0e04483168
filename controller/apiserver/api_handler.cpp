#include "controller/apiserver/api_handler.h"

#include <sstream>
#include <thread>

#include "controller/apiserver/discovery.h"
#include "controller/apiserver/openapi.h"
#include "controller/apiserver/protobuf_decoder.h"
#include "controller/apiserver/table.h"
#include "controller/apiserver/yaml_json.h"

namespace virtsnap::apiserver {

namespace {

ApiResponse json(int status, const nlohmann::json& body, std::string contentType = "application/json") {
  ApiResponse response;
  response.status = status;
  response.contentType = std::move(contentType);
  response.body = body.dump();
  return response;
}

ApiResponse failure(const ApiError& error) {
  return json(error.code, error.toStatus());
}

ApiError error(int code, std::string reason, std::string message) {
  ApiError e;
  e.code = code;
  e.reason = std::move(reason);
  e.message = std::move(message);
  return e;
}

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream in(path);
  for (std::string part; std::getline(in, part, '/');) {
    if (!part.empty()) {
      parts.push_back(part);
    }
  }
  return parts;
}

bool truthy(const std::string& value) {
  return value == "true" || value == "1";
}

Expected<FieldValidation, ApiError> fieldValidation(const ApiRequest& request) {
  const std::string value = request.param("fieldValidation");
  if (value == "Strict") {
    return FieldValidation::Strict;
  }
  // Unset means Warn, as in kube-apiserver (kubectl sends Strict itself unless told otherwise).
  if (value.empty() || value == "Warn") {
    return FieldValidation::Warn;
  }
  if (value == "Ignore") {
    return FieldValidation::Ignore;
  }
  return error(400, "BadRequest",
               "fieldValidation must be one of \"Ignore\", \"Warn\" or \"Strict\", got \"" + value + "\"");
}

// The metav1.StatusReason kube-apiserver gives with this code, so an injected fault looks like a real one.
std::string injectedReason(int status) {
  switch (status) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return status >= 500 ? "InternalError" : "BadRequest";
  }
}

Expected<nlohmann::json, ApiError> parseBody(const ApiRequest& request) {
  const std::string type = request.header("content-type");
  if (type.find("protobuf") != std::string::npos) {
    // kubectl's typed commands for built-in kinds (create namespace) speak protobuf.
    auto decoded = protobufToJson(request.body);
    if (!decoded) {
      return error(415, "UnsupportedMediaType",
                   "the body of the request was in an unknown format - accepted media types include: "
                   "application/json, application/yaml (" +
                       decoded.error() + ")");
    }
    return decoded.value();
  }
  if (type.find("yaml") != std::string::npos) {
    auto documents = yamlDocumentsToJson(request.body);
    if (!documents || documents.value().size() != 1) {
      return error(400, "BadRequest", documents ? "expected exactly one YAML document" : documents.error());
    }
    return documents.value().front();
  }
  auto body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return error(400, "BadRequest", "the request body is not valid JSON");
  }
  return body;
}

Expected<PatchType, ApiError> patchType(const std::string& contentType) {
  if (contentType.rfind("application/merge-patch+json", 0) == 0) {
    return PatchType::Merge;
  }
  if (contentType.rfind("application/strategic-merge-patch+json", 0) == 0) {
    return PatchType::StrategicMerge;
  }
  if (contentType.rfind("application/json-patch+json", 0) == 0) {
    return PatchType::Json;
  }
  if (contentType.rfind("application/apply-patch+yaml", 0) == 0 ||
      contentType.rfind("application/apply-patch+json", 0) == 0) {
    return PatchType::Apply;
  }
  return error(415, "UnsupportedMediaType",
               "the body of the request was in an unknown format - accepted media types "
               "include: application/json-patch+json, application/merge-patch+json, "
               "application/apply-patch+yaml");
}

ListOptions listOptions(const ApiRequest& request) {
  ListOptions options;
  options.labelSelector = request.param("labelSelector");
  options.fieldSelector = request.param("fieldSelector");
  options.continueToken = request.param("continue");
  options.resourceVersion = request.param("resourceVersion");
  options.allowWatchBookmarks = truthy(request.param("allowWatchBookmarks"));
  const std::string limit = request.param("limit");
  if (!limit.empty()) {
    options.limit = std::strtoll(limit.c_str(), nullptr, 10);
  }
  return options;
}

}  // namespace

ApiHandler::ApiHandler(const ResourceRegistry& registry, ObjectStore& store, std::string token, Now now)
    : registry_(registry),
      store_(store),
      token_(std::move(token)),
      now_(now ? std::move(now) : [] { return std::chrono::system_clock::now(); }) {}

ApiResponse ApiHandler::handle(const ApiRequest& request) {
  if (!token_.empty() && request.header("authorization") != "Bearer " + token_) {
    return failure(error(401, "Unauthorized", "Unauthorized"));
  }
  const bool watching = truthy(request.param("watch"));
  if (auto fault = faults_.match(request.method, request.path, watching)) {
    if (fault->latency.count() > 0) {
      std::this_thread::sleep_for(fault->latency);
    }
    if (fault->drop) {
      ApiResponse dropped;
      dropped.status = 0;  // the front end closes the connection
      return dropped;
    }
    if (fault->status != 0) {
      ApiError injected = error(fault->status, injectedReason(fault->status), "injected fault");
      if (fault->status == 409) {
        injected.reason = "Conflict";
        injected.message =
            "Operation cannot be fulfilled: the object has been modified; please apply your "
            "changes to the latest version and try again";
      } else if (fault->status == 410) {
        injected.reason = "Expired";
        injected.message = "too old resource version";
      } else if (fault->status == 429 || fault->status == 503) {
        injected.reason = fault->status == 429 ? "TooManyRequests" : "ServiceUnavailable";
        injected.retryAfterSeconds = 1;
      }
      return failure(injected);
    }
  }
  return route(request);
}

ApiResponse ApiHandler::route(const ApiRequest& request) {
  const std::vector<std::string> parts = split(request.path);
  const std::string accept = request.header("accept");
  const bool aggregated = accept.find("as=APIGroupDiscoveryList") != std::string::npos;

  if (request.method == "GET") {
    if (parts == std::vector<std::string>{"version"}) {
      return json(200, versionInfo());
    }
    if (parts == std::vector<std::string>{"api"}) {
      return aggregated ? json(200, aggregatedDiscovery(registry_, true), kAggregatedDiscoveryType)
                        : json(200, coreApiVersions());
    }
    if (parts == std::vector<std::string>{"apis"}) {
      return aggregated ? json(200, aggregatedDiscovery(registry_, false), kAggregatedDiscoveryType)
                        : json(200, apiGroupList(registry_));
    }
    if (parts.size() >= 2 && parts[0] == "openapi" && parts[1] == "v3") {
      if (parts.size() == 2) {
        return json(200, openApiIndex(registry_));
      }
      std::string gv;
      for (std::size_t i = 2; i < parts.size(); ++i) {
        gv += (i > 2 ? "/" : "") + parts[i];
      }
      nlohmann::json document = openApiDocument(registry_, gv);
      if (!document.is_null()) {
        return json(200, document);
      }
    }
    if (parts == std::vector<std::string>{"healthz"} || parts == std::vector<std::string>{"readyz"} ||
        parts == std::vector<std::string>{"livez"}) {
      ApiResponse ok;
      ok.contentType = "text/plain";
      ok.body = "ok";
      return ok;
    }
  }

  // /api/v1/... and /apis/<group>/<version>/...
  std::string group;
  std::string version;
  std::size_t at = 0;
  if (parts.size() >= 2 && parts[0] == "api") {
    version = parts[1];
    at = 2;
  } else if (parts.size() >= 3 && parts[0] == "apis") {
    group = parts[1];
    version = parts[2];
    at = 3;
  } else {
    return failure(error(404, "NotFound", "the server could not find the requested resource"));
  }
  if (parts.size() == at && request.method == "GET") {
    nlohmann::json list = apiResourceList(registry_, group, version);
    if (!list.is_null()) {
      return json(200, list);
    }
    return failure(error(404, "NotFound", "the server could not find the requested resource"));
  }

  // [namespaces/<ns>/]<plural>[/<name>[/<subresource>]]; /api/v1/namespaces/<name> is a Namespace.
  std::string ns;
  std::vector<std::string> rest(parts.begin() + static_cast<std::ptrdiff_t>(at), parts.end());
  if (rest.size() >= 3 && rest[0] == "namespaces") {
    ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (rest.empty() || rest.size() > 3) {
    return failure(error(404, "NotFound", "the server could not find the requested resource"));
  }
  const ResourceType* type = registry_.find(group, version, rest[0]);
  if (type == nullptr) {
    return failure(error(404, "NotFound", "the server could not find the requested resource"));
  }
  if (!type->namespaced && !ns.empty()) {
    return failure(error(404, "NotFound", "the server could not find the requested resource"));
  }
  const std::string name = rest.size() >= 2 ? rest[1] : "";
  const std::string subresource = rest.size() == 3 ? rest[2] : "";
  if (!subresource.empty() && (subresource != "status" || !type->hasStatus)) {
    return failure(error(404, "NotFound", "the server could not find the requested resource"));
  }
  return objects(request, *type, ns, name, subresource);
}

ApiResponse ApiHandler::objects(const ApiRequest& request, const ResourceType& type, const std::string& ns,
                                const std::string& name, const std::string& subresource) {
  const bool status = subresource == "status";
  const bool table = wantsTable(request.header("accept"));
  std::vector<std::string> warnings;
  auto answer = [&](int code, const ApiResult<nlohmann::json>& result) {
    if (!result) {
      return failure(result.error());
    }
    ApiResponse response;
    if (table) {
      const nlohmann::json& value = result.value();
      const bool isList = value.contains("items");
      std::vector<nlohmann::json> objects =
          isList ? value["items"].get<std::vector<nlohmann::json>>() : std::vector<nlohmann::json>{value};
      response = json(
          code, toTable(type, objects,
                        isList ? value.value("metadata", nlohmann::json::object()) : nlohmann::json::object(),
                        now_()));
    } else {
      response = json(code, result.value());
    }
    response.warnings = warnings;
    return response;
  };

  WriteOptions write;
  write.dryRun = request.param("dryRun") == "All";
  write.fieldManager = request.param("fieldManager");
  write.force = truthy(request.param("force"));
  auto validation = fieldValidation(request);
  if (!validation) {
    return failure(validation.error());
  }
  write.fieldValidation = validation.value();

  if (request.method == "GET" && name.empty()) {
    if (truthy(request.param("watch"))) {
      auto watch = store_.watch(type, ns, listOptions(request));
      if (!watch) {
        return failure(watch.error());
      }
      ApiResponse response;
      response.watch = watch.value();
      response.watchTimeout =
          std::chrono::seconds(std::strtoll(request.param("timeoutSeconds").c_str(), nullptr, 10));
      response.encodeEvent = [table, &type, this](const WatchEvent& event) {
        if (!table || event.type == "BOOKMARK" || event.type == "ERROR") {
          return nlohmann::json{{"type", event.type}, {"object", event.object}};
        }
        return nlohmann::json{{"type", event.type},
                              {"object", toTable(type, {event.object}, nlohmann::json::object(), now_())}};
      };
      return response;
    }
    return answer(200, store_.list(type, ns, listOptions(request)));
  }
  if (request.method == "GET") {
    return answer(200, store_.get(type, ns, name));
  }
  if (request.method == "POST" && name.empty()) {
    auto body = parseBody(request);
    if (!body) {
      return failure(body.error());
    }
    return answer(201, store_.create(type, ns, std::move(body).value(), write, &warnings));
  }
  if (request.method == "PUT" && !name.empty()) {
    auto body = parseBody(request);
    if (!body) {
      return failure(body.error());
    }
    return answer(200, store_.update(type, ns, name, std::move(body).value(), status, write, &warnings));
  }
  if (request.method == "PATCH" && !name.empty()) {
    auto kind = patchType(request.header("content-type"));
    if (!kind) {
      return failure(kind.error());
    }
    if (kind.value() == PatchType::Apply && write.fieldManager.empty()) {
      return failure(
          error(400, "BadRequest", "PATCH, application/apply-patch+yaml requests require fieldManager"));
    }
    // Server-side apply creates what does not exist: 201 then, as kube-apiserver answers.
    const bool existed = kind.value() != PatchType::Apply || store_.get(type, ns, name).has_value();
    auto result = store_.patch(type, ns, name, kind.value(), request.body, status, write, &warnings);
    const bool created = result && !existed;
    return answer(created ? 201 : 200, result);
  }
  if (request.method == "DELETE" && !name.empty()) {
    nlohmann::json options = nullptr;
    if (!request.body.empty()) {
      auto body = parseBody(request);
      if (!body) {
        return failure(body.error());
      }
      options = std::move(body).value();
    }
    return answer(200, store_.remove(type, ns, name, options));
  }
  ApiError notAllowed =
      error(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
  return failure(notAllowed);
}

}  // namespace virtsnap::apiserver
