/**
 * Reading a file the user attaches as text: a size limit, and binaries refused (a NUL byte, or bytes that are not
 * UTF-8), each with a message that names the file and says what is wrong.
 */
export const MAX_ATTACHMENT_BYTES = 1024 * 1024;

export class AttachmentRefused extends Error {
  override name = 'AttachmentRefused';
}

const mb = (n: number) => `${(n / (1024 * 1024)).toFixed(n < 1024 * 1024 ? 2 : 1)} MB`;

export async function readTextFile(file: File): Promise<{ name: string; mime: string; content: string }> {
  if (file.size > MAX_ATTACHMENT_BYTES) {
    throw new AttachmentRefused(
      `${file.name} is ${mb(file.size)}: attachments are limited to ${mb(MAX_ATTACHMENT_BYTES)} of text.`,
    );
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (bytes.includes(0)) {
    throw new AttachmentRefused(`${file.name} is a binary file: only text files (txt, md, code) can be attached.`);
  }
  let content: string;
  try {
    content = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new AttachmentRefused(`${file.name} is not UTF-8 text: only text files (txt, md, code) can be attached.`);
  }
  return { name: file.name, mime: file.type || 'text/plain', content };
}
