#pragma once
// Every route of the embedded API server, as a function from ApiRequest to ApiResponse: bearer-token
// authentication, fault injection, write counting, discovery, OpenAPI v3, and the object verbs (get, list,
// watch, create, update, patch, delete, /status) on the ObjectStore, with Table output for kubectl. The HTTP
// front end (http_server.cpp) only moves bytes.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "controller/apiserver/api_request.h"
#include "controller/apiserver/fault_injector.h"
#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/storage/object_store.h"
#include "controller/apiserver/write_counter.h"

namespace virtsnap::apiserver {

class ApiHandler {
 public:
  using Now = std::function<std::chrono::system_clock::time_point()>;

  // `token` empty: no authentication (tests only; the standalone server always sets one).
  ApiHandler(const ResourceRegistry& registry, ObjectStore& store, std::string token, Now now = {});

  ApiResponse handle(const ApiRequest& request);
  FaultInjector& faults() { return faults_; }
  // Every write answered on an object route so far (faults injected before it are not counted).
  const WriteCounter& writes() const { return writes_; }
  // Every request answered on an object route so far, reads included, by RBAC verb (faults injected
  // before it are not counted).
  const RequestCounter& requests() const { return requests_; }

 private:
  ApiResponse authorizedHandle(const ApiRequest& request);
  ApiResponse route(const ApiRequest& request);
  ApiResponse objects(const ApiRequest& request, const ServedResource& type, const std::string& ns,
                      const std::string& name, const std::string& subresource);

  const ResourceRegistry& registry_;
  ObjectStore& store_;
  std::string token_;
  Now now_;
  FaultInjector faults_;
  WriteCounter writes_;
  RequestCounter requests_;
};

}  // namespace virtsnap::apiserver
