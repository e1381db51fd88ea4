#!/usr/bin/env node
// Runs an ONNX model once with ONNX Runtime (CPU) on NPY inputs and writes
// its outputs as float32 NPY files: the reference side of `mixq infer`
// comparisons (scripts/model_zoo).
//
//   node scripts/ort_infer.js --model M.onnx --input X.npy [--input NAME=X.npy ...]
//        -o DIR [--threads N]
//
// A bare --input feeds the model's inputs in order. Writes DIR/<k>.npy for
// output k (0-based, graph order) and prints
//   {"outputs": [{"name", "file", "shape"}, ...]}
'use strict';

const fs = require('fs');
const path = require('path');
const {loadOrt, readNpy, writeNpyFloat32} = require('./ort_common');

function fail(message) {
  process.stderr.write(`ort_infer: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = {inputs: [], threads: 1};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (value === undefined) fail(`${key} needs a value`);
    switch (key) {
      case '--model': args.model = value; break;
      case '--input': args.inputs.push(value); break;
      case '-o': case '--output': args.out = value; break;
      case '--threads': args.threads = Number(value); break;
      default: fail(`unknown option '${key}'`);
    }
  }
  if (!args.model || !args.out || args.inputs.length === 0) {
    fail('usage: ort_infer.js --model M.onnx --input X.npy [--input NAME=X.npy] -o DIR');
  }
  if (!Number.isInteger(args.threads) || args.threads <= 0) fail('--threads: not a count');
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = loadOrt(fail);
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
  });
  const feeds = {};
  let next = 0;
  for (const spec of args.inputs) {
    const eq = spec.indexOf('=');
    const name = eq > 0 ? spec.slice(0, eq) : session.inputNames[next++];
    const file = eq > 0 ? spec.slice(eq + 1) : spec;
    if (!session.inputNames.includes(name)) fail(`'${name}' is not an input of ${args.model}`);
    const npy = readNpy(file);
    feeds[name] = new ort.Tensor(npy.type, npy.data, npy.dims);
  }
  const results = await session.run(feeds);
  fs.mkdirSync(args.out, {recursive: true});
  const outputs = session.outputNames.map((name, k) => {
    const tensor = results[name];
    const file = path.join(args.out, `${k}.npy`);
    writeNpyFloat32(file, tensor.dims, tensor.data);
    return {name, file, shape: Array.from(tensor.dims)};
  });
  process.stdout.write(JSON.stringify({outputs}) + '\n');
}

main().catch((e) => fail(e.message));
