// Regression tests of issue 21 (findings 1 and 2) against a coordinator over
// TCP: a job may name only files under the coordinator's data roots, a blob
// is served only from under them, and a job writes only under its output
// root, each refused before the file is touched.
#include <gtest/gtest.h>

#include <filesystem>
#include <iterator>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/protocol_codec.h"
#include "common/sha256.h"
#include "tests/integration/cluster.h"

namespace mixq::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

std::string ReadText(const std::string& path) {
  const std::vector<uint8_t> bytes = ReadBytes(path);
  return std::string(bytes.begin(), bytes.end());
}

std::string OutsideDataRoots(const std::string& path) {
  return "<submitted job>: model '" + path +
         "' is outside the coordinator's data roots (--data-root)";
}

// The model (outside the cluster's roots), evaluated on no samples: a job
// that plans no task but registers its model as a blob.
std::string ModelOnlyJob(const std::string& model) {
  return "name: roots\nmodel: " + model + "\ndata: {evaluation: {dataset: " + kFashionMnistTest +
         ", count: 0}}\nbenchmark: {batches: []}\n";
}

// One BLOB_REQUEST for `sha256` from offset 0 over a DEALER of our own (as
// a rogue worker would send it); the BLOB_CHUNK that answers.
proto::BlobChunk RequestBlob(const std::string& endpoint, const std::string& sha256) {
  zmq::context_t context;
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::rcvtimeo, 10000);
  socket.connect(endpoint);
  proto::BlobRequest request;
  request.set_sha256(sha256);
  std::vector<zmq::const_buffer> parts;
  const std::vector<std::string> frames = Encode(MessageType::kBlobRequest, request);
  for (const std::string& f : frames) parts.push_back(zmq::buffer(f));
  zmq::send_multipart(socket, parts);
  std::vector<zmq::message_t> reply;
  if (!zmq::recv_multipart(socket, std::back_inserter(reply))) {
    ADD_FAILURE() << "no answer to BLOB_REQUEST";
    return {};
  }
  std::vector<std::string> got;
  for (const zmq::message_t& m : reply) got.push_back(m.to_string());
  DecodeResult r = Decode(got);
  if (!r.ok() || r.message->type != MessageType::kBlobChunk) {
    ADD_FAILURE() << "not a BLOB_CHUNK";
    return {};
  }
  return r.message->As<proto::BlobChunk>();
}

TEST(DistributedFileRoots, ModelOutsideTheDataRootsIsRefusedAlikeWhetherItExistsOrNot) {
  TempDir outside;  // a sibling of the cluster's folder, under no root
  const std::string secret = outside.path() + "/private.key";
  WriteText(secret, "-----BEGIN PRIVATE KEY-----\n");
  const std::string missing = outside.path() + "/missing.key";
  Cluster c;  // over TCP
  ASSERT_TRUE(c.StartCoordinator());

  StatusOr<proto::SubmitReply> readable = c.Submit(ModelOnlyJob(secret), "", milliseconds(30000));
  ASSERT_TRUE(readable.ok()) << readable.status().message();
  EXPECT_EQ(readable->error(), OutsideDataRoots(secret));
  StatusOr<proto::SubmitReply> absent = c.Submit(ModelOnlyJob(missing), "", milliseconds(30000));
  ASSERT_TRUE(absent.ok()) << absent.status().message();
  EXPECT_EQ(absent->error(), OutsideDataRoots(missing));
  // `..` from a root and a relative path against the client's folder too.
  const std::string dotdot =
      c.dir() + "/../" + fs::path(outside.path()).filename().string() + "/private.key";
  StatusOr<proto::SubmitReply> escaped = c.Submit(ModelOnlyJob(dotdot), "", milliseconds(30000));
  ASSERT_TRUE(escaped.ok());
  EXPECT_EQ(escaped->error(), OutsideDataRoots(dotdot));
  StatusOr<proto::SubmitReply> relative =
      c.Submit(ModelOnlyJob("private.key"), outside.path(), milliseconds(30000));
  ASSERT_TRUE(relative.ok());
  EXPECT_EQ(relative->error(), OutsideDataRoots(secret));
  // Nothing was filed, hashed or registered for serving.
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM jobs"), 0);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM blobs"), 0);
}

TEST(DistributedFileRoots, BlobWhosePathLeftTheDataRootsIsNotServed) {
  TempDir data;
  const std::string model = data.path() + "/m.onnx";
  fs::copy_file(kFmResnet, model);
  StatusOr<std::string> sha = Sha256File(model);
  ASSERT_TRUE(sha.ok());
  // Plain TCP: a keyless peer's blob requests are checked against the roots
  // alone (with CURVE, a worker gets only the blobs of its lease).
  ClusterOptions insecure;
  insecure.insecure = true;
  Cluster c(insecure);
  // First with `data` as a root: the job registers the model as a blob,
  // and the blob is served byte for byte.
  ASSERT_TRUE(c.StartCoordinator({"--data-root", data.path()}));
  StatusOr<proto::SubmitReply> reply = c.Submit(ModelOnlyJob(model), "", milliseconds(30000));
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->error(), "");
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM blobs WHERE sha256 = '" + *sha + "'"), 1);
  const proto::BlobChunk served = RequestBlob(c.endpoint(), *sha);
  EXPECT_EQ(served.error(), "");
  EXPECT_EQ(served.data(), ReadText(model).substr(0, served.data().size()));
  EXPECT_FALSE(served.data().empty());

  // Then without it: the row is still in the database, the file is not
  // served and the answer names no path.
  ASSERT_TRUE(c.StartCoordinator());
  const proto::BlobChunk refused = RequestBlob(c.endpoint(), *sha);
  EXPECT_EQ(refused.error(), "blob " + *sha + " is not served");
  EXPECT_TRUE(refused.data().empty());
  EXPECT_EQ(refused.total_size(), 0u);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM blobs WHERE sha256 = '" + *sha + "'"), 1);
}

TEST(DistributedFileRoots, CalibrateOutputOutsideTheOutputRootIsRefusedAndNothingWritten) {
  TempDir outside;
  const std::string existing = outside.path() + "/existing.json";
  WriteText(existing, "keep me");
  const std::string in_new_folder = outside.path() + "/new/folder/c.json";
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator());
  for (const std::string& output : {existing, in_new_folder}) {
    const std::string job = "name: calib\nkind: calibrate\nmodel: " + kFmResnet +
                            "\ndata: {calibration: {dataset: " + kFashionMnistTrain +
                            "}}\ncalibration: {method: minmax, samples: 100}\noutput: " + output +
                            "\n";
    StatusOr<proto::SubmitReply> reply = c.Submit(job, "", milliseconds(30000));
    ASSERT_TRUE(reply.ok());
    EXPECT_EQ(reply->error(), "<submitted job>: output '" + output +
                                  "' is outside the coordinator's output root (--output-root)");
  }
  EXPECT_EQ(ReadText(existing), "keep me");
  EXPECT_FALSE(fs::exists(outside.path() + "/new"));
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM jobs"), 0);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM tasks"), 0);
}

TEST(DistributedFileRoots, SearchOutputOutsideTheOutputRootIsRefused) {
  TempDir outside;
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator());
  const std::string output = outside.path() + "/search";
  const std::string job = "name: s\nkind: search\nmodel: " + kFmResnet +
                          "\ndata: {evaluation: {dataset: " + kFashionMnistTest +
                          "}}\noutput: " + output + "\n";
  StatusOr<proto::SubmitReply> reply = c.Submit(job, "", milliseconds(30000));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->error(), "<submitted job>: output '" + output +
                                "' is outside the coordinator's output root (--output-root)");
  EXPECT_FALSE(fs::exists(output));
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM jobs"), 0);
}

}  // namespace
}  // namespace mixq::test
