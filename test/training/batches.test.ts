import { collate, epochBatches, shuffledOrder } from '../../src/training/batches.js';

describe('batches', () => {
  test('the shuffle is a permutation fixed by (seed, epoch) and differs between epochs and seeds', () => {
    const a = shuffledOrder(50, 42, 0);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(shuffledOrder(50, 42, 0)).toEqual(a);
    expect(shuffledOrder(50, 42, 1)).not.toEqual(a);
    expect(shuffledOrder(50, 43, 0)).not.toEqual(a);
  });

  test('batches cover every example once per epoch; the last one may be short', () => {
    const b = epochBatches(7, 3, 1, 0);
    expect(b.map((x) => x.length)).toEqual([3, 3, 1]);
    expect(b.flat()).toEqual(shuffledOrder(7, 1, 0));
  });

  const examples = [
    { ids: [1, 5, 6, 2], labelMask: [0, 0, 1, 1] },
    { ids: [1, 7], labelMask: [0, 1] },
  ];

  test('right padding (default) with pad id 0 and attention mask', () => {
    const c = collate(examples);
    expect(c.shape).toEqual([2, 4]);
    expect(Array.from(c.inputIds)).toEqual([1, 5, 6, 2, 1, 7, 0, 0]);
    expect(Array.from(c.attentionMask)).toEqual([1, 1, 1, 1, 1, 1, 0, 0]);
    expect(Array.from(c.labelMask)).toEqual([0, 0, 1, 1, 0, 1, 0, 0]);
    expect([c.tokens, c.targets]).toEqual([6, 3]);
  });

  test('left padding puts the pad before the tokens', () => {
    const c = collate(examples, { padSide: 'left', padId: 9 });
    expect(Array.from(c.inputIds)).toEqual([1, 5, 6, 2, 9, 9, 1, 7]);
    expect(Array.from(c.attentionMask)).toEqual([1, 1, 1, 1, 0, 0, 1, 1]);
    expect(Array.from(c.labelMask)).toEqual([0, 0, 1, 1, 0, 0, 0, 1]);
  });

  test('truncation keeps the first maxLength tokens', () => {
    const c = collate(examples, { maxLength: 3 });
    expect(c.shape).toEqual([2, 3]);
    expect(Array.from(c.inputIds)).toEqual([1, 5, 6, 1, 7, 0]);
    expect(Array.from(c.labelMask)).toEqual([0, 0, 1, 0, 1, 0]);
    expect([c.tokens, c.targets]).toEqual([5, 2]);
  });

  test('a label mask of the wrong length is refused naming the example', () => {
    expect(() => collate([{ ids: [1, 2], labelMask: [0] }])).toThrow(/example 0 has 2 ids but 1 label-mask/);
  });
});
