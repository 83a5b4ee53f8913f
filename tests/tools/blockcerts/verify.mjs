// The Blockcerts reference verifier (@blockcerts/cert-verifier-js), run
// offline by Akashi's test suite as a judge.
//
// Usage: node verify.mjs <certificate.json> [--pin URL=FILE ...] [--rpc URL]
// Prints one JSON line {status, message, steps} and exits 0 when VERIFIED,
// 1 otherwise, 2 on a usage error.
//
// Offline: the verifier's own fetches go only to loopback hosts, or to a
// URL pinned to a local file with --pin (how a test serves an issuer
// profile without a server). The verifier upgrades http:// to https://
// (research notes, blockcerts §4); for loopback hosts the upgrade is undone.
// --rpc names an Ethereum JSON-RPC node for anchor lookups (a local chain);
// explorer-lookup 1.7 reads `serviceUrl`, not the documented `serviceURL`
// (research notes §8), so both are given.
import fs from 'node:fs';
import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);
const {Certificate} = require('@blockcerts/cert-verifier-js/dist/verifier-node/index.js');

const args = process.argv.slice(2);
const file = args.shift();
const pins = new Map();
let rpc = null;
while (args.length) {
  const flag = args.shift();
  const value = args.shift();
  if (flag === '--rpc' && value) {
    rpc = value;
    continue;
  }
  if (flag !== '--pin' || !value || !value.includes('=')) {
    console.error('usage: node verify.mjs <certificate.json> [--pin URL=FILE ...] [--rpc URL]');
    process.exit(2);
  }
  const at = value.indexOf('=');
  pins.set(value.slice(0, at), fs.readFileSync(value.slice(at + 1), 'utf8'));
}
if (!file) {
  console.error('usage: node verify.mjs <certificate.json> [--pin URL=FILE ...] [--rpc URL]');
  process.exit(2);
}

function loopback(url) {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const raw = typeof input === 'string' ? input : input.url;
  const url = new URL(raw);
  for (const [pinned, body] of pins) {
    const p = new URL(pinned);
    if (p.host === url.host && p.pathname === url.pathname) {
      return new Response(body, {status: 200, headers: {'content-type': 'application/json'}});
    }
  }
  if (!loopback(url)) {
    throw new Error(`offline judge: refusing to fetch ${raw}`);
  }
  if (url.protocol === 'https:') url.protocol = 'http:';
  return realFetch(url.href, init);
};

const options = rpc
  ? {explorerAPIs: [{serviceURL: rpc, serviceUrl: rpc, apiType: 'rpc', chainType: 'eth', priority: 0}]}
  : {};
// The verifier logs its lookups on stdout; the verdict must be the only
// line there, so everything else goes to stderr.
const print = console.log.bind(console);
console.log = (...items) => console.error(...items);
const steps = [];
let result;
try {
  const certificate = new Certificate(JSON.parse(fs.readFileSync(file, 'utf8')), options);
  await certificate.init();
  result = await certificate.verify(({code, label, status, errorMessage}) => {
    steps.push({code, status, ...(errorMessage ? {error: errorMessage} : {})});
  });
} catch (error) {
  // An exception out of the verifier (an unknown transaction ends in one)
  // is not a VERIFIED: it is reported as the failure it is.
  result = {status: 'failure', message: `the verifier threw: ${error.message}`};
}
print(JSON.stringify({status: result.status, message: result.message, steps}));
process.exit(result.status === 'success' ? 0 : 1);
