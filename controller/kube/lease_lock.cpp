#include "controller/kube/lease_lock.h"

#include <cstdio>
#include <utility>

#include "crds/meta/time.h"

namespace virtsnap::kube {

namespace {

std::optional<std::chrono::system_clock::time_point> microTime(const nlohmann::json& spec, const char* key) {
  auto it = spec.find(key);
  if (it == spec.end() || !it->is_string()) {
    return std::nullopt;
  }
  return meta::parseTime(it->get<std::string>());
}

std::int32_t integer(const nlohmann::json& spec, const char* key) {
  auto it = spec.find(key);
  return it != spec.end() && it->is_number_integer() ? it->get<std::int32_t>() : 0;
}

KubeError notReadYet(const std::string& lease) {
  KubeError error;
  error.kind = ErrorKind::BadRequest;
  error.message = "lease " + lease + " not read yet: get() or create() it before update()";
  return error;
}

}  // namespace

nlohmann::json LeaseRecord::toSpec() const {
  nlohmann::json spec{{"holderIdentity", holderIdentity},
                      {"leaseDurationSeconds", leaseDurationSeconds},
                      {"leaseTransitions", leaseTransitions}};
  if (acquireTime) {
    spec["acquireTime"] = meta::formatMicroTime(*acquireTime);
  }
  if (renewTime) {
    spec["renewTime"] = meta::formatMicroTime(*renewTime);
  }
  return spec;
}

LeaseRecord LeaseRecord::fromSpec(const nlohmann::json& spec) {
  LeaseRecord record;
  if (!spec.is_object()) {
    return record;
  }
  auto holder = spec.find("holderIdentity");
  if (holder != spec.end() && holder->is_string()) {
    record.holderIdentity = holder->get<std::string>();
  }
  record.leaseDurationSeconds = integer(spec, "leaseDurationSeconds");
  record.acquireTime = microTime(spec, "acquireTime");
  record.renewTime = microTime(spec, "renewTime");
  record.leaseTransitions = integer(spec, "leaseTransitions");
  return record;
}

LeaseLock::LeaseLock(ApiClientPtr client, std::string ns, std::string name)
    : client_(std::move(client)), ns_(std::move(ns)), name_(std::move(name)) {}

std::string LeaseLock::describe() const {
  return ns_ + "/" + name_;
}

KubeResult<LeaseRecord> LeaseLock::remember(KubeResult<nlohmann::json> answer) {
  if (!answer) {
    return answer.error();
  }
  nlohmann::json lease = std::move(answer).value();
  if (!lease.is_object()) {
    KubeError error;
    error.kind = ErrorKind::Decode;
    error.message = "lease " + describe() + ": the server's answer is not an object";
    return error;
  }
  LeaseRecord record = LeaseRecord::fromSpec(lease.value("spec", nlohmann::json::object()));
  lease_ = std::move(lease);
  return record;
}

KubeResult<LeaseRecord> LeaseLock::get() {
  return remember(client_->get(meta::resources::leases(), ns_, name_));
}

KubeResult<LeaseRecord> LeaseLock::create(const LeaseRecord& record) {
  const meta::ResourceType& type = meta::resources::leases();
  nlohmann::json lease{{"apiVersion", type.apiVersion()},
                       {"kind", type.kind},
                       {"metadata", {{"namespace", ns_}, {"name", name_}}},
                       {"spec", record.toSpec()}};
  return remember(client_->create(type, lease, WriteOptions{}));
}

KubeResult<LeaseRecord> LeaseLock::update(const LeaseRecord& record) {
  if (!lease_) {
    return notReadYet(describe());
  }
  nlohmann::json lease = *lease_;
  lease["spec"] = record.toSpec();  // metadata.resourceVersion stays: the write is conditional on it
  return remember(client_->update(meta::resources::leases(), lease, WriteOptions{}));
}

}  // namespace virtsnap::kube
