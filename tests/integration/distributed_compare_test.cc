// A compare job through `mixq run` with workers of two ISA classes, then
// `mixq query compare` on its database (label: integration).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/integration/cluster.h"

namespace mixq::test {
namespace {

TEST(Distributed, CompareJobOnTwoIsaClassesAndAMissingOne) {
  Cluster c;  // the folder and database: `mixq run` starts its own processes
  {
    std::ofstream job(c.dir() + "/compare.yaml");
    job << "name: cmp\nkind: compare\nmodels: [" << kFmResnet << "]\n"
        << "data: {evaluation: {dataset: " << kFashionMnistTest
        << ", count: 200, shard_size: 100}}\n"
        << "calibration: {dataset: " << kFashionMnistTrain << ", samples: 50}\n"
        << "configs: [fp32, int8]\nbenchmark: {batches: [1], seconds: 0.2}\n"
        << "hardware: [avx2, sse41, avx512_core_amx]\n";
  }
  MixqResult run = RunMixq("run " + c.dir() + "/compare.yaml --quiet --db " + c.db() +
                           " --workers 1 --threads 1 --max-isa avx2,sse41");
  // The AMX class has no worker: reported missing, and the run fails.
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("missing hardware class: avx512_core_amx"), std::string::npos) << run.out;
  MixqResult q = RunMixq("query compare --format csv --db " + c.db() + " --hardware avx2,sse41");
  ASSERT_EQ(q.exit_code, 0) << q.out;
  EXPECT_NE(q.out.find("model,dataset,metric,config,avx2,sse41"), std::string::npos) << q.out;
  EXPECT_NE(q.out.find("fm_resnet.onnx,fashion_mnist_test,top1,int8,"), std::string::npos);
  EXPECT_NE(q.out.find("model,config,batch,avx2,sse41\r\nfm_resnet.onnx,int8,1,"),
            std::string::npos);
  MixqResult jobs = RunMixq("query jobs --format csv --db " + c.db());
  EXPECT_NE(jobs.out.find(",cmp,compare,failed,"), std::string::npos) << jobs.out;
  EXPECT_NE(jobs.out.find(",cmp/fm_resnet,evaluate,"), std::string::npos) << jobs.out;
}

}  // namespace
}  // namespace mixq::test
