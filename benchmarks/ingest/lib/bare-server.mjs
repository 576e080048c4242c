// The ceiling: a bare node:http server that reads and discards each body and answers
// 200 {"id":"<event id>"} (the id is taken from the envelope's first line, as Botpulse answers).
// Forked by run.mjs with IPC; reports its port; exits when the parent goes away.

import http from 'node:http';

const NEEDLE = Buffer.from('"event_id":"');

const server = http.createServer((req, res) => {
  let first = null;
  req.on('data', (chunk) => {
    if (first === null) first = chunk;
  });
  req.on('end', () => {
    let id = '';
    if (first !== null) {
      const at = first.indexOf(NEEDLE);
      if (at >= 0) id = first.toString('latin1', at + NEEDLE.length, at + NEEDLE.length + 32);
    }
    const body = `{"id":"${id}"}`;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send({ type: 'listening', port: server.address().port }));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
