#include "rpc/grpc_logging.h"

#include <cstdlib>
#include <cstring>

#include "common/logging.h"
#include "grpc/support/log.h"

namespace lanevault::rpc {
namespace {

void GrpcLine(gpr_log_func_args* args) {
  static const std::shared_ptr<spdlog::logger> logger = LibraryLogger("grpc");
  spdlog::level::level_enum level = spdlog::level::debug;
  if (args->severity == GPR_LOG_SEVERITY_ERROR) level = spdlog::level::err;
  if (args->severity == GPR_LOG_SEVERITY_INFO) level = spdlog::level::info;
  // The file's base name, as gRPC's own lines give it.
  const char* file = args->file != nullptr ? args->file : "";
  if (const char* slash = std::strrchr(file, '/')) file = slash + 1;
  logger->log(spdlog::source_loc{file, args->line, ""}, level, "{}",
              args->message != nullptr ? args->message : "");
}

}  // namespace

void RouteGrpcLogs() {
  setenv("GRPC_VERBOSITY", "ERROR", /*overwrite=*/0);
  gpr_set_log_function(&GrpcLine);
}

}  // namespace lanevault::rpc
