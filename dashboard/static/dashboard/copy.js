/* Copy buttons on the admin page that shows a new API key once. */
document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const id = button.getAttribute("data-copy");
  const input = document.getElementById(id);
  const status = document.querySelector('[data-copy-status="' + id + '"]');
  input.select();
  const done = function () {
    if (status) status.textContent = "Copied.";
  };
  if (navigator.clipboard) {
    navigator.clipboard.writeText(input.value).then(done, function () {
      if (status) status.textContent = "Select the key and copy it with Ctrl+C.";
    });
  } else {
    document.execCommand("copy");
    done();
  }
});
