// Shared by the ONNX Runtime peer scripts (ort_bench.js, ort_eval.js,
// ort_infer.js): loading onnxruntime-node from .peers/ and reading and
// writing NPY arrays.
'use strict';

const fs = require('fs');
const path = require('path');

// onnxruntime-node from .peers/ (scripts/setup --peers) or the module path;
// `fail(message)` reports and exits when neither has it.
function loadOrt(fail) {
  const local = path.join(__dirname, '..', '.peers', 'node_modules', 'onnxruntime-node');
  try {
    return require(fs.existsSync(local) ? local : 'onnxruntime-node');
  } catch (e) {
    return fail(`cannot load onnxruntime-node (${e.message}); run scripts/setup --peers`);
  }
}

// NPY descr -> [typed array constructor, ORT tensor type].
const NPY_TYPES = {
  '<f4': [Float32Array, 'float32'],
  '<f8': [Float64Array, 'float64'],
  '|u1': [Uint8Array, 'uint8'],
  '|i1': [Int8Array, 'int8'],
  '<i4': [Int32Array, 'int32'],
  '<i8': [BigInt64Array, 'int64'],
  '|b1': [Uint8Array, 'bool'],
};

// Reads a C-order NPY file (versions 1-3): {type, dims, data}.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') {
    throw new Error(`${file}: not an NPY file`);
  }
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const order = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !order || !shape) throw new Error(`${file}: malformed NPY header`);
  if (order[1] === 'True') throw new Error(`${file}: Fortran-order arrays are not supported`);
  const type = NPY_TYPES[descr[1]];
  if (!type) throw new Error(`${file}: element type '${descr[1]}' is not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const bytes = buf.subarray(start, start + count * type[0].BYTES_PER_ELEMENT);
  if (bytes.length !== count * type[0].BYTES_PER_ELEMENT) throw new Error(`${file}: truncated`);
  const data = new type[0](count);
  new Uint8Array(data.buffer).set(bytes);
  return {type: type[1], dims, data};
}

// Writes float32 `data` of shape `dims` as an NPY version 1 file.
function writeNpyFloat32(file, dims, data) {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const values = Float32Array.from(data, Number);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'),
                                        Buffer.from(values.buffer)]));
}

module.exports = {loadOrt, readNpy, writeNpyFloat32};
