/** Text that stresses tokenizers and streaming: characters spanning several tokens, several code points per glyph. */
export const UNICODE_SAMPLES: Record<string, string> = {
  'emoji (skin tone, ZWJ family, flags, rainbow flag)': '👋🏽 hi 👨‍👩‍👧‍👦 family 🇯🇵🇫🇷 flags 🏳️‍🌈',
  'CJK and Hangul': '日本語のテキストと中文文本，한국어 텍스트',
  'combining marks (decomposed é, ñ; stacked marks; Devanagari conjunct)':
    'e\u0301 cafe\u0301 n\u0303 Z\u0351\u0352\u0353 क्ष',
  'RTL (Arabic, Hebrew, a right-to-left mark)': 'مرحبا بالعالم \u200Fשלום עולם',
  'mixed scripts and symbols': 'Mixed: abc 123 — ДОБРО 😀 αβγ ∑∫ ok',
  'whitespace runs (tabs, blank lines, trailing)': 'tabs\t\tand\n\n\nnewlines   \n  spaces    end   ',
  'leading spaces': '   leading spaces',
  'astral plane letters': '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐍈',
};
