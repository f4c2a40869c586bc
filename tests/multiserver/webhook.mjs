// A webhook receiver in the test process: records every POST and checks its Standard
// Webhooks signature (https://www.standardwebhooks.com/): the secret is "whsec_" + base64
// of the key bytes; "webhook-signature" holds one or more space-separated "v1,<base64 of
// HMAC-SHA256(key, `${webhook-id}.${webhook-timestamp}.${body}`)>".

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';

// A fresh random signing secret: {key, secret} where secret is what onedoor is given.
export function newWebhookSecret() {
  const key = randomBytes(32);
  return { key, secret: `whsec_${key.toString('base64')}` };
}

export function verifySignature(key, id, timestamp, body, header) {
  if (!id || !timestamp || !header) return false;
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return header.split(' ').some((sig) => {
    const [version, value] = sig.split(',', 2);
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

// Starts the receiver on 127.0.0.1:0. Every POST becomes a delivery:
//   {webhookId, timestamp, signature, instance, raw, body (parsed JSON or null),
//    verified, receivedAt (ms), answered (HTTP status sent, or 'held')}
// Verified deliveries are answered 200, others 400 (as a real receiver would).
//
// hold(instance) makes the next delivery from that instance wait unanswered, so the test
// can kill its sender mid-delivery; it returns a promise of that delivery.
export async function startWebhookReceiver(key) {
  const deliveries = [];
  let holding = null; // {instance, resolve}
  const held = new Set();

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const h = req.headers;
      let body = null;
      try { body = JSON.parse(raw); } catch { /* recorded as null; the test checks it */ }
      const d = {
        method: req.method,
        url: req.url,
        webhookId: h['webhook-id'],
        timestamp: h['webhook-timestamp'],
        signature: h['webhook-signature'],
        instance: h['onedoor-instance'],
        contentType: h['content-type'],
        raw,
        body,
        verified: verifySignature(key, h['webhook-id'], h['webhook-timestamp'], raw, h['webhook-signature']),
        receivedAt: Date.now(),
        answered: null,
      };
      deliveries.push(d);
      if (holding && d.instance === holding.instance && d.verified) {
        d.answered = 'held';
        held.add(res);
        res.on('close', () => held.delete(res));
        holding.resolve(d);
        holding = null;
        return;
      }
      d.answered = d.verified && req.method === 'POST' ? 200 : 400;
      res.writeHead(d.answered, { 'Content-Type': 'text/plain' }).end(d.answered === 200 ? 'ok' : 'bad signature');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();

  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveries,
    hold(instance) {
      return new Promise((resolve) => { holding = { instance, resolve }; });
    },
    async close() {
      holding = null;
      for (const res of held) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => {});
    },
  };
}
