#pragma once
// An HTTP request and response as the API server's handlers see them, free of any HTTP library, so
// that every route is testable without a socket.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "controller/apiserver/storage/object_store.h"

namespace virtsnap::apiserver {

struct ApiRequest {
  std::string method;                          // GET, POST, PUT, PATCH, DELETE
  std::string path;                            // decoded, without the query
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool bodyTooLarge = false;  // over kMaxRequestBodyBytes (request_body.h): the front end kept none of it

  std::string header(const std::string& lowerName) const {
    auto it = headers.find(lowerName);
    return it == headers.end() ? std::string() : it->second;
  }
  std::string param(const std::string& name) const {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  }
  // Present, even with an empty value (`?watch`): kube reads that as true.
  bool hasParam(const std::string& name) const { return query.count(name) != 0; }
};

struct ApiResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::string> warnings;  // Warning: 299 - "<text>" headers
  // A watch: the body is streamed from it, one JSON event per line (encoded by encodeEvent), until it
  // ends, the client goes, or timeoutSeconds passes.
  std::shared_ptr<Watch> watch;
  std::function<nlohmann::json(const WatchEvent&)> encodeEvent;
  std::chrono::seconds watchTimeout{0};  // 0: no limit
};

}  // namespace virtsnap::apiserver
