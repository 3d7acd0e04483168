#pragma once
// An ApiClient that hands the server's answer to each successful write of a watched resource to that
// resource's informer (Informer::writeThrough), so the writer's next reconciles, and every handler,
// see the write at once instead of one watch round trip later. Reads, watches and other resources pass
// through untouched; a write that failed, or a deletion answered with a Status (the object is gone),
// writes nothing through.
//
// Every informer must be routed before the client is used and must outlive it.

#include <map>
#include <string>
#include <utility>

#include "controller/kube/api_client.h"
#include "controller/kube/informer.h"

namespace virtsnap::kube {

class WriteThroughClient final : public ApiClient {
 public:
  explicit WriteThroughClient(ApiClientPtr inner) : inner_(std::move(inner)) {}

  // Writes of `type` go through to `informer`.
  void route(const meta::ResourceType& type, Informer& informer) { informers_[routeKey(type)] = &informer; }

  KubeResult<nlohmann::json> get(const meta::ResourceType& type, const std::string& ns,
                                 const std::string& name) override {
    return inner_->get(type, ns, name);
  }
  KubeResult<nlohmann::json> list(const meta::ResourceType& type, const std::string& ns,
                                  const ListOptions& options) override {
    return inner_->list(type, ns, options);
  }
  KubeResult<nlohmann::json> create(const meta::ResourceType& type, const nlohmann::json& object,
                                    const WriteOptions& options) override {
    return inner_->create(type, object, options);  // not cached yet: the watch adds it
  }
  KubeResult<nlohmann::json> update(const meta::ResourceType& type, const nlohmann::json& object,
                                    const WriteOptions& options) override {
    return through(type, inner_->update(type, object, options));
  }
  KubeResult<nlohmann::json> updateStatus(const meta::ResourceType& type, const nlohmann::json& object,
                                          const WriteOptions& options) override {
    return through(type, inner_->updateStatus(type, object, options));
  }
  KubeResult<nlohmann::json> patch(const meta::ResourceType& type, const std::string& ns,
                                   const std::string& name, PatchType patchType, const std::string& body,
                                   const PatchOptions& options) override {
    return through(type, inner_->patch(type, ns, name, patchType, body, options));
  }
  KubeResult<nlohmann::json> remove(const meta::ResourceType& type, const std::string& ns,
                                    const std::string& name, const DeleteOptions& options) override {
    return through(type, inner_->remove(type, ns, name, options));
  }
  KubeResult<WatchStreamPtr> watch(const meta::ResourceType& type, const std::string& ns,
                                   const ListOptions& options) override {
    return inner_->watch(type, ns, options);
  }

 private:
  static std::string routeKey(const meta::ResourceType& type) { return type.group + "/" + type.plural; }

  KubeResult<nlohmann::json> through(const meta::ResourceType& type, KubeResult<nlohmann::json>&& answer) {
    if (answer && answer.value().is_object() && answer.value().value("kind", "") != "Status") {
      if (auto informer = informers_.find(routeKey(type)); informer != informers_.end()) {
        informer->second->writeThrough(answer.value());
      }
    }
    return std::move(answer);
  }

  const ApiClientPtr inner_;
  std::map<std::string, Informer*> informers_;
};

}  // namespace virtsnap::kube
