/**
 * A search hit's snippet as HTML. The server escapes the text and adds only <mark>; it is still sanitised here,
 * allowing <mark> and nothing else, so a bug on either side cannot put markup from a message into the page.
 */
import DOMPurify from 'dompurify';

export function snippetHtml(serverHtml: string): string {
  return DOMPurify.sanitize(serverHtml, { ALLOWED_TAGS: ['mark'], ALLOWED_ATTR: [] });
}
