// The files the repository ships that tests run on, by path: the reference
// models (models/README.md) and the Fashion-MNIST dataset specs the jobs
// evaluate and calibrate them on. Test binaries define MIXQ_SOURCE_DIR.
#ifndef MIXQ_TESTS_COMMON_SHIPPED_FILES_H_
#define MIXQ_TESTS_COMMON_SHIPPED_FILES_H_

#include <string>

namespace mixq::test {

inline const std::string kSourceDir = MIXQ_SOURCE_DIR;
inline const std::string kFmResnet = kSourceDir + "/models/fm_resnet.onnx";
// fm_resnet with outlier channels planted (scripts/make_outlier_model.py).
inline const std::string kFmResnetOutlier = kSourceDir + "/models/fm_resnet_outlier.onnx";
inline const std::string kFmMobilenet = kSourceDir + "/models/fm_mobilenet.onnx";
inline const std::string kFashionMnistTest =
    kSourceDir + "/configs/datasets/fashion_mnist_test.yaml";
inline const std::string kFashionMnistTrain =
    kSourceDir + "/configs/datasets/fashion_mnist_train.yaml";

}  // namespace mixq::test

#endif  // MIXQ_TESTS_COMMON_SHIPPED_FILES_H_
