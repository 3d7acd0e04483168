#include "controller/kube/kube_error.h"

#include <gtest/gtest.h>

namespace virtsnap::kube {
namespace {

TEST(KubeError, DescribeNamesKindStatusAndMessage) {
  KubeError error{ErrorKind::Conflict, 409, "Conflict", "the object has been modified", {}, std::nullopt};
  EXPECT_EQ(error.describe(), "Conflict (409): the object has been modified");
}

TEST(KubeError, DescribeAddsOnlyTheCausesTheMessageLeavesOut) {
  KubeError error{ErrorKind::Invalid,
                  422,
                  "Invalid",
                  "Domain \"x\" is invalid: spec.vcpus: Invalid value: 0: must be at least 1",
                  {{"FieldValueInvalid", "Invalid value: 0: must be at least 1", "spec.vcpus"},
                   {"FieldValueRequired", "Required value", "spec.nodeName"}},
                  std::nullopt};
  EXPECT_EQ(error.describe(),
            "Invalid (422): Domain \"x\" is invalid: spec.vcpus: Invalid value: 0: must be at least 1; "
            "spec.nodeName: Required value");
}

TEST(KubeError, OnlyNetworkTimeoutsThrottlingAndServerErrorsAreRetryable) {
  for (ErrorKind kind :
       {ErrorKind::Network, ErrorKind::Timeout, ErrorKind::TooManyRequests, ErrorKind::ServerError}) {
    EXPECT_TRUE((KubeError{kind, 0, "", "", {}, std::nullopt}.retryable())) << errorKindName(kind);
  }
  for (ErrorKind kind : {ErrorKind::NotFound, ErrorKind::AlreadyExists, ErrorKind::Conflict, ErrorKind::Gone,
                         ErrorKind::Invalid, ErrorKind::BadRequest, ErrorKind::Unauthorized,
                         ErrorKind::Forbidden, ErrorKind::Decode, ErrorKind::Cancelled}) {
    EXPECT_FALSE((KubeError{kind, 0, "", "", {}, std::nullopt}.retryable())) << errorKindName(kind);
  }
}

}  // namespace
}  // namespace virtsnap::kube
