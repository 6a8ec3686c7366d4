// Early-return helpers for absl::Status and absl::StatusOr, used across module boundaries.
#ifndef FABRIC_COMMON_STATUS_MACROS_H_
#define FABRIC_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FABRIC_CONCAT_INNER_(a, b) a##b
#define FABRIC_CONCAT_(a, b) FABRIC_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` yields a non-OK absl::Status.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status fabric_status_ = (expr);            \
    if (!fabric_status_.ok()) return fabric_status_;   \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, MakeX());` binds the value of an absl::StatusOr or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(FABRIC_CONCAT_(fabric_statusor_, __LINE__), lhs, expr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                           \
  if (!statusor.ok()) return statusor.status();     \
  lhs = std::move(statusor).value()

#endif  // FABRIC_COMMON_STATUS_MACROS_H_
