// Behaviour that pages used to carry inline (the Content-Security-Policy allows no inline script
// or event-handler attributes): delegated listeners, so that fragments htmx swaps in need nothing.
(() => {
  // The workspace switcher submits as soon as a workspace is chosen (a button does it without JavaScript).
  document.addEventListener("change", (event) => {
    if (event.target.matches("[data-submit-on-change]")) event.target.form.submit();
  });
  // A live log keeps to its bottom while new text arrives, unless the reader scrolled up.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const log = event.target.closest && event.target.closest("[data-follow-log]");
    if (log) log.dataset.stick = String(log.scrollTop + log.clientHeight >= log.scrollHeight - 24);
  });
  document.addEventListener("htmx:afterSwap", (event) => {
    const log = event.target.closest && event.target.closest("[data-follow-log]");
    if (log && log.dataset.stick === "true") log.scrollTop = log.scrollHeight;
  });
})();
