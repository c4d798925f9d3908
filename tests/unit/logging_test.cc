// The log formats: one call is one line whatever its message carries, and a
// JSON line is valid JSON (control characters escaped, invalid UTF-8
// replaced), so a hostile lane id or a camera's error text cannot forge a
// line or break a log shipper's parser.
#include "common/logging.h"

#include <algorithm>
#include <string>

#include "gtest/gtest.h"
#include "spdlog/details/log_msg.h"

namespace lanevault {
namespace {

std::string Format(absl::string_view format, absl::string_view message) {
  const auto formatter = MakeLogFormatter(format);
  const spdlog::details::log_msg msg(
      "lanevaultd", spdlog::level::warn,
      fmt::string_view(message.data(), message.size()));
  spdlog::memory_buf_t out;
  formatter->format(msg, out);
  return fmt::to_string(out);
}

int Newlines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

TEST(PlainLog, AMessageWithNewlinesStaysOneLine) {
  const std::string line =
      Format("plain",
             "lane L1 refused\n2026-12-03T00:00:00.000Z info lanevaultd: "
             "forged\r\x1b[2J");
  EXPECT_EQ(Newlines(line), 1);
  EXPECT_EQ(line.back(), '\n');
  EXPECT_NE(line.find("refused\\n2026-12-03"), std::string::npos) << line;
  EXPECT_NE(line.find("forged\\r\\x1b[2J"), std::string::npos) << line;
  EXPECT_NE(line.find(" warning lanevaultd: lane L1"), std::string::npos)
      << line;
}

TEST(PlainLog, PrintableTextAndUtf8PassUnchanged) {
  const std::string line = Format("plain", "Zoll \xc3\xa9tape: 3 records");
  EXPECT_NE(line.find("Zoll \xc3\xa9tape: 3 records\n"), std::string::npos);
}

TEST(JsonLog, ControlCharactersAreEscaped) {
  const std::string line = Format("json", "a\"b\\c\nd\x01\x7f");
  EXPECT_EQ(Newlines(line), 1);
  EXPECT_NE(line.find(R"("msg":"a\"b\\c\nd\u0001\u007f")"), std::string::npos)
      << line;
}

TEST(JsonLog, InvalidUtf8BecomesReplacementCharacters) {
  // A stray continuation byte, a truncated 3-byte sequence, an overlong
  // '/', a UTF-16 surrogate; then valid 2-, 3- and 4-byte characters.
  const std::string line = Format("json",
                                  "x\x80y\xe2\x82z\xc0\xaf\xed\xa0\x80|"
                                  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\x97");
  EXPECT_NE(line.find(R"("msg":"x\ufffdy\ufffd\ufffdz\ufffd\ufffd)"
                      R"(\ufffd\ufffd\ufffd|)"
                      "\xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\x97\""),
            std::string::npos)
      << line;
}

TEST(JsonLog, ATruncatedSequenceAtTheEndIsReplaced) {
  const std::string line = Format("json", "end\xf0\x9f");
  EXPECT_NE(line.find(R"("msg":"end\ufffd\ufffd")"), std::string::npos) << line;
}

}  // namespace
}  // namespace lanevault
