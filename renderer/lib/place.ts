/**
 * Svelte actions that size and move elements from JS through the CSSOM: the page's CSP refuses style attributes,
 * and this is the way it allows.
 */
export function translateY(node: HTMLElement, y: number) {
  const set = (v: number) => {
    node.style.transform = `translateY(${v}px)`;
  };
  set(y);
  return { update: set };
}

export function height(node: HTMLElement, px: number) {
  const set = (v: number) => {
    node.style.height = `${v}px`;
  };
  set(px);
  return { update: set };
}
