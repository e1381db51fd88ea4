#!/usr/bin/env node
// Measures ONNX Runtime (CPU, onnxruntime-node) on an ONNX model, as the
// peer mixq's own `mixq bench` is compared with by scripts/bench_peers. The
// session is set up like a tuned deployment: all graph optimisations,
// sequential execution, intra-op threads as asked. Every graph input is fed,
// with its shape's batch dimension replaced: float inputs with random values,
// integer inputs (token ids, attention masks) with the rows of
// `--input NAME=FILE.npy` (cycled to the batch; int32 files feed int64
// inputs) or else with 1 everywhere.
//
//   node scripts/ort_bench.js --model M.onnx [--batch 1,16] [--threads 2]
//        [--warmup 3] [--iters 20] [--min-time 2] [--input-shape 1,28,28]
//        [--input NAME=FILE.npy ...]
//
// --input-shape gives the sample shape of the first input when the model's
// is symbolic; the other inputs need static sample shapes or an --input file.
//
// Timed runs go on until both --iters runs and --min-time seconds are done,
// so that tiny models are measured over more than a few milliseconds.
//
// Prints a JSON list, one object per batch size:
//   {"runtime":"onnxruntime","version","model","batch","threads",
//    "images_per_second","latency_ms_median","latency_ms_p90","iters"}
// images_per_second = batch * runs / (wall time of the timed runs).
// onnxruntime-node comes from .peers/ (scripts/setup --peers) or the usual
// module path.
'use strict';

const fs = require('fs');
const path = require('path');
const {loadOrt: loadOrtFrom, readNpy} = require('./ort_common');

function usage(message) {
  if (message) process.stderr.write(`ort_bench: ${message}\n`);
  process.stderr.write(
      'usage: ort_bench.js --model M.onnx [--batch 1,16] [--threads N] ' +
      '[--warmup W] [--iters I] [--min-time S] [--input-shape C,H,W] ' +
      '[--input NAME=FILE.npy ...]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const args = {
    batch: [1], threads: 1, warmup: 3, iters: 20, minTime: 2, inputShape: null, files: {},
  };
  for (let i = 0; i < argv.length; ++i) {
    const key = argv[i];
    const value = argv[i + 1];
    if (key === '--help' || key === '-h') usage();
    if (value === undefined) usage(`${key} needs a value`);
    const ints = () => value.split(',').map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n <= 0) usage(`${key}: '${s}' is not a positive integer`);
      return n;
    });
    switch (key) {
      case '--model': args.model = value; break;
      case '--batch': args.batch = ints(); break;
      case '--threads': args.threads = ints()[0]; break;
      case '--warmup': args.warmup = Number(value); break;
      case '--iters': args.iters = ints()[0]; break;
      case '--min-time': args.minTime = Number(value); break;
      case '--input-shape': args.inputShape = ints(); break;
      case '--input': {
        const eq = value.indexOf('=');
        if (eq <= 0) usage(`--input: '${value}' is not NAME=FILE.npy`);
        args.files[value.slice(0, eq)] = value.slice(eq + 1);
        break;
      }
      default: usage(`unknown option '${key}'`);
    }
    ++i;
  }
  if (!args.model) usage('--model is required');
  if (!Number.isInteger(args.warmup) || args.warmup < 0) usage('--warmup: not a count');
  if (!(args.minTime >= 0)) usage('--min-time: not a number of seconds');
  return args;
}

function loadOrt() {
  return loadOrtFrom((message) => {
    process.stderr.write(`ort_bench: ${message}\n`);
    process.exit(1);
  });
}

// Minimal protobuf walk over ModelProto to find the graph inputs that are
// not initializers, with their element types and shapes: onnxruntime-node
// 1.20 does not expose input shapes. Returns [{name, elemType, dims}] in
// graph order, elemType as ONNX's TensorProto.DataType number, dims as
// numbers (or null when symbolic).
function readInputs(file) {
  const buf = fs.readFileSync(file);
  function* fields(start, end) {
    let pos = start;
    const varint = () => {
      let result = 0;
      let scale = 1;
      for (;;) {
        if (pos >= end) throw new Error(`${file}: truncated protobuf`);
        const byte = buf[pos++];
        result += (byte & 0x7f) * scale;
        if (byte < 0x80) return result;
        scale *= 128;
      }
    };
    while (pos < end) {
      const tag = varint();
      const field = Math.floor(tag / 8);
      const wire = tag % 8;
      if (wire === 0) {
        yield {field, value: varint()};
      } else if (wire === 2) {
        const len = varint();
        yield {field, start: pos, end: pos + len};
        pos += len;
      } else if (wire === 1) {
        pos += 8;
      } else if (wire === 5) {
        pos += 4;
      } else {
        throw new Error(`${file}: unsupported protobuf wire type ${wire}`);
      }
    }
  }
  const sub = (f, n) => [...fields(f.start, f.end)].filter((x) => x.field === n);
  const str = (f) => buf.toString('utf8', f.start, f.end);

  const graph = [...fields(0, buf.length)].find((f) => f.field === 7);  // ModelProto.graph
  if (!graph) throw new Error(`${file}: no graph`);
  const initializers = new Set();
  for (const init of sub(graph, 5)) {  // GraphProto.initializer
    for (const name of sub(init, 8)) initializers.add(str(name));  // TensorProto.name
  }
  const inputs = [];
  for (const input of sub(graph, 11)) {  // GraphProto.input: ValueInfoProto
    const name = str(sub(input, 1)[0]);
    if (initializers.has(name)) continue;
    const dims = [];
    let elemType = 1;
    for (const type of sub(input, 2)) {            // TypeProto
      for (const tensor of sub(type, 1)) {         // tensor_type
        const elem = [...fields(tensor.start, tensor.end)].find((x) => x.field === 1);
        if (elem) elemType = elem.value;
        for (const shape of sub(tensor, 2)) {      // TensorShapeProto
          for (const dim of sub(shape, 1)) {       // Dimension
            const value = [...fields(dim.start, dim.end)].find((x) => x.field === 1);
            dims.push(value ? value.value : null);
          }
        }
      }
    }
    inputs.push({name, elemType, dims});
  }
  if (!inputs.length) throw new Error(`${file}: the graph has no non-initializer input`);
  return inputs;
}

// ONNX element type -> [typed array constructor, ORT tensor type], for the
// input types the feeds below can make.
const FEED_TYPES = {
  1: [Float32Array, 'float32'],
  6: [Int32Array, 'int32'],
  7: [BigInt64Array, 'int64'],
};

// The feed of one input at one batch: `sampleDims` after the batch; rows of
// `file` (an NPY read by readNpy) cycled to the batch when given.
function makeFeed(ort, input, sampleDims, batch, file, seed) {
  const type = FEED_TYPES[input.elemType];
  if (!type) throw new Error(`input '${input.name}': element type ${input.elemType} is not supported`);
  const dims = [batch, ...sampleDims];
  const count = dims.reduce((a, b) => a * b, 1);
  const data = new type[0](count);
  if (file) {
    const row = count / batch;
    const fileRow = file.dims.slice(1).reduce((a, b) => a * b, 1);
    if (file.dims.length < 1 || file.dims[0] < 1 || fileRow !== row) {
      throw new Error(`input '${input.name}': the file's shape [${file.dims}] does not have ` +
                      `rows of [${sampleDims}]`);
    }
    const convert = type[1] === 'int64' ? (v) => BigInt(v) : Number;
    for (let i = 0; i < count; ++i) {
      const src = (Math.floor(i / row) % file.dims[0]) * row + (i % row);
      data[i] = convert(file.data[src]);
    }
  } else if (type[1] === 'float32') {
    fillRandom(data, seed);
  } else {
    data.fill(type[1] === 'int64' ? 1n : 1);
  }
  return new ort.Tensor(type[1], data, dims);
}

function percentile(sorted, p) {
  const rank = (sorted.length - 1) * p;
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

// Deterministic pseudo-random numbers (mulberry32), so runs are repeatable.
function fillRandom(data, seed) {
  let a = seed >>> 0;
  for (let i = 0; i < data.length; ++i) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    data[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 * 2 - 1;
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const fail = (message) => {
    process.stderr.write(`ort_bench: ${message}\n`);
    process.exit(1);
  };
  let inputs;
  const files = {};
  try {
    inputs = readInputs(args.model);
    for (const [name, file] of Object.entries(args.files)) {
      if (!inputs.some((input) => input.name === name)) {
        fail(`--input ${name}: the model has no input '${name}' ` +
             `(inputs: ${inputs.map((input) => input.name).join(', ')})`);
      }
      files[name] = readNpy(file);
    }
  } catch (e) {
    fail(e.message);
  }
  // Sample dims (after the batch) of every input.
  const sampleDims = inputs.map((input, k) => {
    if (k === 0 && args.inputShape) return args.inputShape;
    const file = files[input.name];
    const dims = input.dims.slice(1);
    if (dims.length && dims.every((d) => d !== null && d > 0)) return dims;
    if (file && file.dims.length === input.dims.length) return file.dims.slice(1);
    fail(`${args.model}: input '${input.name}' has shape ` +
         `[${input.dims.map((d) => (d === null ? '?' : d)).join(',')}]; give ` +
         (k === 0 ? '--input-shape' : `--input ${input.name}=FILE.npy`));
  });

  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
  });
  const results = [];
  for (const batch of args.batch) {
    const feeds = {};
    try {
      inputs.forEach((input, k) => {
        feeds[input.name] =
            makeFeed(ort, input, sampleDims[k], batch, files[input.name], 12345 + batch + k);
      });
    } catch (e) {
      fail(e.message);
    }
    for (let i = 0; i < args.warmup; ++i) await session.run(feeds);
    const times = [];
    const start = process.hrtime.bigint();
    const minNs = BigInt(Math.round(args.minTime * 1e9));
    while (times.length < args.iters || process.hrtime.bigint() - start < minNs) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const totalS = Number(process.hrtime.bigint() - start) / 1e9;
    times.sort((a, b) => a - b);
    results.push({
      runtime: 'onnxruntime',
      version: ort.env.versions ? ort.env.versions.node : undefined,
      model: path.basename(args.model, '.onnx'),
      batch,
      threads: args.threads,
      images_per_second: Number((batch * times.length / totalS).toFixed(2)),
      latency_ms_median: Number(percentile(times, 0.5).toFixed(3)),
      latency_ms_p90: Number(percentile(times, 0.9).toFixed(3)),
      iters: times.length,
    });
  }
  process.stdout.write(JSON.stringify(results, null, 1) + '\n');
}

main().catch((e) => {
  process.stderr.write(`ort_bench: ${e.message}\n`);
  process.exit(1);
});
