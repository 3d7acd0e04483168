#include "controller/apiserver/api_handler.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <thread>

#include "controller/apiserver/discovery.h"
#include "controller/apiserver/openapi.h"
#include "controller/apiserver/protobuf_decoder.h"
#include "controller/apiserver/table.h"
#include "controller/apiserver/validation/request_body.h"
#include "crds/meta/patch_type.h"
#include "crds/meta/yaml_json.h"

namespace virtsnap::apiserver {

namespace {

ApiResponse json(int status, const nlohmann::json& body, std::string contentType = "application/json") {
  ApiResponse response;
  response.status = status;
  response.contentType = std::move(contentType);
  // Replace, not throw: a message may quote a path or parameter that is not valid UTF-8.
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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

// A boolean query parameter as kube-apiserver's parameter codec reads every one of them
// (runtime.Convert_Slice_string_To_bool): absent is false, "0" and "false" in any letter case are
// false, and anything else, an empty value included, is true. The Python client sends "True".
bool boolParam(const ApiRequest& request, const std::string& name) {
  if (!request.hasParam(name)) {
    return false;
  }
  std::string value = request.param(name);
  std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
  return value != "0" && value != "false";
}

// An integer query parameter (limit, timeoutSeconds, gracePeriodSeconds): kube's codec parses it with
// strconv.ParseInt and answers 400 when that fails.
Expected<std::optional<std::int64_t>, ApiError> intParam(const ApiRequest& request, const std::string& name) {
  if (!request.hasParam(name)) {
    return std::optional<std::int64_t>();
  }
  const std::string value = request.param(name);
  errno = 0;
  char* end = nullptr;
  const long long parsed = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno == ERANGE ||
      std::isspace(static_cast<unsigned char>(value[0]))) {
    return error(400, "BadRequest", "strconv.ParseInt: parsing \"" + value + "\": invalid syntax");
  }
  return std::optional<std::int64_t>(parsed);
}

// A 422 for a malformed option, as kube's Validate{List,Create,Update,Patch,Delete}Options answer:
// `kind` is e.g. "CreateOptions", `field` the query parameter.
ApiError invalidOption(const std::string& kind, const std::string& field, const std::string& reason,
                       const std::string& detail) {
  ApiError e = error(422, "Invalid", kind + ".meta.k8s.io \"\" is invalid: " + field + ": " + detail);
  e.group = "meta.k8s.io";
  e.kind = kind;
  e.causes.push_back({reason, detail, field});
  return e;
}

std::string optionsKind(const std::string& method) {
  if (method == "POST") {
    return "CreateOptions";
  }
  if (method == "PUT") {
    return "UpdateOptions";
  }
  if (method == "PATCH") {
    return "PatchOptions";
  }
  return method == "DELETE" ? "DeleteOptions" : "ListOptions";
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
  return invalidOption(
      optionsKind(request.method), "fieldValidation", "FieldValueNotSupported",
      "Unsupported value: \"" + value + "\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\"");
}

// dryRun: absent, or "All" (the only value kube knows); anything else is refused rather than
// silently written for real.
Expected<bool, ApiError> dryRunParam(const ApiRequest& request) {
  if (!request.hasParam("dryRun")) {
    return false;
  }
  const std::string value = request.param("dryRun");
  if (value != "All") {
    return invalidOption(optionsKind(request.method), "dryRun", "FieldValueNotSupported",
                         "Unsupported value: []string{\"" + value + "\"}: supported values: \"All\"");
  }
  return true;
}

Expected<IncludeObject, ApiError> includeObjectParam(const ApiRequest& request) {
  const std::string value = request.param("includeObject");
  if (value.empty() || value == "Metadata") {
    return IncludeObject::Metadata;
  }
  if (value == "Object") {
    return IncludeObject::Object;
  }
  if (value == "None") {
    return IncludeObject::None;
  }
  return error(400, "BadRequest", "unrecognized includeObject value: \"" + value + "\"");
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
    auto documents = meta::yamlDocumentsToJson(request.body, {.maxNestingDepth = kMaxNestingDepth});
    if (!documents || documents.value().size() != 1) {
      return error(400, "BadRequest", documents ? "expected exactly one YAML document" : documents.error());
    }
    return documents.value().front();
  }
  auto body = decodeJsonBody(request.body);
  if (!body) {
    return error(400, "BadRequest", body.error());
  }
  return std::move(body).value();
}

Expected<PatchType, ApiError> patchType(const std::string& contentType) {
  if (auto type = meta::patchTypeOfContentType(contentType)) {
    return *type;
  }
  return error(415, "UnsupportedMediaType",
               "the body of the request was in an unknown format - accepted media types "
               "include: application/json-patch+json, application/merge-patch+json, "
               "application/apply-patch+yaml");
}

// resourceVersion on a list. kube serves a version newer than its own as "too large" (504, clients
// retry); resourceVersionMatch=Exact needs a snapshot at that version, and this server keeps none but
// the current one (410 Expired, as for a compacted version).
std::optional<ApiError> listVersionProblem(const ApiRequest& request, const ListOptions& options,
                                           std::uint64_t current) {
  if (options.resourceVersion.empty() || !options.continueToken.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  errno = 0;
  const unsigned long long asked = std::strtoull(options.resourceVersion.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE || options.resourceVersion[0] == '-') {
    return error(400, "BadRequest", "invalid resource version: " + options.resourceVersion);
  }
  if (asked > current) {
    ApiError tooLarge = error(
        504, "Timeout",
        "Too large resource version: " + options.resourceVersion + ", current: " + std::to_string(current));
    tooLarge.causes.push_back({"ResourceVersionTooLarge", "Too large resource version", ""});
    tooLarge.retryAfterSeconds = 1;
    return tooLarge;
  }
  if (request.param("resourceVersionMatch") == "Exact" && asked != current) {
    return error(410, "Expired", "The resourceVersion for the provided list is too old.");
  }
  return std::nullopt;
}

// The list and watch options, checked as kube's ValidateListOptions checks them (422 ListOptions).
Expected<ListOptions, ApiError> listOptions(const ApiRequest& request) {
  ListOptions options;
  options.labelSelector = request.param("labelSelector");
  options.fieldSelector = request.param("fieldSelector");
  options.continueToken = request.param("continue");
  options.resourceVersion = request.param("resourceVersion");
  options.allowWatchBookmarks = boolParam(request, "allowWatchBookmarks");
  auto limit = intParam(request, "limit");
  if (!limit) {
    return limit.error();
  }
  options.limit = limit.value().value_or(0);
  const bool watch = boolParam(request, "watch");
  const std::string match = request.param("resourceVersionMatch");
  if (!match.empty()) {
    if (watch) {
      return invalidOption("ListOptions", "resourceVersionMatch", "FieldValueForbidden",
                           "Forbidden: resourceVersionMatch is forbidden for watch");
    }
    if (options.resourceVersion.empty()) {
      return invalidOption("ListOptions", "resourceVersionMatch", "FieldValueForbidden",
                           "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided");
    }
    if (!options.continueToken.empty()) {
      return invalidOption("ListOptions", "resourceVersionMatch", "FieldValueForbidden",
                           "Forbidden: resourceVersionMatch is forbidden when continue is provided");
    }
    if (match != "Exact" && match != "NotOlderThan") {
      return invalidOption(
          "ListOptions", "resourceVersionMatch", "FieldValueNotSupported",
          "Unsupported value: \"" + match + "\": supported values: \"Exact\", \"NotOlderThan\", \"\"");
    }
    if (match == "Exact" && options.resourceVersion == "0") {
      return invalidOption(
          "ListOptions", "resourceVersionMatch", "FieldValueForbidden",
          "Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"");
    }
  }
  if (request.hasParam("sendInitialEvents")) {
    // This server has no watch-list stream: it answers as a kube-apiserver without the WatchList
    // feature, which client-go's reflector takes as the cue to list and then watch.
    return invalidOption("ListOptions", "sendInitialEvents", "FieldValueForbidden",
                         watch ? "Forbidden: sendInitialEvents is forbidden for watch unless the WatchList "
                                 "feature gate is enabled"
                               : "Forbidden: sendInitialEvents is only supported on watch requests");
  }
  auto timeout = intParam(request, "timeoutSeconds");
  if (!timeout) {
    return timeout.error();
  }
  return options;
}

// DELETE's options come from the body when there is one, else from the query, as kube reads them.
Expected<nlohmann::json, ApiError> deleteOptionsFromQuery(const ApiRequest& request) {
  nlohmann::json options = nlohmann::json::object();
  auto dryRun = dryRunParam(request);
  if (!dryRun) {
    return dryRun.error();
  }
  if (dryRun.value()) {
    options["dryRun"] = nlohmann::json::array({"All"});
  }
  auto grace = intParam(request, "gracePeriodSeconds");
  if (!grace) {
    return grace.error();
  }
  if (grace.value()) {
    options["gracePeriodSeconds"] = *grace.value();
  }
  const std::string policy = request.param("propagationPolicy");
  if (!policy.empty()) {
    if (policy != "Orphan" && policy != "Background" && policy != "Foreground") {
      return invalidOption("DeleteOptions", "propagationPolicy", "FieldValueNotSupported",
                           "Unsupported value: \"" + policy +
                               "\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"");
    }
    options["propagationPolicy"] = policy;
  }
  if (request.hasParam("orphanDependents")) {
    options["orphanDependents"] = boolParam(request, "orphanDependents");
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
  try {
    return authorizedHandle(request);
  } catch (const std::exception& e) {
    // A mistake of this server's must still reach the client as a Status, never as an empty 500.
    return failure(error(500, "InternalError", std::string("Internal error occurred: ") + e.what()));
  }
}

ApiResponse ApiHandler::authorizedHandle(const ApiRequest& request) {
  if (!token_.empty() && request.header("authorization") != "Bearer " + token_) {
    return failure(error(401, "Unauthorized", "Unauthorized"));
  }
  if (request.bodyTooLarge || request.body.size() > kMaxRequestBodyBytes) {
    // The front end stops reading one byte past the limit, so this is all one request can cost.
    return failure(error(413, "RequestEntityTooLarge",
                         "Request entity too large: limit is " + std::to_string(kMaxRequestBodyBytes)));
  }
  const bool watching = boolParam(request, "watch");
  if (auto fault = faults_.match(request.method, request.path, watching, request.header("user-agent"))) {
    if (fault->latency.count() > 0) {
      std::this_thread::sleep_for(fault->latency);
    }
    if (fault->afterApplied && !watching && (fault->drop || fault->status != 0)) {
      route(request);  // applied, whatever it answers; the answer is lost below
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
  const ServedResource* type = registry_.find(group, version, rest[0]);
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
  ApiResponse response = objects(request, *type, ns, name, subresource);
  if (std::string verb = requestVerb(request.method, !name.empty(), boolParam(request, "watch"));
      !verb.empty()) {
    requests_.count(
        RequestKey{request.header("user-agent"), group, std::move(verb), type->plural, subresource, ns});
  }
  if (std::string verb = writeVerb(request.method); !verb.empty()) {
    writes_.count(WriteKey{std::move(verb), type->plural, subresource, response.status});
  }
  return response;
}

ApiResponse ApiHandler::objects(const ApiRequest& request, const ServedResource& type, const std::string& ns,
                                const std::string& name, const std::string& subresource) {
  const bool status = subresource == "status";
  const bool table = wantsTable(request.header("accept"));
  IncludeObject include = IncludeObject::Metadata;
  if (table) {
    auto asked = includeObjectParam(request);
    if (!asked) {
      return failure(asked.error());
    }
    include = asked.value();
  }
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
                        now_(), include));
    } else {
      response = json(code, result.value());
    }
    response.warnings = warnings;
    return response;
  };

  WriteOptions write;
  const bool writing = request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
  if (writing) {
    auto dryRun = dryRunParam(request);
    if (!dryRun) {
      return failure(dryRun.error());
    }
    write.dryRun = dryRun.value();
    write.fieldManager = request.param("fieldManager");
    write.force = boolParam(request, "force");
    auto validation = fieldValidation(request);
    if (!validation) {
      return failure(validation.error());
    }
    write.fieldValidation = validation.value();
  }

  if (request.method == "GET" && name.empty()) {
    auto options = listOptions(request);
    if (!options) {
      return failure(options.error());
    }
    if (boolParam(request, "watch")) {
      auto watch = store_.watch(type, ns, options.value());
      if (!watch) {
        return failure(watch.error());
      }
      ApiResponse response;
      response.watch = watch.value();
      response.watchTimeout = std::chrono::seconds(intParam(request, "timeoutSeconds").value().value_or(0));
      response.encodeEvent = [table, include, &type, this](const WatchEvent& event) {
        if (!table || event.type == meta::WatchEventType::Bookmark ||
            event.type == meta::WatchEventType::Error) {
          return nlohmann::json{{"type", meta::watchEventTypeName(event.type)}, {"object", event.object}};
        }
        return nlohmann::json{
            {"type", meta::watchEventTypeName(event.type)},
            {"object", toTable(type, {event.object}, nlohmann::json::object(), now_(), include)}};
      };
      return response;
    }
    if (!options.value().resourceVersion.empty()) {
      if (auto stale = listVersionProblem(request, options.value(), store_.resourceVersion())) {
        return failure(*stale);
      }
    }
    return answer(200, store_.list(type, ns, options.value()));
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
    if (write.force && kind.value() != PatchType::Apply) {
      return failure(invalidOption("PatchOptions", "force", "FieldValueForbidden",
                                   "Forbidden: may not be specified for non-apply patch"));
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
    } else {
      // Clients such as the Python one put dryRun=All in the query: left unread, the delete was real.
      auto fromQuery = deleteOptionsFromQuery(request);
      if (!fromQuery) {
        return failure(fromQuery.error());
      }
      options = std::move(fromQuery).value();
    }
    return answer(200, store_.remove(type, ns, name, options));
  }
  ApiError notAllowed =
      error(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
  return failure(notAllowed);
}

}  // namespace virtsnap::apiserver
