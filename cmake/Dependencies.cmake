# Every dependency is a Debian bookworm package; see README.md for the list.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(OpenCV 4 REQUIRED COMPONENTS core imgproc imgcodecs videoio objdetect dnn freetype ml)
find_package(OpenSSL 3 REQUIRED)
find_package(SQLite3 REQUIRED)
# The vault's PostgreSQL store (src/vault/postgres*): libpq, the C client.
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(TESSERACT REQUIRED IMPORTED_TARGET tesseract)
# The witness's HTTP (server and the daemon's client): header API, Debian's
# compiled library.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
# The alert webhook's client (src/alerts): POST over http(s), TLS verified.
find_package(CURL REQUIRED)
# sd_notify (READY, STATUS, WATCHDOG) for the daemons' systemd units.
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
# Both daemons' Prometheus endpoint (src/ops): the exposer and its registry.
find_package(prometheus-cpp CONFIG REQUIRED)
if(LANEVAULT_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(LANEVAULT_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
