#include "core/status.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace core {
namespace {

Status FailWith(StatusCode code) { return Status(code, "boom"); }

Status PropagatesError(bool fail, int& reached) {
  RETURN_IF_ERROR(fail ? Status::NotFound("no such thing") : Status::Ok());
  ++reached;
  return Status::Ok();
}

StatusOr<int> MaybeInt(bool fail) {
  if (fail) return Status::PermissionDenied("not yours");
  return 42;
}

StatusOr<int> Doubled(bool fail) {
  ASSIGN_OR_RETURN(int v, MaybeInt(fail));
  return v * 2;
}

// Two ASSIGN_OR_RETURN in one function must not clash on their hidden temporaries.
StatusOr<int> SumOfTwo(bool fail_second) {
  ASSIGN_OR_RETURN(int a, MaybeInt(false));
  ASSIGN_OR_RETURN(int b, MaybeInt(fail_second));
  return a + b;
}

StatusOr<std::unique_ptr<int>> MoveOnly(bool fail) {
  if (fail) return Status::Internal("x");
  return std::make_unique<int>(7);
}

StatusOr<int> UsesMoveOnly(bool fail) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> p, MoveOnly(fail));
  return *p;
}

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(Status, FactoriesSetTheirCode) {
  EXPECT_EQ(Status::InvalidArgument("m").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Status::NotFound("m").code(), StatusCode::kNotFound);
  EXPECT_EQ(Status::AlreadyExists("m").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Status::PermissionDenied("m").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Status::Unauthenticated("m").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Status::FailedPrecondition("m").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Status::Aborted("m").code(), StatusCode::kAborted);
  EXPECT_EQ(Status::ResourceExhausted("m").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(Status::OutOfRange("m").code(), StatusCode::kOutOfRange);
  EXPECT_EQ(Status::Internal("m").code(), StatusCode::kInternal);
  EXPECT_EQ(Status::Unavailable("m").code(), StatusCode::kUnavailable);
  EXPECT_EQ(Status::DataLoss("m").code(), StatusCode::kDataLoss);
  EXPECT_EQ(Status::Unimplemented("m").code(), StatusCode::kUnimplemented);
  EXPECT_FALSE(Status::NotFound("m").ok());
  EXPECT_EQ(Status::NotFound("no person has id 12").message(), "no person has id 12");
}

TEST(Status, ToStringNamesCodeMessageAndFields) {
  EXPECT_EQ(Status::NotFound("no person has id 12").ToString(), "NOT_FOUND: no person has id 12");
  Status s = Status::InvalidArgument("check the form", {{"names/0/family", "is required"}, {"dob", "is in the future"}});
  ASSERT_EQ(s.fields().size(), 2u);
  EXPECT_EQ(s.fields()[0], (FieldError{"names/0/family", "is required"}));
  EXPECT_EQ(s.ToString(),
            "INVALID_ARGUMENT: check the form; names/0/family: is required; dob: is in the future");
}

TEST(Status, CodeNames) {
  EXPECT_EQ(StatusCodeName(StatusCode::kOk), "OK");
  EXPECT_EQ(StatusCodeName(StatusCode::kFailedPrecondition), "FAILED_PRECONDITION");
  EXPECT_EQ(StatusCodeName(StatusCode::kUnauthenticated), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(StatusCode::kDeadlineExceeded), "DEADLINE_EXCEEDED");
}

TEST(StatusMacros, ReturnIfErrorPropagatesTheError) {
  int reached = 0;
  Status s = PropagatesError(true, reached);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "no such thing");
  EXPECT_EQ(reached, 0);
}

TEST(StatusMacros, ReturnIfErrorContinuesOnOk) {
  int reached = 0;
  EXPECT_TRUE(PropagatesError(false, reached).ok());
  EXPECT_EQ(reached, 1);
}

TEST(StatusMacros, ReturnIfErrorKeepsEveryCode) {
  for (StatusCode code : {StatusCode::kAborted, StatusCode::kDataLoss, StatusCode::kUnavailable}) {
    auto wrapper = [code]() -> Status {
      RETURN_IF_ERROR(FailWith(code));
      return Status::Ok();
    };
    EXPECT_EQ(wrapper().code(), code);
  }
}

TEST(StatusMacros, AssignOrReturnAssignsTheValue) {
  StatusOr<int> r = Doubled(false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 84);
  StatusOr<int> sum = SumOfTwo(false);
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(*sum, 84);
}

TEST(StatusMacros, AssignOrReturnPropagatesTheError) {
  StatusOr<int> r = Doubled(true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().message(), "not yours");
  EXPECT_EQ(SumOfTwo(true).status().code(), StatusCode::kPermissionDenied);
}

TEST(StatusMacros, AssignOrReturnWorksWithMoveOnlyValues) {
  StatusOr<int> r = UsesMoveOnly(false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(UsesMoveOnly(true).status().code(), StatusCode::kInternal);
}

TEST(StatusOr, HoldsAValue) {
  StatusOr<std::string> r = std::string("hello");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.value(), "hello");
  EXPECT_EQ(*r, "hello");
  EXPECT_EQ(r->size(), 5u);
  r->append("!");
  EXPECT_EQ(*r, "hello!");
  std::string moved = std::move(r).value();
  EXPECT_EQ(moved, "hello!");
}

TEST(StatusOr, HoldsAnError) {
  StatusOr<std::string> r = Status::NotFound("gone");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "gone");
}

TEST(StatusOr, BuiltFromOkStatusIsAnInternalError) {
  StatusOr<int> r = Status::Ok();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(FieldErrors, MergedEachFieldOnceWhatCouldNotBeReadFirst) {
  const std::vector<FieldError> read = {{"roles/0", "is not a role"}, {"name", "must be a string"}};
  const std::vector<FieldError> found = {{"name", "is required"},
                                         {"roles", "a token needs at least one role"},
                                         {"scopes/0", "is not a known scope"},
                                         {"rolesx", "other"}};
  EXPECT_EQ(MergeFieldErrors(read, found),
            (std::vector<FieldError>{{"roles/0", "is not a role"},
                                     {"name", "must be a string"},
                                     {"scopes/0", "is not a known scope"},
                                     {"rolesx", "other"}}));
  EXPECT_EQ(MergeFieldErrors({}, found), found);
}

}  // namespace
}  // namespace core
