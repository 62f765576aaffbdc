/**
 * Step 1 of training the default model: corpus -> tokenizer -> training sequences, all under a work folder.
 *
 *   npx tsx tools/train/prepare.ts --work WORK [--seed 1] [--phases 128:14000000,512:4000000,1024:2000000,2048:3000000]
 *
 * --long-retrieval P: a share P of the retrieval documents fills most of a long sequence (needles far from their
 * question); --shallow-needles also puts those needles near the start of their filler. For fine-tuning phases.
 *
 * Writes WORK/tokenizer.json and tokenizer_config.json, WORK/train-<T>.bin (uint16, [N, T + 1] per phase),
 * WORK/val-<T>.bin, WORK/meta.json, the held-out filler the retrieval evaluation uses
 * (resources/eval/filler-kjv-heldout.txt) and the default text of `plas gate train` (resources/text/gate-text.txt). Deterministic for a seed. Then run tools/train/train.py.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SamplingRng } from '../../engine/generation/rng.ts';
import { Tokenizer } from '../../engine/tokenizer/tokenizer.ts';
import { ANSWER_ROOM, Haystack, passKeyDocument } from '../../main/cli/eval/needle.ts';
import { CHAT_TEMPLATE } from './chat.ts';
import { chapterText, glossText, HELD_OUT_BOOKS, readBible, readFortunes, readWordNet } from './corpus.ts';
import { SequenceBuilder } from './dataset.ts';
import { SPECIAL_TOKENS, trainTokenizer, VOCAB_SIZE } from './tokenizer.ts';

const { values } = parseArgs({
  options: {
    work: { type: 'string' },
    seed: { type: 'string', default: '1' },
    phases: { type: 'string', default: '128:14000000,512:4000000,1024:2000000,2048:3000000' },
    'val-sequences': { type: 'string', default: '16' },
    'long-retrieval': { type: 'string', default: '0' },
    'shallow-needles': { type: 'boolean', default: false },
  },
});
if (!values.work)
  throw new Error(
    'usage: tools/train/prepare.ts --work DIR [--seed N] [--phases T:TOKENS,...] [--long-retrieval P] [--shallow-needles]',
  );
const work = values.work;
mkdirSync(work, { recursive: true });
const phases = values.phases.split(',').map((p) => {
  const [t, n] = p.split(':').map(Number);
  if (!(Number.isInteger(t) && t >= 64 && Number.isInteger(n) && n > 0)) throw new Error(`bad phase "${p}"`);
  return { length: t, tokens: n };
});
const seed = Number(values.seed);
const longRetrieval = Number(values['long-retrieval']);
if (!(longRetrieval >= 0 && longRetrieval <= 1))
  throw new Error(`--long-retrieval must be in [0, 1], got "${values['long-retrieval']}"`);
if (values['shallow-needles'] && longRetrieval === 0)
  throw new Error('--shallow-needles moves the needles of long retrieval documents: it needs --long-retrieval P > 0');
const log = (m: string) => console.log(`[prepare] ${m}`);

log('reading the corpus from Debian packages');
const bible = readBible();
const train = bible.filter((c) => !HELD_OUT_BOOKS.includes(c.book));
const heldOut = bible.filter((c) => HELD_OUT_BOOKS.includes(c.book));
const fortunes = readFortunes().map((d) => d.text);
const glosses = readWordNet();
log(`${train.length} chapters (${heldOut.length} held out), ${fortunes.length} fortunes, ${glosses.length} glosses`);

const fillerPath = join(import.meta.dirname, '..', '..', 'resources', 'eval', 'filler-kjv-heldout.txt');
mkdirSync(join(fillerPath, '..'), { recursive: true });
writeFileSync(fillerPath, `${heldOut.map((c) => c.verses.join(' ')).join('\n\n')}\n`);
// The default text `plas gate train` distils on (books the model trained on; the gate learns its attention there).
const gateText = train.filter((c) => ['Proverbs', 'Ecclesiastes', 'Song of Solomon'].includes(c.book));
const gateTextPath = join(fillerPath, '..', '..', 'text', 'gate-text.txt');
mkdirSync(join(gateTextPath, '..'), { recursive: true });
writeFileSync(gateTextPath, `${gateText.map(chapterText).join('\n\n')}\n`);

const corpusPath = join(work, 'corpus.txt');
writeFileSync(corpusPath, [...train.map(chapterText), ...fortunes, ...glosses.map(glossText)].join('\n\n'));
log('training the tokenizer');
const merges = trainTokenizer([corpusPath], join(work, 'tokenizer.json'));
const eos = '<|im_end|>';
writeFileSync(
  join(work, 'tokenizer_config.json'),
  JSON.stringify(
    {
      tokenizer_class: 'PreTrainedTokenizerFast',
      model_max_length: Math.max(...phases.map((p) => p.length)),
      bos_token: null,
      eos_token: eos,
      pad_token: '<|endoftext|>',
      unk_token: null,
      additional_special_tokens: [...SPECIAL_TOKENS],
      chat_template: CHAT_TEMPLATE,
      clean_up_tokenization_spaces: false,
    },
    null,
    2,
  ),
);
const tokenizer = await Tokenizer.fromFolder(work);
const endOfText = tokenizer.tokenToId('<|endoftext|>')!;
log(`tokenizer: ${merges} merges, ${tokenizer.vocabSize} ids`);

const encoder = {
  encode: (t: string) => tokenizer.encode(t, { addSpecialTokens: false }),
  count: (t: string) => tokenizer.encode(t, { addSpecialTokens: false }).length,
  endOfText,
};
const bibleHaystack = new Haystack(train.map((c) => c.verses.join(' ')).join(' '), encoder.count);
const fortuneHaystack = new Haystack(fortunes.join(' '), encoder.count);
const shortSentences = [...bibleHaystack.sentences, ...fortuneHaystack.sentences]
  .filter((s) => s.length > 20 && s.length < 120)
  .map((s) => s.trim());
const names = [...new Set(glosses.filter((g) => g.pos === 'noun').map((g) => g.words[0]))].filter((w) =>
  /^[a-z]{3,12}$/.test(w),
);
const sources = {
  chapters: train,
  fortunes,
  glosses,
  haystacks: [
    { haystack: bibleHaystack, weight: 0.7 },
    { haystack: fortuneHaystack, weight: 0.3 },
  ],
  names,
  chat: { glosses, fortunes: fortunes.filter((f) => f.length < 400), sentences: shortSentences },
};

const meta = {
  seed,
  longRetrieval: { share: longRetrieval, shallow: values['shallow-needles'] },
  vocabSize: VOCAB_SIZE,
  endOfText,
  imStart: tokenizer.tokenToId('<|im_start|>'),
  imEnd: tokenizer.tokenToId(eos),
  phases: [] as { length: number; sequences: number; train: string; val: string; counts: Record<string, number> }[],
};
for (const [i, phase] of phases.entries()) {
  for (const split of ['train', 'val'] as const) {
    const rng = new SamplingRng(seed * 1000 + i * 2 + (split === 'val' ? 1 : 0));
    const builder = new SequenceBuilder(sources, encoder, rng, undefined, {
      share: longRetrieval,
      shallow: values['shallow-needles'],
    });
    const n = split === 'train' ? Math.ceil(phase.tokens / phase.length) : Number(values['val-sequences']);
    const rows = phase.length + 1;
    const data = new Uint16Array(n * rows);
    const started = performance.now();
    for (let s = 0; s < n; s++) {
      data.set(builder.sequence(rows), s * rows);
      if (split === 'train' && s % 500 === 499) log(`T=${phase.length}: ${s + 1}/${n} sequences`);
    }
    const file = `${split}-${phase.length}.bin`;
    writeFileSync(join(work, file), data);
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    log(`${file}: ${n} x ${rows} tokens in ${secs} s; by kind ${JSON.stringify(builder.counts)}`);
    if (split === 'train')
      meta.phases.push({ length: phase.length, sequences: n, train: file, val: '', counts: builder.counts });
    else meta.phases.at(-1)!.val = file;
  }
}
writeFileSync(join(work, 'meta.json'), JSON.stringify(meta, null, 2));
// Prompts export.py computes reference continuations for (tokenized here, by the engine's tokenizer).
const referencePrompts = [
  'In the beginning God created the heaven and the earth.',
  tokenizer.applyChatTemplate([{ role: 'user', content: 'What does "lantern" mean?' }], { addGenerationPrompt: true }),
];
writeFileSync(
  join(work, 'reference-ids.json'),
  JSON.stringify(referencePrompts.map((text) => ({ text, ids: encoder.encode(text) }))),
);
// Pass-key prompts on held-out filler for probe.py, which follows retrieval while training runs.
const heldOutHaystack = new Haystack(heldOut.map((c) => c.verses.join(' ')).join(' '), encoder.count);
const probeRng = new SamplingRng(seed * 7919);
const probes = phases.flatMap(({ length }) =>
  Array.from({ length: 20 }, (_, i) => {
    const doc = passKeyDocument(heldOutHaystack, encoder.count, probeRng, {
      tokens: length - ANSWER_ROOM,
      depth: (i % 5) / 4,
    });
    return {
      length,
      depth: doc.depth,
      answer: doc.answer,
      ids: encoder.encode(doc.prompt),
      answerIds: encoder.encode(` ${doc.answer}`),
    };
  }),
);
writeFileSync(join(work, 'probe-passkey.json'), JSON.stringify(probes));
log(`done: ${join(work, 'meta.json')}`);
