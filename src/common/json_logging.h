#ifndef LANEVAULT_COMMON_JSON_LOGGING_H_
#define LANEVAULT_COMMON_JSON_LOGGING_H_

// Internal to common: whether InitLogging (logging.h) chose json, so that
// Fail (program.h) logs a program's last line as an object too.

namespace lanevault {

bool JsonLogging();

}  // namespace lanevault

#endif  // LANEVAULT_COMMON_JSON_LOGGING_H_
