// Counts TCP connections on loopback listeners at mail ports (and 6379), written as JSON to the file given, for S7.
import net from 'node:net';
import fs from 'node:fs';
const out = process.argv[2];
const binds = [];
for (const [ip, ports] of [
  ['127.0.0.1', [587]],
  ['127.0.0.2', [25, 465, 587, 2525, 6379]],
  ['127.1.2.3', [25, 587]],
  ['::1', [587]],
])
  for (const port of ports) binds.push([ip, port]);
const seen = {};
const write = () => fs.writeFileSync(out, JSON.stringify(seen));
let ok = 0;
for (const [ip, port] of binds) {
  const s = net.createServer((c) => {
    const k = `${c.localAddress}:${c.localPort} from ${c.remoteAddress}`;
    seen[k] = (seen[k] ?? 0) + 1;
    write();
    c.write('220 private.listener ESMTP\r\n');
    c.on('data', () => c.write('250 ok\r\n'));
    c.on('error', () => {});
  });
  s.on('error', (e) => console.error('bind', ip, port, e.code));
  s.listen(port, ip, () => {
    ok++;
    if (ok === binds.length) console.log('listening', ok);
  });
}
write();
