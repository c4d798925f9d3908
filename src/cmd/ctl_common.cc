// Helpers every lanevaultctl command shares: the connection, deadlines,
// printing, and gRPC errors turned into sentences.

#include "cmd/ctl_common.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/program.h"
#include "common/time_util.h"
#include "google/protobuf/util/json_util.h"
#include "rpc/tls.h"

ABSL_DECLARE_FLAG(std::string, server);
ABSL_DECLARE_FLAG(std::string, ca);
ABSL_DECLARE_FLAG(std::string, cert);
ABSL_DECLARE_FLAG(std::string, key);
ABSL_DECLARE_FLAG(double, timeout);
ABSL_DECLARE_FLAG(std::string, since);
ABSL_DECLARE_FLAG(std::string, until);
ABSL_DECLARE_FLAG(std::string, config);
ABSL_DECLARE_FLAG(bool, progress);

namespace lanevault::ctl {

namespace {

// The keys a config file may set; anything else is a typo to refuse, not
// a line to skip (a skipped 'sever = …' silently meant the default server).
constexpr absl::string_view kConfigKeys[] = {"server", "ca", "cert", "key"};

// `name = value` from the config file, if there is one and it says.
std::string FromConfigFile(absl::string_view name) {
  std::string path = absl::GetFlag(FLAGS_config);
  if (const char* v = std::getenv("LANEVAULTCTL_CONFIG");
      path.empty() && v != nullptr) {
    path = v;
  }
  const bool named = !path.empty();
  if (const char* home = std::getenv("HOME"); !named && home != nullptr) {
    path = absl::StrCat(home, "/.config/lanevault/ctl.conf");
  }
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    if (named) Fail(text.status());  // a file asked for must exist
    return "";
  }
  std::string found;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    const absl::string_view key = absl::StripAsciiWhitespace(
        line.substr(0, eq == absl::string_view::npos ? line.size() : eq));
    if (eq == absl::string_view::npos ||
        std::find(std::begin(kConfigKeys), std::end(kConfigKeys), key) ==
            std::end(kConfigKeys)) {
      Fail(absl::StrCat(path, ":", number, ": ",
                        eq == absl::string_view::npos
                            ? "not a 'name = value' line"
                            : absl::StrCat("unknown key '", key, "'"),
                        " (keys: server, ca, cert, key)"),
           2);
    }
    if (key == name) {
      found = std::string(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    }
  }
  return found;
}

// Names a client key that is not the certificate's: otherwise gRPC fails
// the handshake with lines of its own and "empty address list".
void CheckKeyMatchesCertificate(const std::string& cert_file,
                                const std::string& key_file) {
  if (cert_file.empty() || key_file.empty()) return;
  absl::StatusOr<std::string> cert_pem = ReadFileToString(cert_file);
  if (!cert_pem.ok()) Fail(cert_pem.status());
  absl::StatusOr<std::string> key_pem = ReadFileToString(key_file);
  if (!key_pem.ok()) Fail(key_pem.status());
  BIO* cert_bio =
      BIO_new_mem_buf(cert_pem->data(), static_cast<int>(cert_pem->size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  BIO* key_bio =
      BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  std::fill(key_pem->begin(), key_pem->end(), '\0');
  const bool matches =
      cert != nullptr && key != nullptr && X509_check_private_key(cert, key);
  std::string problem;
  if (cert == nullptr) {
    problem = absl::StrCat("--cert ", cert_file, " holds no PEM certificate");
  } else if (key == nullptr) {
    problem = absl::StrCat("--key ", key_file, " holds no PEM private key");
  } else if (!matches) {
    problem =
        absl::StrCat("the key ", key_file, " does not match the certificate ",
                     cert_file, "; give the key made with that certificate");
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  ERR_clear_error();
  if (!problem.empty()) Fail(problem);
}

}  // namespace

std::string FlagOrEnv(const std::string& flag, const char* env,
                      const std::string& fallback) {
  if (!flag.empty()) return flag;
  if (const char* v = std::getenv(env); v != nullptr && *v != '\0') return v;
  return fallback;
}

// Flag, then environment, then config file, then the default.
std::string Setting(const std::string& flag, const char* env,
                    absl::string_view name, const std::string& fallback) {
  std::string v = FlagOrEnv(flag, env, "");
  if (v.empty()) v = FromConfigFile(name);
  return v.empty() ? fallback : v;
}

std::string Server() {
  return Setting(absl::GetFlag(FLAGS_server), "LANEVAULT_SERVER", "server",
                 "127.0.0.1:7443");
}

std::vector<std::string> ServerAddresses() {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(Server(), ',')) {
    const std::string a(absl::StripAsciiWhitespace(part));
    const size_t colon = a.rfind(':');
    int port = 0;
    if (a.empty() || colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(a.substr(colon + 1), &port) || port <= 0 ||
        port > 65535) {
      Fail(absl::StrCat("--server: '", a, "' in '", Server(),
                        "' is not host:port (several replicas: "
                        "host1:port1,host2:port2)"));
    }
    out.push_back(a);
  }
  return out;
}

// A gRPC error as a sentence that says what to do next.
[[noreturn]] void FailRpc(const grpc::Status& s) {
  const std::string m = s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      Fail(absl::StrCat(
          "cannot reach lanevaultd at ", Server(), ": ", m,
          ". Is it running, and are --ca/--cert/--key from its CA?"));
    case grpc::StatusCode::UNAUTHENTICATED:
      Fail(absl::StrCat("not authenticated: ", m,
                        ". Give your certificate with --cert and --key."));
    case grpc::StatusCode::PERMISSION_DENIED:
      Fail(absl::StrCat("refused: ", m, ". The refusal is in the access log."));
    case grpc::StatusCode::NOT_FOUND:
      // The vault's own words may already say it (scoped answers do).
      Fail(absl::StrCat("not found: ", m,
                        absl::StrContains(m, "deadline")
                            ? "."
                            : " (or past its retention deadline)."));
    case grpc::StatusCode::INVALID_ARGUMENT:
      Fail(absl::StrCat("rejected: ", m));
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      // gRPC says this too of a message over its size limit, on either side.
      if (absl::StrContains(m, "larger than max")) {
        Fail(absl::StrCat("a message too large to pass: ", m));
      }
      Fail(absl::StrCat("quota reached: ", m,
                        ". Wait for the window or ask a compliance officer."));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      Fail(absl::StrCat("no answer within ", absl::GetFlag(FLAGS_timeout),
                        " s; raise --timeout or check the server."));
    case grpc::StatusCode::DATA_LOSS:
      Fail(absl::StrCat("the vault reports damage: ", m,
                        ". Tell a compliance officer; do not retry."));
    case grpc::StatusCode::FAILED_PRECONDITION:
      // E.g. a read that waits for approval: the message names the request.
      Fail(absl::StrCat("not done: ", m));
    case grpc::StatusCode::UNIMPLEMENTED:
      Fail("this server does not implement that call yet.");
    default:
      Fail(absl::StrCat("server error (", static_cast<int>(s.error_code()),
                        "): ", m));
  }
}

rpc::ReplicaChannels& Replicas() {
  static rpc::ReplicaChannels* const replicas = [] {
    const std::string ca = Setting(absl::GetFlag(FLAGS_ca), "LANEVAULT_CA",
                                   "ca", "var/pki/ca.pem");
    const std::string cert =
        Setting(absl::GetFlag(FLAGS_cert), "LANEVAULT_CERT", "cert", "");
    const std::string key =
        Setting(absl::GetFlag(FLAGS_key), "LANEVAULT_KEY", "key", "");
    CheckKeyMatchesCertificate(cert, key);
    auto creds = rpc::ClientTlsCredentials(ca, cert, key);
    if (!creds.ok()) Fail(creds.status());
    // A replica gets a few seconds to answer.
    const absl::Duration wait = absl::Seconds(
        std::min(3.0, std::max(0.5, absl::GetFlag(FLAGS_timeout) / 2)));
    return new rpc::ReplicaChannels(
        ServerAddresses(), *creds, wait, [](const std::string& line) {
          std::fprintf(stderr, "lanevaultctl: %s\n", line.c_str());
        });
  }();
  return *replicas;
}

std::shared_ptr<grpc::Channel> Connect() {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Replicas().Current();
  if (!channel.ok()) {
    Fail(absl::StrCat("cannot reach lanevaultd at any of ", Server(),
                      ". Are they running, and are --ca/--cert/--key from "
                      "their CA?"));
  }
  return *channel;
}

void Prepare(grpc::ClientContext& ctx) {
  ctx.set_deadline(absl::ToChronoTime(
      absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_timeout))));
}

void PrintJson(const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  // Entry 0's sequence and a lane's frames_dropped: 0 are answers too.
  o.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, o);
  std::printf("%s", json.c_str());
}

bool ProgressWanted() {
  return absl::GetFlag(FLAGS_progress) || isatty(STDOUT_FILENO) == 0;
}

void Progress(const std::string& line) {
  if (!ProgressWanted()) return;
  std::fflush(stdout);
  std::fprintf(stderr, "lanevaultctl: %s\n", line.c_str());
}

// A time given as a date, an RFC 3339 time, or an age ("30d", "12h").
absl::Time ParseWhenFlag(const std::string& text, const char* flag) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &err) ||
      absl::ParseTime(absl::RFC3339_full, text, &t, &err)) {
    return t;
  }
  absl::Duration age;
  int64_t days = 0;
  if (!text.empty() && text.back() == 'd' &&
      absl::SimpleAtoi(text.substr(0, text.size() - 1), &days) && days >= 0) {
    return absl::Now() - absl::Hours(24 * days);
  }
  if (absl::ParseDuration(text, &age) && age >= absl::ZeroDuration()) {
    return absl::Now() - age;
  }
  Fail(absl::StrCat("--", flag, "=", text,
                    ": give a date (2026-11-01), an RFC 3339 time or an age "
                    "(30d, 12h)"),
       2);
}

TimeWindow TimeWindowFromFlags() {
  TimeWindow w;
  if (const std::string since = absl::GetFlag(FLAGS_since); !since.empty()) {
    w.since = ParseWhenFlag(since, "since");
  }
  if (const std::string until = absl::GetFlag(FLAGS_until); !until.empty()) {
    w.until = ParseWhenFlag(until, "until");
  }
  if (w.since && w.until && *w.since > *w.until) {
    Fail("--since is after --until", 2);
  }
  return w;
}

std::string When(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", FromProto(ts),
                          absl::UTCTimeZone());
}

std::string CategoryName(int c) {
  std::string name = v1::DataCategory_Name(static_cast<v1::DataCategory>(c));
  return absl::AsciiStrToLower(
      name.substr(std::string("DATA_CATEGORY_").size()));
}

std::vector<v1::DataCategory> ParseCategories(const std::string& list) {
  std::vector<v1::DataCategory> out;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    v1::DataCategory c;
    if (!v1::DataCategory_Parse(
            absl::StrCat("DATA_CATEGORY_", absl::AsciiStrToUpper(part)), &c)) {
      Fail(absl::StrCat("unknown category '", part,
                        "' (plate_text, plate_image, face_image, scene_image)"),
           2);
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace lanevault::ctl
