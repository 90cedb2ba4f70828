// 4 worker_threads each sieve the primes below their own limit and post the count and sum
// back to the main thread, which prints them in worker order once every worker has exited.
'use strict';
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

const WORKERS = 4;

if (isMainThread) {
  const results = [];
  let exited = 0;
  for (let i = 0; i < WORKERS; i++) {
    const worker = new Worker(__filename, { workerData: i });
    worker.on('message', (m) => { results[m.index] = m; });
    worker.on('error', (e) => { console.error(`worker ${i}: ${e}`); process.exitCode = 1; });
    worker.on('exit', (code) => {
      if (code !== 0) { console.error(`worker ${i}: exit code ${code}`); process.exitCode = 1; }
      if (++exited < WORKERS) return;
      for (let k = 0; k < WORKERS; k++) {
        const r = results[k];
        if (!r) { console.log(`worker ${k}: no result`); process.exitCode = 1; continue; }
        console.log(`worker ${k}: primes below ${r.limit}: ${r.count}, sum ${r.sum}`);
      }
    });
  }
} else {
  const limit = 20000 * (workerData + 1);
  const composite = new Uint8Array(limit);
  let count = 0;
  let sum = 0;
  for (let p = 2; p < limit; p++) {
    if (composite[p]) continue;
    count++;
    sum += p;
    for (let q = p * p; q < limit; q += p) composite[q] = 1;
  }
  parentPort.postMessage({ index: workerData, limit, count, sum });
}
