import { writeFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { decodeChunk } from '../../src/model/envelope.js';
import { changesTopic } from '../../src/model/topics.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { adminConnection, describeWithServers } from '../support/env.js';
import { converge } from '../support/replication.js';
import { consumeTopic, scenario, type Scenario } from '../support/scenario.js';
import { sleep, waitFor } from '../support/wait.js';

describeWithServers('standby daemons and fencing', () => {
  let s: Scenario | undefined;
  const daemons: DaemonProcess[] = [];
  afterEach(async () => {
    for (const d of daemons.splice(0)) if (d.child.exitCode === null) await d.kill();
    await s?.close();
    s = undefined;
  });
  const start = async (ezone: string, configFile = s!.configFile) => {
    const d = await DaemonProcess.start(['run', '--config', configFile, '--ezone', ezone]);
    daemons.push(d);
    return d;
  };

  it('a standby takes over within 10 s when the active daemon dies, and a resumed zombie is fenced out; nothing is lost', async () => {
    s = await scenario('standby', { ha: { lease: '3s' } });
    for (const ez of ['a', 'b']) await s.db[ez]!.query('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
    await (await start('b')).waitActive();
    const a1 = await start('a');
    await a1.waitActive();
    const a2 = await start('a');
    await a2.waitRole('standby');

    // Writes go on in both ezones throughout.
    let n = 0;
    let writing = true;
    const writer = (async () => {
      const conns = await Promise.all(['a', 'b'].map(async (ez) => {
        const c = await adminConnection(ez);
        await c.query(`USE ${s!.schema}`);
        return c;
      }));
      while (writing) {
        const i = n++;
        await conns[i % 2]!.query('INSERT INTO t (id, v) VALUES (?, ?)', [i, `w${i}`]);
        await sleep(5); // pacing
      }
      await Promise.all(conns.map((c) => c.end()));
    })();

    const moreWrites = async (k: number) => {
      const from = n;
      await waitFor(() => n, { what: `${k} more writes`, until: (now) => now >= from + k });
    };
    await moreWrites(100); // the active daemon dies in the middle of the writes
    const killedAt = Date.now();
    await a1.kill('SIGKILL');
    await a2.waitActive(20_000);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(10_000);

    // The zombie: freeze the active daemon until a third one takes over, then let it run again. The
    // third is configured with another kafka.clientId: it must fence the zombie's producer all the same.
    const otherClient = s.configFile.replace(/\.yaml$/, '.other-client.yaml');
    writeFileSync(otherClient, stringify({ ...s.config, kafka: { ...s.config.kafka, clientId: 'drc-other-host' } }));
    const a3 = await start('a', otherClient);
    await a3.waitRole('standby');
    a2.signal('SIGSTOP');
    const frozenAt = Date.now();
    await a3.waitActive(20_000);
    const secondTakeoverMs = Date.now() - frozenAt;
    a2.signal('SIGCONT');
    const zombie = await Promise.race([a2.exited, sleep(15_000).then(() => 'still running')]);
    expect(zombie).toEqual({ code: 1, signal: null });
    expect(a2.log).toMatch(/another daemon is now active for ezone a|another daemon of this ezone took over the Kafka producer/);

    await moreWrites(100); // writes go on after the zombie is gone
    writing = false;
    await writer;
    const rows = JSON.parse(await converge(s, 't', ['a', 'b'], { rows: n, timeoutMs: 60_000 })) as unknown[];
    expect(rows.length).toBe(n);

    // Every transaction of ezone a was shipped once, whichever daemon shipped it.
    const ids = new Map<string, number>();
    let open = 0;
    await consumeTopic(s.kafka, changesTopic(s.prefix, 'a'), (m) => {
      const c = decodeChunk(m.value);
      if (c.last && c.changes.length > 0) ids.set(c.id, (ids.get(c.id) ?? 0) + 1);
      open = [...ids.values()].reduce((x, y) => x + y, 0);
      return false;
    }, 5000);
    expect([...ids].filter(([, count]) => count > 1)).toEqual([]);
    expect(open).toBeGreaterThan(0);
    process.stdout.write(`\n[standby] takeover after SIGKILL: ${takeoverMs} ms; after SIGSTOP (lease 3 s): ${secondTakeoverMs} ms; zombie exited 1; ${n} rows written, none lost\n`);
  }, 180_000);
});
