#!/usr/bin/python3
"""Writes the small malformed ONNX models under tests/data/onnx/.

Debian's python3 has no working `onnx` or `google.protobuf` module, so this
script encodes the few protobuf messages it needs by hand (field numbers from
/usr/include/onnx/onnx.proto). Run it from the repository root:

    /usr/bin/python3 scripts/make_malformed_models.py
"""
import os
import random
import struct

OUT_DIR = os.path.join("tests", "data", "onnx")
FLOAT = 1  # TensorProto.FLOAT


def varint(value):
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_varint(number, value):
    return varint(number << 3) + varint(value)


def field_bytes(number, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return varint((number << 3) | 2) + varint(len(payload)) + payload


def tensor(name, dims, values):
    """TensorProto with float_data (packed)."""
    packed = b"".join(struct.pack("<f", v) for v in values)
    return (b"".join(field_varint(1, d) for d in dims) + field_varint(2, FLOAT) +
            field_bytes(4, packed) + field_bytes(8, name))


def value_info(name, dims):
    shape = b"".join(field_bytes(1, field_varint(1, d)) for d in dims)
    tensor_type = field_varint(1, FLOAT) + field_bytes(2, shape)
    return field_bytes(1, name) + field_bytes(2, field_bytes(1, tensor_type))


def attr_int(name, value):
    return field_bytes(1, name) + field_varint(3, value) + field_varint(20, 2)


def node(op_type, inputs, outputs, name, attrs=()):
    out = b"".join(field_bytes(1, i) for i in inputs)
    out += b"".join(field_bytes(2, o) for o in outputs)
    out += field_bytes(3, name) + field_bytes(4, op_type)
    out += b"".join(field_bytes(5, a) for a in attrs)
    return out


def model(nodes, inputs, outputs, initializers=(), opset=13):
    graph = b"".join(field_bytes(1, n) for n in nodes)
    graph += field_bytes(2, "g")
    graph += b"".join(field_bytes(5, t) for t in initializers)
    graph += b"".join(field_bytes(11, value_info(*i)) for i in inputs)
    graph += b"".join(field_bytes(12, value_info(*o)) for o in outputs)
    opset_id = field_bytes(1, "") + field_varint(2, opset)
    return (field_varint(1, 8) + field_bytes(2, "mixq-test") + field_bytes(7, graph) +
            field_bytes(8, opset_id))


def zeros(dims):
    count = 1
    for d in dims:
        count *= d
    return [0.0] * count


def conv_model(x_dims, w_dims, name="conv1"):
    return model(
        [node("Conv", ["x", "w"], ["y"], name)],
        [("x", x_dims)], [("y", [x_dims[0], w_dims[0], 1, 1])],
        [tensor("w", w_dims, zeros(w_dims))])


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    files = {}
    valid = conv_model([1, 3, 3, 3], [4, 3, 3, 3])
    files["valid_conv.onnx"] = valid
    files["truncated.onnx"] = valid[: len(valid) // 2]
    rng = random.Random(1234)
    files["random_bytes.onnx"] = bytes(rng.randrange(256) for _ in range(512))
    files["unsupported_op.onnx"] = model(
        [node("NonMaxSuppression", ["boxes", "scores"], ["selected"], "n1")],
        [("boxes", [1, 4, 4]), ("scores", [1, 1, 4])], [("selected", [1, 3])])
    files["missing_initializer.onnx"] = model(
        [node("Conv", ["x", "w_missing"], ["y"], "conv1")],
        [("x", [1, 3, 3, 3])], [("y", [1, 4, 1, 1])])
    files["conv_channel_mismatch.onnx"] = conv_model([1, 3, 3, 3], [4, 2, 3, 3], "conv_bad")
    files["conv_weight_rank.onnx"] = model(
        [node("Conv", ["x", "w3"], ["y"], "conv3")],
        [("x", [1, 3, 3, 3])], [("y", [1, 4, 1, 1])],
        [tensor("w3", [4, 3, 3], zeros([4, 3, 3]))])
    files["add_broadcast_mismatch.onnx"] = model(
        [node("Add", ["a", "b"], ["c"], "add_bad")],
        [("a", [1, 3, 4]), ("b", [1, 5])], [("c", [1, 3, 4])])
    files["gemm_inner_dims.onnx"] = model(
        [node("Gemm", ["a", "b"], ["c"], "gemm_bad", [attr_int("transB", 0)])],
        [("a", [2, 3])], [("c", [2, 5])],
        [tensor("b", [4, 5], zeros([4, 5]))])
    for name, data in sorted(files.items()):
        with open(os.path.join(OUT_DIR, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
