const mods = process.argv.slice(2);
global.gc?.();
const base = process.memoryUsage();
for (const m of mods) await import(m);
global.gc?.(); global.gc?.();
const after = process.memoryUsage();
const mb = (x) => (x / 1048576).toFixed(1);
console.log(mods.map(m=>m.split('/').slice(-2).join('/')).join(','), 'rss', mb(after.rss), 'heapUsed', mb(after.heapUsed), 'external', mb(after.external), 'arrayBuffers', mb(after.arrayBuffers));
