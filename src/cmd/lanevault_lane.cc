// lanevault-lane: a capture node. It will run lanes on a camera host and
// submit sealed records to a remote vault; for now it validates its config
// and says what it would do.

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "common/config.h"
#include "common/files.h"
#include "common/program.h"

ABSL_FLAG(std::string, config, "",
          "Daemon-style config whose lanes this node runs (text proto).");

int main(int argc, char** argv) {
  using namespace lanevault;
  std::vector<std::string> args = InitProgram(
      argc, argv,
      "A lane capture node: reads cameras, forms one record per crossing, and\n"
      "submits sealed records to a remote vault.\n\n"
      "  lanevault-lane --config FILE\n\n"
      "Remote submission is not built yet: this prints what it would do.");
  if (!args.empty()) Fail("takes no positional arguments (see --help)", 2);
  const std::string path = absl::GetFlag(FLAGS_config);
  if (path.empty()) Fail("--config is required (see --help)", 2);
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) Fail(text.status());
  v1::DaemonConfig config;
  if (absl::Status s = ParseTextProto(*text, path, &config); !s.ok()) Fail(s);
  if (config.lanes().empty()) Fail(path + ": no lanes configured");
  for (int i = 0; i < config.lanes_size(); ++i) {
    if (absl::Status s = ValidateLaneConfig(config.lanes(i),
                                            "lanes[" + std::to_string(i) + "]");
        !s.ok()) {
      Fail(path + ": " + std::string(s.message()));
    }
    const auto& lane = config.lanes(i);
    std::printf(
        "would run lane %s (checkpoint %s) from %s and submit crossings "
        "to the vault over mutual TLS\n",
        lane.lane_id().c_str(), lane.checkpoint_id().c_str(),
        lane.source().c_str());
  }
  return 0;
}
