#!/usr/bin/env node
// Top-1 of an ONNX model in ONNX Runtime (CPU, onnxruntime-node) on a
// labelled IDX dataset described by a mixq dataset YAML, with mixq's
// preprocessing: y = (raw * scale - mean) / std, NCHW. scripts/bench_peers
// uses it to check a QDQ export (mixq export) against mixq's own run.
//
//   node scripts/ort_eval.js --model M.onnx --dataset D.yaml [--begin 0]
//        [--count N] [--batch 100] [--threads 2]
//
// Prints one JSON object:
//   {"runtime":"onnxruntime","model","samples","correct1","top1","seconds"}
// Only `format: idx` datasets with one channel mean/std (Fashion-MNIST's
// YAMLs) are read; anything else is refused with a message.
'use strict';

const fs = require('fs');
const path = require('path');
const {loadOrt: loadOrtFrom} = require('./ort_common');
const zlib = require('zlib');

function fail(message, code = 1) {
  process.stderr.write(`ort_eval: ${message}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const args = {begin: 0, count: -1, batch: 100, threads: 2};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (value === undefined) fail(`${key} needs a value`, 2);
    const int = () => {
      const n = Number(value);
      if (!Number.isInteger(n)) fail(`${key}: '${value}' is not an integer`, 2);
      return n;
    };
    switch (key) {
      case '--model': args.model = value; break;
      case '--dataset': args.dataset = value; break;
      case '--begin': args.begin = int(); break;
      case '--count': args.count = int(); break;
      case '--batch': args.batch = int(); break;
      case '--threads': args.threads = int(); break;
      default: fail(`unknown option '${key}'`, 2);
    }
  }
  if (!args.model || !args.dataset) fail('--model and --dataset are required', 2);
  if (args.batch <= 0 || args.threads <= 0 || args.begin < 0) fail('bad --batch/--threads/--begin', 2);
  return args;
}

// The few keys of a mixq dataset YAML this script needs (flat `key: value`
// lines and the one-line `preprocess: {...}` map the shipped YAMLs use).
function readDatasetSpec(file) {
  const text = fs.readFileSync(file, 'utf8');
  const value = (key) => {
    const m = text.match(new RegExp(`^${key}:\\s*(.+?)\\s*$`, 'm'));
    return m ? m[1] : undefined;
  };
  if (value('format') !== 'idx') fail(`${file}: only format: idx is supported`);
  const resolve = (p) => (path.isAbsolute(p) ? p : path.join(path.dirname(file), p));
  const spec = {images: resolve(value('images')), labels: resolve(value('labels')),
                scale: 1, mean: 0, std: 1};
  const pre = value('preprocess') || '';
  const num = (key) => {
    const m = pre.match(new RegExp(`${key}:\\s*\\[?\\s*([-0-9.eE+]+)\\s*\\]?`));
    return m ? Number(m[1]) : undefined;
  };
  if (num('scale') !== undefined) spec.scale = num('scale');
  if (num('mean') !== undefined) spec.mean = num('mean');
  if (num('std') !== undefined) spec.std = num('std');
  if (/layout:\s*nhwc/.test(pre)) fail(`${file}: only layout nchw is supported`);
  return spec;
}

// An IDX file (gzip or not): {dims, data: Uint8Array}.
function readIdx(file) {
  let buf = fs.readFileSync(file);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
  if (buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08) fail(`${file}: not a uint8 IDX file`);
  const rank = buf[3];
  const dims = [];
  for (let i = 0; i < rank; ++i) dims.push(buf.readUInt32BE(4 + 4 * i));
  return {dims, data: buf.subarray(4 + 4 * rank)};
}

function loadOrt() {
  return loadOrtFrom(fail);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const spec = readDatasetSpec(args.dataset);
  const images = readIdx(spec.images);
  const labels = readIdx(spec.labels);
  const n = images.dims[0];
  if (labels.dims[0] !== n) fail('images and labels differ in count');
  const sampleSize = images.dims.slice(1).reduce((a, b) => a * b, 1);
  const sampleDims = [1, ...images.dims.slice(1)];  // one channel, NCHW
  const end = args.count < 0 ? n : Math.min(n, args.begin + args.count);
  if (args.begin >= end) fail(`no samples in [${args.begin}, ${end})`);

  const ort = loadOrt();
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
  });
  let correct = 0;
  const start = process.hrtime.bigint();
  for (let b = args.begin; b < end; b += args.batch) {
    const count = Math.min(args.batch, end - b);
    const data = new Float32Array(count * sampleSize);
    for (let i = 0; i < data.length; ++i) {
      data[i] = (images.data[b * sampleSize + i] * spec.scale - spec.mean) / spec.std;
    }
    const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, [count, ...sampleDims])};
    const out = (await session.run(feeds))[session.outputNames[0]];
    const classes = out.dims[out.dims.length - 1];
    for (let i = 0; i < count; ++i) {
      let best = 0;
      for (let c = 1; c < classes; ++c) {
        if (out.data[i * classes + c] > out.data[i * classes + best]) best = c;
      }
      if (best === labels.data[b + i]) ++correct;
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const samples = end - args.begin;
  process.stdout.write(JSON.stringify({
    runtime: 'onnxruntime',
    model: path.basename(args.model, '.onnx'),
    samples,
    correct1: correct,
    top1: correct / samples,
    seconds: Number(seconds.toFixed(3)),
  }) + '\n');
}

main().catch((e) => fail(e.message));
