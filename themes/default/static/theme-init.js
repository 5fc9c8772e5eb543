// Runs in <head> before the first paint: turns data-theme="system" into light or dark from the
// browser's preference, so the page never flashes the wrong colours. Kept tiny on purpose.
(function (d) {
  var r = d.documentElement, p = r.getAttribute("data-theme");
  if (p !== "light" && p !== "dark") {
    r.setAttribute("data-theme", window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  }
})(document);
