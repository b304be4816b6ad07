// Wide tables scroll sideways inside their own area (.table-wrap) on narrow screens. A keyboard
// reaches that scroll only by focusing something inside it; a table of plain text has nothing to
// focus, so such an area takes the focus itself (and the arrow keys then scroll it).

/** @param {Element} wrap */
function mark(wrap) {
  const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
  if (scrolls && !wrap.hasAttribute('tabindex')) wrap.setAttribute('tabindex', '0');
  if (!scrolls && wrap.getAttribute('tabindex') === '0') wrap.removeAttribute('tabindex');
}

/**
 * keepScrollAreasFocusable makes every sideways-scrolling table area under `root` focusable by
 * keyboard, now and whenever the page changes or the window is resized.
 * @param {HTMLElement} root
 */
export function keepScrollAreasFocusable(root) {
  let queued = false;
  const update = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      for (const wrap of root.querySelectorAll('.table-wrap')) mark(wrap);
    });
  };
  new MutationObserver(update).observe(root, { childList: true, subtree: true });
  addEventListener('resize', update);
  update();
}
