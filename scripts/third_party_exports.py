"""Third-party-style exports for the model zoo, written node by node.

Users bring models exported by other frameworks than torch, and those
exporters emit older opsets and other node patterns: BatchNormalization left
unfolded after every Conv, HardSwish spelled HardSigmoid * x, GELU spelled
with Erf, LayerNorm as ReduceMean/Sub/Pow/Sqrt/Div, Resize whose sizes come
from another tensor's Shape, Slice and Pad with attributes (opset 9) or with
inputs (opset 10+), Upsample, Reshape with 0 ("copy this dim"), inputs whose
H/W (and batch) are symbolic, named by the exporter or written as -1. The
three graphs here follow the layout of a common OCR pipeline (a DB-style text
detector, an SVTR-style recogniser, a direction classifier) as such
exporters write them; they are built with onnx.helper from the op list, so
the check does not depend on torch's exporter. Weights are seeded random
values (He-scaled), BatchNorm statistics random.

  build(name, seed) -> (onnx.ModelProto, input shape to check at, symbolic H/W?)
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MODELS = ("ocr_det_style", "ocr_rec_style", "ocr_cls_style")


class _Graph:
    def __init__(self, opset, seed):
        self.opset = opset
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.count = 0

    def name(self, prefix):
        self.count += 1
        return f"{prefix}_{self.count}.tmp_0"

    def const(self, array, prefix="const"):
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, outputs=1, **attrs):
        names = [self.name(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, **attrs))
        return names[0] if outputs == 1 else names

    def conv(self, x, cin, cout, k, stride=1, group=1, bias=False):
        fan_in = cin // group * (k if isinstance(k, int) else k[0] * k[1])
        kh, kw = (k, k) if isinstance(k, int) else k
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin // group, kh, kw)).astype(np.float32)
        inputs = [x, self.const(w, "conv_w")]
        if bias:
            inputs.append(self.const(self.rng.normal(0, 0.1, cout).astype(np.float32), "conv_b"))
        return self.op("Conv", inputs, kernel_shape=[kh, kw], strides=[sh, sw], group=group,
                       pads=[kh // 2, kw // 2, kh // 2, kw // 2], dilations=[1, 1])

    def bn(self, x, c):
        scale = self.rng.uniform(0.5, 1.5, c).astype(np.float32)
        shift = self.rng.normal(0, 0.1, c).astype(np.float32)
        mean = self.rng.normal(0, 0.2, c).astype(np.float32)
        var = self.rng.uniform(0.5, 2.0, c).astype(np.float32)
        return self.op("BatchNormalization", [x] + [self.const(a, "bn") for a in (scale, shift, mean, var)],
                       epsilon=1e-5, momentum=0.9)

    def hard_swish(self, x):
        # Opsets before 14 have no HardSwish: x * HardSigmoid(x, 1/6, 0.5).
        return self.op("Mul", [x, self.op("HardSigmoid", [x], alpha=1.0 / 6, beta=0.5)])

    def conv_bn_act(self, x, cin, cout, k, stride=1, group=1, act="hard_swish"):
        y = self.bn(self.conv(x, cin, cout, k, stride, group), cout)
        if act == "hard_swish":
            return self.hard_swish(y)
        if act == "relu":
            return self.op("Relu", [y])
        return y

    def se(self, x, c):
        pooled = self.op("GlobalAveragePool", [x])
        squeezed = self.op("Relu", [self.conv(pooled, c, max(c // 4, 8), 1, bias=True)])
        gate = self.op("HardSigmoid", [self.conv(squeezed, max(c // 4, 8), c, 1, bias=True)],
                       alpha=0.2, beta=0.5)
        return self.op("Mul", [x, gate])

    def linear(self, x, cin, cout):
        w = self.rng.normal(0, np.sqrt(1.0 / cin), (cin, cout)).astype(np.float32)
        b = self.rng.normal(0, 0.02, cout).astype(np.float32)
        return self.op("Add", [self.op("MatMul", [x, self.const(w, "fc_w")]), self.const(b, "fc_b")])

    def layer_norm(self, x, c):
        mean = self.op("ReduceMean", [x], axes=[-1], keepdims=1)
        centred = self.op("Sub", [x, mean])
        var = self.op("ReduceMean", [self.op("Pow", [centred, self.const(np.float32(2.0))])],
                      axes=[-1], keepdims=1)
        std = self.op("Sqrt", [self.op("Add", [var, self.const(np.float32(1e-6))])])
        normed = self.op("Div", [centred, std])
        gamma = self.rng.uniform(0.8, 1.2, c).astype(np.float32)
        beta = self.rng.normal(0, 0.05, c).astype(np.float32)
        return self.op("Add", [self.op("Mul", [normed, self.const(gamma, "ln_w")]), self.const(beta, "ln_b")])

    def gelu(self, x):
        inner = self.op("Erf", [self.op("Div", [x, self.const(np.float32(np.sqrt(2.0)))])])
        one_plus = self.op("Add", [inner, self.const(np.float32(1.0))])
        return self.op("Mul", [self.op("Mul", [x, one_plus]), self.const(np.float32(0.5))])

    def model(self, inputs, outputs):
        graph = helper.make_graph(self.nodes, "main", inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                  producer_name="third_party_style")
        model.ir_version = 6 if self.opset <= 11 else 7
        onnx.checker.check_model(model)
        return model


def _input(name, dims):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def _output(name, dims):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def _ocr_det(seed):
    """DB-style text detector, opset 11: a MobileNetV3-style backbone with SE,
    an FPN whose upsampling is Resize (nearest, asymmetric, floor) by constant
    scales and, once, to sizes taken from another feature's Shape, a head of
    two ConvTransposes and a Sigmoid probability map at the input's size."""
    g = _Graph(11, seed)
    x = "x"
    y = g.conv_bn_act(x, 3, 16, 3, 2)                                  # 1/2
    y = g.conv_bn_act(y, 16, 16, 3, 1, group=16)
    y = g.conv_bn_act(y, 16, 24, 1)
    c2 = g.conv_bn_act(g.conv_bn_act(y, 24, 24, 3, 2, group=24), 24, 24, 1, act="relu")    # 1/4
    c3 = g.se(g.conv_bn_act(g.conv_bn_act(c2, 24, 40, 1), 40, 40, 3, 2, group=40), 40)      # 1/8
    c3 = g.conv_bn_act(c3, 40, 40, 1, act=None)
    c4 = g.conv_bn_act(g.conv_bn_act(c3, 40, 80, 1), 80, 80, 3, 2, group=80)               # 1/16
    c4 = g.conv_bn_act(c4, 80, 80, 1, act=None)
    c5 = g.se(g.conv_bn_act(g.conv_bn_act(c4, 80, 160, 1), 160, 160, 3, 2, group=160), 160)  # 1/32
    c5 = g.conv_bn_act(c5, 160, 160, 1, act=None)

    roi = g.const(np.zeros(0, np.float32), "roi")

    def up(t, factor):
        return g.op("Resize", [t, roi, g.const(np.array([1, 1, factor, factor], np.float32), "scales")],
                    mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")

    def up_to(t, like):
        # sizes = Shape(t)[0:2] ++ Shape(like)[2:4], as exporters write "upsample to that map's size".
        head = g.op("Slice", [g.op("Shape", [t]), g.const(np.array([0], np.int64)),
                              g.const(np.array([2], np.int64)), g.const(np.array([0], np.int64))])
        tail = g.op("Slice", [g.op("Shape", [like]), g.const(np.array([2], np.int64)),
                              g.const(np.array([4], np.int64)), g.const(np.array([0], np.int64))])
        sizes = g.op("Concat", [head, tail], axis=0)
        return g.op("Resize", [t, roi, g.const(np.zeros(0, np.float32), "scales"), sizes],
                    mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")

    inner = 32
    in2, in3, in4, in5 = (g.conv(c, ch, inner, 1) for c, ch in ((c2, 24), (c3, 40), (c4, 80), (c5, 160)))
    out4 = g.op("Add", [in4, up(in5, 2)])
    out3 = g.op("Add", [in3, up_to(out4, in3)])
    out2 = g.op("Add", [in2, up(out3, 2)])
    p5, p4, p3, p2 = (g.conv(o, inner, inner // 4, 3) for o in (in5, out4, out3, out2))
    fuse = g.op("Concat", [up(p5, 8), up(p4, 4), up(p3, 2), p2], axis=1)

    h = g.conv_bn_act(fuse, inner, inner // 4, 3, act="relu")
    w1 = g.rng.normal(0, 0.25, (inner // 4, inner // 4, 2, 2)).astype(np.float32)
    h = g.op("ConvTranspose", [h, g.const(w1, "deconv_w"), g.const(np.zeros(inner // 4, np.float32))],
             kernel_shape=[2, 2], strides=[2, 2])
    h = g.op("Relu", [g.bn(h, inner // 4)])
    w2 = g.rng.normal(0, 0.02, (inner // 4, 1, 2, 2)).astype(np.float32)
    h = g.op("ConvTranspose", [h, g.const(w2, "deconv_w"), g.const(np.zeros(1, np.float32))],
             kernel_shape=[2, 2], strides=[2, 2])
    g.nodes.append(helper.make_node("Sigmoid", [h], ["sigmoid_0.tmp_0"]))
    dims = ["p2o.DynamicDimension.0", 3, "p2o.DynamicDimension.1", "p2o.DynamicDimension.2"]
    return g.model([_input("x", dims)], [_output("sigmoid_0.tmp_0", dims[:1] + [1] + dims[2:])]), [1, 3, 320, 480], True


def _ocr_rec(seed):
    """SVTR-style text recogniser, opset 10: a conv stem that halves height
    only (strides (2,1)), AveragePool to height 1, Squeeze/Transpose to a
    sequence, one transformer mixing block (decomposed LayerNorm; attention
    through Reshape with 0 dims, Transpose and Slice with inputs; Erf GELU)
    and a per-step Softmax over the character set. Batch and width are -1."""
    g = _Graph(10, seed)
    c = 64
    y = g.conv_bn_act("x", 3, 32, 3, 2)                       # H/2, W/2
    y = g.conv_bn_act(y, 32, 32, 3, (2, 1), group=32)        # H/4
    y = g.conv_bn_act(y, 32, c, 1)
    y = g.conv_bn_act(y, c, c, 3, (2, 1), group=c)           # H/8
    y = g.se(g.conv_bn_act(y, c, c, 1), c)
    y = g.conv_bn_act(y, c, c, 3, (2, 1), group=c)           # H/16 = 2
    y = g.op("AveragePool", [y], kernel_shape=[2, 2], strides=[2, 2])  # 1 x W/4
    seq = g.op("Transpose", [g.op("Squeeze", [y], axes=[2])], perm=[0, 2, 1])  # [N, T, C]

    heads, dh = 4, c // 4
    qkv = g.linear(g.layer_norm(seq, c), c, 3 * c)
    qkv = g.op("Reshape", [qkv, g.const(np.array([0, -1, 3, heads, dh], np.int64))])
    qkv = g.op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])     # [3, N, heads, T, dh]

    def part(i):
        s = g.op("Slice", [qkv, g.const(np.array([i], np.int64)), g.const(np.array([i + 1], np.int64)),
                           g.const(np.array([0], np.int64))])
        return g.op("Squeeze", [s], axes=[0])

    q, k, v = part(0), part(1), part(2)
    scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]),
                          g.const(np.float32(dh ** -0.5))])
    attn = g.op("MatMul", [g.op("Softmax", [scores], axis=3), v])
    attn = g.op("Reshape", [g.op("Transpose", [attn], perm=[0, 2, 1, 3]),
                            g.const(np.array([0, -1, c], np.int64))])
    seq = g.op("Add", [seq, g.linear(attn, c, c)])
    mlp = g.linear(g.gelu(g.linear(g.layer_norm(seq, c), c, 2 * c)), 2 * c, c)
    seq = g.op("Add", [seq, mlp])
    logits = g.linear(g.layer_norm(seq, c), c, 97)
    g.nodes.append(helper.make_node("Softmax", [logits], ["softmax_0.tmp_0"], axis=2))
    return g.model([_input("x", [-1, 3, 32, -1])], [_output("softmax_0.tmp_0", [-1, -1, 97])]), [1, 3, 32, 320], True


def _ocr_cls(seed):
    """Text direction classifier, opset 9: MobileNetV3-style blocks with SE,
    an explicit Pad (attribute form) before a valid-padded MaxPool, a Slice
    with attributes that keeps half the channels of one branch, an Upsample
    (scales as an input) merging a deeper map into a shallower one, then
    global pooling, Flatten, a MatMul + Add classifier and Softmax. Batch is
    symbolic, H x W fixed at 48 x 192."""
    g = _Graph(9, seed)
    y = g.conv_bn_act("x", 3, 16, 3, 2)                              # 24 x 96
    y = g.op("Pad", [y], mode="constant", pads=[0, 0, 1, 1, 0, 0, 1, 1], value=0.0)
    y = g.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2])     # 12 x 48
    y = g.se(g.conv_bn_act(y, 16, 16, 3, 1, group=16), 16)
    a = g.conv_bn_act(y, 16, 48, 1)
    half = g.op("Slice", [a], starts=[0], ends=[24], axes=[1])       # 24 channels
    b = g.conv_bn_act(g.conv_bn_act(a, 48, 48, 3, 2, group=48), 48, 48, 1, act=None)  # 6 x 24
    b = g.op("Upsample", [b, g.const(np.array([1, 1, 2, 2], np.float32), "scales")], mode="nearest")
    y = g.op("Concat", [half, b], axis=1)                           # 72 x 12 x 48
    y = g.se(g.conv_bn_act(y, 72, 72, 3, 2, group=72), 72)
    y = g.conv_bn_act(y, 72, 96, 1)
    y = g.op("Flatten", [g.op("GlobalAveragePool", [y])], axis=1)
    logits = g.linear(y, 96, 2)
    g.nodes.append(helper.make_node("Softmax", [logits], ["softmax_0.tmp_0"], axis=1))
    return g.model([_input("x", ["N", 3, 48, 192])], [_output("softmax_0.tmp_0", ["N", 2])]), [1, 3, 48, 192], False


def build(name, seed):
    return {"ocr_det_style": _ocr_det, "ocr_rec_style": _ocr_rec, "ocr_cls_style": _ocr_cls}[name](seed)
