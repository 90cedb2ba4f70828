// Node's own libuv threadpool, made small (run with UV_THREADPOOL_SIZE=2 in the environment),
// busy with 8 concurrent dns.lookup calls and an fs.readFile at once: every one must complete,
// and the program must see the pool size it was given. An unfinished run says so after 5 s.
'use strict';
const dns = require('dns');
const fs = require('fs');

const LOOKUPS = 8;
let pending = LOOKUPS + 1;
const addresses = [];
let readOk = null;

const guard = setTimeout(() => {
  console.log(`timed out with ${pending} of ${LOOKUPS + 1} operations unfinished`);
  process.exit(1);
}, 5000);

function finished() {
  if (--pending > 0) return;
  clearTimeout(guard);
  const right = addresses.filter((a) => a === '127.0.0.1 4').length;
  console.log(`lookups of localhost (family 4) that gave 127.0.0.1: ${right} of ${LOOKUPS}`);
  console.log(`fs.readFile of this script matches its size: ${readOk}`);
  console.log(`UV_THREADPOOL_SIZE in the environment: ${process.env.UV_THREADPOOL_SIZE}`);
}

for (let i = 0; i < LOOKUPS; i++) {
  dns.lookup('localhost', { family: 4 }, (err, address, family) => {
    addresses.push(err ? String(err.code) : `${address} ${family}`);
    finished();
  });
}
fs.readFile(__filename, (err, data) => {
  readOk = !err && data.length === fs.statSync(__filename).size;
  finished();
});
