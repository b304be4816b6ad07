// A form the API refuses says why beside each field at fault (aria-invalid, its error read with it),
// but the keyboard stayed on the button that sent it: a keyboard or screen-reader user had to go
// looking for the fields, one Shift+Tab at a time. The focus goes to the first field refused.

/**
 * focusRefusedField moves the focus, when fields under `root` are marked invalid while it is on
 * the form's submit button (the form just sent, its answer in), to the first invalid field of that
 * form. Focus anywhere else (typing on in a field, another part of the page) is left where it is.
 * @param {HTMLElement} root
 */
export function focusRefusedField(root) {
  new MutationObserver((records) => {
    const sender = document.activeElement;
    if (!(sender instanceof HTMLButtonElement) || sender.type !== 'submit' || !sender.form) return;
    const form = sender.form;
    const refused = records.some(
      (record) => record.target instanceof Element && record.target.getAttribute('aria-invalid') === 'true' && form.contains(record.target),
    );
    if (refused) /** @type {HTMLElement | null} */ (form.querySelector('[aria-invalid="true"]'))?.focus();
  }).observe(root, { attributes: true, attributeFilter: ['aria-invalid'], subtree: true });
}
