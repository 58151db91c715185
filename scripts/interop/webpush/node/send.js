#!/usr/bin/env node
// Send one RFC 8030 push with the npm web-push library (aes128gcm + VAPID
// done by the library). Same CLI and output as the other interop senders;
// see ../selftest.py for the contract.
//
// web-push always issues its request through node's `https` module, whatever
// the endpoint's scheme. For an http:// endpoint we hand it (through its
// documented `agent` option) an https.Agent whose connections are plain TCP,
// so the same library code path speaks cleartext HTTP/1.1 to the test server.
'use strict';

const fs = require('fs');
const https = require('https');
const net = require('net');
const webpush = require('web-push');

const URGENCIES = ['very-low', 'low', 'normal', 'high'];

function usage(msg) {
  process.stderr.write(`send.js: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const known = new Set([
    'subscription', 'vapid-public', 'vapid-private', 'subject', 'payload',
    'ttl', 'urgency', 'topic', 'ca', 'payload-size',
  ]);
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    if (!a.startsWith('--')) usage(`unexpected argument ${a}`);
    a = a.slice(2);
    let val;
    const eq = a.indexOf('=');
    if (eq >= 0) {
      val = a.slice(eq + 1);
      a = a.slice(0, eq);
    } else {
      if (i + 1 >= argv.length) usage(`--${a} needs a value`);
      val = argv[++i];
    }
    if (!known.has(a)) usage(`unknown option --${a}`);
    out[a] = val;
  }
  for (const k of ['subscription', 'vapid-public', 'vapid-private', 'subject']) {
    if (out[k] === undefined) usage(`--${k} is required`);
  }
  if ((out.payload === undefined) === (out['payload-size'] === undefined)) {
    usage('give exactly one of --payload and --payload-size');
  }
  if (out.urgency !== undefined && !URGENCIES.includes(out.urgency)) {
    usage(`--urgency must be one of ${URGENCIES.join(', ')}`);
  }
  return out;
}

// An https.Agent (web-push insists on one) that opens plain TCP connections.
class CleartextAgent extends https.Agent {
  createConnection(options, callback) {
    const sock = net.createConnection({ host: options.host, port: options.port });
    if (callback) {
      sock.once('connect', () => callback(null, sock));
      sock.once('error', (err) => callback(err));
      return undefined;
    }
    return sock;
  }
}

function headerOrNull(headers, name) {
  if (!headers) return null;
  const want = name.toLowerCase();
  for (const k of Object.keys(headers)) {
    if (k.toLowerCase() === want) {
      const v = headers[k];
      return Array.isArray(v) ? v.join(', ') : String(v);
    }
  }
  return null;
}

function resultLine(status, headers, body) {
  return JSON.stringify({
    status: Number(status),
    location: headerOrNull(headers, 'location'),
    ttl: headerOrNull(headers, 'ttl'),
    retry_after: headerOrNull(headers, 'retry-after'),
    body: body == null ? '' : String(body),
  });
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const subscription = JSON.parse(fs.readFileSync(a.subscription, 'utf8'));
  const payload = a.payload !== undefined
    ? Buffer.from(a.payload, 'utf8')
    : Buffer.alloc(Number(a['payload-size']), 'x');

  const endpoint = new URL(subscription.endpoint);
  let agent;
  if (endpoint.protocol === 'http:') {
    agent = new CleartextAgent({ keepAlive: false });
  } else if (a.ca !== undefined) {
    agent = new https.Agent({ ca: fs.readFileSync(a.ca), keepAlive: false });
  }

  const options = {
    vapidDetails: {
      subject: a.subject,
      publicKey: a['vapid-public'],
      privateKey: a['vapid-private'],
    },
    TTL: a.ttl !== undefined ? Number(a.ttl) : 60,
    contentEncoding: 'aes128gcm',
    timeout: 30000,
  };
  if (a.urgency !== undefined) options.urgency = a.urgency;
  if (a.topic !== undefined) options.topic = a.topic;
  if (agent) options.agent = agent;

  let line;
  try {
    const res = await webpush.sendNotification(subscription, payload, options);
    line = resultLine(res.statusCode, res.headers, res.body);
  } catch (err) {
    if (err instanceof webpush.WebPushError && typeof err.statusCode === 'number') {
      line = resultLine(err.statusCode, err.headers, err.body);
    } else {
      process.stderr.write(`send.js: no HTTP response: ${err && err.stack ? err.stack : err}\n`);
      process.exitCode = 1;
      return;
    }
  }
  process.stdout.write(line + '\n');
}

main().catch((err) => {
  process.stderr.write(`send.js: ${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 1;
});
