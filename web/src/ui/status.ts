// The status line and the notice every page has (join, host, presenter): the state goes into
// data-state (the pages' CSS and tests read it), every text in as text, never as HTML.

export function showStatus(statusEl: HTMLElement, state: string, text: string): void {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

/** Shows `text` in the notice, or hides the notice for null. */
export function showNotice(noticeEl: HTMLElement, text: string | null): void {
  noticeEl.hidden = !text;
  noticeEl.textContent = text ?? '';
}
