/**
 * Word lists for the embedded default's synthetic instruction corpus: a small, simple English vocabulary
 * (a few hundred words) so a tiny LLaMA's id-mapped output layer stays small. Only data lives here; the
 * task families that combine these words into instructions and answers live in families.ts.
 */

/** A thing the corpus can talk about: singular, plural, and the category it belongs to. */
export interface Noun {
  sg: string;
  pl: string;
}

function nouns(list: string): Noun[] {
  // "cat" → cats; "fox/foxes" gives an irregular plural explicitly.
  return list.split(' ').map((w) => {
    const [sg, pl] = w.split('/');
    return { sg: sg.replace(/_/g, ' '), pl: (pl ?? `${sg}s`).replace(/_/g, ' ') };
  });
}

/** Categories for "List N ..." and topics for sentences, paragraphs and yes/no questions. */
export const CATEGORIES: Record<string, Noun[]> = {
  animals: nouns(
    'cat dog horse cow pig sheep/sheep goat duck hen bird fish/fish frog lion tiger bear wolf/wolves fox/foxes rabbit mouse/mice deer/deer monkey snake owl bee ant whale',
  ),
  fruits: nouns('apple banana orange pear grape lemon peach plum cherry/cherries melon mango berry/berries kiwi lime'),
  vegetables: nouns('carrot potato/potatoes tomato/tomatoes onion bean pea corn/corn cabbage pepper pumpkin'),
  colors: nouns(
    'red/red blue/blue green/green yellow/yellow black/black white/white brown/brown pink/pink orange/orange gray/gray purple/purple gold/gold',
  ),
  tools: nouns('hammer saw/saws knife/knives rope brush box/boxes cup bowl spoon fork bag pen pencil key lamp clock'),
  vehicles: nouns('car bus/buses train bike boat ship plane truck cart van'),
  places: nouns('park farm beach forest city/cities town school shop market garden river lake hill house/houses room'),
  jobs: nouns('baker farmer teacher doctor driver cook painter singer nurse pilot'),
  sports: nouns(
    'football/football tennis/tennis golf/golf chess/chess soccer/soccer swimming/swimming running/running',
  ),
  foods: nouns('bread/bread cake soup/soup rice/rice egg cheese/cheese milk/milk tea/tea pie salad honey/honey'),
};

/** Category names used in instructions, e.g. "List seven animals." */
export const CATEGORY_NAMES = Object.keys(CATEGORIES);

/** What a category is called in a yes/no question: "Is a cat an animal?" */
export const CATEGORY_SG: Record<string, string> = {
  animals: 'animal',
  fruits: 'fruit',
  vegetables: 'vegetable',
  colors: 'color',
  tools: 'tool',
  vehicles: 'vehicle',
  places: 'place',
  jobs: 'job',
  sports: 'sport',
  foods: 'food',
};

/** Topics for sentences/paragraphs: the countable nouns (their plural reads well as a topic). */
export const TOPIC_CATEGORIES = ['animals', 'fruits', 'vegetables', 'tools', 'vehicles', 'places', 'jobs', 'foods'];

export const ADJECTIVES =
  'big small good nice old new soft hard warm cold fast slow happy kind quiet loud clean bright dark strong useful fun'.split(
    ' ',
  );

export const VERBS_PAST = 'saw found liked helped met followed watched visited'.split(' ');

/** Simple attribute facts, for one-word and short answers. */
export const FRUIT_COLOR: Record<string, string> = {
  apple: 'red',
  banana: 'yellow',
  orange: 'orange',
  pear: 'green',
  grape: 'purple',
  lemon: 'yellow',
  peach: 'pink',
  plum: 'purple',
  cherry: 'red',
  melon: 'green',
  mango: 'yellow',
  berry: 'blue',
  kiwi: 'brown',
  lime: 'green',
  carrot: 'orange',
  tomato: 'red',
  corn: 'yellow',
  pumpkin: 'orange',
  cabbage: 'green',
  potato: 'brown',
};

export const ANIMAL_SOUND: Record<string, string> = {
  cat: 'meow',
  dog: 'woof',
  cow: 'moo',
  pig: 'oink',
  sheep: 'baa',
  duck: 'quack',
  hen: 'cluck',
  bird: 'tweet',
  lion: 'roar',
  owl: 'hoot',
  bee: 'buzz',
  frog: 'croak',
  horse: 'neigh',
  snake: 'hiss',
  wolf: 'howl',
  mouse: 'squeak',
};

export const ANIMAL_HOME: Record<string, string> = {
  cat: 'in a house',
  dog: 'in a house',
  horse: 'on a farm',
  cow: 'on a farm',
  pig: 'on a farm',
  sheep: 'on a farm',
  goat: 'on a farm',
  duck: 'near a lake',
  hen: 'on a farm',
  bird: 'in a tree',
  fish: 'in the water',
  frog: 'near a lake',
  lion: 'in the grass',
  tiger: 'in the forest',
  bear: 'in the forest',
  wolf: 'in the forest',
  fox: 'in the forest',
  rabbit: 'in a hole',
  mouse: 'in a hole',
  deer: 'in the forest',
  monkey: 'in a tree',
  snake: 'in the grass',
  owl: 'in a tree',
  bee: 'in a hive',
  ant: 'in the ground',
  whale: 'in the sea',
};

export const JOB_WORK: Record<string, string> = {
  baker: 'makes bread',
  farmer: 'grows food',
  teacher: 'helps children learn',
  doctor: 'helps sick people',
  driver: 'drives a car',
  cook: 'makes food',
  painter: 'paints pictures',
  singer: 'sings songs',
  nurse: 'cares for sick people',
  pilot: 'flies a plane',
};

/** Everyday tasks for "Write N steps to ...": the task and the things its steps handle. */
export const TASKS: { task: string; things: string[] }[] = [
  { task: 'make tea', things: ['cup', 'water', 'pot', 'tea', 'milk', 'spoon', 'honey'] },
  { task: 'bake a cake', things: ['bowl', 'eggs', 'milk', 'flour', 'oven', 'pan', 'cake'] },
  { task: 'plant a tree', things: ['hole', 'tree', 'soil', 'water', 'spade', 'seeds', 'garden'] },
  { task: 'clean a room', things: ['floor', 'bed', 'window', 'table', 'brush', 'box', 'room'] },
  { task: 'wash a car', things: ['car', 'water', 'soap', 'brush', 'door', 'window', 'wheel'] },
  { task: 'write a letter', things: ['paper', 'pen', 'letter', 'name', 'box', 'table', 'words'] },
  { task: 'make a salad', things: ['bowl', 'carrot', 'tomato', 'onion', 'knife', 'salad', 'oil'] },
  { task: 'pack a bag', things: ['bag', 'shirt', 'book', 'cup', 'key', 'box', 'pen'] },
  { task: 'fix a bike', things: ['bike', 'wheel', 'chain', 'tool', 'seat', 'light', 'rope'] },
  { task: 'cook rice', things: ['pot', 'rice', 'water', 'lid', 'spoon', 'bowl', 'salt'] },
  { task: 'paint a wall', things: ['wall', 'paint', 'brush', 'floor', 'cloth', 'can', 'door'] },
  { task: 'feed a dog', things: ['bowl', 'food', 'water', 'dog', 'floor', 'bag', 'spoon'] },
  { task: 'make bread', things: ['flour', 'water', 'bowl', 'oven', 'bread', 'pan', 'salt'] },
  { task: 'catch a fish', things: ['rod', 'boat', 'fish', 'line', 'bag', 'lake', 'bucket'] },
  { task: 'build a fire', things: ['wood', 'stones', 'fire', 'sticks', 'match', 'water', 'ground'] },
  { task: 'wash the dishes', things: ['dishes', 'water', 'soap', 'cloth', 'cups', 'sink', 'towel'] },
];

export const STEP_VERBS = 'Get Take Wash Put Check Move Open Close Clean Hold Fill Find Lift Dry Place Turn'.split(' ');
export const STEP_TAILS = [
  '',
  '',
  '',
  ' with care',
  ' on the table',
  ' for a minute',
  ' again',
  ' slowly',
  ' with your hands',
  ' near the door',
];

/** Story characters (subject form, pronoun) and story words. */
export const CHARACTERS: { name: string; he: string }[] = [
  { name: 'a little cat', he: 'it' },
  { name: 'a small dog', he: 'it' },
  { name: 'a young girl', he: 'she' },
  { name: 'a young boy', he: 'he' },
  { name: 'an old man', he: 'he' },
  { name: 'an old woman', he: 'she' },
  { name: 'a brave fox', he: 'it' },
  { name: 'a happy bird', he: 'it' },
  { name: 'a kind farmer', he: 'he' },
  { name: 'a tall king', he: 'he' },
  { name: 'a wise owl', he: 'it' },
  { name: 'a little rabbit', he: 'it' },
  { name: 'a busy baker', he: 'she' },
  { name: 'a shy mouse', he: 'it' },
  { name: 'a lost duck', he: 'it' },
];
export const FEELINGS = 'happy sad tired hungry scared glad calm proud'.split(' ');
export const WEATHER = 'sunny rainy cold warm windy quiet'.split(' ');

/** Number words; instructions write small counts as words half of the time ("List seven animals."). */
export const NUMBER_WORDS = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
  'twenty',
];

/** Ordinal markers for "Write N sentences about ..." so a small model can count sentences. */
export const ORDINALS = [
  '',
  'First',
  'Second',
  'Third',
  'Fourth',
  'Fifth',
  'Sixth',
  'Seventh',
  'Eighth',
  'Ninth',
  'Tenth',
  'Eleventh',
  'Twelfth',
  'Thirteenth',
  'Fourteenth',
  'Fifteenth',
  'Sixteenth',
  'Seventeenth',
  'Eighteenth',
  'Nineteenth',
  'Twentieth',
];

/** Words for "Repeat the word X N times." */
export const REPEAT_WORDS = 'hello yes no sun moon star rain tree book ball blue red go stop up down hi ok'.split(' ');
