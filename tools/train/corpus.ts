/**
 * The public-domain English the default model learns from, read from Debian packages: the King James Bible
 * (bible-kjv, bible-kjv-text), the fortune cookie files (fortunes, fortunes-min) and WordNet's glosses (wordnet-base).
 * Each source becomes a list of documents. A few books of the Bible are held out of training: the retrieval
 * evaluation hides its needles in them, so the model is never evaluated on filler it has memorised.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Document {
  source: 'bible' | 'fortunes' | 'wordnet';
  /** e.g. "Genesis 1", "fortunes/wisdom #12", "noun lantern". */
  title: string;
  text: string;
}

/** Book abbreviations as the `bible` command prints them, and their names. */
const BOOKS: Record<string, string> = {
  Ge: 'Genesis',
  Exo: 'Exodus',
  Lev: 'Leviticus',
  Num: 'Numbers',
  Deu: 'Deuteronomy',
  Josh: 'Joshua',
  Jdgs: 'Judges',
  Ruth: 'Ruth',
  '1Sm': '1 Samuel',
  '2Sm': '2 Samuel',
  '1Ki': '1 Kings',
  '2Ki': '2 Kings',
  '1Chr': '1 Chronicles',
  '2Chr': '2 Chronicles',
  Ezra: 'Ezra',
  Neh: 'Nehemiah',
  Est: 'Esther',
  Job: 'Job',
  Psa: 'Psalms',
  Prv: 'Proverbs',
  Eccl: 'Ecclesiastes',
  SSol: 'Song of Solomon',
  Isa: 'Isaiah',
  Jer: 'Jeremiah',
  Lam: 'Lamentations',
  Eze: 'Ezekiel',
  Dan: 'Daniel',
  Hos: 'Hosea',
  Joel: 'Joel',
  Amos: 'Amos',
  Obad: 'Obadiah',
  Jonah: 'Jonah',
  Mic: 'Micah',
  Nahum: 'Nahum',
  Hab: 'Habakkuk',
  Zep: 'Zephaniah',
  Hag: 'Haggai',
  Zec: 'Zechariah',
  Mal: 'Malachi',
  Mat: 'Matthew',
  Mark: 'Mark',
  Luke: 'Luke',
  John: 'John',
  Acts: 'Acts',
  Rom: 'Romans',
  '1Cor': '1 Corinthians',
  '2Cor': '2 Corinthians',
  Gal: 'Galatians',
  Eph: 'Ephesians',
  Phi: 'Philippians',
  Col: 'Colossians',
  '1Th': '1 Thessalonians',
  '2Th': '2 Thessalonians',
  '1Tim': '1 Timothy',
  '2Tim': '2 Timothy',
  Titus: 'Titus',
  Phmn: 'Philemon',
  Heb: 'Hebrews',
  Jas: 'James',
  '1Pet': '1 Peter',
  '2Pet': '2 Peter',
  '1Jn': '1 John',
  '2Jn': '2 John',
  '3Jn': '3 John',
  Jude: 'Jude',
  Rev: 'Revelation',
};

/** Held out of training; the retrieval evaluation's filler comes from them (resources/eval/filler.txt). */
export const HELD_OUT_BOOKS = ['Ezekiel', 'Acts'];

export interface BibleChapter {
  book: string;
  chapter: number;
  verses: string[];
}

/** Every chapter of the King James Bible, through the `bible` command of Debian's bible-kjv package. */
export function readBible(): BibleChapter[] {
  let out: string;
  try {
    out = execFileSync('bible', ['-f', 'Genesis 1:1-Revelation 22:21'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (error) {
    throw new Error(`cannot run \`bible\` (apt-get install -y bible-kjv bible-kjv-text): ${(error as Error).message}`);
  }
  const chapters: BibleChapter[] = [];
  for (const line of out.split('\n')) {
    const m = /^(\d?[A-Za-z]+)(\d+):(\d+) (.*)$/.exec(line.trim());
    if (!m) continue;
    const book = BOOKS[m[1]];
    if (!book) throw new Error(`unknown book abbreviation ${JSON.stringify(m[1])} in \`bible\` output`);
    const chapter = Number(m[2]);
    const last = chapters.at(-1);
    if (!last || last.book !== book || last.chapter !== chapter) chapters.push({ book, chapter, verses: [] });
    chapters.at(-1)!.verses.push(m[4].trim());
  }
  if (chapters.length !== 1189) throw new Error(`expected 1,189 chapters from \`bible\`, read ${chapters.length}`);
  return chapters;
}

const FORTUNE_DIR = '/usr/share/games/fortunes';

/** Every fortune of the (inoffensive) fortune files, whitespace tidied. */
export function readFortunes(): Document[] {
  if (!existsSync(FORTUNE_DIR)) throw new Error(`no ${FORTUNE_DIR} (apt-get install -y fortunes fortunes-min)`);
  const docs: Document[] = [];
  for (const name of readdirSync(FORTUNE_DIR).sort()) {
    if (name.includes('.') || name === 'off') continue; // .dat indexes, .u8 links, the offensive folder
    const path = join(FORTUNE_DIR, name);
    let raw: string;
    try {
      raw = readFileSync(path, 'utf8');
    } catch {
      continue; // a folder or a dangling link
    }
    // ASCII art does not teach English.
    if (name === 'art' || name === 'ascii-art') continue;
    raw.split(/^%$/m).forEach((entry, i) => {
      const text = entry
        .replace(/\t/g, '  ')
        .replace(/[ \t]+$/gm, '')
        .trim();
      if (text.length >= 20 && text.length <= 2000) docs.push({ source: 'fortunes', title: `${name} #${i}`, text });
    });
  }
  return docs;
}

export interface Gloss {
  pos: 'noun' | 'verb' | 'adjective' | 'adverb';
  words: string[];
  definition: string;
  examples: string[];
}

const WORDNET_DIR = '/usr/share/wordnet';

/** WordNet's synsets: their words, definition and examples (data.noun, data.verb, data.adj, data.adv). */
export function readWordNet(): Gloss[] {
  const files = { noun: 'data.noun', verb: 'data.verb', adjective: 'data.adj', adverb: 'data.adv' } as const;
  const glosses: Gloss[] = [];
  for (const [pos, file] of Object.entries(files) as [Gloss['pos'], string][]) {
    const path = join(WORDNET_DIR, file);
    if (!existsSync(path)) throw new Error(`no ${path} (apt-get install -y wordnet-base)`);
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (line.startsWith('  ') || !line.includes(' | ')) continue; // the licence header
      const [head, gloss] = line.split(' | ', 2);
      const fields = head.split(' ');
      const count = Number.parseInt(fields[3], 16);
      const words = Array.from({ length: count }, (_, i) =>
        fields[4 + 2 * i].replace(/_/g, ' ').replace(/\(.*\)$/, ''),
      );
      const parts = gloss.trim().split('; ');
      const definition = parts.filter((p) => !p.startsWith('"')).join('; ');
      const examples = parts.filter((p) => p.startsWith('"')).map((p) => p.replace(/^"|"$/g, ''));
      if (definition) glosses.push({ pos, words, definition, examples });
    }
  }
  return glosses;
}

/** A gloss as a dictionary entry: "lantern (noun): light in a transparent protective case." */
export function glossText(g: Gloss): string {
  const also = g.words.length > 1 ? ` Also: ${g.words.slice(1).join(', ')}.` : '';
  const example = g.examples.length ? ` For example: "${g.examples[0]}"` : '';
  return `${g.words[0]} (${g.pos}): ${g.definition}.${also}${example}`;
}

export function chapterText(c: BibleChapter): string {
  return `${c.book} ${c.chapter}\n\n${c.verses.join(' ')}`;
}
