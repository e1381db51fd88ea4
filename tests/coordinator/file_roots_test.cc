#include "coordinator/file_roots.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "coordinator/job_files.h"
#include "coordinator/job_spec.h"
#include "tests/common/data_files.h"

namespace mixq {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::WriteText;

// A folder with data/ (the data root), out/ (the output root), own/ (the
// coordinator's calibrations) and outside/secret, which no root holds.
class FileRootsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* d : {"data", "data2", "out", "outside"}) fs::create_directories(Path(d));
    WriteText(Path("data/model.onnx"), "m");
    WriteText(Path("data2/model.onnx"), "m");
    WriteText(Path("outside/secret"), "s");
    StatusOr<FileRoots> made = FileRoots::Make({Path("data")}, Path("out"), Path("own"));
    ASSERT_TRUE(made.ok()) << made.status().message();
    roots_ = *made;
  }
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  TempDir dir_;
  FileRoots roots_;
};

std::string Refused(const std::string& what, const std::string& path) {
  return what + " '" + path + "' is outside the coordinator's data roots (--data-root)";
}

TEST_F(FileRootsTest, FileUnderADataRootIsReadable) {
  EXPECT_TRUE(roots_.CheckRead(Path("data/model.onnx"), "job: model").ok());
  EXPECT_TRUE(roots_.MayRead(Path("data/sub/../model.onnx")));
}

TEST_F(FileRootsTest, DotDotOutOfARootIsRefused) {
  const std::string path = Path("data/../outside/secret");
  Status s = roots_.CheckRead(path, "job: model");
  EXPECT_EQ(s.message(), Refused("job: model", path));
  EXPECT_FALSE(roots_.MayRead(Path("data/missing/../../outside/secret")));
}

TEST_F(FileRootsTest, SymlinkInsideARootPointingOutsideIsRefused) {
  fs::create_symlink(Path("outside/secret"), Path("data/link"));
  fs::create_directory_symlink(Path("outside"), Path("data/linked_dir"));
  EXPECT_EQ(roots_.CheckRead(Path("data/link"), "job: model").message(),
            Refused("job: model", Path("data/link")));
  EXPECT_FALSE(roots_.MayRead(Path("data/linked_dir/secret")));
  // A missing file below the link is outside too.
  EXPECT_FALSE(roots_.MayRead(Path("data/linked_dir/missing")));
}

TEST_F(FileRootsTest, SiblingWithTheRootAsPrefixIsNotUnderIt) {
  EXPECT_FALSE(roots_.MayRead(Path("data2/model.onnx")));
  EXPECT_TRUE(roots_.MayRead(Path("data")));
}

TEST_F(FileRootsTest, MissingFileInsideIsLeftToTheReaderOutsideGetsTheSameMessage) {
  // Inside: allowed, so that opening it reports the missing file.
  EXPECT_TRUE(roots_.CheckRead(Path("data/missing.onnx"), "job: model").ok());
  // Outside: a missing and an existing file get one message but the path.
  const std::string missing = Path("outside/missing");
  const std::string existing = Path("outside/secret");
  EXPECT_EQ(roots_.CheckRead(missing, "job: model").message(), Refused("job: model", missing));
  EXPECT_EQ(roots_.CheckRead(existing, "job: model").message(), Refused("job: model", existing));
  EXPECT_EQ(roots_.CheckRead("/etc/passwd", "job: model").message(),
            Refused("job: model", "/etc/passwd"));
}

TEST_F(FileRootsTest, WritesGoUnderTheOutputRootOrTheOwnFolderOnly) {
  EXPECT_TRUE(roots_.CheckWrite(Path("out/new/folder/c.json"), "job: output").ok());
  EXPECT_TRUE(roots_.CheckWrite(Path("own/search-1.json"), "job: output").ok());
  EXPECT_TRUE(fs::is_directory(Path("own")));  // made by Make()
  EXPECT_EQ(roots_.CheckWrite(Path("data/model.onnx"), "job: output").message(),
            "job: output '" + Path("data/model.onnx") +
                "' is outside the coordinator's output root (--output-root)");
  EXPECT_FALSE(roots_.CheckWrite(Path("out/../outside/secret"), "job: output").ok());
  // The own folder is readable: a search reads back the calibration it made.
  EXPECT_TRUE(roots_.MayRead(Path("own/search-1.json")));
  EXPECT_FALSE(roots_.MayRead(Path("out/c.json")));
}

TEST_F(FileRootsTest, NoRootsRefuseEverything) {
  const FileRoots none;
  EXPECT_FALSE(none.MayRead(Path("data/model.onnx")));
  EXPECT_FALSE(none.CheckWrite(Path("out/c.json"), "job: output").ok());
}

TEST_F(FileRootsTest, DataRootThatIsNotAFolderIsRefusedAtStart) {
  StatusOr<FileRoots> made = FileRoots::Make({Path("nope")}, Path("out"), Path("own"));
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.status().message().find("--data-root '" + Path("nope") + "'"), std::string::npos)
      << made.status().message();
}

TEST_F(FileRootsTest, JobPathsResolveAgainstTheJobsBaseDir) {
  const std::string yaml = "name: j\nmodel: model.onnx\ndata: {evaluation: {dataset: d.yaml}}\n";
  StatusOr<JobSpec> inside = ParseJobSpec(yaml, Path("data"), "<submitted job>");
  ASSERT_TRUE(inside.ok()) << inside.status().message();
  EXPECT_TRUE(CheckJobFiles(*inside, roots_).ok());
  StatusOr<JobSpec> outside = ParseJobSpec(yaml, Path("data2"), "<submitted job>");
  ASSERT_TRUE(outside.ok()) << outside.status().message();
  EXPECT_EQ(CheckJobFiles(*outside, roots_).message(),
            Refused("<submitted job>: model", Path("data2/model.onnx")));
}

TEST_F(FileRootsTest, DatasetFilesOutsideTheRootsAreRefusedByKey) {
  WriteText(Path("data/d.yaml"), "format: idx\nimages: " + Path("outside/secret") +
                                     "\nlabels: labels.gz\npreprocess: {scale: 1.0}\n");
  StatusOr<JobSpec> job =
      ParseJobSpec("name: j\nmodel: model.onnx\ndata: {evaluation: {dataset: d.yaml}}\n",
                   Path("data"), "<submitted job>");
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(CheckJobFiles(*job, roots_).message(),
            Refused("<submitted job>: data.evaluation.dataset images", Path("outside/secret")));
}

TEST_F(FileRootsTest, EveryFileAJobNamesIsChecked) {
  const std::string head = "name: j\nmodel: model.onnx\ndata: {evaluation: {dataset: d.yaml}}\n";
  const std::string secret = Path("outside/secret");
  const std::pair<std::string, std::string> cases[] = {
      {"calibration: " + secret + "\n", "<submitted job>: calibration"},
      {"configs: [fp32, " + secret + "]\n", "<submitted job>: configs[1]"},
  };
  for (const auto& [extra, what] : cases) {
    StatusOr<JobSpec> job = ParseJobSpec(head + extra, Path("data"), "<submitted job>");
    ASSERT_TRUE(job.ok()) << job.status().message();
    EXPECT_EQ(CheckJobFiles(*job, roots_).message(), Refused(what, secret));
  }
  StatusOr<JobSpec> calibrate = ParseJobSpec(
      "name: c\nkind: calibrate\nmodel: model.onnx\ndata: {}\n"
      "calibration: {dataset: " +
          secret + "}\noutput: " + Path("out/c.json") + "\n",
      Path("data"), "<submitted job>");
  ASSERT_TRUE(calibrate.ok()) << calibrate.status().message();
  EXPECT_EQ(CheckJobFiles(*calibrate, roots_).message(),
            Refused("<submitted job>: calibration.dataset", secret));
  StatusOr<JobSpec> output = ParseJobSpec(
      "name: c\nkind: calibrate\nmodel: model.onnx\ndata: {}\ncalibration: {method: minmax}\n"
      "output: " +
          secret + "\n",
      Path("data"), "<submitted job>");
  ASSERT_TRUE(output.ok()) << output.status().message();
  EXPECT_EQ(CheckJobFiles(*output, roots_).message(),
            "<submitted job>: output '" + secret +
                "' is outside the coordinator's output root (--output-root)");
}

}  // namespace
}  // namespace mixq
