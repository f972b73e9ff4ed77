/**
 * Task families of the synthetic instruction corpus. Each family draws an instruction and a way to answer
 * it; the answer length is fixed by the instruction ("List seven animals."), loosely set by it ("Write a
 * short paragraph ..."), or open ("Tell a story ..."). Counting is made learnable for a tiny model with
 * visible markers (numbered items, "Step k:", ordinal words). Family weights and the mixture live in
 * ../synthetic.ts; this file does not know about splits, ids or token counts.
 */
import { Rand } from './random.js';
import {
  CATEGORIES,
  CATEGORY_NAMES,
  CATEGORY_SG,
  TOPIC_CATEGORIES,
  ADJECTIVES,
  VERBS_PAST,
  FRUIT_COLOR,
  ANIMAL_SOUND,
  ANIMAL_HOME,
  JOB_WORK,
  TASKS,
  STEP_VERBS,
  STEP_TAILS,
  CHARACTERS,
  FEELINGS,
  WEATHER,
  NUMBER_WORDS,
  ORDINALS,
  REPEAT_WORDS,
  type Noun,
} from './words.js';

/**
 * Corpus version. 1: the original corpus (counts as words or digits, markers count up: "1. Cat", "Step 1:",
 * "First, ..."). 2: counts always as digits and the counting families' markers count DOWN to 1 ("7. Cat\n6. Dog
 * ...\n1. Owl", "Step 5: ...", "3. Cats are red. 2. ...", "5 moon, 4 moon, ..., 1 moon"), so a tiny model copies
 * the number once from the instruction and then only decrements and stops after 1 (a local step, no counting).
 * 3: version 2 with "Count from a to b" answered as "a of b, a+1 of b, ..., b of b." (and "Count down from b to
 * a" as "b to a, b-1 to a, ..., a to a."): every item restates the end, so stopping is a local check (the two
 * numbers of the last item are equal) instead of a comparison with a number far back in the prompt, which a
 * 2M-parameter model trained on version 2 failed at (it kept counting past b). Items are twice as long, so the
 * span is half the drawn one. Version 3 uses version 2's random stream, but halved spans make more instructions
 * collide and be redrawn, so the two corpora part ways early. Version 1 draws and text are unchanged byte for byte.
 */
export type CorpusVersion = 1 | 2 | 3;

/** How strongly the instruction sets the answer length. */
export type LengthControl = 'fixed' | 'loose' | 'open';

/** One drawn instruction; `respond` draws a reference answer (call again for another sample of the same task). */
export interface Task {
  instruction: string;
  respond: (r: Rand) => string;
  /** The count the instruction asks for (items, steps, sentences, words, numbers), when it asks for one. */
  count?: number;
}

export interface Family {
  name: string;
  control: LengthControl;
  /** Share of the corpus (normalised over all families). */
  weight: number;
  /** `scale` = maxLength / 256: long families stretch their counts with it. */
  make: (r: Rand, scale: number, version?: CorpusVersion) => Task;
}

// ---- small text helpers ----------------------------------------------------------------------------------

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const article = (w: string) => (/^[aeiou]/.test(w) ? `an ${w}` : `a ${w}`);
/** "a cat", but "red", "bread", "tennis" (nouns listed with the same plural are used without an article). */
const nounPhrase = (n: Noun) => (n.pl === n.sg ? n.sg : article(n.sg));
/** Small counts are written as words half of the time, larger ones always as digits. */
const countWord = (r: Rand, n: number) => (n < NUMBER_WORDS.length && r.chance(0.5) ? NUMBER_WORDS[n] : String(n));
/** Versions 2 and 3 always write the count as digits (and draws nothing for it). */
const countText = (r: Rand, n: number, v: CorpusVersion) => (v >= 2 ? String(n) : countWord(r, n));
/** The marker number of item i (0-based) of n: counting up in version 1, down to 1 from version 2 on. */
const marker = (i: number, n: number, v: CorpusVersion) => (v >= 2 ? n - i : i + 1);
const sc = (n: number, scale: number) => Math.max(1, Math.round(n * scale));

function topic(r: Rand): { noun: Noun; cat: string } {
  const cat = r.pick(TOPIC_CATEGORIES);
  return { noun: r.pick(CATEGORIES[cat]), cat };
}

/** One simple sentence about a topic (no ordinal marker). */
function topicSentence(r: Rand, t: { noun: Noun; cat: string }): string {
  const { sg, pl } = t.noun;
  const adj = r.pick(ADJECTIVES);
  const place = r.pick(CATEGORIES.places).sg;
  switch (r.int(0, 11)) {
    case 0:
      return `${cap(pl)} are ${adj}.`;
    case 1:
      return `Many people like ${pl}.`;
    case 2:
      return `${cap(article(sg))} can be very ${adj}.`;
    case 3:
      return `You can see ${pl} in the ${place}.`;
    case 4:
      return `I once ${r.pick(VERBS_PAST)} ${article(adj)} ${sg} in the ${place}.`;
    case 5:
      return `${cap(article(sg))} is a kind of ${CATEGORY_SG[t.cat]}.`;
    case 6:
      return `Children like to talk about ${pl}.`;
    case 7:
      return `My friend has ${article(adj)} ${sg}.`;
    case 8:
      return `Some ${pl} are ${r.pick(CATEGORIES.colors).sg} and some are ${r.pick(CATEGORIES.colors).sg}.`;
    case 9:
      return `People often find ${pl} near the ${place}.`;
    case 10:
      return `${cap(pl)} make the day more ${adj}.`;
    default:
      return `We can learn a lot from ${pl}.`;
  }
}

// ---- fixed length: the instruction names the count ---------------------------------------------------------

/** "List seven animals." → "1. Cat\n2. Dog\n..." */
const list: Family = {
  name: 'list',
  control: 'fixed',
  weight: 12,
  make(r, scale, v = 1) {
    const cat = r.pick(CATEGORY_NAMES);
    const items = CATEGORIES[cat];
    const n = r.int(2, Math.min(items.length, sc(20, scale)));
    const form = r.int(0, 2);
    const what = n === 1 ? CATEGORY_SG[cat] : cat;
    const instruction =
      form === 0
        ? `List ${countText(r, n, v)} ${what}.`
        : form === 1
          ? `Name ${countText(r, n, v)} ${what}, one per line.`
          : `Give me a list of ${countText(r, n, v)} ${what}.`;
    return {
      instruction,
      count: n,
      respond: (q) =>
        q
          .sample(items, n)
          .map((it, i) => `${marker(i, n, v)}. ${cap(it.sg)}`)
          .join('\n'),
    };
  },
};

/**
 * "Count from 3 to 17." → "3, 4, ..., 17." (and counting down). The long right tail comes mostly from here.
 * Version 3: "3 of 17, 4 of 17, ..., 17 of 17." / "17 to 3, 16 to 3, ..., 3 to 3." over half the drawn span.
 */
const count: Family = {
  name: 'count',
  control: 'fixed',
  weight: 12,
  make(r, scale, v = 1) {
    const drawn = r.logInt(3, sc(80, scale));
    const span = v === 3 ? Math.max(2, Math.round(drawn / 2)) : drawn;
    const a = r.chance(0.4) ? 1 : r.int(1, sc(60, scale));
    const b = a + span - 1;
    const down = r.chance(0.3);
    const nums = Array.from({ length: span }, (_, i) => (down ? b - i : a + i));
    const instruction = down ? `Count down from ${b} to ${a}.` : `Count from ${a} to ${b}.`;
    const items = v === 3 ? nums.map((k) => (down ? `${k} to ${a}` : `${k} of ${b}`)) : nums;
    return { instruction, count: span, respond: () => `${items.join(', ')}.` };
  },
};

/** "Write 5 steps to make tea." → "Step 1: Get the cup.\nStep 2: ..." */
const steps: Family = {
  name: 'steps',
  control: 'fixed',
  weight: 13,
  make(r, scale, v = 1) {
    const t = r.pick(TASKS);
    const n = r.int(2, sc(14, scale));
    const instruction = r.chance(0.5)
      ? `Write ${countText(r, n, v)} steps to ${t.task}.`
      : `How do I ${t.task}? Give ${countText(r, n, v)} steps.`;
    return {
      instruction,
      count: n,
      respond: (q) =>
        Array.from(
          { length: n },
          (_, i) => `Step ${marker(i, n, v)}: ${q.pick(STEP_VERBS)} the ${q.pick(t.things)}${q.pick(STEP_TAILS)}.`,
        ).join('\n'),
    };
  },
};

/** "Write 4 sentences about dogs." → "First, ... Second, ..." */
const sentences: Family = {
  name: 'sentences',
  control: 'fixed',
  weight: 11,
  make(r, scale, v = 1) {
    const t = topic(r);
    const n = r.int(2, Math.min(ORDINALS.length - 1, sc(14, scale)));
    return {
      instruction: `Write ${countText(r, n, v)} sentences about ${t.noun.pl}.`,
      count: n,
      respond: (q) =>
        Array.from({ length: n }, (_, i) => {
          const s = topicSentence(q, t);
          if (v >= 2) return `${marker(i, n, v)}. ${s}`;
          return `${ORDINALS[i + 1]}, ${s.startsWith('I ') ? s : s.charAt(0).toLowerCase() + s.slice(1)}`;
        }).join(' '),
    };
  },
};

/** "Repeat the word moon 12 times." → "moon moon ... moon" */
const repeat: Family = {
  name: 'repeat',
  control: 'fixed',
  weight: 3,
  make(r, scale, v = 1) {
    const w = r.pick(REPEAT_WORDS);
    const n = r.logInt(2, sc(24, scale));
    if (v >= 2) {
      return {
        instruction: `Repeat the word ${w} ${n} times.`,
        count: n,
        respond: () => Array.from({ length: n }, (_, i) => `${marker(i, n, v)} ${w}`).join(', '),
      };
    }
    return {
      instruction: `Repeat the word ${w} ${countWord(r, n)} times.`,
      count: n,
      respond: () => Array(n).fill(w).join(' '),
    };
  },
};

// ---- short answers: one word or one sentence ---------------------------------------------------------------

/** "Is a cat an animal? Answer yes or no." → "Yes."; without "Answer yes or no." → "Yes, a cat is an animal." */
const yesNo: Family = {
  name: 'yes-no',
  control: 'fixed',
  weight: 3,
  make(r) {
    const cat = r.pick(CATEGORY_NAMES);
    const asked = r.chance(0.5) ? cat : r.pick(CATEGORY_NAMES);
    const noun = nounPhrase(r.pick(CATEGORIES[cat]));
    const yes = asked === cat;
    const q = `Is ${noun} ${article(CATEGORY_SG[asked])}?`;
    if (r.chance(0.5)) return { instruction: `${q} Answer yes or no.`, respond: () => (yes ? 'Yes.' : 'No.') };
    const sentence = `${noun} ${yes ? 'is' : 'is not'} ${article(CATEGORY_SG[asked])}`;
    return { instruction: q, respond: () => `${yes ? 'Yes' : 'No'}, ${sentence}.` };
  },
};

/** One-word facts: "What color is a lemon? Answer in one word." → "Yellow." */
const oneWord: Family = {
  name: 'one-word',
  control: 'fixed',
  weight: 2,
  make(r) {
    const tail = r.pick(['Answer in one word.', 'Use one word.', 'One word only.']);
    switch (r.int(0, 3)) {
      case 0: {
        const k = r.pick(Object.keys(FRUIT_COLOR));
        return { instruction: `What color is ${article(k)}? ${tail}`, respond: () => `${cap(FRUIT_COLOR[k])}.` };
      }
      case 1: {
        const k = r.pick(Object.keys(ANIMAL_SOUND));
        return {
          instruction: `What sound does ${article(k)} make? ${tail}`,
          respond: () => `${cap(ANIMAL_SOUND[k])}.`,
        };
      }
      case 2: {
        const cat = r.pick(TOPIC_CATEGORIES);
        const n = r.pick(CATEGORIES[cat]);
        return { instruction: `What is the plural of ${n.sg}? ${tail}`, respond: () => `${cap(n.pl)}.` };
      }
      default: {
        const cat = r.pick(CATEGORY_NAMES);
        const n = r.pick(CATEGORIES[cat]);
        return {
          instruction: `What kind of thing is ${nounPhrase(n)}? ${tail}`,
          respond: () => `${cap(CATEGORY_SG[cat])}.`,
        };
      }
    }
  },
};

/** "What is 7 plus 5?" → "7 plus 5 is 12." */
const arithmetic: Family = {
  name: 'arithmetic',
  control: 'fixed',
  weight: 3,
  make(r) {
    const a = r.int(0, 50);
    const b = r.int(0, 50);
    const op = r.pick(['plus', 'minus', 'times'] as const);
    const [x, y] = op === 'minus' && b > a ? [b, a] : [a, b];
    const v = op === 'plus' ? x + y : op === 'minus' ? x - y : x * y;
    return { instruction: `What is ${x} ${op} ${y}?`, respond: () => `${x} ${op} ${y} is ${v}.` };
  },
};

/** "Give a short answer: where does a fox live?" → one sentence, a few words of noise. */
const shortAnswer: Family = {
  name: 'short-answer',
  control: 'loose',
  weight: 7,
  make(r) {
    const extra = (q: Rand) =>
      q.chance(0.4) ? ` ${q.pick(['This is well known.', 'That is all.', 'I hope this helps.', 'It is simple.'])}` : '';
    const pre = r.chance(0.5) ? 'Give a short answer: w' : 'W';
    switch (r.int(0, 5)) {
      case 0: {
        const k = r.pick(Object.keys(ANIMAL_HOME));
        return {
          instruction: `${pre}here does ${article(k)} live?`,
          respond: (q) => `${cap(article(k))} lives ${ANIMAL_HOME[k]}.${extra(q)}`,
        };
      }
      case 1: {
        const k = r.pick(Object.keys(JOB_WORK));
        return {
          instruction: `${pre}hat does ${article(k)} do?`,
          respond: (q) => `${cap(article(k))} ${JOB_WORK[k]}.${extra(q)}`,
        };
      }
      case 2: {
        const k = r.pick(Object.keys(FRUIT_COLOR));
        return {
          instruction: `${pre}hat color is ${article(k)}?`,
          respond: (q) => `${cap(article(k))} is ${q.chance(0.5) ? 'usually ' : ''}${FRUIT_COLOR[k]}.${extra(q)}`,
        };
      }
      case 3: {
        const t = topic(r);
        return {
          instruction: `${pre}here can I find ${t.noun.pl}?`,
          respond: (q) => `You can find ${t.noun.pl} in the ${q.pick(CATEGORIES.places).sg}.${extra(q)}`,
        };
      }
      case 4: {
        const t = topic(r);
        return {
          instruction: `${pre}hy do people like ${t.noun.pl}?`,
          respond: (q) => `People like ${t.noun.pl} because they are ${q.pick(ADJECTIVES)}.${extra(q)}`,
        };
      }
      default: {
        const t = topic(r);
        return {
          instruction: `${pre}hat do you think of ${t.noun.pl}?`,
          respond: (q) => `I think ${t.noun.pl} are ${q.pick(ADJECTIVES)}.${extra(q)}`,
        };
      }
    }
  },
};

// ---- loosely set: the instruction says short / normal / detailed -------------------------------------------

const PARAGRAPH_KINDS = [
  { say: (pl: string) => `Write a short paragraph about ${pl}.`, lo: 2, hi: 4 },
  { say: (pl: string) => `Write a paragraph about ${pl}.`, lo: 4, hi: 7 },
  { say: (pl: string) => `Write a detailed paragraph about ${pl}.`, lo: 7, hi: 12 },
  { say: (pl: string) => `Describe ${pl} in detail.`, lo: 9, hi: 15 },
];

const paragraph: Family = {
  name: 'paragraph',
  control: 'loose',
  weight: 12,
  make(r, scale) {
    const t = topic(r);
    const k = r.pick(PARAGRAPH_KINDS);
    const lo = sc(k.lo, scale);
    const hi = Math.max(lo, sc(k.hi, scale));
    return {
      instruction: k.say(t.noun.pl),
      respond: (q) => Array.from({ length: q.int(lo, hi) }, () => topicSentence(q, t)).join(' '),
    };
  },
};

// ---- open: stories whose length the instruction barely sets ------------------------------------------------

function storySentence(r: Rand, the: string, he: string): string {
  const place = r.pick(CATEGORIES.places).sg;
  const animal = r.pick(CATEGORIES.animals).sg;
  switch (r.int(0, 9)) {
    case 0:
      return `One day, ${the} went to the ${place}.`;
    case 1:
      return `It was a ${r.pick(WEATHER)} day.`;
    case 2:
      return `There ${he} ${r.pick(VERBS_PAST)} ${article(r.pick(ADJECTIVES))} ${animal}.`;
    case 3:
      return `${cap(the)} was very ${r.pick(FEELINGS)}.`;
    case 4:
      return `${cap(he)} wanted to find ${article(r.pick(CATEGORIES.tools).sg)}.`;
    case 5:
      return `Then ${he} walked to the ${place}.`;
    case 6:
      return `${cap(he)} ate some ${r.pick(CATEGORIES.foods).pl}.`;
    case 7:
      return `The ${animal} said hello to ${the}.`;
    case 8:
      return `They played near the ${place} all day.`;
    default:
      return `At night, ${he} went back home.`;
  }
}

const STORY_KINDS = [
  { say: (c: string) => `Tell a short story about ${c}.`, lo: 3, hi: 6 },
  { say: (c: string) => `Tell a story about ${c}.`, lo: 5, hi: 20 },
  { say: (c: string) => `Write a story about ${c}.`, lo: 5, hi: 20 },
  { say: (c: string) => `Tell a long story about ${c}.`, lo: 12, hi: 30 },
];

const story: Family = {
  name: 'story',
  control: 'open',
  weight: 16,
  make(r, scale) {
    const c = r.pick(CHARACTERS);
    const k = r.pick(STORY_KINDS);
    const the = c.name.replace(/^an? /, 'the ');
    const lo = sc(k.lo, scale);
    const hi = Math.max(lo, sc(k.hi, scale));
    return {
      instruction: k.say(c.name),
      respond: (q) => {
        const n = q.logInt(lo, hi);
        const body = Array.from({ length: n }, () => storySentence(q, the, c.he));
        return [
          `Once upon a time, there was ${c.name}.`,
          ...body,
          `In the end, ${the} was ${q.pick(FEELINGS)}. The end.`,
        ].join(' ');
      },
    };
  },
};

/** All families, in a fixed order (the order is part of the seed → corpus mapping). */
export const FAMILIES: readonly Family[] = [
  list,
  count,
  steps,
  sentences,
  repeat,
  yesNo,
  oneWord,
  arithmetic,
  shortAnswer,
  paragraph,
  story,
];
