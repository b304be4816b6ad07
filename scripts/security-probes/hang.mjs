// A smarthost that accepts TCP and never says a word; reports open and peak connections to a file.
import net from 'node:net';
import fs from 'node:fs';
let open = 0,
  peak = 0,
  total = 0;
net
  .createServer((c) => {
    open++;
    total++;
    peak = Math.max(peak, open);
    c.on('close', () => open--);
    c.on('error', () => {});
  })
  .listen(Number(process.argv[2]), '127.0.0.1');
setInterval(() => fs.writeFileSync(process.argv[3], JSON.stringify({ open, peak, total })), 200);
