import { PAPER_VBS_TABLE, buckit, vbsBatchSize } from '../../src/scheduling/buckets.js';
import {
  DEFAULT_SCHEDULE,
  generationLimit,
  parseFcrLimit,
  schedule,
  type ScheduleConfig,
} from '../../src/scheduling/schedule.js';

const cfg = (o: Partial<ScheduleConfig> = {}): ScheduleConfig => ({ ...DEFAULT_SCHEDULE, ...o });

describe('buckit (upstream utils.buckit)', () => {
  test.each([
    [0, 50, 0],
    [1, 50, 50],
    [49, 50, 50],
    [50, 50, 50],
    [51, 50, 100],
    [100, 50, 100],
    [101, 50, 150],
    [512, 50, 550],
    [12.5, 50, 50],
    [50.9, 50, 50],
    [26, 25, 50],
    [25, 25, 25],
    [101, 100, 200],
  ])('buckit(%p, cell %p) = %p', (x, cell, want) => expect(buckit(x, cell)).toBe(want));
});

describe('VBS table', () => {
  test('paper table: exact keys, fallback 16 above 300 and for bucket 0', () => {
    const bs = (b: number) => vbsBatchSize(b, PAPER_VBS_TABLE, 16);
    expect([0, 50, 100, 150, 200, 250, 300, 350, 550].map(bs)).toEqual([16, 256, 128, 64, 32, 16, 16, 16, 16]);
  });
  test('other cells read the table as thresholds', () => {
    expect(vbsBatchSize(25, PAPER_VBS_TABLE, 16)).toBe(256);
    expect(vbsBatchSize(75, PAPER_VBS_TABLE, 16)).toBe(128);
    expect(vbsBatchSize(325, PAPER_VBS_TABLE, 16)).toBe(16);
  });
});

describe('schedule without VBS', () => {
  test('stable ascending sort, chunks of batch size, limit = max prediction in the batch', () => {
    const lengths = [30, 10, 20, 10, 50];
    expect(schedule(lengths, cfg({ batchSize: 2 }))).toEqual([
      { ids: [1, 3], limit: 10 }, // equal lengths keep input order
      { ids: [2, 0], limit: 30 },
      { ids: [4], limit: 50 },
    ]);
  });
  test('vanilla (all equal) keeps input order', () => {
    expect(schedule([512, 512, 512], cfg({ batchSize: 2 })).map((b) => b.ids)).toEqual([[0, 1], [2]]);
  });
});

describe('schedule with VBS', () => {
  test('bucket 50 holds up to 256, limit = bucket value', () => {
    const lengths = Array.from({ length: 300 }, (_, i) => (i % 50) + 1); // all in bucket 50
    const b = schedule(lengths, cfg({ vbs: true }));
    // 300 = 256 + 44; 44 ≥ max(256/2=128,16)? no → but 50 is the largest bucket (max prediction 50), so no merge
    expect(b.map((x) => [x.ids.length, x.limit])).toEqual([
      [256, 50],
      [44, 50],
    ]);
  });

  test("a small tail moves to the next existing bucket, appended after that bucket's own queries", () => {
    // bucket 50: 20 < max(256/2,16) → moved; bucket 100 empty; bucket 150: 10 + 20 = 30 < max(64/2,16) → moved;
    // bucket 400 (bs 16, the top bucket) cuts its 5 + 30 queries in 16s and never merges its tail of 3
    const lengths = [...Array(20).fill(40), ...Array(10).fill(140), ...Array(5).fill(400)];
    const b = schedule(lengths, cfg({ vbs: true }));
    const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i);
    const order = [...range(30, 5), ...range(20, 10), ...range(0, 20)];
    expect(b).toEqual([
      { ids: order.slice(0, 16), limit: 400 },
      { ids: order.slice(16, 32), limit: 400 },
      { ids: order.slice(32), limit: 400 },
    ]);
  });

  test('a tail of at least max(bs/2,16) stays in its bucket with the moved queries', () => {
    // bucket 150 gets 18 + 20 moved = 38 ≥ 32 → one batch at limit 150
    const lengths = [...Array(20).fill(40), ...Array(18).fill(140), ...Array(5).fill(400)];
    expect(schedule(lengths, cfg({ vbs: true })).map((x) => [x.ids.length, x.limit])).toEqual([
      [38, 150],
      [5, 400],
    ]);
  });

  test('full chunks stay; only the tail below max(bs/2,16) merges; the top bucket never merges', () => {
    // 140 in bucket 100 (bs 128): 128 stay, tail 12 < 64 → bucket 150; bucket 150 has 70 (bs 64): 64 + (6+12=18) → 18 < 32 → bucket 200
    const lengths = [...Array(140).fill(90), ...Array(70).fill(120), ...Array(3).fill(200)];
    const b = schedule(lengths, cfg({ vbs: true }));
    expect(b.map((x) => [x.ids.length, x.limit])).toEqual([
      [128, 100],
      [64, 150],
      [21, 200],
    ]);
  });

  test('batch sizes below tailMin move the rest of the bucket along instead of losing queries', () => {
    const lengths = [...Array(40).fill(10), ...Array(2).fill(500)];
    const b = schedule(lengths, cfg({ vbs: true, vbsTable: { 50: 8 } }));
    expect(b.flatMap((x) => x.ids).sort((p, q) => p - q)).toEqual(Array.from({ length: 42 }, (_, i) => i));
    expect(b.every((x) => x.limit === 500)).toBe(true);
  });

  test('fractional predictions: the largest one in an exact bucket (250.4 → 250) ends the walk there', () => {
    // bucket 50's single query moves up to 250 (the next existing bucket); 42 in bucket 250 (bs 16): 16, 16 and a tail
    // of 10 < 16 that stays, as 250 is the top bucket (comparing with the prediction 250.4 walked 300, 350, … forever)
    const lengths = [...Array(40).fill(240.2), 250.4, 20];
    const b = schedule(lengths, cfg({ vbs: true }));
    expect(b.map((x) => [x.ids.length, x.limit])).toEqual([
      [16, 250],
      [16, 250],
      [10, 250],
    ]);
  });

  test('cell 25 walks the tail merge in steps of 25', () => {
    const lengths = [...Array(3).fill(20), ...Array(3).fill(70)];
    expect(schedule(lengths, cfg({ vbs: true, cell: 25 }))).toEqual([{ ids: [3, 4, 5, 0, 1, 2], limit: 75 }]);
  });
});

describe('FCR limit policy', () => {
  const b = { ids: [0], limit: 150 };
  test('without FCR every batch runs to max length', () => expect(generationLimit(b, cfg(), 512)).toBe(512));
  test('bucket (upstream) may exceed max length', () => {
    expect(generationLimit({ ids: [0], limit: 550 }, cfg({ fcr: true }), 512)).toBe(550);
  });
  test('factor rounds up, slack adds', () => {
    expect(generationLimit(b, cfg({ fcr: true, fcrLimit: parseFcrLimit('x1.1')! }), 512)).toBe(165);
    expect(generationLimit({ ids: [0], limit: 101 }, cfg({ fcr: true, fcrLimit: parseFcrLimit('x1.5')! }), 512)).toBe(
      152,
    );
    expect(generationLimit(b, cfg({ fcr: true, fcrLimit: parseFcrLimit('+32')! }), 512)).toBe(182);
  });
  test('parse', () => {
    expect(parseFcrLimit('off')).toBeNull();
    expect(parseFcrLimit('bucket')).toEqual({ kind: 'bucket' });
    expect(() => parseFcrLimit('double')).toThrow(/FCR limit policy "double"/);
  });
});
