import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { FakeClock } from '../shared/clock.js';

const TENANT = 'acme-rotation';
const base = `/api/v1/tenants/${TENANT}/sources`;
const MINUTE = 60_000;

describeEachDialect("a source's secret rotated through processes whose machines' clocks disagree", (dialect) => {
  let t: TestApp;
  let tenantId: string;
  // The time every process keeps: the database's (storage/database-clock.ts), whatever its machine's clock says.
  const clock = new FakeClock(Date.now());

  beforeAll(async () => {
    t = await startTestApp(dialect, {}, { clock });
    tenantId = (await t.call('POST', '/api/v1/tenants', { name: TENANT })).json().id;
  });
  afterAll(() => t.close());

  /** rotate rotates the source's secret through this process's API. */
  const rotate = async (sourceId: string): Promise<string> => {
    const res = await t.call('POST', `${base}/${sourceId}/rotate-secret`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().secret;
  };

  /**
   * rotateElsewhere rotates it as another process does whose machine's clock is `machineOffMs` off the time it keeps:
   * its own modules (a process's ids count up from its own last one), Date.now() off.
   */
  const rotateElsewhere = async (sourceId: string, machineOffMs: number): Promise<string> => {
    vi.resetModules();
    const { rotateSecret, requireSource } = await import('./store.js');
    const machine = Date.now.bind(Date);
    const skewed = vi.spyOn(Date, 'now').mockImplementation(() => machine() + machineOffMs);
    try {
      const { storage, secretBox } = t.tocsin.deps;
      const row = await requireSource(storage.db, tenantId, sourceId);
      return await rotateSecret(storage.db, secretBox, clock, row);
    } finally {
      skewed.mockRestore();
    }
  };

  const receive = (sourceId: string, secret: string) =>
    t.tocsin.app.inject({
      method: 'POST',
      url: `/api/v1/sources/${sourceId}/receive`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      payload: {
        version: '4',
        status: 'firing',
        receiver: 'tocsin',
        alerts: [
          { status: 'firing', labels: { alertname: 'RobotHostDown', severity: 'critical' }, annotations: {}, startsAt: new Date(clock.now()).toISOString() },
        ],
      },
    });

  it('keeps the previous secret valid until the next rotation when a rotation went through a machine whose clock is behind', async () => {
    const created = await t.call('POST', base, { name: 'Prometheus', kind: 'alertmanager' });
    expect(created.statusCode, created.body).toBe(201);
    const { id, secret: first } = created.json();
    // A minute later, through an api process whose machine's clock is five minutes behind: Alertmanager is switched to it.
    clock.advance(MINUTE);
    const second = await rotateElsewhere(id, -5 * MINUTE);
    expect((await receive(id, second)).statusCode).toBe(202);
    // Another minute later, through a process whose machine's clock is right: the one before it (second) stays valid.
    clock.advance(MINUTE);
    const third = await rotate(id);
    expect((await receive(id, second)).statusCode).toBe(202);
    expect((await receive(id, third)).statusCode).toBe(202);
    expect((await receive(id, first)).statusCode).toBe(401);
  });
});
