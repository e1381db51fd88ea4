// `mixq query`: output formats and errors, against the results fixture.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "tests/results/query_fixture.h"

namespace mixq {
namespace {

using mixq_test::QueryDbFixture;

TEST(QueryCli, FormatsAndErrors) {
  QueryDbFixture f("cli");
  std::ostringstream out, err;
  EXPECT_EQ(RunCommand("query",
                       {"best", "--db", f.path(), "--model", "fm_resnet.onnx", "--max-drop", "1",
                        "--format", "csv"},
                       out, err),
            0)
      << err.str();
  EXPECT_EQ(out.str(),
            "hardware,config,batch,images/s,latency ms,speed-up,drop points\r\n"
            "avx2,int8,16,3000.0,5.330,3.00,1.00\r\nsse41,mix,16,700.0,22.900,1.40,0.30\r\n");
  out.str("");
  EXPECT_EQ(RunCommand("query",
                       {"compare", "--db", f.path(), "--hardware", "avx2,avx", "--format", "json"},
                       out, err),
            0);
  const nlohmann::json doc = nlohmann::json::parse(out.str());
  EXPECT_EQ(doc["missing_hardware"], nlohmann::json::array({"avx"})) << out.str();
  EXPECT_TRUE(doc["accuracy_drop_points"][0]["avx"].is_null());
  EXPECT_EQ(doc["accuracy_drop_points"][0]["avx2"], 1.0);
  EXPECT_EQ(doc["speedup_over_fp32"][1]["avx2"], 3.0);
  err.str("");
  EXPECT_EQ(
      RunCommand("query", {"layers", "--db", f.path(), "--model", "x.onnx", "--hardware", "avx2"},
                 out, err),
      1);
  EXPECT_NE(err.str().find("mixq query layers: unknown model 'x.onnx'"), std::string::npos);
  err.str("");
  EXPECT_EQ(RunCommand("query", {"jobs", "--db", f.path() + ".missing"}, out, err), 1);
  EXPECT_NE(err.str().find("no such database"), std::string::npos);
  EXPECT_EQ(RunCommand("query", {"jobs", "--db", f.path(), "--format", "xml"}, out, err), 2);
  EXPECT_EQ(RunCommand("query", {"worst"}, out, err), 2);
  EXPECT_FALSE(RunCommand("frobnicate", {}, out, err).has_value());
}

}  // namespace
}  // namespace mixq
