/**
 * A Node test reporter that prints only the closing line CI reads: `N passed, N failed` (tests, not suites; a test
 * file that crashes counts as a failed test). Plain JavaScript: Node loads reporters before any TypeScript loader.
 */
export default async function* summary(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.data.details?.type === 'suite') continue;
    if (event.type === 'test:pass') {
      if (event.data.skip || event.data.todo) skipped++;
      else passed++;
    } else if (event.type === 'test:fail') failed++;
  }
  yield `\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
}
